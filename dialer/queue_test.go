package dialer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// TestHardAppointment: an appointment stays with the interviewer who made
// it for the grace period after its time; then it is missed and goes to
// anyone, before the due retries.
func TestHardAppointment(t *testing.T) {
	q := newQueue(t)
	now := time.Now()
	x := q.nextCase("ann")
	q.record("ann", x, "appointment", now.Add(time.Hour), now)
	y := q.nextCase("bob")
	q.record("bob", y, "busy", time.Time{}, now)
	// Both due: the appointment 5 minutes ago (within the 15-minute grace),
	// the retry too.
	q.exec(`UPDATE cases SET next_at = now() - interval '5 minutes' WHERE id = $1`, x)
	q.exec(`UPDATE cases SET next_at = now() - interval '10 minutes' WHERE id = $1`, y)
	if got := q.nextCase("bob"); got != y {
		t.Fatalf("bob got case %d, want the retry %d: ann's appointment is still hers", got, y)
	}
	q.record("bob", y, "busy", time.Time{}, now)
	q.exec(`UPDATE cases SET next_at = now() - interval '10 minutes' WHERE id = $1`, y)
	if got := q.nextCase("ann"); got != x {
		t.Fatalf("ann got case %d, want her appointment %d", got, x)
	}
	// Ann makes another appointment, and misses it by 20 minutes.
	q.record("ann", x, "appointment", now.Add(time.Hour), now)
	q.exec(`UPDATE cases SET next_at = now() - interval '20 minutes' WHERE id = $1`, x)
	if got := q.nextCase("bob"); got != x {
		t.Fatalf("bob got case %d, want the missed appointment %d before the retry %d", got, x, y)
	}
	var by int64
	q.db.Get(&by, `SELECT appointment_by FROM cases WHERE id = $1`, x)
	if by != q.users["ann"] {
		t.Errorf("appointment made by %d, want ann", by)
	}
	// A longer grace keeps it for its maker.
	q.record("bob", x, "appointment", now.Add(time.Hour), now)
	q.exec(`UPDATE cases SET next_at = now() - interval '20 minutes' WHERE id = $1`, x)
	r := q.rules()
	r.GraceMinutes = 30
	q.setRules(r)
	if got := q.nextCase("ann"); got == x {
		t.Fatal("ann got bob's appointment inside a 30-minute grace")
	}
	if got := q.nextCase("bob"); got != x {
		t.Fatalf("bob got %d, want his appointment %d", got, x)
	}
	// Appointments outside the calling hours are refused (whatever the
	// time the test runs at).
	r.From, r.To = 9*60, 21*60
	q.setRules(r)
	late := time.Date(now.Year(), now.Month(), now.Day()+1, 22, 0, 0, 0, Shanghai)
	if err := RecordOutcome(context.Background(), q.db, x, q.users["bob"], "appointment", late, now); err == nil {
		t.Fatal("an appointment at 22:00 was accepted with hours until 21:00")
	}
}

// TestRetriesByOutcome: busy, no answer and soft refusal come back after
// the wave's delays, a no-answer in another day part.
func TestRetriesByOutcome(t *testing.T) {
	q := newQueue(t)
	r := DefaultRules // 09:00–21:00
	q.setRules(r)
	type row struct {
		Next  time.Time `db:"next_at"`
		Parts int       `db:"dayparts_tried"`
	}
	state := func(id int64) row {
		var s row
		if err := q.db.Get(&s, `SELECT next_at, dayparts_tried FROM cases WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := context.Background()
	take := func(user string, at time.Time) int64 {
		t.Helper()
		tk, err := NextTask(ctx, q.db, q.wave, q.users[user], r, at)
		if err != nil || tk.Kind != TaskCase {
			t.Fatalf("next at %s: %+v %v", at, tk, err)
		}
		return tk.ID
	}
	// No answer at 10:00: at 12:00, the afternoon.
	c := take("ann", shanghai(27, 10, 0))
	q.record("ann", c, "no_answer", time.Time{}, shanghai(27, 10, 0))
	if s := state(c); !s.Next.Equal(shanghai(27, 12, 0)) || s.Parts != 1<<Morning {
		t.Fatalf("after a morning no-answer: %s, parts %b", s.Next.In(Shanghai), s.Parts)
	}
	// No answer again at 12:30: 14:30 is afternoon again, so 18:00.
	q.exec(`UPDATE cases SET next_at = now() - interval '1 minute' WHERE id = $1`, c)
	if got := take("ann", shanghai(27, 12, 30)); got != c {
		t.Fatalf("got %d, want the due retry %d", got, c)
	}
	q.record("ann", c, "no_answer", time.Time{}, shanghai(27, 12, 30))
	if s := state(c); !s.Next.Equal(shanghai(27, 18, 0)) || s.Parts != 1<<Morning|1<<Afternoon {
		t.Fatalf("after an afternoon no-answer: %s, parts %b", s.Next.In(Shanghai), s.Parts)
	}
	// Busy at 20:50: the next opening.
	b := take("ann", shanghai(27, 20, 50))
	q.record("ann", b, "busy", time.Time{}, shanghai(27, 20, 50))
	if s := state(b); !s.Next.Equal(shanghai(28, 9, 0)) {
		t.Fatalf("after a busy line at 20:50: %s", s.Next.In(Shanghai))
	}
	// Busy at 10:00 with a wave delay of 30 minutes.
	r.RetryBusy = 30
	q.setRules(r)
	b2 := take("ann", shanghai(27, 10, 0))
	q.record("ann", b2, "busy", time.Time{}, shanghai(27, 10, 0))
	if s := state(b2); !s.Next.Equal(shanghai(27, 10, 30)) {
		t.Fatalf("after a busy line with a 30-minute delay: %s", s.Next.In(Shanghai))
	}
	// Soft refusal: seven days later.
	sr := take("ann", shanghai(27, 11, 0))
	q.record("ann", sr, "soft_refusal", time.Time{}, shanghai(27, 11, 0))
	if s := state(sr); !s.Next.Equal(shanghai(27, 11, 0).AddDate(0, 0, 7)) {
		t.Fatalf("after a soft refusal: %s", s.Next.In(Shanghai))
	}
}

// TestSoftRefusalGoesToConverters: a soft refusal is called back only by a
// refusal converter, and a second refusal ends the case.
func TestSoftRefusalGoesToConverters(t *testing.T) {
	q := newQueue(t)
	now := time.Now()
	x := q.nextCase("ann")
	q.record("ann", x, "soft_refusal", time.Time{}, now)
	if got := q.caseState(x); got != "pending -" {
		t.Fatalf("a soft refusal left the case %q", got)
	}
	q.exec(`UPDATE cases SET next_at = now() - interval '1 minute' WHERE id = $1`, x)
	for _, u := range []string{"ann", "bob"} {
		if got := q.nextCase(u); got == x {
			t.Fatalf("%s, not a refusal converter, got the soft refusal", u)
		}
	}
	if got := q.nextCase("conv"); got != x {
		t.Fatalf("the converter got %d, want the soft refusal %d", got, x)
	}
	// Not at home now: still the converters' case.
	q.record("conv", x, "no_answer", time.Time{}, now)
	q.exec(`UPDATE cases SET next_at = now() - interval '1 minute' WHERE id = $1`, x)
	if got := q.nextCase("bob"); got == x {
		t.Fatal("after the converter's no-answer the case went to bob")
	}
	if got := q.nextCase("conv"); got != x {
		t.Fatalf("the converter got %d, want %d back", got, x)
	}
	q.record("conv", x, "soft_refusal", time.Time{}, now)
	if got := q.caseState(x); got != "final 2.11" {
		t.Fatalf("refused again: %q, want final 2.11", got)
	}
}

// TestAttemptsRunOut: after the wave's maximum of attempts a case never
// reached ends as 3.13, one reached with its 2.x code.
func TestAttemptsRunOut(t *testing.T) {
	q := newQueue(t)
	r := q.rules()
	r.MaxAttempts = 3
	q.setRules(r)
	now := time.Now()
	due := func(id int64) { q.exec(`UPDATE cases SET next_at = now() - interval '1 minute' WHERE id = $1`, id) }
	x := q.nextCase("ann")
	for i, o := range []string{"busy", "no_answer", "busy"} {
		if i > 0 {
			due(x)
			if got := q.nextCase("ann"); got != x {
				t.Fatalf("attempt %d: got %d, want %d", i+1, got, x)
			}
		}
		q.record("ann", x, o, time.Time{}, now)
	}
	if got := q.caseState(x); got != "final 3.13" {
		t.Fatalf("never reached in 3 attempts: %q, want final 3.13", got)
	}
	y := q.nextCase("ann")
	q.record("ann", y, "no_answer", time.Time{}, now)
	due(y)
	q.nextCase("ann")
	q.record("ann", y, "appointment", now.Add(time.Hour), now)
	due(y)
	if got := q.nextCase("ann"); got != y {
		t.Fatalf("got %d, want the appointment %d", got, y)
	}
	// Before the last attempt the case counts as reached.
	var code string
	if err := EachDisposition(context.Background(), q.db, q.wave, func(d Disposition) error {
		if d.CaseID == y {
			code = d.Code
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code != "2.21" {
		t.Errorf("disposition of a reached case still being worked: %q, want 2.21", code)
	}
	q.record("ann", y, "no_answer", time.Time{}, now)
	if got := q.caseState(y); got != "final 2.21" {
		t.Fatalf("reached once, then no answer on the last attempt: %q, want final 2.21", got)
	}
}

// TestQuotaFills: once a district has its completes, its remaining cases
// end as 4.80 and are no longer handed out; an interview naming a full
// district is not kept; the sex × age cells work the same way.
func TestQuotaFills(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	q.exec(`UPDATE allocations SET target = 2 WHERE wave_id = $1 AND district_code = $2`, q.wave, districtA)
	now := time.Now()
	// Bob holds a case of A while A fills.
	var held int64
	for held == 0 {
		c := q.nextCase("bob")
		var d string
		q.db.Get(&d, `SELECT stratum FROM cases WHERE id = $1`, c)
		if d == districtA {
			held = c
		} else {
			q.record("bob", c, "refusal", time.Time{}, now)
		}
	}
	for i := 0; i < 2; i++ {
		c := q.nextCase("ann")
		if _, err := q.complete("ann", c, districtA, 1, 2); err != nil {
			t.Fatal(err)
		}
	}
	var open, closed int
	q.db.Get(&open, `SELECT count(*) FROM cases WHERE wave_id = $1 AND stratum = $2 AND status <> 'final'`, q.wave, districtA)
	q.db.Get(&closed, `SELECT count(*) FROM cases WHERE wave_id = $1 AND stratum = $2 AND final_code = '4.80'`, q.wave, districtA)
	if open != 1 || closed < 300 {
		t.Fatalf("after the quota filled: %d open cases of A (want only the held one), %d closed as 4.80", open, closed)
	}
	// Only B is handed out now.
	for i := 0; i < 20; i++ {
		c := q.nextCase("ann")
		var d string
		q.db.Get(&d, `SELECT stratum FROM cases WHERE id = $1`, c)
		if d != districtB {
			t.Fatalf("case %d of %s handed out after A's quota filled", c, d)
		}
		if i < 19 {
			q.record("ann", c, "busy", time.Time{}, now)
		} else {
			// Its respondent lives in A: the interview is not kept.
			_, err := q.complete("ann", c, districtA, 2, 3)
			if !errors.Is(err, ErrQuotaFilled) {
				t.Fatalf("an interview in a full district: %v", err)
			}
			if got := q.caseState(c); got != "final 4.80" {
				t.Fatalf("its case: %q", got)
			}
		}
	}
	// The held case ends as 4.80 whatever its outcome.
	q.record("bob", held, "busy", time.Time{}, now)
	if got := q.caseState(held); got != "final 4.80" {
		t.Fatalf("the case held while A filled: %q", got)
	}
	var n int
	q.db.Get(&n, `SELECT count(*) FROM interviews WHERE wave_id = $1 AND district_code = $2`, q.wave, districtA)
	if n != 2 {
		t.Fatalf("%d interviews in A, want its quota of 2", n)
	}
	rows, err := WaveRates(ctx, q.db, q.wave)
	if err != nil {
		t.Fatal(err)
	}
	a := rows[0]
	if a.District != districtA || a.Counts.QF != closed+1 || a.Counts.I != 2 || a.Counts.NE != a.Counts.QF {
		t.Fatalf("rates of A: %+v (closed %d)", a.Counts, closed)
	}
	// e counts the quota-filled cases as not eligible (docs/statistics.md §6).
	if wantE := 2 / float64(2+a.Counts.NE); math.Abs(a.E-wantE) > 1e-12 || a.Rates["RR1"] != 1 {
		t.Errorf("A: e %v, RR1 %v; want %v and 1 (two completes, everything else quota filled)", a.E, a.Rates["RR1"], wantE)
	}
	live, err := LiveView(ctx, q.db, q.wave)
	if err != nil {
		t.Fatal(err)
	}
	if !live.Districts[0].QuotaFull || live.Districts[1].QuotaFull {
		t.Errorf("live view quota flags: %+v", live.Districts)
	}

	// By sex × age: B's telephone target 10 over census shares of ½ by sex
	// and ⅕ by age group gives cells of ⌈10·½·⅕⌉ = 1.
	r := q.rules()
	r.QuotaBySexAge = true
	q.setRules(r)
	q.exec(`UPDATE allocations SET target = 10 WHERE wave_id = $1 AND district_code = $2`, q.wave, districtB)
	q.exec(`INSERT INTO margins (district_code, variable, category, population) VALUES
		($1, 'sex', 1, 500), ($1, 'sex', 2, 500), ($1, 'age_group', 1, 200), ($1, 'age_group', 2, 200),
		($1, 'age_group', 3, 200), ($1, 'age_group', 4, 200), ($1, 'age_group', 5, 200)`, districtB)
	c := q.nextCase("ann")
	if _, err := q.complete("ann", c, districtB, 1, 2); err != nil {
		t.Fatal(err)
	}
	c = q.nextCase("ann")
	if _, err := q.complete("ann", c, districtB, 1, 2); !errors.Is(err, ErrQuotaFilled) {
		t.Fatalf("a second man of age group 2: %v, want quota filled", err)
	}
	c = q.nextCase("ann")
	if _, err := q.complete("ann", c, districtB, 2, 2); err != nil {
		t.Fatalf("a woman of age group 2: %v", err)
	}
	cells, err := quotas(ctx, q.db, q.wave)
	if err != nil {
		t.Fatal(err)
	}
	var nb int
	for _, cell := range cells {
		if cell.District == districtB {
			nb++
			if cell.Sex == 0 && (cell.Target != 10 || cell.Completes != 2) || cell.Sex != 0 && cell.Target != 1 {
				t.Errorf("cell %+v", cell)
			}
		}
	}
	if nb != 11 {
		t.Errorf("%d quota cells of B, want the district and 10 sex × age groups", nb)
	}
}

// TestVerificationCallBacks: the wave's share of each interviewer's
// completes becomes verification calls, handed to other interviewers with
// their own outcomes.
func TestVerificationCallBacks(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	r := q.rules()
	r.VerifyShare = 0.5
	q.setRules(r)
	for i := 0; i < 4; i++ {
		c := q.nextCase("ann")
		if _, err := q.complete("ann", c, districtB, 1, 2); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	q.db.Get(&n, `SELECT count(*) FROM verification_calls v JOIN users u ON u.id = v.interviewer_id WHERE u.username = 'ann'`)
	if n != 2 {
		t.Fatalf("%d of ann's 4 completes to verify, want 2", n)
	}
	// Not due for an hour; then never to ann herself.
	q.exec(`UPDATE verification_calls SET next_at = now() - interval '1 minute'`)
	for i := 0; i < 3; i++ {
		if got := q.next("ann"); got.Kind != TaskCase {
			t.Fatalf("ann got a %s task", got.Kind)
		}
		q.record("ann", q.next("ann").ID, "busy", time.Time{}, time.Now())
	}
	v := q.next("bob")
	if v.Kind != TaskVerification {
		t.Fatalf("bob got a %s, want a verification call", v.Kind)
	}
	if _, err := VerificationFor(ctx, q.db, v.ID, q.users["ann"]); err == nil {
		t.Fatal("ann can open the verification of her own interview")
	}
	vv, err := VerificationFor(ctx, q.db, v.ID, q.users["bob"])
	if err != nil || vv.Interviewer != "ann" || vv.Phone == "" {
		t.Fatalf("bob's verification: %+v %v", vv, err)
	}
	if err := RecordVerification(ctx, q.db, v.ID, q.users["bob"], "no_answer", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	q.exec(`UPDATE verification_calls SET next_at = now() - interval '1 hour' WHERE id = $1`, v.ID)
	if again := q.next("bob"); again != v {
		t.Fatalf("bob got %+v, want the verification %d again", again, v.ID)
	}
	if err := RecordVerification(ctx, q.db, v.ID, q.users["bob"], "confirmed", "约一周前接过电话", time.Now()); err != nil {
		t.Fatal(err)
	}
	rows, err := Verifications(ctx, q.db, q.wave)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, row := range rows {
		if row.ID == v.ID {
			done++
			if row.Result != "confirmed" || row.Attempts != 2 || row.VerifiedBy != "bob" || row.Note == "" {
				t.Errorf("the verification: %+v", row)
			}
		}
	}
	if done != 1 {
		t.Fatal("the verification is not listed")
	}
	// Verification calls are no part of the sample's dispositions.
	var cases, disp int
	q.db.Get(&cases, `SELECT count(*) FROM cases WHERE wave_id = $1`, q.wave)
	EachDisposition(ctx, q.db, q.wave, func(Disposition) error { disp++; return nil })
	if cases != disp {
		t.Errorf("%d dispositions for %d cases", disp, cases)
	}
	// A respondent who denies the interview puts it on the review list;
	// a confirmed one stays off it.
	q.exec(`UPDATE verification_calls SET next_at = now() - interval '1 minute' WHERE status = 'open'`)
	w := q.next("bob")
	if w.Kind != TaskVerification || w.ID == v.ID {
		t.Fatalf("bob got %+v, want the other verification call", w)
	}
	if err := RecordVerification(ctx, q.db, w.ID, q.users["bob"], "not_confirmed", "说没接过访问", time.Now()); err != nil {
		t.Fatal(err)
	}
	var denied, confirmed int64
	q.db.Get(&denied, `SELECT interview_id FROM verification_calls WHERE id = $1`, w.ID)
	q.db.Get(&confirmed, `SELECT interview_id FROM verification_calls WHERE id = $1`, v.ID)
	flagged, err := FlaggedInterviews(ctx, q.db, q.wave, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(flagged) != 1 || flagged[0].ID != denied || !flagged[0].NotConfirmed || flagged[0].Interviewer != "ann" {
		t.Errorf("flagged for review: %+v, want interview %d (not confirmed) only, not %d", flagged, denied, confirmed)
	}
}

func TestPreviewDialer(t *testing.T) {
	res, err := Preview{}.Dial(context.Background(), &Case{Phone: " 139-2300 1234 "})
	if err != nil || res.Href != "tel:13923001234" || res.Display != " 139-2300 1234 " || res.Placed {
		t.Fatalf("preview: %+v %v", res, err)
	}
	for in, want := range map[string]string{"+8613923001234": "tel:+8613923001234", "1392300\"><script>": "tel:1392300", "": "", "1+2": "tel:12"} {
		if got := TelURI(in); got != want {
			t.Errorf("TelURI(%q) = %q, want %q", in, got, want)
		}
	}
	var _ Dialer = Preview{}
}

// quotaCell is one quota cell's state: a district (Sex and AgeGroup 0) or
// one of its sex × age groups.
type quotaCell struct {
	District  string `db:"district_code" json:"district"`
	Name      string `db:"name" json:"name"`
	Sex       int    `db:"sex" json:"sex"`
	AgeGroup  int    `db:"age_group" json:"age_group"`
	Target    int    `db:"target" json:"target"`
	Completes int    `db:"completes" json:"completes"`
}

// quotas lists a wave's quota cells (those of districts with an interview).
func quotas(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]quotaCell, error) {
	var out []quotaCell
	if err := sqlx.SelectContext(ctx, db, &out, `SELECT q.district_code, coalesce(d.name, '') AS name, q.sex, q.age_group, coalesce(q.target, -1) AS target, q.completes
		FROM quota_cells q LEFT JOIN districts d ON d.code = q.district_code
		WHERE q.wave_id = $1 ORDER BY q.district_code, q.sex, q.age_group`, waveID); err != nil {
		return nil, fmt.Errorf("dialer: quotas: %w", err)
	}
	return out, nil
}
