package door

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pgtest"
	"minyi/survey"
)

var fctx = context.Background()

// doorWave is a database with two districts, a household frame in each
// (streets S01…S06, each with 2–4 communities of 10–34 households), a drawn
// door-to-door wave and two field interviewers. It returns the database,
// the wave and the interviewers' ids.
func doorWave(t *testing.T) (*sqlx.DB, *sampler.Wave, []int64) {
	t.Helper()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := sampler.SaveDistricts(fctx, db, []sampler.District{{Code: "500103", Name: "渝中区", Population: 500000}, {Code: "500106", Name: "沙坪坝区", Population: 300000}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"500103", "500106"} {
		if _, err := db.Exec(`
			INSERT INTO household_frame (district_code, street, community, household_id, address, ordinal)
			SELECT $1, 'S' || lpad(s::text, 2, '0'), 'C' || c, $1 || '-' || s || '-' || c || '-' || h, '幸福路 ' || s || '-' || c || '-' || h || ' 号', h
			FROM generate_series(1, 6) s, generate_series(1, 2 + s % 3) c, generate_series(1, 10 + (s * 7 + c * 3) % 25) h`, d); err != nil {
			t.Fatal(err)
		}
	}
	qid, err := survey.SaveQuestionnaire(fctx, db, survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(fctx, db, sampler.WaveSpec{Name: "door-w", Rate: 0.0001, MinPerDistrict: 2, ExpectedRate: 0.5, Modes: []string{"door"}, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.Draw(fctx, db, w.Name, 7); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, u := range []struct{ name, role string }{{"field1", "field_interviewer"}, {"field2", "field_interviewer"}, {"super", "supervisor"}} {
		var id int64
		if err := db.Get(&id, `INSERT INTO users (username, password_hash, role) VALUES ($1, 'x', $2) RETURNING id`, u.name, u.role); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return db, w, ids
}

// at is a time in Shanghai.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, core.Shanghai)
}

func TestDayPartsAndSuggestedVisit(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want dialer.DayPart
	}{{at(23, 8, 0), dialer.Morning}, {at(23, 11, 59), dialer.Morning}, {at(23, 12, 0), dialer.Afternoon}, {at(23, 17, 59), dialer.Afternoon}, {at(23, 18, 0), dialer.Evening}, {at(23, 22, 0), dialer.Evening}} {
		if got := dialer.DayPartOf(c.t); got != c.want {
			t.Errorf("%v: %v, want %v", c.t, got, c.want)
		}
		// The same instant given in UTC is still Shanghai's day part.
		if got := dialer.DayPartOf(c.t.UTC()); got != c.want {
			t.Errorf("%v (UTC): %v, want %v", c.t, got, c.want)
		}
	}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, core.Shanghai) }
	for _, c := range []struct {
		name   string
		visits []time.Time
		now    time.Time
		want   Window
	}{
		{"no visit yet: now", nil, at(23, 10, 0), Window{day(23), dialer.Morning}},
		{"after a morning: next day, afternoon", []time.Time{at(23, 10, 0)}, at(23, 10, 5), Window{day(24), dialer.Afternoon}},
		{"after morning and evening: next day, afternoon", []time.Time{at(23, 10, 0), at(23, 19, 0)}, at(23, 19, 5), Window{day(24), dialer.Afternoon}},
		{"after afternoon and evening: the morning left", []time.Time{at(23, 14, 0), at(24, 19, 0)}, at(24, 19, 5), Window{day(25), dialer.Morning}},
		{"every part tried: the one after the last", []time.Time{at(23, 10, 0), at(24, 14, 0), at(25, 19, 0)}, at(25, 19, 5), Window{day(26), dialer.Morning}},
		{"days later: today, if the part is still ahead", []time.Time{at(20, 10, 0)}, at(23, 9, 0), Window{day(23), dialer.Afternoon}},
		{"days later: tomorrow, if today's part is over", []time.Time{at(20, 10, 0)}, at(23, 19, 0), Window{day(24), dialer.Afternoon}},
		{"no visit yet, late at night: tomorrow morning", nil, at(23, 22, 30), Window{day(24), dialer.Morning}},
		{"an evening visit at 21:30: the day after, morning", []time.Time{at(23, 21, 30)}, at(23, 21, 35), Window{day(24), dialer.Morning}},
	} {
		got := NextVisit(c.visits, c.now)
		if !got.Day.Equal(c.want.Day) || got.Part != c.want.Part {
			t.Errorf("%s: %s, want %s", c.name, got.Label().EN, c.want.Label().EN)
		}
	}
	if l := (Window{day(28), dialer.Evening}).Label(); l.ZH != "11月28日 周六 晚上 18:00–21:00" || l.EN != "Sat 28 Nov, evening 18:00–21:00" {
		t.Errorf("label %+v", l)
	}
}

// communityCases returns the door cases of a community, by listing order.
func communityCases(t *testing.T, db *sqlx.DB, waveID int64, k CommunityKey) []int64 {
	t.Helper()
	var ids []int64
	if err := db.Select(&ids, `SELECT c.id FROM cases c JOIN household_frame h ON h.id = c.household_id
		WHERE c.wave_id = $1 AND h.district_code = $2 AND h.street = $3 AND h.community = $4 ORDER BY h.ordinal`,
		waveID, k.District, k.Street, k.Community); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestAssignCommunitiesAndReassignOnlyUnfinished(t *testing.T) {
	db, w, users := doorWave(t)
	f1, f2, super := users[0], users[1], users[2]
	cs, err := Communities(fctx, db, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var doorCases int
	db.Get(&doorCases, `SELECT count(*) FROM cases WHERE wave_id = $1 AND mode = 'door'`, w.ID)
	sum := 0
	for _, c := range cs {
		sum += c.Households
		if c.InterviewerID != nil {
			t.Fatalf("community %v assigned before any assignment", c.CommunityKey)
		}
	}
	if len(cs) < 4 || sum != doorCases {
		t.Fatalf("%d communities with %d households; the wave has %d door cases", len(cs), sum, doorCases)
	}
	a, b := cs[0].CommunityKey, cs[1].CommunityKey
	moved, err := AssignCommunities(fctx, db, w.ID, Assignment{WaveName: w.Name, Communities: []CommunityKey{a, b}, InterviewerID: f1, ByID: super, By: "super"})
	if err != nil {
		t.Fatal(err)
	}
	if moved != cs[0].Households+cs[1].Households {
		t.Fatalf("moved %d, want %d", moved, cs[0].Households+cs[1].Households)
	}
	// Not a field interviewer; not a community of the wave.
	if _, err := AssignCommunities(fctx, db, w.ID, Assignment{Communities: []CommunityKey{a}, InterviewerID: super, ByID: super}); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("assigned to a supervisor: %v", err)
	}
	if _, err := AssignCommunities(fctx, db, w.ID, Assignment{Communities: []CommunityKey{{"500103", "S01", "nowhere"}}, InterviewerID: f2, ByID: super}); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("assigned a made-up community: %v", err)
	}
	hs, err := AssignedHouseholds(fctx, db, f1, at(23, 10, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != moved || hs[0].Key() != a || hs[len(hs)-1].Key() != b || hs[0].Address == "" || hs[0].MaxVisits != DefaultMaxVisits {
		t.Fatalf("field1 sees %d households (first %+v)", len(hs), hs[0])
	}
	if other, _ := AssignedHouseholds(fctx, db, f2, at(23, 10, 0)); len(other) != 0 {
		t.Fatalf("field2 sees %d households of field1", len(other))
	}
	ids := communityCases(t, db, w.ID, a)
	if _, err := AssignedHousehold(fctx, db, ids[0], f2, at(23, 10, 0)); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("field2 opened field1's household: %v", err)
	}
	// field1 finishes two households of a, then a goes to field2.
	if _, err := RecordVisit(fctx, db, ids[0], f1, "refusal", false, at(23, 10, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := RecordVisit(fctx, db, ids[1], f1, "vacant", false, at(23, 10, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := RecordVisit(fctx, db, ids[2], f1, "no_one_home", false, at(23, 10, 10)); err != nil {
		t.Fatal(err)
	}
	moved, err = AssignCommunities(fctx, db, w.ID, Assignment{WaveName: w.Name, Communities: []CommunityKey{a}, InterviewerID: f2, ByID: super, By: "super"})
	if err != nil {
		t.Fatal(err)
	}
	if moved != len(ids)-2 {
		t.Fatalf("reassignment moved %d, want the %d unfinished", moved, len(ids)-2)
	}
	var stay []int64
	db.Select(&stay, `SELECT id FROM cases WHERE assigned_to = $1 AND id = ANY ($2) ORDER BY id`, f1, ids)
	if len(stay) != 2 || stay[0] != ids[0] || stay[1] != ids[1] {
		t.Fatalf("finished households left with field1: %v, want %v", stay, ids[:2])
	}
	// field2 carries on with the visit field1 began: the history goes along.
	h, err := AssignedHousehold(fctx, db, ids[2], f2, at(23, 10, 30))
	if err != nil || h.Visits != 1 || len(h.History) != 1 || h.Next.Part != dialer.Afternoon {
		t.Fatalf("moved household: %+v, %v", h, err)
	}
	cs, _ = Communities(fctx, db, w.ID)
	if cs[0].Interviewer != "field2" || cs[0].Final != 2 || cs[1].Interviewer != "field1" {
		t.Fatalf("communities after reassignment: %+v / %+v", cs[0], cs[1])
	}
	var audited int
	db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'field-assign'`)
	if audited != 2 {
		t.Fatalf("%d assignments audited, want 2", audited)
	}
}

func TestVisitsOnDifferentDaysAndTimes(t *testing.T) {
	db, w, users := doorWave(t)
	f1, super := users[0], users[2]
	cs, _ := Communities(fctx, db, w.ID)
	k := cs[0].CommunityKey
	if _, err := AssignCommunities(fctx, db, w.ID, Assignment{WaveName: w.Name, Communities: []CommunityKey{k}, InterviewerID: f1, ByID: super, By: "super"}); err != nil {
		t.Fatal(err)
	}
	if err := SetMaxVisits(fctx, db, w.ID, 3); err != nil {
		t.Fatal(err)
	}
	if err := SetMaxVisits(fctx, db, w.ID, 0); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("K = 0 accepted: %v", err)
	}
	ids := communityCases(t, db, w.ID, k)
	visit := func(id int64, code string, occupied bool, when time.Time) (VisitResult, error) {
		return RecordVisit(fctx, db, id, f1, code, occupied, when)
	}
	status := func(id int64) (string, string, int) {
		var s struct {
			Status   string  `db:"status"`
			Final    *string `db:"final_code"`
			Attempts int     `db:"attempts"`
		}
		if err := db.Get(&s, `SELECT status, final_code, attempts FROM cases WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if s.Final == nil {
			return s.Status, "", s.Attempts
		}
		return s.Status, *s.Final, s.Attempts
	}

	// Household 0: never anyone home, three visits → 3.21.
	h := ids[0]
	if r, err := visit(h, "no_one_home", false, at(23, 10, 0)); err != nil || r.Final || r.Code != dialer.CodeNoOneHome {
		t.Fatalf("first visit: %+v %v", r, err)
	}
	// Again the same morning: refused, with a bilingual message and the
	// suggested window.
	_, err := visit(h, "no_one_home", false, at(23, 11, 30))
	var e *core.Error
	if core.ErrorCode(err) != core.EInvalid || !errors.As(err, &e) || !strings.Contains(e.ZH, "同一时段") || !strings.Contains(e.EN, "same part of the same day") || !strings.Contains(e.ZH, "11月24日") {
		t.Fatalf("second morning visit: %v", err)
	}
	if _, _, n := status(h); n != 1 {
		t.Fatalf("the refused visit was counted: %d visits", n)
	}
	// The same day in the evening is another part of the day: allowed.
	if r, err := visit(h, "no_one_home", false, at(23, 19, 0)); err != nil || r.Final {
		t.Fatalf("evening visit: %+v %v", r, err)
	}
	hh, _ := AssignedHousehold(fctx, db, h, f1, at(23, 19, 1))
	if hh.Next.Part != dialer.Afternoon || hh.Next.Day.Day() != 24 {
		t.Fatalf("suggested %s, want 24 Nov afternoon", hh.Next.Label().EN)
	}
	if r, err := visit(h, "no_one_home", false, at(24, 15, 0)); err != nil || !r.Final || r.Code != dialer.CodeNoOneHome {
		t.Fatalf("third visit: %+v %v", r, err)
	}
	if s, code, n := status(h); s != "final" || code != dialer.CodeNoOneHome || n != 3 {
		t.Fatalf("after K visits: %s %s %d", s, code, n)
	}
	if _, err := visit(h, "no_one_home", false, at(25, 10, 0)); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("a fourth visit: %v", err)
	}

	// Household 1: no one home, but a neighbour says they live there → 2.22.
	h = ids[1]
	visit(h, "no_one_home", false, at(23, 10, 0))
	visit(h, "no_one_home", true, at(24, 14, 0))
	if r, err := visit(h, "no_one_home", false, at(25, 19, 0)); err != nil || r.Code != dialer.CodeNoOneHomeOccupied {
		t.Fatalf("occupied household: %+v %v", r, err)
	}
	// Households 2–4: final outcomes at the first visit.
	for i, c := range []struct{ code, want string }{{"refusal", "2.11"}, {"vacant", "4.61"}, {"not_eligible", "4.70"}} {
		if r, err := visit(ids[2+i], c.code, false, at(23, 10, 0)); err != nil || !r.Final || r.Code != c.want {
			t.Fatalf("%s: %+v %v", c.code, r, err)
		}
	}
	// Household 5: no one home, then a refusal at the next visit.
	visit(ids[5], "no_one_home", false, at(23, 10, 0))
	if r, _ := visit(ids[5], "refusal", false, at(24, 19, 0)); r.Code != "2.11" {
		t.Fatalf("refusal after no one home: %+v", r)
	}
	if _, err := visit(ids[6], "moved_away", false, at(23, 10, 0)); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("unknown outcome: %v", err)
	}
	// Household 6: an interview at the door.
	if err := StartInterview(fctx, db, ids[6], users[1]); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("field2 started field1's household: %v", err)
	}
	if err := StartInterview(fctx, db, ids[6], f1); err != nil {
		t.Fatal(err)
	}
	var district string
	db.Get(&district, `SELECT district_code FROM cases WHERE id = $1`, ids[6])
	iid, err := dialer.CompleteInterview(fctx, db, ids[6], f1, "door-key", 0, func(lc dialer.LockedCase) (survey.Interview, error) {
		return survey.Interview{WaveID: lc.WaveID, CaseID: lc.ID, QuestionnaireID: *lc.QuestionnaireID, InterviewerID: f1,
			District: district, Mode: lc.Mode, PSU: lc.PSU, Answers: survey.Answers{"s1": "1"}, IdempotencyKey: "door-key", Source: lc.InterviewSource()}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var iv struct {
		Mode   string `db:"mode"`
		Source string `db:"source"`
		PSU    string `db:"psu"`
	}
	db.Get(&iv, `SELECT mode, source, psu FROM interviews WHERE id = $1`, iid)
	if iv.Mode != "door" || iv.Source != "capi" || iv.PSU == "" {
		t.Fatalf("door interview stored as %+v", iv)
	}
	if err := StartInterview(fctx, db, ids[6], f1); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("started a finished household: %v", err)
	}

	// The rates of the wave count the door cases by their dispositions:
	// I = 1 (household 6), R = 2 (2, 5), NC = 1 (1), UO = 1 (0: 3.21),
	// NE = 2 (3 vacant, 4 not eligible), and every other door case of the
	// wave, never visited, 3.11 (UH).
	var total int
	db.Get(&total, `SELECT count(*) FROM cases WHERE wave_id = $1`, w.ID)
	rows, err := dialer.WaveRates(fctx, db, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	all := rows[len(rows)-1]
	uh := total - 7
	want := dialer.Counts{I: 1, R: 2, NC: 1, UO: 1, NE: 2, UH: uh}
	if all.District != "ALL" || all.Counts != want {
		t.Fatalf("counts %+v, want %+v", all.Counts, want)
	}
	ewant := 4.0 / 6.0
	if math.Abs(all.E-ewant) > 1e-12 {
		t.Fatalf("e = %v, want %v", all.E, ewant)
	}
	U := float64(1 + uh)
	for name, v := range map[string]float64{
		"RR1": 1 / (4 + U), "RR3": 1 / (4 + ewant*U), "RR5": 1.0 / 4, "COOP1": 1.0 / 3, "REF1": 2 / (4 + U), "CON1": 3 / (3 + 1 + U), "CON3": 3.0 / 4,
	} {
		if math.Abs(all.Rates[name]-v) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, all.Rates[name], v)
		}
	}
	// The dispositions CSV gives each door case its mode and code.
	codes := map[int64]string{}
	dialer.EachDisposition(fctx, db, w.ID, func(d dialer.Disposition) error {
		if d.Mode != "door" {
			t.Errorf("case %d: mode %s", d.CaseID, d.Mode)
		}
		codes[d.CaseID] = d.Code
		return nil
	})
	for i, want := range []string{"3.21", "2.22", "2.11", "4.61", "4.70", "2.11", "1.1", "3.11"} {
		if codes[ids[i]] != want {
			t.Errorf("household %d: disposition %s, want %s", i, codes[ids[i]], want)
		}
	}
}
