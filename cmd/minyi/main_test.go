package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"minyi/cmd/internal/cli"
	"minyi/dialer"
	"minyi/export"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/sql/pgtest"
	"minyi/users"
)

func TestMain(m *testing.M) {
	// Commands run in-process sign with keys of their own, kept out of
	// the source tree (their default place is MINYI_DATA/keys, ./var/keys).
	dir, err := os.MkdirTemp("", "minyi-keys-")
	if err != nil {
		panic(err)
	}
	keysBase = dir
	os.Setenv("MINYI_KEYS", filepath.Join(dir, "default"))
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// keysOf are the signing keys of the databases tests use: one per
// database, as one per installation, so that the chain heads kept beside a
// key are those of its own database.
var keysOf = map[string]string{}

// keysBase holds the keys of the tests' databases.
var keysBase string

// minyi runs the command line in-process against the database of dsn.
func minyi(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("DATABASE_URL", dsn)
	if keysOf[dsn] == "" {
		keysOf[dsn] = filepath.Join(keysBase, strconv.Itoa(len(keysOf)))
	}
	t.Setenv("MINYI_KEYS", keysOf[dsn])
	var out, errb bytes.Buffer
	err := run(context.Background(), &cli.Env{Prog: "minyi", Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, args)
	return out.String(), err
}

func mustRun(t *testing.T, dsn string, args ...string) string {
	t.Helper()
	out, err := minyi(t, dsn, args...)
	if err != nil {
		t.Fatalf("minyi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeRefusesOldSchemaUntilMigrated(t *testing.T) {
	dsn := pgtest.NewEmptyDatabase(t)
	if _, err := minyi(t, dsn, "serve", "--addr", "127.0.0.1:0", "--partial-share", "1.5"); err == nil || !strings.Contains(err.Error(), "--partial-share") {
		t.Fatalf("serve with a partial share of 1.5: %v", err)
	}
	_, err := minyi(t, dsn, "serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "minyi migrate") {
		t.Fatalf("serve on an empty database: %v, want advice to run minyi migrate", err)
	}
	out := mustRun(t, dsn, "migrate")
	if !strings.Contains(out, "applied") {
		t.Fatalf("migrate: %s", out)
	}
	out = mustRun(t, dsn, "migrate")
	if !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %s", out)
	}
	// Now it serves, and stops when told to.
	t.Setenv("DATABASE_URL", dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var buf bytes.Buffer
	if err := run(ctx, &cli.Env{Prog: "minyi", Stdout: &buf, Stderr: &buf}, []string{"serve", "--addr", "127.0.0.1:0"}); err != nil {
		t.Fatalf("serve after migrate: %v", err)
	}
	if !strings.Contains(buf.String(), "serving on http://127.0.0.1:") {
		t.Fatalf("serve said %q", buf.String())
	}
}

const twoDistricts = "code,name,resident_population\n500101,万州区,1000\n500102,\"=HYPERLINK(\"\"x\"\")\",2000\n"

// The responses of the hand-computed example: district 500101 has weights
// 1,1,2 and q01 answers 1,2,8 (docs/statistics.md §5); 500102 has two
// interviews without weights (base weight N/m = 1000) answering 1 and 5.
// Every other item is answered 3.
func responsesCSV() string {
	var b strings.Builder
	b.WriteString("interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,q04,q05,q06,q07,q08,q09,q10,q11,q12,q13\n")
	rest := strings.Repeat(",3", 12)
	b.WriteString("a1,500101,phone,1,1,2,1" + rest + "\n")
	b.WriteString("a2,500101,phone,1,2,3,2" + rest + "\n")
	b.WriteString("a3,500101,door,2,1,5,8" + rest + "\n")
	b.WriteString("b1,500102,phone,,2,1,1" + rest + "\n")
	b.WriteString("b2,500102,phone,,1,4,5" + rest + "\n")
	return b.String()
}

func TestResponsesImportAndLongScores(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "hist-2025")
	out := mustRun(t, dsn, "responses", "import", "--wave", "hist-2025", writeFile(t, "r.csv", responsesCSV()))
	if !strings.Contains(out, "imported 5") {
		t.Fatalf("import: %s", out)
	}
	long := mustRun(t, dsn, "scores", "--wave", "hist-2025", "--long")
	lines := strings.Split(strings.TrimSpace(long), "\n")
	if lines[0] != "district_code,item,n,n_valid,score,se,ci_low,ci_high" {
		t.Fatalf("header %q", lines[0])
	}
	if len(lines) != 1+3*14 {
		t.Fatalf("%d lines, want a header and 14 rows for each of 2 districts and ALL", len(lines))
	}
	// Hand-computed rows (see responsesCSV). 500102's q01: R = 60,
	// z = ±1000·40/2000 = ±20, v = 2/1·800 = 1600, SE = 40.
	for _, want := range []string{
		"500101,q01,3,2,90.0000,8.6603,73.0262,106.9738",
		"500101,q02,3,3,60.0000,0.0000,60.0000,60.0000",
		"500102,q01,2,2,60.0000,40.0000,-18.3986,138.3986",
		// Composite: (90 + 12·60)/13 = 62.3077 with SE 8.6603/13.
		"500101,composite,3,3,62.3077,0.6662,61.0020,63.6134",
		"500102,composite,2,2,60.0000,3.0769,53.9693,66.0307",
	} {
		if !strings.Contains(long, want+"\n") {
			t.Errorf("missing row %s in\n%s", want, long)
		}
	}
	for _, item := range []string{"q01", "q07", "q13", "composite"} {
		if !strings.Contains(long, "\nALL,"+item+",5,") {
			t.Errorf("missing ALL row for %s", item)
		}
	}
	// Importing the same file again is refused whole.
	_, err := minyi(t, dsn, "responses", "import", "--wave", "hist-2025", writeFile(t, "r.csv", responsesCSV()))
	if err == nil || !strings.Contains(err.Error(), "第 2 行：") || !strings.Contains(err.Error(), "第 6 行：") {
		t.Fatalf("re-import: %v", err)
	}
}

func TestResponsesImportRejectsBadFileWhole(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	bad := strings.Replace(responsesCSV(), "a2,500101,phone,1,2,3,2", "a2,599999,phone,1,2,3,2", 1)
	bad = strings.Replace(bad, "b2,500102,phone,,1,4,5", "b2,500102,fax,,1,4,7", 1)
	_, err := minyi(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", bad))
	if err == nil {
		t.Fatal("a bad file was accepted")
	}
	msg := err.Error()
	for _, want := range []string{"nothing was imported", "第 3 行：", "第 6 行：", "599999", "fax", `"7"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if code := cli.ExitCode(err); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	out := mustRun(t, dsn, "scores", "--wave", "w", "--long")
	if !strings.Contains(out, "ALL,composite,0,") {
		t.Fatalf("rows were stored from a rejected file:\n%s", out)
	}
}

func TestExportScoresForTheOffice(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	// Three interviews a district: below the default threshold of 10,
	// every district's estimates are suppressed.
	def := filepath.Join(t.TempDir(), "default.csv")
	mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", def)
	if b, _ := os.ReadFile(def); !strings.Contains(string(b), "500101,万州区,3"+strings.Repeat(",", 22)+"1\r\n") {
		t.Fatalf("small districts not suppressed by default:\n%s", b)
	}
	out := filepath.Join(t.TempDir(), "scores.csv")
	mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", out, "--min-cell", "3")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "\ufeffdistrict_code,district_name,n,score,se,ci_low,ci_high,rank,rank_low,rank_high,assessment_points,q01,") {
		t.Fatalf("header: %.120q", s)
	}
	if !strings.Contains(s, "\r\n") {
		t.Error("not CRLF")
	}
	// A district name that a spreadsheet would run as a formula is
	// neutralised (and quoted, since it has a quote inside).
	if !strings.Contains(s, `"'=HYPERLINK(""x"")"`) {
		t.Errorf("formula not neutralised:\n%s", s)
	}
	// 500101 (62.31) ranks below 500102 (60.00)? No: higher score first.
	if !strings.Contains(s, "500101,万州区,3,62.3077,0.6662,61.0020,63.6134,1,1,2,18.6923,") {
		t.Errorf("row of 500101:\n%s", s)
	}
	for _, id := range []string{"a1", "b2"} {
		if strings.Contains(s, "\n"+id+",") {
			t.Errorf("export carries interview id %s", id)
		}
	}
	gb := filepath.Join(t.TempDir(), "gb.csv")
	mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", gb, "--encoding", "gb18030")
	g, _ := os.ReadFile(gb)
	if bytes.HasPrefix(g, []byte("\xef\xbb\xbf")) || !bytes.Contains(g, []byte{0xcd, 0xf2, 0xd6, 0xdd}) { // 万州 in GB18030
		t.Errorf("GB18030 export wrong: %q", g[:80])
	}
}

func TestUsersAdd(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dsn)
	var out bytes.Buffer
	e := &cli.Env{Prog: "minyi", Stdout: &out, Stderr: &out, Stdin: strings.NewReader("a long passphrase\n")}
	if err := run(context.Background(), e, []string{"users", "add", "zhang", "--role", "supervisor", "--name", "张督导", "--password-stdin"}); err != nil {
		t.Fatalf("users add: %v\n%s", err, out.String())
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := users.Authenticate(context.Background(), db, "zhang", "a long passphrase"); err != nil {
		t.Fatalf("cannot sign in with the password given: %v", err)
	}
	var hash string
	db.Get(&hash, `SELECT password_hash FROM users WHERE username = 'zhang'`)
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost < 12 {
		t.Fatalf("bcrypt cost %d (%v), want >= 12", cost, err)
	}
	// A generated password is printed and works.
	out2 := mustRun(t, dsn, "users", "add", "li", "--role", "interviewer")
	pw := strings.TrimSpace(out2[strings.LastIndex(out2, "password: ")+len("password: "):])
	if _, err := users.Authenticate(context.Background(), db, "li", pw); err != nil {
		t.Fatalf("generated password %q does not work: %v", pw, err)
	}
	if _, err := minyi(t, dsn, "users", "add", "li", "--role", "interviewer"); err == nil {
		t.Fatal("adding an existing user again succeeded")
	}
	if _, err := minyi(t, dsn, "users", "add", "wang", "--role", "mayor"); err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("a bad role: %v", err)
	}
}

func TestMarginsImport(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	out := mustRun(t, dsn, "margins", "import", writeFile(t, "m.csv", "district_code,variable,category,population\n500101,sex,1,500\n500101,sex,2,500\n500102,age_group,5,300\n"))
	if !strings.Contains(out, "read 3 rows, 3 added") {
		t.Fatalf("margins import: %s", out)
	}
	_, err := minyi(t, dsn, "margins", "import", writeFile(t, "m.csv", "district_code,variable,category,population\n500101,sex,3,500\n500109,sex,1,5\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 3") || cli.ExitCode(err) != 2 {
		t.Fatalf("bad margins: %v", err)
	}
}

// TestWaveSettingsShapeTheDraw: a district's own expected completion rate
// sizes its release, and the replicate size splits it.
func TestWaveSettingsShapeTheDraw(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", "code,name,resident_population\n500101,万州区,10000\n500102,涪陵区,10000\n"))
	importPhoneFrame(t, dsn, 9, 400, "500101", "500102")
	mustRun(t, dsn, "wave", "create", "w", "--rate", "0.002", "--expected", "0.5", "--district-rates", "500102=0.25", "--replicate-size", "10")
	out := mustRun(t, dsn, "sample", "draw", "--wave", "w", "--seed", "7")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var released []int
	db.Select(&released, `SELECT released FROM allocations ORDER BY district_code`)
	// 20 completes each: 20/0.5 = 40 and 20/0.25 = 80 numbers released.
	if len(released) != 2 || released[0] != 40 || released[1] != 80 {
		t.Fatalf("released %v, want [40 80]\n%s", released, out)
	}
	var reps int
	db.Get(&reps, `SELECT count(*) FROM replicates WHERE district_code = '500102'`)
	if reps != 8 {
		t.Fatalf("%d replicates of 80 numbers at 10 each", reps)
	}
	if _, err := minyi(t, dsn, "wave", "create", "w2", "--district-rates", "500102=1.5"); err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("a rate above 1: %v", err)
	}
	if _, err := minyi(t, dsn, "wave", "create", "w3", "--district-rates", "599999=0.5"); err == nil || !strings.Contains(err.Error(), "599999") {
		t.Fatalf("an unknown district: %v", err)
	}
}

// TestBackupAndRestoreRoundTrip backs the database up, changes it, and
// restores it.
func TestBackupAndRestoreRoundTrip(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	before := mustRun(t, dsn, "scores", "--wave", "w", "--long")
	file := filepath.Join(t.TempDir(), "minyi.dump")
	mustRun(t, dsn, "backup", file)
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		t.Fatalf("no backup file: %v", err)
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Exec(`DELETE FROM interviews`)
	db.Exec(`UPDATE districts SET name = 'changed'`)
	out := mustRun(t, dsn, "restore", file)
	if !strings.Contains(out, "restored") {
		t.Fatalf("restore: %s", out)
	}
	after := mustRun(t, dsn, "scores", "--wave", "w", "--long")
	if after != before {
		t.Fatalf("scores differ after the round trip:\n%s\nvs\n%s", before, after)
	}
	var name string
	db.Get(&name, `SELECT name FROM districts WHERE code = '500101'`)
	if name != "万州区" {
		t.Fatalf("district name after restore: %q", name)
	}
	if _, err := minyi(t, dsn, "restore", filepath.Join(t.TempDir(), "missing.dump")); err == nil {
		t.Fatal("restoring a missing file succeeded")
	}
}

// TestAuditLogFindsTampering: uploads, imports, exports and user changes
// are logged; a changed, deleted or inserted entry is found and named.
func TestAuditLogFindsTampering(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	mustRun(t, dsn, "users", "add", "zhao", "--role", "office")
	for i := 0; i < 3; i++ {
		mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", filepath.Join(t.TempDir(), "s.csv"))
	}
	out := mustRun(t, dsn, "audit", "verify")
	if !strings.Contains(out, "intact: 7 entries") || !strings.Contains(out, "5 interviews, 2 districts") {
		t.Fatalf("verify: %s", out)
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actions []string
	db.Select(&actions, `SELECT action || ' ' || subject FROM audit_log ORDER BY seq`)
	// The first export seals the five imported interviews into the chain.
	if strings.Join(actions, ";") != "districts-upload districts;responses-import w;user-add zhao;evidence-seal interviews;export scores:w;export scores:w;export scores:w" {
		t.Fatalf("audit log: %v", actions)
	}
	if _, err := db.Exec(`UPDATE audit_log SET subject = 'x' WHERE seq = 3`); err == nil {
		t.Fatal("the audit log accepted an update")
	}
	// Someone with the database's keys goes round the trigger.
	db.Exec(`ALTER TABLE audit_log DISABLE TRIGGER USER`)
	db.Exec(`UPDATE audit_log SET details = '{"rows": 1}' WHERE seq = 3`)
	db.Exec(`DELETE FROM audit_log WHERE seq = 4`)
	_, err = minyi(t, dsn, "audit", "verify")
	out, _ = minyi(t, dsn, "audit", "verify")
	if err == nil || !strings.Contains(out, "entry 3 was changed") || !strings.Contains(out, "entries 4–4 are missing") {
		t.Fatalf("tampering not found: %v\n%s", err, out)
	}
	// A forged entry slipped in between, renumbering what follows.
	db.Exec(`UPDATE audit_log SET seq = 8 WHERE seq = 7`)
	db.Exec(`INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) SELECT 7, now(), 'x', 'export', 'scores:w', '{}', hash, hash FROM audit_log WHERE seq = 6`)
	db.Exec(`INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) SELECT 3, now(), 'x', 'export', 'scores:w', '{}', hash, hash FROM audit_log WHERE seq = 2`)
	out, _ = minyi(t, dsn, "audit", "verify")
	if !strings.Contains(out, "entry 3 was changed or inserted") || !strings.Contains(out, "entry 7 was changed or inserted") || !strings.Contains(out, "entry 8 was changed or inserted") {
		t.Fatalf("insertion not found:\n%s", out)
	}
}

// identityColumns may never appear in an export for the assessment office.
var identityColumns = []string{"phone", "telephone", "mobile", "address", "name_of", "respondent", "household_id", "external_id", "interviewer", "psu"}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestExportsCarryNoIdentity writes every export kind of a wave whose
// cases have telephone numbers, and checks each file's columns and content.
func TestExportsCarryNoIdentity(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	phones := importPhoneFrame(t, dsn, 5, 40, "500101", "500102")
	mustRun(t, dsn, "wave", "create", "w", "--rate", "0.01")
	mustRun(t, dsn, "sample", "draw", "--wave", "w", "--seed", "3")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	// Every drawn case was called once, through Minyi, and was busy.
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO users (username, password_hash, role) VALUES ('li', '', 'interviewer');
		WITH k AS (INSERT INTO calls (case_id, interviewer_id, state, sip_code, ring_ms, hangup_by)
			SELECT c.id, u.id, 'ended', 486, 3000, 'network' FROM cases c, users u WHERE u.username = 'li' RETURNING id, case_id, interviewer_id)
		INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, call_id)
		SELECT case_id, interviewer_id, 'busy', '3.12', false, id FROM k`); err != nil {
		t.Fatal(err)
	}
	for _, kind := range exportKinds {
		out := filepath.Join(t.TempDir(), kind+".csv")
		mustRun(t, dsn, "export", kind, "--wave", "w", "-o", out)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		header := strings.ToLower(strings.SplitN(text, "\n", 2)[0])
		for _, col := range identityColumns {
			// Paradata names interviewers, for their supervisors only.
			if !export.MayDownload(users.RoleOffice, kind) && col == "interviewer" {
				continue
			}
			if strings.Contains(header, col) {
				t.Errorf("%s export has an identity column %q: %s", kind, col, header)
			}
		}
		for _, p := range phones {
			if strings.Contains(text, p) {
				t.Errorf("%s export carries telephone number %s", kind, p)
			}
		}
		// With Chinese labels every column is named in Chinese, but
		// AAPOR's rates, which keep the standard's names.
		labelled := filepath.Join(t.TempDir(), kind+"-labels.csv")
		mustRun(t, dsn, "export", kind, "--wave", "w", "-o", labelled, "--header", "labels")
		lb, _ := os.ReadFile(labelled)
		for _, col := range strings.Split(strings.TrimPrefix(strings.SplitN(string(lb), "\r\n", 2)[0], "\ufeff"), ",") {
			if !hasHan(col) && !slices.Contains(dialer.RatesHeader, col) {
				t.Errorf("%s export with labels has column %q", kind, col)
			}
		}
		if lines := strings.SplitN(string(lb), "\r\n", 2); len(lines) < 2 || !strings.HasSuffix(text, lines[1]) {
			t.Errorf("%s export with labels has other rows", kind)
		}
		if kind == "calls" && strings.Count(text, ",busy,3.12,0,486,3.0,,network\r\n") == 0 {
			t.Errorf("the call records lack the calls:\n%s", text)
		}
		for _, id := range []string{"a1", "a2", "a3", "b1", "b2"} {
			if strings.Contains(text, ","+id+",") || strings.HasPrefix(strings.SplitN(text, "\n", 3)[1], id+",") {
				t.Errorf("%s export carries interview id %s", kind, id)
			}
		}
	}
}

// TestRatesAndDispositions runs a small wave through the dialer by hand and
// checks the rates against the counts.
func TestRatesAndDispositions(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", "code,name,resident_population\n500101,万州区,5000\n"))
	importPhoneFrame(t, dsn, 2, 40, "500101")
	mustRun(t, dsn, "wave", "create", "w", "--rate", "0.002", "--expected", "0.5")
	mustRun(t, dsn, "sample", "draw", "--wave", "w", "--seed", "1")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// 20 cases: give them final codes by hand: 4 completes, 2 refusals,
	// 1 non-contact (appointment never kept), 3 dead numbers, and leave 10
	// never tried (3.11, unknown household).
	codes := []string{"1.1", "1.1", "1.1", "1.1", "2.11", "2.11", "2.21", "4.30", "4.30", "4.30"}
	var ids []int64
	db.Select(&ids, `SELECT id FROM cases ORDER BY id`)
	if len(ids) != 20 {
		t.Fatalf("%d cases", len(ids))
	}
	for i, c := range codes {
		db.Exec(`UPDATE cases SET status = 'final', final_code = $2, attempts = 1 WHERE id = $1`, ids[i], c)
	}
	out := mustRun(t, dsn, "rates", "--wave", "w")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != strings.Join(dialer.RatesHeader, ",") || len(lines) != 3 {
		t.Fatalf("rates:\n%s", out)
	}
	// I=4 R=2 NC=1 UH=10 NE=3: e = 7/10; RR1 = 4/17; RR3 = 4/(7+7) = 0.2857;
	// COOP1 = 4/6; REF1 = 2/17; CON1 = 6/17.
	want := "500101,4,0,2,1,0,10,0,3,0.7000,0.2353,0.2353,0.2857,0.2857,0.5714,0.5714,0.6667,0.6667,0.6667,0.6667,0.1176,0.1429,0.2857,0.3529,0.4286,0.8571"
	if lines[1] != want || lines[2] != "ALL"+want[len("500101"):] {
		t.Fatalf("rates rows:\n%s\nwant\n%s", out, want)
	}
	file := filepath.Join(t.TempDir(), "d.csv")
	mustRun(t, dsn, "export", "dispositions", "--wave", "w", "-o", file)
	b, _ := os.ReadFile(file)
	text := strings.TrimPrefix(string(b), "\ufeff")
	if !strings.HasPrefix(text, "case_id,district_code,mode,attempts,final_code\r\n") || strings.Count(text, "\r\n") != 21 || !strings.Contains(text, ",500101,phone,0,3.11\r\n") {
		t.Fatalf("dispositions:\n%s", text)
	}
}

// TestScoresRakeToMargins: with census margins for a district, its
// computed weights are raked to them and the scores follow.
func TestScoresRakeToMargins(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	// 500102: b1 (a woman) answered 1 (100 points), b2 (a man) 5 (20). With
	// base weights the score is 60; raked to 1,500 men and 500 women it is
	// (500·100 + 1500·20)/2000 = 40.
	mustRun(t, dsn, "margins", "import", writeFile(t, "m.csv", "district_code,variable,category,population\n500102,sex,1,1500\n500102,sex,2,500\n"))
	long := mustRun(t, dsn, "scores", "--wave", "w", "--long")
	if !strings.Contains(long, "\n500102,q01,2,2,40.0000,") {
		t.Fatalf("raked score of 500102 q01:\n%s", long)
	}
	// 500101's weights were given on import and stay as they were.
	if !strings.Contains(long, "\n500101,q01,3,2,90.0000,8.6603,") {
		t.Fatalf("500101 changed:\n%s", long)
	}
	// Published, each interview keeps its raked weight.
	mustRun(t, dsn, "scores", "--wave", "w", "--publish")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var weights string
	db.Get(&weights, `SELECT string_agg(i.external_id || '=' || round(w.weight::numeric, 6), ' ' ORDER BY i.external_id)
		FROM published_weights w JOIN interviews i ON i.id = w.interview_id WHERE i.district_code = '500102'`)
	if weights != "b1=500.000000 b2=1500.000000" {
		t.Fatalf("published raked weights: %s", weights)
	}
	// An impossible target fails clearly.
	mustRun(t, dsn, "margins", "import", writeFile(t, "m.csv", "district_code,variable,category,population\n500102,age_group,3,700\n"))
	_, err = minyi(t, dsn, "scores", "--wave", "w", "--long")
	if err == nil || !strings.Contains(err.Error(), "district 500102 cannot be weighted") {
		t.Fatalf("impossible target: %v", err)
	}
}

// TestPublishedScoresAreRechecked: scores are published; recomputing gives
// exactly the same text until the data change, and then says where.
func TestPublishedScoresAreRechecked(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	if _, err := minyi(t, dsn, "scores", "--wave", "w", "--check"); err == nil {
		t.Fatal("a check before any publication passed")
	}
	mustRun(t, dsn, "scores", "--wave", "w", "--publish")
	if out := mustRun(t, dsn, "scores", "--wave", "w", "--check"); !strings.HasPrefix(out, "identical") {
		t.Fatalf("check after publishing: %s", out)
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every interview's final weight is kept with the publication: given on
	// import in 500101, N/m = 2000/2 in 500102.
	var weights string
	if err := db.Get(&weights, `SELECT string_agg(i.external_id || '=' || w.weight, ' ' ORDER BY i.external_id)
		FROM published_weights w JOIN interviews i ON i.id = w.interview_id`); err != nil {
		t.Fatal(err)
	}
	if weights != "a1=1 a2=1 a3=2 b1=1000 b2=1000" {
		t.Fatalf("published weights: %s", weights)
	}
	db.Exec(`UPDATE interviews SET answers = jsonb_set(answers, '{q01}', '"2"') WHERE external_id = 'a1'`)
	out, err := minyi(t, dsn, "scores", "--wave", "w", "--check")
	if err == nil || !strings.Contains(out, "published: 500101,q01,3,2,90.0000") || !strings.Contains(out, "now:       500101,q01,3,2,80.0000") {
		t.Fatalf("a changed answer was not found: %v\n%s", err, out)
	}
}

func TestAssessmentWeightPerWave(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w", "--assessment-weight", "0.25")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	out := filepath.Join(t.TempDir(), "s.csv")
	mustRun(t, dsn, "export", "scores", "--wave", "w", "-o", out, "--min-cell", "1")
	b, _ := os.ReadFile(out)
	// 62.3077 × 0.25 = 15.5769
	if !strings.Contains(string(b), "500101,万州区,3,62.3077,0.6662,61.0020,63.6134,1,1,2,15.5769,") {
		t.Fatalf("assessment points at 25%%:\n%s", b)
	}
	if _, err := minyi(t, dsn, "wave", "create", "w2", "--assessment-weight", "1.5"); err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("a weight above 1: %v", err)
	}
}

// TestResponsesExportRoundTrip: the anonymised microdata carry the final
// weights, so importing them into another wave gives the same scores.
func TestResponsesExportRoundTrip(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	file := filepath.Join(t.TempDir(), "responses.csv")
	mustRun(t, dsn, "export", "responses", "--wave", "w", "-o", file)
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff")), "\r\n")
	if lines[0] != "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,q04,q05,q06,q07,q08,q09,q10,q11,q12,q13" || len(lines) != 6 {
		t.Fatalf("responses export:\n%s", b)
	}
	if !strings.Contains(string(b), ",500102,phone,1000.000000,2,1,1,") || !strings.Contains(string(b), ",500101,door,2.000000,1,5,8,") {
		t.Fatalf("weights or codes missing:\n%s", b)
	}
	mustRun(t, dsn, "wave", "create", "copy")
	mustRun(t, dsn, "responses", "import", "--wave", "copy", file)
	a := mustRun(t, dsn, "scores", "--wave", "w", "--long")
	c := mustRun(t, dsn, "scores", "--wave", "copy", "--long")
	if a != c {
		t.Fatalf("scores differ after export and import:\n%s\nvs\n%s", a, c)
	}
	// Without -o the file is named for its kind, wave and encoding, so
	// that both encodings can lie side by side.
	t.Chdir(t.TempDir())
	mustRun(t, dsn, "export", "responses", "--wave", "w")
	mustRun(t, dsn, "export", "responses", "--wave", "w", "--encoding", "gb18030")
	utf, _ := os.ReadFile("responses-w-utf8.csv")
	gb, _ := os.ReadFile("responses-w-gb18030.csv")
	if !bytes.HasPrefix(utf, []byte("\ufeffinterview_id,")) || !bytes.HasPrefix(gb, []byte("interview_id,")) {
		t.Fatalf("default names: %.40q, %.40q", utf, gb)
	}
	if _, err := os.Stat("responses-w-gb18030.csv.sig"); err != nil {
		t.Fatal(err)
	}
	cb := filepath.Join(t.TempDir(), "codebook.csv")
	mustRun(t, dsn, "export", "codebook", "--wave", "w", "-o", cb)
	b, _ = os.ReadFile(cb)
	if !strings.Contains(string(b), "q03,indicator,single,您对本区县近一年来看病就医的情况满意吗？") || !strings.Contains(string(b), ",1,很满意,very satisfied,100\r\n") {
		t.Fatalf("codebook:\n%.600s", b)
	}
}

// TestServeRefusesAMissingMigration: a database whose record lacks one of
// the binary's migrations is refused (sql/pg tests a gap below the latest
// version, which needs migrations after the baseline).
func TestServeRefusesAMissingMigration(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = $1`, pg.BaselineVersion); err != nil {
		t.Fatal(err)
	}
	_, err = minyi(t, dsn, "serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("lacks migration %04d", pg.BaselineVersion)) {
		t.Fatalf("serve with a migration missing: %v", err)
	}
}

// importPhoneFrame imports n synthetic numbers, spread over the districts
// in turn, with minyi frame import, and returns them.
func importPhoneFrame(t *testing.T, dsn string, seed int64, n int, districts ...string) []string {
	t.Helper()
	phones, err := sampler.SyntheticPhones(seed, n)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("phone,district_code\n")
	for i, p := range phones {
		b.WriteString(p + "," + districts[i%len(districts)] + "\n")
	}
	mustRun(t, dsn, "frame", "import", "--kind", "phone", writeFile(t, "f.csv", b.String()))
	return phones
}
