package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestCallRecordsExport: supervisors and admins download a wave's call
// records from the scores page, in UTF-8 or GB18030, audited; each attempt
// with its case's reference, time, SIP code, outcome, ring and talk time,
// who hung up and the interviewer's id, never the number called, the case's
// row id or the interviewer's name. Neither the office nor interviewers
// can have them.
func TestCallRecordsExport(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	var ids []string
	for _, o := range []string{"busy", "busy", "refusal"} {
		id := c.nextCase()
		if res := c.post("/cases/"+id+"/outcome", url.Values{"outcome": {o}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", o, res.StatusCode)
		}
		ids = append(ids, id)
	}
	// The first busy attempt went through Minyi's own call.
	var callID int64
	if err := fx.db.Get(&callID, `INSERT INTO calls (case_id, interviewer_id, state, ended_at, sip_code, ring_ms, talk_ms, hangup_by)
		VALUES ($1, $2, 'ended', now(), 486, 4200, 0, 'network') RETURNING id`, ids[0], fx.users["interviewer"]); err != nil {
		t.Fatal(err)
	}
	mustExecWeb(t, fx, `UPDATE attempts SET call_id = $1 WHERE case_id = $2`, callID, ids[0])

	sup := fx.signIn(t, "supervisor")
	if page := sup.get("/scores/" + fx.wave); !strings.Contains(page, `href="/waves/`+fx.wave+`/export/calls"`) {
		t.Fatal("the scores page has no link to the call records")
	}
	res := sup.do("GET", "/waves/"+fx.wave+"/export/calls?header=codes", nil)
	body := readAll(res)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Disposition") != "attachment; filename*=UTF-8''calls-"+fx.wave+"-utf8.csv" {
		t.Fatalf("call records: %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "case_ref,attempted_at,interviewer_id,mode,outcome,aapor_code,final,sip_code,ring_seconds,talk_seconds,hangup_by" || len(recs) != 4 {
		t.Fatalf("call records:\n%s", body)
	}
	interviewer := strconv.FormatInt(fx.users["interviewer"], 10)
	refs := map[string]bool{}
	for _, r := range recs[1:] {
		refs[r[0]] = true
		if r[2] != interviewer || !strings.HasSuffix(r[1], "+08:00") {
			t.Fatalf("row %v: want interviewer %s and Beijing time", r, interviewer)
		}
	}
	if len(refs) != 3 {
		t.Fatalf("%d case references for 3 cases", len(refs))
	}
	if !strings.Contains(body, ",busy,3.12,0,486,4.2,0.0,network\r\n") || !strings.Contains(body, ",refusal,") {
		t.Fatalf("the outcomes or the call are missing:\n%s", body)
	}
	for _, id := range ids {
		var phone string
		fx.db.Get(&phone, `SELECT phone FROM cases WHERE id = $1`, id)
		if phone == "" || strings.Contains(body, phone) {
			t.Fatalf("the call records carry the number %q", phone)
		}
		if refs[id] {
			t.Fatalf("case %s is referred to by its row id", id)
		}
	}
	if strings.Contains(body, "interviewer,") || strings.Contains(body, ",interviewer\r\n") {
		t.Fatal("the call records name the interviewer")
	}

	// In GB18030 the same rows, the same references.
	res = fx.signIn(t, "admin").do("GET", "/waves/"+fx.wave+"/export/calls?encoding=gb18030&header=codes", nil)
	gb := readAll(res)
	utf, _ := simplifiedchinese.GB18030.NewDecoder().String(gb)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Disposition") != "attachment; filename*=UTF-8''calls-"+fx.wave+"-gb18030.csv" || utf != strings.TrimPrefix(body, "\ufeff") {
		t.Fatalf("GB18030 copy: %d %q\n%s", res.StatusCode, res.Header.Get("Content-Disposition"), utf)
	}

	// The scores page's download form asks for the same file, by default
	// with Chinese column names in Chinese.
	if page := sup.get("/scores/" + fx.wave); !strings.Contains(page, `<option value="calls" translate="no">calls.csv</option>`) || !strings.Contains(page, `<option value="labels" selected>中文标签</option>`) {
		t.Fatal("the download form does not offer the call records with Chinese labels")
	}
	res = sup.do("GET", "/waves/"+fx.wave+"/export?kind=calls&encoding=utf-8&header=labels", nil)
	if b := readAll(res); res.StatusCode != http.StatusOK || !strings.HasPrefix(b, "\ufeff样本编号,拨打时间,访员编号,访问方式,拨打结果,AAPOR 代码,是否最终,SIP 代码,振铃时长（秒）,通话时长（秒）,挂断方\r\n") {
		t.Fatalf("call records from the form: %d\n%s", res.StatusCode, b)
	}
	if res := fx.signIn(t, "office").do("GET", "/waves/"+fx.wave+"/export?kind=calls", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("the office downloaded the call records through the form: %d", res.StatusCode)
	}
	if res := sup.do("GET", "/waves/"+fx.wave+"/export?kind=nonsense", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown kind through the form: %d", res.StatusCode)
	}
	for _, role := range []string{"office", "interviewer", "interviewer2"} {
		if res := fx.signIn(t, role).do("GET", "/waves/"+fx.wave+"/export/calls", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("%s downloaded the call records: %d", role, res.StatusCode)
		}
	}
	var audited []string
	fx.db.Select(&audited, `SELECT actor || ' ' || (details->>'encoding') FROM audit_log WHERE action = 'export' AND subject = $1 ORDER BY seq`, "calls:"+fx.wave)
	if strings.Join(audited, ";") != "supervisor utf-8;admin gb18030;supervisor utf-8" {
		t.Fatalf("audit entries %v", audited)
	}
}

func mustExecWeb(t *testing.T, fx *fixture, q string, args ...any) {
	t.Helper()
	if _, err := fx.db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}
