package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"minyi/core"
	"minyi/dialer"
	"minyi/door"
	"minyi/sampler"
	"minyi/users"
)

// doorFixture is a fixture with a household frame in two districts, a
// drawn door-to-door wave "door-w", a second field interviewer "field2",
// and a clock the test sets (Shanghai time).
type doorFixture struct {
	*fixture
	wave   *sampler.Wave
	mu     sync.Mutex
	now    time.Time
	field2 int64
}

func (d *doorFixture) setNow(t time.Time) { d.mu.Lock(); d.now = t; d.mu.Unlock() }

func newDoorFixture(t *testing.T) *doorFixture {
	t.Helper()
	ctx := context.Background()
	fx := newFixture(t, 0)
	for _, d := range []string{"500103", "500106"} {
		if _, err := fx.db.Exec(`
			INSERT INTO household_frame (district_code, street, community, household_id, address, ordinal)
			SELECT $1, '街道' || s, '社区' || c, $1 || '-' || s || '-' || c || '-' || h, '解放碑民生路 ' || s || ' 巷 ' || c || ' 栋 ' || h || ' 号', h
			FROM generate_series(1, 6) s, generate_series(1, 2 + s % 3) c, generate_series(1, 10 + (s * 7 + c * 3) % 25) h`, d); err != nil {
			t.Fatal(err)
		}
	}
	var qid int64
	if err := fx.db.Get(&qid, `SELECT id FROM questionnaires ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, fx.db, sampler.WaveSpec{Name: "door-w", Rate: 0.0001, MinPerDistrict: 2, ExpectedRate: 0.5, Modes: []string{"door"}, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.Draw(ctx, fx.db, w.Name, 11); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Add(ctx, fx.db, "field2", "", testPassword, users.RoleField); err != nil {
		t.Fatal(err)
	}
	d := &doorFixture{fixture: fx, wave: w, now: time.Date(2026, 11, 23, 10, 0, 0, 0, core.Shanghai)}
	fx.db.Get(&d.field2, `SELECT id FROM users WHERE username = 'field2'`)
	fx.s.opt.Now = func() time.Time { d.mu.Lock(); defer d.mu.Unlock(); return d.now }
	return d
}

// assign assigns communities (by their index on the assignment page) to a
// field interviewer through the page's form.
func (d *doorFixture) assign(t *testing.T, sup *client, interviewer int64, cs ...door.Community) {
	t.Helper()
	form := url.Values{"interviewer": {strconv.FormatInt(interviewer, 10)}}
	for _, c := range cs {
		form.Add("community", communityValue(c.CommunityKey))
	}
	res := sup.post("/waves/door-w/field", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", res.StatusCode, readAll(res))
	}
	res.Body.Close()
}

func TestFieldAssignmentVisitsAndInterview(t *testing.T) {
	d := newDoorFixture(t)
	ctx := context.Background()
	cs, err := door.Communities(ctx, d.db, d.wave.ID)
	if err != nil || len(cs) < 3 {
		t.Fatalf("%d communities: %v", len(cs), err)
	}
	sup := d.signIn(t, "supervisor")
	page := sup.get("/waves/door-w/field")
	if !strings.Contains(page, cs[0].Community) || !strings.Contains(page, "field2") || !strings.Contains(page, `id="unassigned">`+strconv.Itoa(sumHouseholds(cs))) {
		t.Fatalf("assignment page:\n%s", page)
	}
	if !strings.Contains(sup.get("/waves/door-w"), `href="/waves/door-w/field"`) {
		t.Error("the wave page does not link to the assignment")
	}
	// A district at a time.
	page = sup.get("/waves/door-w/field?district=500106")
	if strings.Contains(page, "<td>渝中区</td>") || !strings.Contains(page, "<td>沙坪坝区</td>") {
		t.Fatal("the district filter shows other districts")
	}
	// K is set by an admin, between 1 and 12.
	adm := d.signIn(t, "admin")
	if res := adm.post("/waves/door-w/field/visits", url.Values{"max_visits": {"0"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("K = 0: %d", res.StatusCode)
	}
	adm.post("/waves/door-w/field/visits", url.Values{"max_visits": {"5"}}).Body.Close()
	if !strings.Contains(sup.get("/waves/door-w/field"), `id="max-visits">5<`) {
		t.Fatal("K not saved")
	}
	adm.post("/waves/door-w/field/visits", url.Values{"max_visits": {"4"}}).Body.Close()
	me := d.users[users.RoleField]
	d.assign(t, sup, me, cs[0], cs[1])
	d.assign(t, sup, d.field2, cs[2])
	page = sup.get("/waves/door-w/field")
	if strings.Count(page, "<td class=\"assigned\">field_interviewer</td>") != 2 || strings.Count(page, "<td class=\"assigned\">field2</td>") != 1 {
		t.Fatalf("assigned interviewers not shown:\n%s", page)
	}
	// Assigning to someone who is not a field interviewer is refused.
	res := sup.post("/waves/door-w/field", url.Values{"interviewer": {strconv.FormatInt(d.users[users.RoleInterview], 10)}, "community": {communityValue(cs[3].CommunityKey)}})
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "入户访员") {
		t.Fatalf("assigned to a telephone interviewer: %d", res.StatusCode)
	}

	// The field interviewer's home is their list: their households only.
	f := d.signIn(t, "field_interviewer")
	if loc := f.do("GET", "/", nil).Header.Get("Location"); loc != "/field" {
		t.Fatalf("field interviewer's home: %q", loc)
	}
	list := f.get("/field")
	mine := map[int64]bool{}
	var ids []int64
	d.db.Select(&ids, `SELECT id FROM cases WHERE assigned_to = $1 ORDER BY id`, me)
	for _, id := range ids {
		mine[id] = true
		if !strings.Contains(list, `href="/field/cases/`+strconv.FormatInt(id, 10)+`"`) {
			t.Fatalf("household %d missing from the list", id)
		}
	}
	if len(ids) != cs[0].Households+cs[1].Households || strings.Count(list, `class="household`) != len(ids) {
		t.Fatalf("list shows %d households, %d assigned", strings.Count(list, `class="household`), len(ids))
	}
	if !strings.Contains(list, cs[0].Community) || !strings.Contains(list, "未访") || !strings.Contains(list, "已访 0/4") {
		t.Fatalf("list:\n%s", list)
	}
	// Another's household is not found, whatever is tried.
	var theirs int64
	d.db.Get(&theirs, `SELECT id FROM cases WHERE assigned_to = $1 LIMIT 1`, d.field2)
	other := "/field/cases/" + strconv.FormatInt(theirs, 10)
	for _, r := range []struct{ method, path string }{{"GET", other}, {"POST", other + "/visit"}, {"POST", other + "/interview"}, {"POST", other + "/breakoff"}, {"GET", "/cases/" + strconv.FormatInt(theirs, 10) + "/interview"}} {
		var res *http.Response
		if r.method == "GET" {
			res = f.do("GET", r.path, nil)
		} else {
			res = f.post(r.path, url.Values{"outcome": {"refusal"}})
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s of field2's household: %d, want 404", r.method, r.path, res.StatusCode)
		}
	}

	// Visits to households of the first community, in listing order: no
	// one home this morning; again this morning is refused with the reason
	// in both languages; this evening is fine.
	var inA []int64
	d.db.Select(&inA, `SELECT c.id FROM cases c JOIN household_frame h ON h.id = c.household_id
		WHERE c.wave_id = $1 AND h.district_code = $2 AND h.street = $3 AND h.community = $4 ORDER BY h.ordinal`, d.wave.ID, cs[0].District, cs[0].Street, cs[0].Community)
	all := ids
	ids = inA
	h := "/field/cases/" + strconv.FormatInt(ids[0], 10)
	res = f.post(h+"/visit", url.Values{"outcome": {"no_one_home"}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/field?msg=visit#h") {
		t.Fatalf("no one home: %d %s", res.StatusCode, loc)
	}
	d.setNow(time.Date(2026, 11, 23, 11, 40, 0, 0, core.Shanghai))
	res = f.post(h+"/visit", url.Values{"outcome": {"no_one_home"}})
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "同一时段再敲门不算新的一次来访") || !strings.Contains(body, "11月24日") {
		t.Fatalf("second visit the same morning: %d", res.StatusCode)
	}
	page = f.get(h)
	if !strings.Contains(page, "已访") || !strings.Contains(page, "1/4") || !strings.Contains(page, "11月24日 周二 下午") {
		t.Fatalf("household after one visit:\n%s", page)
	}
	// In English too.
	f.do("GET", "/lang/en", nil).Body.Close()
	page = f.get(h)
	if !strings.Contains(page, "Tue 24 Nov, afternoon 12:00–18:00") || !strings.Contains(page, "To visit again") || !strings.Contains(page, "No one home · AAPOR 3.21") {
		t.Fatalf("household in English:\n%s", page)
	}
	res = f.post(h+"/visit", url.Values{"outcome": {"no_one_home"}})
	if body := readAll(res); !strings.Contains(body, "knocking again in the same part of the same day is not a new visit") {
		t.Fatal("the refusal is not in English")
	}
	f.do("GET", "/lang/zh", nil).Body.Close()
	d.setNow(time.Date(2026, 11, 23, 19, 0, 0, 0, core.Shanghai))
	if res := f.post(h+"/visit", url.Values{"outcome": {"no_one_home"}, "occupied": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("evening visit: %d", res.StatusCode)
	}
	for i, day := range []int{24, 25} {
		d.setNow(time.Date(2026, 11, day, 14, 0, 0, 0, core.Shanghai))
		res := f.post(h+"/visit", url.Values{"outcome": {"no_one_home"}})
		if loc := res.Header.Get("Location"); (i == 1) != strings.HasPrefix(loc, "/field?msg=visitfinal") {
			t.Fatalf("visit %d: %s", i+3, loc)
		}
	}
	var final string
	d.db.Get(&final, `SELECT final_code FROM cases WHERE id = $1`, ids[0])
	if final != dialer.CodeNoOneHomeOccupied {
		t.Fatalf("after 4 visits without contact, occupied: %s, want 2.22", final)
	}
	if body := readAll(f.post(h+"/visit", url.Values{"outcome": {"no_one_home"}})); !strings.Contains(body, "已经结束") {
		t.Fatal("a visit to a finished household was not refused")
	}
	// Vacant, refused.
	for i, c := range []struct{ outcome, code string }{{"vacant", "4.61"}, {"refusal", "2.11"}, {"not_eligible", "4.70"}} {
		id := ids[1+i]
		f.post("/field/cases/"+strconv.FormatInt(id, 10)+"/visit", url.Values{"outcome": {c.outcome}}).Body.Close()
		d.db.Get(&final, `SELECT final_code FROM cases WHERE id = $1`, id)
		if final != c.code {
			t.Fatalf("%s: %s, want %s", c.outcome, final, c.code)
		}
	}

	// Interview at the door with the questionnaire form.
	id := strconv.FormatInt(ids[4], 10)
	res = f.post("/field/cases/"+id+"/interview", url.Values{})
	if loc := res.Header.Get("Location"); loc != "/cases/"+id+"/interview" {
		t.Fatalf("start interview: %d %s", res.StatusCode, loc)
	}
	form := f.get("/cases/" + id + "/interview")
	if !strings.Contains(form, `id="questionnaire"`) || !strings.Contains(form, `href="/field/cases/`+id+`#breakoff"`) {
		t.Fatalf("interview form:\n%.2000s", form)
	}
	answers := completeAnswers("500103")
	answers.Set("key", formValue(form, "key"))
	answers.Set("started", formValue(form, "started"))
	res = f.post("/cases/"+id+"/interview", answers)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/field?msg=saved" {
		t.Fatalf("save interview: %d %s %s", res.StatusCode, loc, readAll(res))
	}
	var iv struct {
		Mode   string `db:"mode"`
		Source string `db:"source"`
		PSU    string `db:"psu"`
		Code   string `db:"final_code"`
	}
	if err := d.db.Get(&iv, `SELECT i.mode, i.source, i.psu, c.final_code FROM interviews i JOIN cases c ON c.id = i.case_id WHERE i.case_id = $1`, ids[4]); err != nil {
		t.Fatal(err)
	}
	var psu string
	d.db.Get(&psu, `SELECT psu FROM cases WHERE id = $1`, ids[4])
	if iv.Mode != "door" || iv.Source != "capi" || iv.PSU != psu || iv.Code != "1.1" {
		t.Fatalf("door interview stored as %+v (case psu %s)", iv, psu)
	}
	if !strings.Contains(f.get("/field?msg=saved"), "访问已保存") {
		t.Fatal("no notice after saving")
	}

	// Reassigning the community moves only its unfinished households.
	var finishedA int
	d.db.Get(&finishedA, `SELECT count(*) FROM cases WHERE id = ANY ($1) AND status = 'final'`, pq.Int64Array(inA))
	d.assign(t, sup, d.field2, cs[0])
	var stillMine, movedToField2 int
	d.db.Get(&stillMine, `SELECT count(*) FROM cases WHERE id = ANY ($1) AND assigned_to = $2`, pq.Int64Array(inA), me)
	d.db.Get(&movedToField2, `SELECT count(*) FROM cases WHERE id = ANY ($1) AND assigned_to = $2 AND status <> 'final'`, pq.Int64Array(inA), d.field2)
	if finishedA != 5 || stillMine != finishedA || movedToField2 != len(inA)-finishedA {
		t.Fatalf("reassignment: %d finished stay (of %d), %d unfinished moved (of %d)", stillMine, finishedA, movedToField2, len(inA)-finishedA)
	}
	// The finished households stay on field1's list; the moved ones are gone.
	list = f.get("/field")
	if strings.Count(list, `class="household`) != len(all)-(len(inA)-finishedA) {
		t.Fatalf("after reassignment the list shows %d households", strings.Count(list, `class="household`))
	}
}

// TestFieldBreakOff: a break-off at the door before the indicators leaves
// the household to visit again, unless it was the last allowed visit; one
// well into the indicators keeps a partial interview, mode door.
func TestFieldBreakOff(t *testing.T) {
	d := newDoorFixture(t)
	cs, _ := door.Communities(context.Background(), d.db, d.wave.ID)
	sup := d.signIn(t, "supervisor")
	d.assign(t, sup, d.users[users.RoleField], cs[0])
	f := d.signIn(t, "field_interviewer")
	var ids []string
	d.db.Select(&ids, `SELECT id::text FROM cases WHERE assigned_to = $1 ORDER BY id`, d.users[users.RoleField])
	breakOff := func(id string, answered map[string]string) string {
		t.Helper()
		f.post("/field/cases/"+id+"/interview", url.Values{}).Body.Close()
		f.get("/cases/" + id + "/interview")
		if !strings.Contains(f.get("/field/cases/"+id), `id="breakoff"`) {
			t.Fatal("the household page of a started interview offers no break-off")
		}
		if code, out := f.saveDraft(id, 1, "", answered); code != http.StatusOK {
			t.Fatalf("draft: %d %v", code, out)
		}
		return f.post("/field/cases/"+id+"/breakoff", url.Values{}).Header.Get("Location")
	}
	caseOf := func(id string) (status, final string, visits int) {
		var r struct {
			Status   string  `db:"status"`
			Final    *string `db:"final_code"`
			Attempts int     `db:"attempts"`
		}
		d.db.Get(&r, `SELECT status, final_code, attempts FROM cases WHERE id = $1`, id)
		if r.Final != nil {
			final = *r.Final
		}
		return r.Status, final, r.Attempts
	}
	if loc := breakOff(ids[0], indicatorAnswers(0)); loc != "/field?msg=fieldcallback" {
		t.Fatalf("break-off before the indicators: %s", loc)
	}
	if s, _, n := caseOf(ids[0]); s != "pending" || n != 1 {
		t.Fatalf("after a callback break-off: %s, %d visits", s, n)
	}
	if loc := breakOff(ids[1], indicatorAnswers(10)); loc != "/field?msg=partial" {
		t.Fatalf("break-off after 10 indicators: %s", loc)
	}
	var mode, source string
	d.db.QueryRow(`SELECT mode, source FROM interviews WHERE case_id = $1`, ids[1]).Scan(&mode, &source)
	if _, final, _ := caseOf(ids[1]); final != "1.2" || mode != "door" || source != "capi" {
		t.Fatalf("partial at the door: %s, %s/%s", final, mode, source)
	}
	// With K = 2, a callback break-off at the second visit ends the
	// household as a break-off.
	d.db.Exec(`UPDATE waves SET max_visits = 2 WHERE id = $1`, d.wave.ID)
	f.post("/field/cases/"+ids[2]+"/visit", url.Values{"outcome": {"no_one_home"}}).Body.Close()
	if loc := breakOff(ids[2], indicatorAnswers(0)); loc != "/field?msg=breakoff" {
		t.Fatalf("callback break-off at the last visit: %s", loc)
	}
	if s, final, n := caseOf(ids[2]); s != "final" || final != "2.12" || n != 2 {
		t.Fatalf("after the last visit: %s %s %d", s, final, n)
	}
}

func sumHouseholds(cs []door.Community) int {
	n := 0
	for _, c := range cs {
		n += c.Households
	}
	return n
}
