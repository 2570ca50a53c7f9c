package schedule

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"minyi/core"
)

// TestBuilderSpecs: what an admin picks on the page becomes the cron spec
// the scheduler runs, and a stored spec reads back into the same choices.
func TestBuilderSpecs(t *testing.T) {
	for _, c := range []struct {
		b    Builder
		spec string
	}{
		{Builder{Repeat: Daily, Time: "06:30"}, "30 6 * * *"},
		{Builder{Repeat: Weekly, Time: "02:00", Days: []time.Weekday{time.Wednesday, time.Monday, time.Monday}}, "0 2 * * 1,3"},
		{Builder{Repeat: Weekly, Time: "23:59", Days: []time.Weekday{time.Sunday}}, "59 23 * * 0"},
		{Builder{Repeat: Monthly, Time: "2:05", MonthDay: 15}, "5 2 15 * *"},
		{Builder{Repeat: Raw, Cron: " 0 2 1 1,7 * "}, "0 2 1 1,7 *"},
	} {
		spec, err := c.b.Spec()
		if err != nil || spec != c.spec {
			t.Errorf("%+v: %q %v, want %q", c.b, spec, err, c.spec)
			continue
		}
		back := BuilderFor(spec)
		if again, _ := back.Spec(); again != spec {
			t.Errorf("%q reads back as %+v, which makes %q", spec, back, again)
		}
	}
	if b := BuilderFor("0 2 1 1,7 *"); b.Repeat != Raw {
		t.Errorf("a spec the builder cannot make read back as %+v", b)
	}
}

// TestBuilderRefusals: choices that make no schedule are refused with the
// reason in Chinese.
func TestBuilderRefusals(t *testing.T) {
	for _, c := range []struct {
		b    Builder
		want string
	}{
		{Builder{Repeat: Weekly, Time: "02:00"}, "至少选择一天"},
		{Builder{Repeat: Monthly, Time: "02:00", MonthDay: 32}, "1 到 31"},
		{Builder{Repeat: Daily, Time: "24:00"}, "时间“24:00”无效"},
		{Builder{Repeat: Daily, Time: "noon"}, "无效"},
		{Builder{Repeat: Raw}, "请填写定时规则"},
		{Builder{Repeat: "hourly", Time: "02:00"}, "请选择"},
	} {
		_, err := c.b.Spec()
		var e *core.Error
		if err == nil || !asCore(err, &e) || !strings.Contains(e.ZH, c.want) {
			t.Errorf("%+v: %v, want %q", c.b, err, c.want)
		}
	}
}

var clockRE = regexp.MustCompile(`\d\d:\d\d`)

func asCore(err error, e **core.Error) bool {
	ce, ok := err.(*core.Error)
	*e = ce
	return ok
}

// TestCronErrorsInChinese: the cron library's English never reaches the
// Chinese text of an error; each common mistake is named.
func TestCronErrorsInChinese(t *testing.T) {
	for spec, want := range map[string]string{
		"":               "规则是空的",
		"0 2 1 *":        "应有 5 项，实际有 4 项",
		"@fortnightly":   "不认识 @fortnightly",
		"0 25 * * *":     "25 大于最大值 23",
		"0 2 0 * *":      "0 小于最小值 1",
		"0 5-2 * * *":    "起点大于终点",
		"*/0 * * * *":    "步长须为正整数",
		"0 2 1-2-3 * *":  "- 太多",
		"0 2 * * mon/x":  "不是数字",
		"0 2 * * 1/2/3":  "/ 太多",
		"TZ=UTC 0 2 * *": "不能指定时区",
	} {
		_, err := ParseSpec(spec)
		e, ok := err.(*core.Error)
		if !ok || !strings.Contains(e.ZH, want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
			continue
		}
		for _, english := range []string{"expected", "range", "parse", "descriptor", "found", "slashes", "hyphens", "minimum", "maximum"} {
			if strings.Contains(e.ZH, english) {
				t.Errorf("%q: the Chinese error %q has the English %q", spec, e.ZH, english)
			}
		}
		if zh := clockRE.ReplaceAllString(e.ZH, ""); strings.ContainsAny(zh, ":,;()\"") {
			t.Errorf("%q: half-width punctuation in %q", spec, e.ZH)
		}
	}
}

// TestNextTimes: the next five times of a weekly schedule fall on the
// chosen days at the chosen Beijing time, and a spec that never falls
// due is refused rather than shown with no times.
func TestNextTimes(t *testing.T) {
	// Friday 4 December 2026, 13:00 in Beijing.
	now := time.Date(2026, 12, 4, 13, 0, 0, 0, core.Shanghai)
	ts, err := NextTimes("0 2 * * 1,3", now.UTC(), 5)
	if err != nil || len(ts) != 5 {
		t.Fatalf("%v %v", ts, err)
	}
	want := []string{"2026-12-07 02:00 Mon", "2026-12-09 02:00 Wed", "2026-12-14 02:00 Mon", "2026-12-16 02:00 Wed", "2026-12-21 02:00 Mon"}
	for i, tm := range ts {
		if got := tm.In(core.Shanghai).Format("2006-01-02 15:04 Mon"); got != want[i] {
			t.Errorf("run %d at %s, want %s", i+1, got, want[i])
		}
	}
	if _, err := NextTimes("0 0 30 2 *", now, 5); err == nil || !strings.Contains(err.Error(), "永远不会运行") {
		t.Fatalf("30 February: %v", err)
	}
}
