package dialer

import (
	"context"
	"strings"

	"minyi/core"
)

// Dialer places calls. The case page asks it how to call a case's number;
// preview dialing (the default) only gives a tel: link that the
// interviewer's phone or softphone dials, and a switch integration can
// place the call itself and say so.
type Dialer interface {
	Dial(ctx context.Context, c *Case) (DialResult, error)
}

// DialResult is what the interviewer sees to make the call.
type DialResult struct {
	// Href is the link the number is shown with (a tel: URI for preview
	// dialing); empty when the switch has already placed the call.
	Href string
	// Display is the number as shown to the interviewer.
	Display string
	// Placed reports that the call was placed by the switch.
	Placed bool
}

// Preview is preview dialing: the interviewer sees the number and dials
// it with one click on its tel: link.
type Preview struct{}

// Dial returns the tel: link of the case's number.
func (Preview) Dial(_ context.Context, c *Case) (DialResult, error) {
	return DialResult{Href: TelURI(c.Phone), Display: c.Phone}, nil
}

// TelURI is the tel: URI of a number (RFC 3966): only digits and a leading
// +, so that spaces, dashes or anything stored with the number cannot
// change the link.
func TelURI(phone string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "tel:" + b.String()
}

// Switch is a Dialer that places calls itself: Minyi's own SIP
// back-to-back user agent (package telephony). The interviewer presses
// 拨打; the switch rings their phone, then the respondent, and bridges the
// two; the network's answer is stored on the attempt (EndCall).
type Switch interface {
	Dialer
	// Call places a call on a case the interviewer holds and returns its
	// id once it is under way.
	Call(ctx context.Context, c *Case, userID int64) (int64, error)
	// Status is the interviewer's latest call on a case.
	Status(ctx context.Context, caseID, userID int64) (CallStatus, error)
	// Hangup ends the interviewer's call on a case.
	Hangup(ctx context.Context, caseID, userID int64) error
}

// CallStatus is a call as the case page shows it while it goes on.
type CallStatus struct {
	Call
	// Seconds the call has rung, or been talked once answered.
	Seconds float64
	// Problem says what went wrong (an unreachable trunk, an
	// unregistered phone), for the interviewer.
	Problem *core.Text
	// Recording: the call is being recorded now (the interviewer asks
	// for, and stores, the respondent's consent).
	Recording bool
}
