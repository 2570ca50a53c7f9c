package web

import (
	"strconv"
	"strings"

	"minyi/core"
	"minyi/dialer"
)

// Retry delays are stored in minutes; people enter and read them as a
// number and a unit: 15 minutes, 2 hours, 7 days.

type delayUnit struct {
	Value   string
	Minutes int
	Label   core.Text
}

var delayUnits = []delayUnit{
	{"minutes", 1, core.Text{ZH: "分钟", EN: "minutes"}},
	{"hours", 60, core.Text{ZH: "小时", EN: "hours"}},
	{"days", 24 * 60, core.Text{ZH: "天", EN: "days"}},
}

// maxDelayMinutes keeps a delay sensible (and its minutes in range): a
// case called back after more than 90 days is a different survey.
const maxDelayMinutes = 90 * 24 * 60

// delayField is one retry delay on the calling rules form.
type delayField struct {
	Field string
	Label core.Text
	N     int
	Unit  string
	Units []delayUnit
}

func retryDelays(r *dialer.Rules) []struct {
	field string
	dst   *int
	label core.Text
} {
	return []struct {
		field string
		dst   *int
		label core.Text
	}{
		{"retry_busy", &r.RetryBusy, core.Text{ZH: "占线后重拨间隔", EN: "Busy: call again after"}},
		{"retry_no_answer", &r.RetryNoAnswer, core.Text{ZH: "无人接听后重拨间隔（换一个时段）", EN: "No answer: call again after (at another time of day)"}},
		{"retry_soft_refusal", &r.RetrySoftRefusal, core.Text{ZH: "婉拒后由转化员再访间隔", EN: "Soft refusal: converter calls after"}},
	}
}

// Delays are the wave's retry delays as the form shows them, each in the
// largest unit it is a whole number of.
func (d waveData) Delays() []delayField {
	r := d.Rules
	var out []delayField
	for _, f := range retryDelays(&r) {
		n, unit := *f.dst, "minutes"
		for _, u := range delayUnits[1:] {
			if *f.dst > 0 && *f.dst%u.Minutes == 0 {
				n, unit = *f.dst/u.Minutes, u.Value
			}
		}
		out = append(out, delayField{Field: f.field, Label: f.label, N: n, Unit: unit, Units: delayUnits})
	}
	return out
}

// delaysFromForm reads the retry delays (a number and a unit each; minutes
// if no unit is given) into r, in minutes.
func delaysFromForm(get func(string) string, r *dialer.Rules) error {
	for _, f := range retryDelays(r) {
		n, err := strconv.Atoi(strings.TrimSpace(get(f.field)))
		if err != nil || n <= 0 {
			return &core.Error{Code: core.EInvalid, ZH: f.label.ZH + "应为正整数", EN: f.label.EN + ": enter a whole number above 0"}
		}
		unit := get(f.field + "_unit")
		if unit == "" {
			unit = "minutes"
		}
		mins := 0
		for _, u := range delayUnits {
			if u.Value == unit {
				mins = u.Minutes
			}
		}
		if mins == 0 {
			return &core.Error{Code: core.EInvalid, ZH: f.label.ZH + "的单位应为分钟、小时或天", EN: f.label.EN + ": the unit must be minutes, hours or days"}
		}
		if n > maxDelayMinutes/mins {
			return &core.Error{Code: core.EInvalid, ZH: f.label.ZH + "不能超过 90 天", EN: f.label.EN + ": at most 90 days"}
		}
		*f.dst = n * mins
	}
	return nil
}
