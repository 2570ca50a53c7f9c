package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qGetRules = pg.Q("dialer/get-rules")
	qSetRules = pg.Q("dialer/set-rules")
)

// Shanghai is the time zone of calling hours and day parts.
var Shanghai = core.Shanghai

// Rules are a wave's calling rules. Minutes count from midnight in
// Asia/Shanghai; Days has bit d set for time.Weekday d.
type Rules struct {
	From             int     `db:"calling_from"`
	To               int     `db:"calling_to"`
	Days             int     `db:"calling_days"`
	GraceMinutes     int     `db:"appointment_grace"`
	MaxAttempts      int     `db:"max_attempts"`
	RetryBusy        int     `db:"retry_busy"`
	RetryNoAnswer    int     `db:"retry_no_answer"`
	RetrySoftRefusal int     `db:"retry_soft_refusal"`
	VerifyShare      float64 `db:"verify_share"`
	QuotaBySexAge    bool    `db:"quota_by_sex_age"`
}

// DefaultRules are the rules of a wave created without any: 09:00–21:00
// every day, a 15-minute grace for appointments, six attempts, busy again
// after 15 minutes, no answer after 2 hours, a soft refusal after 7 days,
// and 10% of each interviewer's completes verified.
var DefaultRules = Rules{From: 9 * 60, To: 21 * 60, Days: 127, GraceMinutes: 15, MaxAttempts: MaxAttempts,
	RetryBusy: 15, RetryNoAnswer: 120, RetrySoftRefusal: 7 * 24 * 60, VerifyShare: 0.1}

// AllDay are rules open around the clock (for training and load tests).
func AllDay() Rules {
	r := DefaultRules
	r.From, r.To = 0, 24*60
	return r
}

// Grace is how long an appointment stays with its maker after its time.
func (r Rules) Grace() time.Duration { return time.Duration(r.GraceMinutes) * time.Minute }

// Check validates the rules.
func (r Rules) Check() error {
	switch {
	case r.From < 0 || r.To > 24*60 || r.From >= r.To:
		return core.Errorf(core.EInvalid, "拨打时段应在 00:00 与 24:00 之间，且开始早于结束", "the calling hours must lie within 00:00–24:00 and start before they end")
	case r.Days <= 0 || r.Days > 127:
		return core.Errorf(core.EInvalid, "至少选择一个拨打日", "choose at least one calling day")
	case r.GraceMinutes < 0 || r.GraceMinutes > 24*60:
		return core.Errorf(core.EInvalid, "预约保留时间应在 0 到 1440 分钟之间", "the appointment grace must be 0–1440 minutes")
	case r.MaxAttempts < 1 || r.MaxAttempts > 50:
		return core.Errorf(core.EInvalid, "最多拨打次数应在 1 到 50 之间", "the maximum number of attempts must be 1–50")
	case r.RetryBusy <= 0 || r.RetryNoAnswer <= 0 || r.RetrySoftRefusal <= 0:
		return core.Errorf(core.EInvalid, "重拨间隔必须为正", "retry delays must be positive")
	case r.VerifyShare < 0 || r.VerifyShare > 1:
		return core.Errorf(core.EInvalid, "回访比例应在 0 和 1 之间", "the verification share must be between 0 and 1")
	}
	return nil
}

// GetRules reads a wave's calling rules.
func GetRules(ctx context.Context, db sqlx.QueryerContext, waveID int64) (Rules, error) {
	var r Rules
	if err := sqlx.GetContext(ctx, db, &r, qGetRules, waveID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, core.Errorf(core.ENotFound, "没有这个轮次", "no such wave")
		}
		return r, fmt.Errorf("dialer: get rules: %w", err)
	}
	return r, nil
}

// SetRules stores a wave's calling rules.
func SetRules(ctx context.Context, db sqlx.ExecerContext, waveID int64, r Rules) error {
	if err := r.Check(); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, qSetRules, waveID, r.From, r.To, r.Days, r.GraceMinutes, r.MaxAttempts,
		r.RetryBusy, r.RetryNoAnswer, r.RetrySoftRefusal, r.VerifyShare, r.QuotaBySexAge)
	if err != nil {
		return fmt.Errorf("dialer: set rules: %w", err)
	}
	return nil
}

// Open reports whether t falls in the calling hours and days.
func (r Rules) Open(t time.Time) bool {
	t = t.In(Shanghai)
	m := t.Hour()*60 + t.Minute()
	return r.Days&(1<<t.Weekday()) != 0 && m >= r.From && m < r.To
}

// NextOpen is the first moment at or after t in the calling hours and days.
func (r Rules) NextOpen(t time.Time) time.Time {
	t = t.In(Shanghai)
	for i := 0; i < 8; i++ {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Shanghai)
		if r.Days&(1<<day.Weekday()) != 0 {
			from, to := day.Add(time.Duration(r.From)*time.Minute), day.Add(time.Duration(r.To)*time.Minute)
			if t.Before(from) {
				return from
			}
			if t.Before(to) {
				return t
			}
		}
		t = day.AddDate(0, 0, 1)
	}
	return t
}

// Day parts (Morning, Afternoon, Evening, as for visits): a number
// unanswered in the morning is tried next in the afternoon or evening,
// where someone else may be at home.
var daypartStart = [3]int{0, 12 * 60, 18 * 60}

// Daypart returns the day part of t in Asia/Shanghai, as a bit index.
func Daypart(t time.Time) int { return int(DayPartOf(t)) }

// Retry is when to call a case again after delay: at the first open moment
// from now+delay, and, when spread is set, in a day part not yet in tried
// (bit p for day part p) if one comes within a week.
func (r Rules) Retry(now time.Time, delay time.Duration, tried int, spread bool) time.Time {
	first := r.NextOpen(now.Add(delay))
	if !spread || tried&7 == 7 {
		return first
	}
	t := first
	limit := first.AddDate(0, 0, 7)
	for t.Before(limit) {
		p := Daypart(t)
		if tried&(1<<p) == 0 {
			return t
		}
		// Jump to the start of the next day part, then into the hours.
		l := t.In(Shanghai)
		day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, Shanghai)
		if p == int(Evening) {
			t = r.NextOpen(day.AddDate(0, 0, 1))
		} else {
			t = r.NextOpen(day.Add(time.Duration(daypartStart[p+1]) * time.Minute))
		}
	}
	return first
}

// HoursText is the calling hours and days for people, e.g. "09:00–21:00".
func (r Rules) HoursText() string {
	return clockText(r.From) + "–" + clockText(r.To)
}

// DaysText lists the calling days, e.g. "mon-sun" or "mon,tue,wed".
func (r Rules) DaysText() string {
	if r.Days == 127 {
		return "mon-sun"
	}
	var ds []string
	for i := 1; i <= 7; i++ {
		if r.Days&(1<<(i%7)) != 0 {
			ds = append(ds, dayNames[i%7])
		}
	}
	return strings.Join(ds, ",")
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// zhDayNames are the days' names in Chinese, Sunday first as dayNames.
var zhDayNames = [7]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// CallingTimes is the calling hours and days for messages, in both
// languages: "09:00–21:00,周一至周五" / "09:00–21:00, Mon–Fri".
func (r Rules) CallingTimes() core.Text {
	days := r.DaysLabel()
	return core.Text{ZH: r.HoursText() + "，" + days.ZH, EN: r.HoursText() + ", " + days.EN}
}

// DaysLabel is the calling days for people in both languages: "每天" /
// "every day", "周一至周五" / "Mon–Fri", "周一至周五、周日" / "Mon–Fri, Sun".
func (r Rules) DaysLabel() core.Text {
	if r.Days == 127 {
		return core.Text{ZH: "每天", EN: "every day"}
	}
	zhNames := [8]string{"", "周一", "周二", "周三", "周四", "周五", "周六", "周日"}
	enNames := [8]string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	on := func(iso int) bool { return r.Days&(1<<(iso%7)) != 0 }
	var zh, en []string
	for d := 1; d <= 7; {
		if !on(d) {
			d++
			continue
		}
		e := d
		for e < 7 && on(e+1) {
			e++
		}
		switch {
		case e-d >= 2:
			zh, en = append(zh, zhNames[d]+"至"+zhNames[e]), append(en, enNames[d]+"–"+enNames[e])
		default:
			for x := d; x <= e; x++ {
				zh, en = append(zh, zhNames[x]), append(en, enNames[x])
			}
		}
		d = e + 1
	}
	return core.Text{ZH: strings.Join(zh, "、"), EN: strings.Join(en, ", ")}
}

func clockText(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// ParseHours reads calling hours written "09:00-21:00" (24:00 ends at
// midnight).
func ParseHours(s string) (from, to int, err error) {
	bad := core.Errorf(core.EInvalid, "拨打时段 %q 应写成 09:00-21:00", "calling hours %q: write them as 09:00-21:00", s)
	a, b, ok := strings.Cut(strings.ReplaceAll(strings.TrimSpace(s), "–", "-"), "-")
	if !ok {
		return 0, 0, bad
	}
	clock := func(x string) (int, bool) {
		h, m, ok := strings.Cut(strings.TrimSpace(x), ":")
		hh, e1 := strconv.Atoi(h)
		mm, e2 := strconv.Atoi(m)
		if !ok || e1 != nil || e2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
			return 0, false
		}
		return hh*60 + mm, true
	}
	from, ok1 := clock(a)
	to, ok2 := clock(b)
	if !ok1 || !ok2 || from >= to {
		return 0, 0, bad
	}
	return from, to, nil
}

// ParseDays reads calling days: names in Chinese or English, or ISO numbers
// (1 = Monday … 7 = Sunday), single or as ranges, as DaysLabel writes them
// ("周一至周五、周日", "Mon–Fri, Sun", "每天") or as "mon-fri", "1-5,7".
func ParseDays(s string) (int, error) {
	bad := core.Errorf(core.EInvalid, "拨打日 %q 应写成“周一至周五、周日”或 1-5,7 这样的形式", "calling days %q: write them like Mon–Fri, Sun or 1-5,7", s)
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "每天" || t == "every day" {
		return 127, nil
	}
	t = strings.NewReplacer("至", "-", "–", "-", "~", "-", "、", ",", "，", ",", " ", "").Replace(t)
	iso := func(x string) (int, bool) {
		for i, n := range dayNames {
			if x == n || x == zhDayNames[i] || x == "星期"+strings.TrimPrefix(zhDayNames[i], "周") {
				return (i+6)%7 + 1, true
			}
		}
		n, err := strconv.Atoi(x)
		return n, err == nil && n >= 1 && n <= 7
	}
	mask := 0
	for _, part := range strings.Split(t, ",") {
		a, b, isRange := strings.Cut(part, "-")
		lo, ok1 := iso(a)
		hi, ok2 := lo, true
		if isRange {
			hi, ok2 = iso(b)
		}
		if !ok1 || !ok2 || hi < lo {
			return 0, bad
		}
		for d := lo; d <= hi; d++ {
			mask |= 1 << (d % 7)
		}
	}
	if mask == 0 {
		return 0, bad
	}
	return mask, nil
}

// ErrClosed is wrapped by the error of a queue outside its calling hours.
var ErrClosed = errors.New("outside the calling hours")

// ClosedError says that the wave is outside its calling hours, and when
// calling resumes; errors.Is(err, ErrClosed) holds.
func (r Rules) ClosedError(now time.Time) error {
	next := r.NextOpen(now).In(Shanghai)
	hours, at := r.CallingTimes(), next.Format("2006-01-02 15:04")
	return &core.Error{Code: core.EConflict,
		ZH:  fmt.Sprintf("现在不在本轮的拨打时段内（%s），暂不发放样本；下一个拨打时段从 %s 开始。", hours.ZH, at),
		EN:  fmt.Sprintf("Calls are outside this wave's calling hours (%s), so no case is handed out; calling resumes at %s.", hours.EN, at),
		Err: ErrClosed}
}
