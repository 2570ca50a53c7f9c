package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"minyi/signing"
	"minyi/survey"
)

// uploadWith posts a file with more fields, as the browser's form does.
func (c *client) uploadWith(path, content string, fields map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", c.csrf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("file", "districts.csv")
	fw.Write([]byte(content))
	w.Close()
	req, _ := http.NewRequest("POST", c.fx.srv.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, readAll(res)
}

// TestPopulationsAfterPublicationNeedAReasonOnTheWeb: once scores are
// published, the districts form refuses new populations without a reason
// and keeps the reason in the audit log with who gave it.
func TestPopulationsAfterPublicationNeedAReasonOnTheWeb(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedScores(t, fx)
	if _, err := survey.PublishScores(context.Background(), fx.db, fx.wave, "office"); err != nil {
		t.Fatal(err)
	}
	admin := fx.signIn(t, "admin")
	tenfold := "code,name,resident_population\n500101,万州区,15630510\n"
	res, page := admin.upload("/districts", tenfold)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "须写明原因") {
		t.Fatalf("populations changed after a publication without a reason: %d", res.StatusCode)
	}
	var pop int64
	fx.db.Get(&pop, `SELECT population FROM districts WHERE code = '500101'`)
	if pop == 15630510 {
		t.Fatal("the refused upload changed the population")
	}
	// The form sends the reason before the file: fields after the file of
	// a streamed upload are never read.
	if form := admin.get("/districts"); !strings.Contains(form, `name="reason"`) || strings.Index(form, `name="reason"`) > strings.Index(form, `name="file"`) {
		t.Fatal("the districts form does not put its reason field before the file")
	}
	res, page = admin.uploadWith("/districts", tenfold, map[string]string{"reason": "统计局更正函 2026-17 号"})
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "15,630,510") {
		t.Fatalf("upload with a reason: %d", res.StatusCode)
	}
	var entry struct {
		Actor  string `db:"actor"`
		ID     *int64 `db:"actor_id"`
		Reason string `db:"reason"`
		File   string `db:"file"`
	}
	if err := fx.db.Get(&entry, `SELECT actor, actor_id, details->>'reason' AS reason, details->>'file' AS file FROM audit_log
		WHERE action = 'districts-upload' ORDER BY seq DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if entry.Actor != "admin" || entry.ID == nil || *entry.ID != fx.users["admin"] || entry.Reason != "统计局更正函 2026-17 号" || entry.File != "districts.csv" {
		t.Fatalf("the upload's entry: %+v", entry)
	}
}

// TestScoresPageComparesWithThePublication: the scores page says when the
// live scores are those published, and when they differ, for which
// districts.
func TestScoresPageComparesWithThePublication(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedScores(t, fx)
	office := fx.signIn(t, "office")
	if page := office.get("/scores/" + fx.wave); strings.Contains(page, "live-") {
		t.Fatal("a wave never published is compared with a publication")
	}
	if _, err := survey.PublishScores(context.Background(), fx.db, fx.wave, "office"); err != nil {
		t.Fatal(err)
	}
	if page := office.get("/scores/" + fx.wave); !strings.Contains(page, `id="live-published"`) {
		t.Fatal("the page does not say the live scores are those published")
	}
	// A supervisor marks an interview of 渝中区 invalid after the publication.
	var id int64
	fx.db.Get(&id, `SELECT min(id) FROM interviews WHERE district_code = '500103'`)
	if err := survey.ReviewInterview(context.Background(), fx.db, id, 1, survey.Editor{ID: fx.users["supervisor"], Username: "supervisor"}, survey.ActionInvalid, "代答"); err != nil {
		t.Fatal(err)
	}
	page := office.get("/scores/" + fx.wave)
	i := strings.Index(page, `id="live-differs"`)
	if i < 0 {
		t.Fatalf("the page does not say the live scores differ:\n%s", page)
	}
	line := page[i : i+strings.Index(page[i:], "</p>")]
	if !strings.Contains(line, "渝中区") || !strings.Contains(line, "全市") || strings.Contains(line, "万州区") {
		t.Fatalf("the districts that differ: %s", line)
	}
}

// TestDownloadsAreSigned: a download's signature, from the page's second
// link, covers exactly the bytes downloaded, with the server's key, which
// the admin's exports page shows.
func TestDownloadsAreSigned(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedScores(t, fx)
	office := fx.signIn(t, "office")
	if res := office.do("GET", "/waves/"+fx.wave+"/signature/scores", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a signature before any download: %d", res.StatusCode)
	}
	page := office.get("/scores/" + fx.wave)
	if !strings.Contains(page, `id="scores-signature" href="/waves/`+fx.wave+`/signature/scores"`) {
		t.Fatal("the scores page has no link to the signature")
	}
	// Each copy is named for its encoding, and the signature for the copy.
	res := office.do("GET", "/scores/"+fx.wave+"/scores.csv?encoding=gb18030", nil)
	readAll(res)
	if got := res.Header.Get("Content-Disposition"); got != "attachment; filename*=UTF-8''scores-"+fx.wave+"-gb18030.csv" {
		t.Fatalf("GB18030 download named %q", got)
	}
	res = office.do("GET", "/scores/"+fx.wave+"/scores.csv", nil)
	body := readAll(res)
	if got := res.Header.Get("Content-Disposition"); got != "attachment; filename*=UTF-8''scores-"+fx.wave+"-utf8.csv" {
		t.Fatalf("UTF-8 download named %q", got)
	}
	res = office.do("GET", "/waves/"+fx.wave+"/signature/scores", nil)
	sig := readAll(res)
	if got := res.Header.Get("Content-Disposition"); got != "attachment; filename*=UTF-8''scores-"+fx.wave+"-utf8.csv.sig" {
		t.Fatalf("signature named %q", got)
	}
	st, err := signing.ParseSig([]byte(sig))
	if err != nil {
		t.Fatalf("signature %q: %v", sig, err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := st.Check([]signing.PublicKey{fx.key.Public()}); err != nil || st.SHA256 != hex.EncodeToString(sum[:]) || st.Kind != "scores" || st.Wave != fx.wave {
		t.Fatalf("the download's signature: %+v (%v)", st, err)
	}
	var hash string
	fx.db.Get(&hash, `SELECT hash FROM audit_log WHERE seq = $1 AND action = 'export'`, st.Chain.Seq)
	if hash != st.Chain.Hash {
		t.Fatalf("the signature names entry %d, which is not the download's", st.Chain.Seq)
	}
	// Another user's signature is theirs alone.
	if res := fx.signIn(t, "admin").do("GET", "/waves/"+fx.wave+"/signature/scores", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the admin got the office's signature: %d", res.StatusCode)
	}
	if page := html.UnescapeString(fx.signIn(t, "admin").get("/exports")); !strings.Contains(page, fx.key.Public().String()) {
		t.Fatal("the exports page does not show the public key")
	}
}
