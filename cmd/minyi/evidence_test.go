package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/evidence"
	"minyi/export"
	"minyi/signing"
	"minyi/sql/pgtest"
	"minyi/survey"
)

// twoMargins are census margins of sex in both districts.
const twoMargins = "district_code,variable,category,population\n500101,sex,1,500\n500101,sex,2,500\n500102,sex,1,1000\n500102,sex,2,1000\n"

// publishedWave is a database with the two districts, their margins if
// asked for, the hand-computed responses and their scores published to
// pub.csv.
func publishedWave(t *testing.T, margins bool) (dsn string, db *sqlx.DB, pub string) {
	t.Helper()
	dsn = pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	if margins {
		mustRun(t, dsn, "margins", "import", writeFile(t, "m.csv", twoMargins))
	}
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	pub = filepath.Join(t.TempDir(), "pub.csv")
	mustRun(t, dsn, "scores", "--wave", "w", "--publish", "-o", pub)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealed(t, db)
	return dsn, db, pub
}

// sealed waits until every evidence row is sealed into the chain. The
// horizon a seal reaches is the cluster's oldest open transaction, and the
// tests of other packages share this cluster, so one of theirs can hold a
// seal back for a moment, as a long transaction would on a server.
func sealed(t *testing.T, db *sqlx.DB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := survey.SealEvidence(context.Background(), db, "test"); err != nil {
			t.Fatal(err)
		}
		rep, err := evidence.Verify(context.Background(), db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d evidence rows still unsealed after a minute", rep.Pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tampered runs audit verify, which must fail and say each of want.
func tampered(t *testing.T, dsn string, want ...string) string {
	t.Helper()
	out, err := minyi(t, dsn, "audit", "verify")
	if err == nil {
		t.Fatalf("audit verify passed after tampering:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("audit verify does not say %q:\n%s", w, out)
		}
	}
	return out
}

// TestAuditVerifyNamesWhatWasTampered changes the evidence directly in the
// database, as its owner would, one attack after another, and checks that
// minyi audit verify names each.
func TestAuditVerifyNamesWhatWasTampered(t *testing.T) {
	dsn, db, _ := publishedWave(t, true)
	if out := mustRun(t, dsn, "audit", "verify"); !strings.Contains(out, "5 interviews, 2 districts, 4 margins and 1 publications match") {
		t.Fatalf("verify before tampering: %s", out)
	}
	id := func(ext string) string {
		var id int64
		if err := db.Get(&id, `SELECT id FROM interviews WHERE external_id = $1`, ext); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(id, 10)
	}
	a1, b2 := id("a1"), id("b2")

	// An answer changed.
	db.MustExec(`UPDATE interviews SET answers = jsonb_set(answers, '{q01}', '"5"') WHERE external_id = 'a1'`)
	tampered(t, dsn, "interview "+a1+" was changed directly in the database")

	// Its evidence rewritten to match: the seal still holds the original.
	db.MustExec(`ALTER TABLE interview_evidence DISABLE TRIGGER USER`)
	db.MustExec(`UPDATE interview_evidence e SET hash = h.hash FROM (SELECT id, md5(answers::text) AS hash FROM interviews) h
		WHERE h.id = e.interview_id AND e.interview_id = ` + a1)
	tampered(t, dsn, "interview "+a1+" was changed directly in the database", "the evidence of interview "+a1+" (row")

	// An interview inserted.
	var forged string
	db.Get(&forged, `INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, answers, source, external_id)
		SELECT wave_id, questionnaire_id, district_code, mode, answers, source, 'x9' FROM interviews WHERE external_id = 'b1' RETURNING id`)
	tampered(t, dsn, "interview "+forged+" is not in the evidence: it was inserted directly into the database")

	// An interview deleted, by the owner, who can set the trigger aside.
	db.MustExec(`ALTER TABLE interviews DISABLE TRIGGER interviews_no_delete`)
	db.MustExec(`DELETE FROM published_weights WHERE interview_id = ` + b2)
	db.MustExec(`DELETE FROM interviews WHERE id = ` + b2)
	tampered(t, dsn, "interview "+b2+" was deleted from the database", "the weights of publication")

	// A district's population, and the margins.
	db.MustExec(`UPDATE districts SET population = population * 10 WHERE code = '500101'`)
	db.MustExec(`UPDATE margins SET population = 9000 WHERE district_code = '500102' AND variable = 'sex' AND category = 1`)
	db.MustExec(`DELETE FROM margins WHERE district_code = '500102' AND variable = 'sex' AND category = 2`)
	db.MustExec(`INSERT INTO districts (code, name, population) VALUES ('500103', '渝中区', 5)`)
	tampered(t, dsn, "the population of district 500101 (万州区) was changed directly: 1000 as recorded by entry",
		"census margin 500102/sex/1 was changed directly", "census margin 500102/sex/2 was deleted from the database",
		"district 500103 (渝中区) is in no recorded upload")

	// The publication's CSV and its sha256 rewritten together.
	db.MustExec(`UPDATE score_publications SET long_csv = replace(long_csv, '500101,q01,3,', '500101,q01,9,')`)
	db.MustExec(`UPDATE score_publications SET sha256 = encode(sha256(convert_to(long_csv, 'UTF8')), 'hex')`)
	tampered(t, dsn, "publication 1 of wave w was changed: its scores CSV no longer matches the SHA-256 recorded by entry")
	out, err := minyi(t, dsn, "scores", "--wave", "w", "--check")
	if err == nil || !strings.Contains(out, "publication 1 of wave w was changed") {
		t.Fatalf("scores --check passed a rewritten publication: %v\n%s", err, out)
	}
}

// TestSignedFilesVerifyOffline: a publication, an export and a scheduled
// run's manifest are signed; minyi verify checks them with no database,
// and fails a rewritten file, a rewritten signature and a key not trusted.
func TestSignedFilesVerifyOffline(t *testing.T) {
	dsn, db, pub := publishedWave(t, true)
	exp := filepath.Join(t.TempDir(), "scores.csv")
	mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", exp)
	show := mustRun(t, dsn, "keys", "show")
	key := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(show, "\n", 2)[0], "公钥 / public key:"))
	if !strings.HasPrefix(key, "ed25519:") {
		t.Fatalf("keys show: %s", show)
	}
	if fi, err := os.Stat(filepath.Join(keysOf[dsn], signing.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the private key file: %v %v", fi.Mode(), err)
	}

	// Offline: the database's address leads nowhere.
	offline := "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"
	// The office keeps the key as minyi keys show printed it.
	keyFile := writeFile(t, "office-key.txt", show)
	for _, f := range []string{pub, exp} {
		out := mustRun(t, offline, "verify", f, "--key", keyFile)
		if !strings.Contains(out, "signature valid: "+filepath.Base(f)) || !strings.Contains(out, "audit chain: entry") {
			t.Fatalf("verify %s: %s", f, out)
		}
	}
	st, err := signing.ReadSig(pub + signing.SigSuffix)
	if err != nil || st.Kind != "publication" || st.Wave != "w" || st.Ref != "publication:1" || st.Chain.Seq == 0 {
		t.Fatalf("publication signature: %+v %v", st, err)
	}
	var hash string
	db.Get(&hash, `SELECT hash FROM audit_log WHERE seq = $1 AND action = 'publish-scores'`, st.Chain.Seq)
	if hash != st.Chain.Hash {
		t.Fatalf("the publication's signature names entry %d %s, the log has %q", st.Chain.Seq, st.Chain.Hash, hash)
	}

	// A rewritten export.
	b, _ := os.ReadFile(exp)
	os.WriteFile(exp, []byte(strings.Replace(string(b), "500101", "500102", 1)), 0o644)
	if out, err := minyi(t, offline, "verify", exp, "--key", key); err == nil || !strings.Contains(err.Error(), "the file was changed") {
		t.Fatalf("a rewritten export passed: %v %s", err, out)
	}
	// A rewritten publication with its signature's hash rewritten too.
	b, _ = os.ReadFile(pub)
	forged := strings.Replace(string(b), "500101,q01,3,", "500101,q01,9,", 1)
	os.WriteFile(pub, []byte(forged), 0o644)
	sum, n, _ := signing.HashFile(pub)
	st.SHA256, st.Bytes = sum, n
	signing.WriteSig(pub+signing.SigSuffix, st)
	if _, err := minyi(t, offline, "verify", pub, "--key", key); err == nil || !strings.Contains(err.Error(), "the signature is not valid") {
		t.Fatalf("a rewritten publication passed: %v", err)
	}
	// Signed, validly, by someone else's key.
	other, _, err := signing.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.SignFile(pub, signing.Statement{Kind: "publication", Wave: "w"}); err != nil {
		t.Fatal(err)
	}
	if _, err := minyi(t, offline, "verify", pub, "--key", key); err == nil || !strings.Contains(err.Error(), "not a key you trust") {
		t.Fatalf("a file signed by another key passed: %v", err)
	}

	// A scheduled run: the manifest is signed, and lists every file.
	k, err := signing.Load(keysOf[dsn])
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	reqs := []export.Request{{Kind: "scores", Wave: "w", Encoding: csvfile.UTF8, Actor: "test", Via: "schedule", Signer: k},
		{Kind: "indicators", Wave: "w", Encoding: csvfile.UTF8, Actor: "test", Via: "schedule", Signer: k}}
	if _, err := export.ToDir(context.Background(), db, reqs, dir, nil); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, export.ManifestName)
	if out := mustRun(t, offline, "verify", manifest, "--key", key); !strings.Contains(out, "kind: manifest") {
		t.Fatalf("verify the manifest: %s", out)
	}
	f := filepath.Join(dir, "indicators-w-utf8.csv")
	b, _ = os.ReadFile(f)
	os.WriteFile(f, append(b, "500101,q01,1,1,1,1\r\n"...), 0o644)
	if out, err := minyi(t, offline, "verify", manifest, "--key", key); err == nil || !strings.Contains(out, "indicators-w-utf8.csv does not match the manifest") {
		t.Fatalf("a changed file of a run passed: %v\n%s", err, out)
	}
}

// TestChainCutOrRewrittenIsFoundByAnchors: the end of the chain cut off,
// or the chain rewritten from an entry on with every hash recomputed,
// passes the chain's own check; the signed heads kept beside the key, and
// the office's signature files, catch both.
func TestChainCutOrRewrittenIsFoundByAnchors(t *testing.T) {
	dsn, db, pub := publishedWave(t, true)
	exp := filepath.Join(t.TempDir(), "scores.csv")
	mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", exp)
	st, err := signing.ReadSig(exp + signing.SigSuffix)
	if err != nil {
		t.Fatal(err)
	}
	db.MustExec(`ALTER TABLE audit_log DISABLE TRIGGER USER`)
	db.MustExec(`DELETE FROM audit_log WHERE seq >= $1`, st.Chain.Seq)
	if rep, err := core.VerifyAudit(context.Background(), db); err != nil || len(rep.Problems) > 0 {
		t.Fatalf("the chain alone: %v %v", rep.Problems, err)
	}
	tampered(t, dsn, "the audit log was cut short: entry "+strconv.FormatInt(st.Chain.Seq, 10))
	// The office's copy alone, without the server's anchors.
	t.Setenv("MINYI_KEYS", t.TempDir())
	out, err := runWithKeys(t, dsn, "audit", "verify", "--anchor", exp+signing.SigSuffix)
	if err == nil || !strings.Contains(out, "the audit log was cut short") {
		t.Fatalf("the office's signature did not catch the cut: %v\n%s", err, out)
	}

	// Rewritten from the publication's entry on, every hash recomputed.
	ps, _ := signing.ReadSig(pub + signing.SigSuffix)
	db.MustExec(`UPDATE audit_log SET details = jsonb_set(details, '{sha256}', '"0"') WHERE seq = $1`, ps.Chain.Seq)
	var last int64
	db.Get(&last, `SELECT max(seq) FROM audit_log`)
	for seq := ps.Chain.Seq; seq <= last; seq++ {
		db.MustExec(`UPDATE audit_log a SET prev_hash = p.hash,
			hash = encode(sha256(convert_to(concat_ws(E'\n', p.hash, a.seq::text, (extract(epoch FROM a.at) * 1000000)::bigint::text,
			       coalesce(a.actor_id::text, ''), a.actor, a.action, a.subject, a.details::text), 'UTF8')), 'hex')
			FROM audit_log p WHERE p.seq = a.seq - 1 AND a.seq = $1`, seq)
	}
	if rep, err := core.VerifyAudit(context.Background(), db); err != nil || len(rep.Problems) > 0 {
		t.Fatalf("the rewritten chain alone: %v %v", rep.Problems, err)
	}
	out, err = runWithKeys(t, dsn, "audit", "verify", "--anchor", pub+signing.SigSuffix)
	if err == nil || !strings.Contains(out, "the audit log was rewritten: entry "+strconv.FormatInt(ps.Chain.Seq, 10)) {
		t.Fatalf("the rewrite was not found: %v\n%s", err, out)
	}
}

// runWithKeys runs minyi with the MINYI_KEYS the test set, not the
// database's own.
func runWithKeys(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	keys := os.Getenv("MINYI_KEYS")
	saved := keysOf[dsn]
	keysOf[dsn] = keys
	defer func() { keysOf[dsn] = saved }()
	return minyi(t, dsn, args...)
}

// TestPopulationsAfterPublicationNeedAReason: once scores are published, a
// districts file that changes populations is refused without a reason and
// changes nothing; with one, the reason is in the audit log, and minyi
// scores says the live scores differ from those published, and where.
func TestPopulationsAfterPublicationNeedAReason(t *testing.T) {
	// Without margins, the districts' populations weight the interviews.
	dsn, db, _ := publishedWave(t, false)
	if out := mustRun(t, dsn, "scores", "--wave", "w"); !strings.Contains(out, "the live scores are those published at") {
		t.Fatalf("scores right after publishing: %s", out)
	}
	tenfold := writeFile(t, "d.csv", strings.Replace(twoDistricts, ",2000", ",20000", 1))
	_, err := minyi(t, dsn, "districts", "import", tenfold)
	if err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("populations changed after a publication without a reason: %v", err)
	}
	var pop int64
	db.Get(&pop, `SELECT population FROM districts WHERE code = '500102'`)
	if pop != 2000 {
		t.Fatalf("the refused import changed the population to %d", pop)
	}
	// Names alone may change without one.
	mustRun(t, dsn, "districts", "import", writeFile(t, "n.csv", strings.Replace(twoDistricts, "万州区", "万州", 1)))
	mustRun(t, dsn, "districts", "import", tenfold, "--reason", "第七次人口普查 2020")
	var d struct {
		Reason   string `db:"reason"`
		Old, New int64
		File     string `db:"file"`
	}
	if err := db.QueryRow(`SELECT details->>'reason', (details->>'old_total')::bigint, (details->>'new_total')::bigint, details->>'file_sha256'
		FROM audit_log WHERE action = 'districts-upload' ORDER BY seq DESC LIMIT 1`).Scan(&d.Reason, &d.Old, &d.New, &d.File); err != nil {
		t.Fatal(err)
	}
	if d.Reason != "第七次人口普查 2020" || d.Old != 3000 || d.New != 21000 || len(d.File) != 64 {
		t.Fatalf("the upload's entry: %+v", d)
	}
	out := mustRun(t, dsn, "scores", "--wave", "w")
	if !strings.Contains(out, "the live scores differ from those published at") || !strings.Contains(out, "ALL") {
		t.Fatalf("scores after the populations changed: %s", out)
	}
	if out := mustRun(t, dsn, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("verify after audited uploads: %s", out)
	}
}
