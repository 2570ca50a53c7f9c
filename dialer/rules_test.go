package dialer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"minyi/core"
)

func TestCallingHoursAndDays(t *testing.T) {
	r := DefaultRules
	var err error
	if r.Days, err = ParseDays("mon-fri"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		at   time.Time
		open bool
		next time.Time
	}{
		{shanghai(27, 8, 59), false, shanghai(27, 9, 0)},   // Friday before the hours
		{shanghai(27, 9, 0), true, shanghai(27, 9, 0)},     // the first minute
		{shanghai(27, 20, 59), true, shanghai(27, 20, 59)}, // the last minute
		{shanghai(27, 21, 0), false, shanghai(30, 9, 0)},   // Friday evening: Monday morning
		{shanghai(28, 12, 0), false, shanghai(30, 9, 0)},   // Saturday
		{shanghai(30, 13, 0), true, shanghai(30, 13, 0)},   // Monday
	}
	for _, c := range cases {
		if got := r.Open(c.at); got != c.open {
			t.Errorf("open at %s: %v", c.at, got)
		}
		if got := r.NextOpen(c.at); !got.Equal(c.next) {
			t.Errorf("next open after %s: %s, want %s", c.at, got, c.next)
		}
	}
	// The same instant in UTC is judged in Shanghai time.
	if !r.Open(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)) || r.Open(time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)) {
		t.Error("calling hours are not in Asia/Shanghai")
	}
}

func TestParseRules(t *testing.T) {
	for in, want := range map[string]int{"mon-fri": 0b0111110, "1-5,7": 0b0111111, "sat,sun": 0b1000001, "mon-sun": 127, "7": 1} {
		got, err := ParseDays(in)
		if err != nil || got != want {
			t.Errorf("days %q: %07b %v, want %07b", in, got, err, want)
		}
	}
	for in, want := range map[string][2]string{"mon-sun": {"每天", "every day"}, "mon-fri": {"周一至周五", "Mon–Fri"},
		"1-5,7": {"周一至周五、周日", "Mon–Fri, Sun"}, "sat,sun": {"周六、周日", "Sat, Sun"}, "mon,wed-thu": {"周一、周三、周四", "Mon, Wed, Thu"}} {
		days, err := ParseDays(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := (Rules{Days: days}).DaysLabel(); got.ZH != want[0] || got.EN != want[1] {
			t.Errorf("days %q shown as %q / %q, want %q / %q", in, got.ZH, got.EN, want[0], want[1])
		}
	}
	for _, bad := range []string{"", "fri-mon", "8", "mon,,tue", "weekdays"} {
		if _, err := ParseDays(bad); err == nil {
			t.Errorf("days %q accepted", bad)
		}
	}
	from, to, err := ParseHours("08:30-24:00")
	if err != nil || from != 510 || to != 1440 {
		t.Errorf("hours: %d %d %v", from, to, err)
	}
	for _, bad := range []string{"21:00-09:00", "9-21", "09:00-25:00", "09:00"} {
		if _, _, err := ParseHours(bad); err == nil {
			t.Errorf("hours %q accepted", bad)
		}
	}
	r := DefaultRules
	r.Days, _ = ParseDays("1-5,7")
	if r.DaysText() != "mon,tue,wed,thu,fri,sun" || r.HoursText() != "09:00–21:00" {
		t.Errorf("texts %q %q", r.DaysText(), r.HoursText())
	}
}

// TestRetryDayparts: a no-answer is tried again after its delay in a day
// part not yet tried when there is one, always within the calling hours.
func TestRetryDayparts(t *testing.T) {
	r := DefaultRules
	const morning, afternoon, evening = 1 << Morning, 1 << Afternoon, 1 << Evening
	cases := []struct {
		name   string
		now    time.Time
		delay  time.Duration
		tried  int
		spread bool
		want   time.Time
	}{
		{"morning call, afternoon untried", shanghai(27, 10, 0), 2 * time.Hour, morning, true, shanghai(27, 12, 0)},
		{"afternoon tried too: the evening", shanghai(27, 14, 0), 2 * time.Hour, morning | afternoon, true, shanghai(27, 18, 0)},
		{"every part tried: just the delay", shanghai(27, 14, 0), 2 * time.Hour, morning | afternoon | evening, true, shanghai(27, 16, 0)},
		{"late evening: next morning", shanghai(27, 20, 30), 2 * time.Hour, evening, true, shanghai(28, 9, 0)},
		{"late evening, morning tried: next afternoon", shanghai(27, 20, 30), 2 * time.Hour, morning | evening, true, shanghai(28, 12, 0)},
		{"busy is not spread", shanghai(27, 10, 0), 15 * time.Minute, morning, false, shanghai(27, 10, 15)},
		{"busy at closing time: next opening", shanghai(27, 20, 50), 15 * time.Minute, evening, false, shanghai(28, 9, 0)},
	}
	for _, c := range cases {
		if got := r.Retry(c.now, c.delay, c.tried, c.spread); !got.Equal(c.want) {
			t.Errorf("%s: %s, want %s", c.name, got.In(Shanghai), c.want)
		}
	}
}

// TestQueueClosedOutsideCallingHours: outside the wave's hours the queue
// hands out nothing and says when calling resumes; a case already held is
// still given back to its interviewer.
func TestQueueClosedOutsideCallingHours(t *testing.T) {
	q := newQueue(t)
	r := DefaultRules
	r.Days, _ = ParseDays("mon-fri")
	q.setRules(r)
	ctx := context.Background()
	got, err := NextTask(ctx, q.db, q.wave, q.users["ann"], r, shanghai(27, 20, 59))
	if err != nil || got.Kind != TaskCase {
		t.Fatalf("Friday 20:59: %+v %v", got, err)
	}
	if again, err := NextTask(ctx, q.db, q.wave, q.users["ann"], r, shanghai(27, 21, 5)); err != nil || again != got {
		t.Fatalf("the held case after hours: %+v %v", again, err)
	}
	for _, at := range []time.Time{shanghai(27, 21, 0), shanghai(28, 10, 0), shanghai(30, 8, 59)} {
		_, err := NextTask(ctx, q.db, q.wave, q.users["bob"], r, at)
		var de *core.Error
		if !errors.Is(err, ErrClosed) || !errors.As(err, &de) {
			t.Fatalf("%s: %v, want the queue closed", at, err)
		}
		if !strings.Contains(de.ZH, "不在本轮的拨打时段内") || !strings.Contains(de.ZH, "2026-11-30 09:00") ||
			!strings.Contains(de.EN, "outside this wave's calling hours (09:00–21:00, Mon–Fri)") || !strings.Contains(de.EN, "2026-11-30 09:00") {
			t.Errorf("%s: message %q / %q", at, de.ZH, de.EN)
		}
	}
	var held int
	q.db.Get(&held, `SELECT count(*) FROM cases WHERE held_by = $1`, q.users["bob"])
	if held != 0 {
		t.Fatalf("bob holds %d cases handed out after hours", held)
	}
	if _, err := NextTask(ctx, q.db, q.wave, q.users["bob"], r, shanghai(30, 9, 0)); err != nil {
		t.Fatalf("Monday 09:00: %v", err)
	}
}
