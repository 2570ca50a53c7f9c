package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRetryDelaysInHoursAndDays: a supervisor enters retry delays as a
// number and a unit; they are stored in minutes as before, shown back in
// the unit they were given in, and audited; a unit that is not one, or a
// delay over 90 days, is refused with the reason.
func TestRetryDelaysInHoursAndDays(t *testing.T) {
	fx := newFixture(t, 0.0001)
	sup := fx.signIn(t, "supervisor")
	form := url.Values{"hours": {"08:00-20:30"}, "days": {"mon-sat"}, "grace": {"20"}, "max_attempts": {"5"},
		"retry_busy": {"30"}, "retry_busy_unit": {"minutes"}, "retry_no_answer": {"2"}, "retry_no_answer_unit": {"hours"},
		"retry_soft_refusal": {"3"}, "retry_soft_refusal_unit": {"days"}, "verify_share": {"0.1"}}
	if res := sup.post("/waves/"+fx.wave+"/rules", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save rules: %d %s", res.StatusCode, readAll(res))
	}
	var busy, noAnswer, soft int
	if err := fx.db.QueryRow(`SELECT retry_busy, retry_no_answer, retry_soft_refusal FROM waves WHERE name = $1`, fx.wave).Scan(&busy, &noAnswer, &soft); err != nil {
		t.Fatal(err)
	}
	if busy != 30 || noAnswer != 120 || soft != 3*24*60 {
		t.Fatalf("stored %d, %d, %d minutes; want 30, 120, 4320", busy, noAnswer, soft)
	}
	page := sup.get("/waves/" + fx.wave)
	for _, want := range []string{
		`name="retry_busy" value="30"`, `<option value="minutes" selected>分钟</option>`,
		`name="retry_no_answer" value="2"`, `<option value="hours" selected>小时</option>`,
		`name="retry_soft_refusal" value="3"`, `<option value="days" selected>天</option>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the wave page lacks %s", want)
		}
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'calling-rules' AND subject = $1 AND (details->>'retry_soft_refusal')::int = 4320`, fx.wave)
	if audited != 1 {
		t.Errorf("the delays were audited %d times", audited)
	}
	for unit, n := range map[string]string{"weeks": "1", "days": "91"} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("retry_soft_refusal", n)
		bad.Set("retry_soft_refusal_unit", unit)
		res := sup.post("/waves/"+fx.wave+"/rules", bad)
		if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "婉拒后由转化员再访间隔") {
			t.Errorf("%s %s: %d", n, unit, res.StatusCode)
		}
	}
}
