package dialer

import (
	"time"

	"minyi/core"
)

// Outcomes the network decides when Minyi places a call through a SIP
// trunk. They are recorded on the attempt without the interviewer, who
// codes only answered calls. docs/telephony.md has the same table; this is
// the one place in code that maps SIP to AAPOR.
var (
	// No answer within the ring timeout (Minyi cancels: 487), or the
	// network's own timeout (408).
	netNoAnswer = Outcome{Code: "no_answer", Label: core.Text{ZH: "无人接听", EN: "No answer"}, AAPOR: "3.13", Retry: 2 * time.Hour}
	// 486 Busy Here, 600 Busy Everywhere.
	netBusy = Outcome{Code: "busy", Label: core.Text{ZH: "占线", EN: "Busy"}, AAPOR: "3.12", Retry: 15 * time.Minute}
	// 404 Not Found, 484 Address Incomplete, 604 Does Not Exist Anywhere:
	// a non-working number (AAPOR 4.31), never called again.
	netNonWorking = Outcome{Code: "nonworking", Label: core.Text{ZH: "空号", EN: "Non-working number"}, AAPOR: "4.31", Final: true}
	// 410 Gone: the number has changed (AAPOR 4.41).
	netChanged = Outcome{Code: "number_changed", Label: core.Text{ZH: "号码已改", EN: "Number changed"}, AAPOR: "4.41", Final: true}
	// 480 Temporarily Unavailable, 503 Service Unavailable: switched off,
	// out of coverage, or the network is congested; called again by the
	// busy rule (AAPOR 3.16, technical phone problems).
	netUnavailable = Outcome{Code: "unavailable", Label: core.Text{ZH: "暂时无法接通", EN: "Temporarily unavailable"}, AAPOR: "3.16", Retry: 15 * time.Minute}
	// Anything else (603 Decline, 5xx, a trunk that cannot be reached…):
	// kept with its code and called again by the no-answer rule (AAPOR
	// 3.90, other unknown).
	netOther = Outcome{Code: "network_failure", Label: core.Text{ZH: "呼叫失败", EN: "Call failed"}, AAPOR: "3.90", Retry: 2 * time.Hour}
)

// NetworkOutcomes are the outcomes a call's network result can have.
var NetworkOutcomes = []Outcome{netNoAnswer, netBusy, netNonWorking, netChanged, netUnavailable, netOther}

// StatusAnswered is the SIP code of an answered call.
const StatusAnswered = 200

// NetworkOutcome is the outcome of a call that was not answered, by its
// final SIP code (0 when none came: the trunk did not answer at all), and
// ok=false for an answered call, which the interviewer codes.
func NetworkOutcome(code int) (Outcome, bool) {
	switch code {
	case StatusAnswered:
		return Outcome{}, false
	case 408, 487:
		return netNoAnswer, true
	case 486, 600:
		return netBusy, true
	case 404, 484, 604:
		return netNonWorking, true
	case 410:
		return netChanged, true
	case 480, 503:
		return netUnavailable, true
	}
	return netOther, true
}

// networkOutcomeByCode finds a network outcome by its code.
func networkOutcomeByCode(code string) (Outcome, bool) {
	for _, o := range NetworkOutcomes {
		if o.Code == code {
			return o, true
		}
	}
	return Outcome{}, false
}
