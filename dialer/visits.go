package dialer

import (
	"time"

	"minyi/core"
)

// Outcomes of door-to-door visits, and the parts of the day that calls and
// visits are spread over. The door package works the households; the
// outcomes live here with those of calls, since dispositions and rates are
// reckoned over both.

// Door-to-door dispositions (AAPOR, in-person household surveys).
const (
	// CodeNoOneHome: a listed housing unit where no one was ever found
	// home and nothing shows whether anyone lives there (3.21, housing
	// unit, no screener completed).
	CodeNoOneHome = "3.21"
	// CodeNoOneHomeOccupied: no one home, but the household is known to
	// live there (a neighbour confirms, signs of living): a non-contact.
	CodeNoOneHomeOccupied = "2.22"
	// CodeVacant: a vacant housing unit.
	CodeVacant = "4.61"
	// OutcomeNoOneHome is the visit outcome of finding no one home.
	OutcomeNoOneHome = "no_one_home"
	// OutcomePaper is the outcome of a household whose interview, done on
	// a paper form, was keyed (door.KeyPaperForm).
	OutcomePaper = "paper"
)

// FieldOutcomes are what a field interviewer records after a visit, in the
// order shown. "interview" is not among them: it opens the questionnaire,
// and the household is completed when the interview is saved.
var FieldOutcomes = []Outcome{
	{Code: OutcomeNoOneHome, Label: core.Text{ZH: "无人在家", EN: "No one home"}, AAPOR: CodeNoOneHome},
	{Code: "refusal", Label: core.Text{ZH: "拒访", EN: "Refused"}, AAPOR: "2.11", Final: true},
	{Code: "vacant", Label: core.Text{ZH: "空置房（无人居住）", EN: "Vacant (no one lives here)"}, AAPOR: CodeVacant, Final: true},
	{Code: "not_eligible", Label: core.Text{ZH: "不符合条件（无合格受访者）", EN: "Not eligible (no eligible resident)"}, AAPOR: "4.70", Final: true},
}

// FieldOutcomeByCode finds a visit outcome, ok=false for an unknown code.
func FieldOutcomeByCode(code string) (Outcome, bool) {
	for _, o := range FieldOutcomes {
		if o.Code == code {
			return o, true
		}
	}
	return Outcome{}, false
}

// VisitLabel names a recorded visit's outcome for people; an unknown one
// is shown as recorded.
func VisitLabel(outcome string) core.Text {
	if o, ok := FieldOutcomeByCode(outcome); ok {
		return o.Label
	}
	switch outcome {
	case outcomeComplete:
		return core.Text{ZH: "完成访问", EN: "Interviewed"}
	case OutcomePaper:
		return core.Text{ZH: "完成访问（纸质问卷，已录入）", EN: "Interviewed on paper (keyed)"}
	case outcomeScreened:
		return core.Text{ZH: "甄别不符合条件", EN: "Screened out"}
	case outcomeBreakOffPartial:
		return core.Text{ZH: "中断（部分完成）", EN: "Broke off (partial)"}
	case outcomeBreakOff:
		return core.Text{ZH: "中断", EN: "Broke off"}
	case outcomeBreakOffCallback:
		return core.Text{ZH: "中断，待再访", EN: "Broke off, visit again"}
	}
	return core.Text{ZH: outcome, EN: outcome}
}

// Label names the attempt's outcome for people.
func (a Attempt) Label() core.Text { return VisitLabel(a.Outcome) }

// DayPart is a part of the day for visits: people at home in the morning
// are often not those at home in the evening, so the visits to a household
// are spread over them.
type DayPart int

const (
	Morning   DayPart = iota // before 12:00
	Afternoon                // 12:00–18:00
	Evening                  // from 18:00
)

var dayParts = [...]struct {
	label core.Text
	hours string
}{
	{core.Text{ZH: "上午", EN: "morning"}, "9:00–12:00"},
	{core.Text{ZH: "下午", EN: "afternoon"}, "12:00–18:00"},
	{core.Text{ZH: "晚上", EN: "evening"}, "18:00–21:00"},
}

// DayPartOf is the day part of t in Shanghai time.
func DayPartOf(t time.Time) DayPart {
	switch h := t.In(core.Shanghai).Hour(); {
	case h < 12:
		return Morning
	case h < 18:
		return Afternoon
	}
	return Evening
}

// Label names the day part with its hours.
func (p DayPart) Label() core.Text {
	d := dayParts[p]
	return core.Text{ZH: d.label.ZH + " " + d.hours, EN: d.label.EN + " " + d.hours}
}

// DayOf is midnight, Beijing time, of the day of t.
func DayOf(t time.Time) time.Time {
	t = t.In(core.Shanghai)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, core.Shanghai)
}

// Name names the day part without its hours.
func (p DayPart) Name() core.Text { return dayParts[p].label }
