// Package dialer manages cases and call attempts: who is called next, what
// each call's outcome was, and each case's final AAPOR disposition.
package dialer

import (
	"time"

	"minyi/core"
)

// Outcome is what an interviewer records after a call.
type Outcome struct {
	Code  string    // stable identifier used in forms and the database
	Label core.Text // what the interviewer sees
	AAPOR string    // disposition this outcome means for the case
	Final bool      // the case needs no more calls
	Retry time.Duration
	Key   string // keyboard shortcut on the case page
	// Converter: a soft refusal, called back only by refusal converters.
	Converter bool
	NeedTime  bool // an appointment needs a date and time
}

// Outcomes an interviewer can record on a telephone case, in the order shown.
// Retry is the default delay; a wave's rules set its own.
// "interview" is not recorded here: it opens the questionnaire, and the case
// is completed when the interview is saved (or screened out).
var Outcomes = []Outcome{
	{Code: "no_answer", Label: core.Text{ZH: "无人接听", EN: "No answer"}, AAPOR: "3.13", Retry: 2 * time.Hour, Key: "1"},
	{Code: "busy", Label: core.Text{ZH: "占线", EN: "Busy"}, AAPOR: "3.12", Retry: 15 * time.Minute, Key: "2"},
	{Code: "refusal", Label: core.Text{ZH: "拒访", EN: "Refusal"}, AAPOR: "2.11", Final: true, Key: "3"},
	{Code: "soft_refusal", Label: core.Text{ZH: "婉拒（可再争取）", EN: "Soft refusal (try to convert)"}, AAPOR: "2.11", Retry: 7 * 24 * time.Hour, Key: "7", Converter: true},
	{Code: "appointment", Label: core.Text{ZH: "预约再访", EN: "Appointment"}, AAPOR: "2.21", Key: "4", NeedTime: true},
	{Code: "not_eligible", Label: core.Text{ZH: "不符合条件", EN: "Not eligible"}, AAPOR: "4.70", Final: true, Key: "5"},
	{Code: "wrong_number", Label: core.Text{ZH: "空号/错号", EN: "Wrong or dead number"}, AAPOR: "4.30", Final: true, Key: "6"},
}

// Codes recorded by the questionnaire rather than the outcome form.
const (
	CodeComplete    = "1.1"
	CodeScreenOut   = "4.70"
	MaxAttempts     = 6
	LeaseDuration   = 30 * time.Minute
	outcomeComplete = "complete"
	outcomeScreened = "screened_out"
	// CodeQuotaFilled closes a case whose district (or the respondent's
	// sex × age group) has all the interviews it needs.
	CodeQuotaFilled    = "4.80"
	outcomeQuotaFilled = "quota_filled"
	// CodeNoAnswer is the disposition of a case whose attempts ran out
	// without anyone ever being reached.
	CodeNoAnswer = "3.13"
)

// Break-off: the respondent stopped in the middle of the questionnaire
// (AAPOR 1.2 partial or 2.12 break-off, by BreakOffRule; a break-off before
// the indicators is called back after BreakOffRetry).
const (
	CodePartial             = "1.2"
	CodeBreakOff            = "2.12"
	BreakOffRetry           = time.Hour
	outcomeBreakOffPartial  = "breakoff_partial"
	outcomeBreakOff         = "breakoff"
	outcomeBreakOffCallback = "breakoff_callback"
)

// OutcomeByCode finds an outcome, ok=false for an unknown code.
func OutcomeByCode(code string) (Outcome, bool) {
	for _, o := range Outcomes {
		if o.Code == code {
			return o, true
		}
	}
	return Outcome{}, false
}
