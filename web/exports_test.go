package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// suppressedRow ends an indicator row of one interview: n 1, n_valid 0 or
// 1, no estimates, flagged.
var suppressedRow = regexp.MustCompile(`,1,[01],,,,,,,1$`)

// TestDownloadSuppressesSmallCells: by default a district with one
// interview shows its n but no score, and says it was suppressed; the
// office may raise the threshold but not lower it; an admin may lower it.
// The threshold used is audited.
func TestDownloadSuppressesSmallCells(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	page := c.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	c.post("/cases/"+id+"/interview", form)

	office := fx.signIn(t, "office")
	res := office.do("GET", "/waves/"+fx.wave+"/export/indicators?header=codes", nil)
	body := readAll(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "suppressed\r\n") {
		t.Fatalf("indicators: %d\n%s", res.StatusCode, body)
	}
	for _, line := range strings.Split(body, "\r\n") {
		if strings.HasPrefix(line, "500103,") && !suppressedRow.MatchString(line) {
			t.Fatalf("the district of one interview is not suppressed: %s", line)
		}
	}
	if res := office.do("GET", "/waves/"+fx.wave+"/export/scores?min_cell=1", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the office lowered the threshold: %d", res.StatusCode)
	}
	if res := office.do("GET", "/waves/"+fx.wave+"/export/scores?min_cell=20", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the office raised the threshold: %d", res.StatusCode)
	}
	admin := fx.signIn(t, "admin")
	body = readAll(admin.do("GET", "/waves/"+fx.wave+"/export/scores-long?min_cell=1", nil))
	if !strings.Contains(body, "500103,composite,1,1,") || !strings.Contains(body, "500103,q01,1,1,") || strings.Contains(body, ",1\r\n500103") {
		t.Fatalf("admin at min_cell=1:\n%s", body)
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'export' AND actor = 'admin' AND details->>'min_cell' = '1'`)
	if audited != 1 {
		t.Fatalf("%d audit entries with the threshold", audited)
	}
}
