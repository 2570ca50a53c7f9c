package pg_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/evidence"
	"minyi/sql/pg"
	"minyi/sql/pgtest"
)

// legacyDump is a pg_dump --no-owner --no-privileges of a database built by
// the old migrations 0001–0061 and then used: districts and margins, users,
// both frames, a telephone wave drawn and worked by a simulation, a
// door-to-door wave, published scores, schedules with runs, a job, field
// assignments, and an audit log with a valid hash chain.
const legacyDump = "testdata/legacy-schema-0061.sql.gz"

// baselineAndLater is what a new or legacy database is migrated with: the
// baseline, then each migration numbered after it.
func baselineAndLater() []int {
	var vs []int
	for _, m := range pg.Migrations() {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestMigrateFreshDatabase(t *testing.T) {
	db := open(t, pgtest.NewEmptyDatabase(t))
	if err := pg.CheckSchema(db); err == nil || !strings.Contains(err.Error(), "minyi migrate") {
		t.Fatalf("CheckSchema of an empty database: %v, want advice to run minyi migrate", err)
	}
	applied, err := pg.Migrate(db)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, baselineAndLater()) {
		t.Fatalf("applied %v, want the baseline and the migrations after it, %v", applied, baselineAndLater())
	}
	if err := pg.CheckSchema(db); err != nil {
		t.Fatal(err)
	}
	again, err := pg.Migrate(db)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v (%v), want nothing", again, err)
	}
}

// A database made by the old migrations, with data, is converted in place
// into exactly the schema of a new one, and keeps its data.
func TestMigrateUpgradesLegacyDatabase(t *testing.T) {
	dsn := pgtest.NewEmptyDatabase(t)
	restore(t, dsn, legacyDump)
	db := open(t, dsn)
	if err := pg.CheckSchema(db); err == nil || !strings.Contains(err.Error(), "minyi migrate") {
		t.Fatalf("CheckSchema before the upgrade: %v, want advice to run minyi migrate", err)
	}
	before := tableCounts(t, db)
	values := spotValues(t, db)

	applied, err := pg.Migrate(db)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, baselineAndLater()) {
		t.Fatalf("applied %v, want the baseline and the migrations after it, %v", applied, baselineAndLater())
	}

	t.Run("schema equals a new database's", func(t *testing.T) {
		fresh := pgtest.NewDatabase(t)
		got, want := schemaDump(t, dsn), schemaDump(t, fresh)
		if d := schemaDiff(got, want); d != "" {
			t.Fatalf("the upgraded schema differs from the baseline's:\n%s", d)
		}
		// The comparison sees a foreign key go.
		if _, err := open(t, fresh).Exec(`ALTER TABLE cases DROP CONSTRAINT cases_wave_id_fkey`); err != nil {
			t.Fatal(err)
		}
		if schemaDiff(got, schemaDump(t, fresh)) == "" {
			t.Fatal("the schema comparison missed a dropped foreign key")
		}
	})

	t.Run("data survived", func(t *testing.T) {
		after := tableCounts(t, db)
		before["schema_migrations"] += int64(len(baselineAndLater()))
		// Migration 0104 records what it found: one chained entry, and
		// the evidence of every interview.
		before["audit_log"]++
		before["interview_evidence"] = before["interviews"]
		for table, n := range before {
			if after[table] != n {
				t.Errorf("%s has %d rows, had %d", table, after[table], n)
			}
		}
		for name, n := range map[string]int64{"districts": 40, "interviews": 327, "phone_frame": 2400, "household_frame": 324, "waves": 2} {
			if after[name] != n {
				t.Errorf("%s has %d rows, want %d", name, after[name], n)
			}
		}
		if got := spotValues(t, db); got != values {
			t.Errorf("values changed:\n got %+v\nwant %+v", got, values)
		}
		// The households in the field get their paper form numbers.
		var issued, missing int
		db.Get(&issued, `SELECT count(*) FROM paper_form_numbers`)
		db.Get(&missing, `SELECT count(*) FROM cases c WHERE c.mode = 'door' AND c.assigned_to IS NOT NULL AND c.status <> 'final'
			AND NOT EXISTS (SELECT 1 FROM paper_form_numbers n WHERE n.case_id = c.id AND n.interviewer_id = c.assigned_to)`)
		if issued == 0 || missing != 0 {
			t.Errorf("%d paper form numbers issued, %d households in the field without one", issued, missing)
		}
		rep, err := core.VerifyAudit(context.Background(), db)
		if err != nil || rep.Entries != 10 || len(rep.Problems) > 0 {
			t.Errorf("audit chain after the upgrade: %d entries, problems %v (%v)", rep.Entries, rep.Problems, err)
		}
		// The evidence recorded at the upgrade holds, and catches a change
		// made after it.
		ev, err := evidence.Verify(context.Background(), db, nil)
		if err != nil || len(ev.Problems) > 0 || ev.Interviews != 327 || ev.Districts != 40 || ev.Published == 0 {
			t.Fatalf("evidence after the upgrade: %+v (%v)", ev, err)
		}
		db.MustExec(`UPDATE districts SET population = population * 10 WHERE code = '500101'`)
		ev, err = evidence.Verify(context.Background(), db, nil)
		if err != nil || len(ev.Problems) != 1 || !strings.Contains(ev.Problems[0], "population of district 500101") {
			t.Fatalf("a population changed after the upgrade: %v (%v)", ev.Problems, err)
		}
		db.MustExec(`UPDATE districts SET population = population / 10 WHERE code = '500101'`)
	})

	t.Run("CheckSchema accepts it", func(t *testing.T) {
		if err := pg.CheckSchema(db); err != nil {
			t.Fatal(err)
		}
		v, err := pg.SchemaVersion(db)
		if err != nil || v != pg.LatestVersion() {
			t.Fatalf("schema version %d (%v), want %d", v, err, pg.LatestVersion())
		}
	})

	t.Run("migrating again changes nothing", func(t *testing.T) {
		schema := schemaDump(t, dsn)
		again, err := pg.Migrate(db)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v (%v), want nothing", again, err)
		}
		if d := schemaDiff(schemaDump(t, dsn), schema); d != "" {
			t.Fatalf("the second migrate changed the schema:\n%s", d)
		}
	})

	t.Run("foreign keys refuse dangling references", func(t *testing.T) {
		for _, tc := range []struct{ stmt, constraint string }{
			{`INSERT INTO cases (wave_id, phone) VALUES (999999, '13902399999')`, "cases_wave_id_fkey"},
			{`INSERT INTO cases (wave_id, district_code, phone) SELECT id, '599999', '13902399999' FROM waves LIMIT 1`, "cases_district_code_fkey"},
			{`UPDATE cases SET held_by = 999999 WHERE id = (SELECT min(id) FROM cases)`, "cases_held_by_fkey"},
			{`UPDATE cases SET assigned_to = 999999 WHERE id = (SELECT min(id) FROM cases)`, "cases_assigned_to_fkey"},
			{`UPDATE cases SET household_id = 999999 WHERE id = (SELECT min(id) FROM cases)`, "cases_household_id_fkey"},
			{`INSERT INTO phone_frame (phone, district_code, ordinal) VALUES ('13902399999', '599999', 999999)`, "phone_frame_district_code_fkey"},
		} {
			_, err := db.Exec(tc.stmt)
			fkViolation(t, err, tc.constraint)
		}
		// Rows that only a case or only the frame refers to cannot go.
		var user int64
		if err := db.Get(&user, `INSERT INTO users (username, password_hash, role) VALUES ('fk-check', 'x', 'field_interviewer') RETURNING id`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE cases SET assigned_to = $1 WHERE id = (SELECT max(id) FROM cases)`, user); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(`DELETE FROM users WHERE id = $1`, user)
		fkViolation(t, err, "cases_assigned_to_fkey")
		if _, err := db.Exec(`INSERT INTO districts (code, name, population) VALUES ('509999', 'fk-check', 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO phone_frame (phone, district_code, ordinal) VALUES ('13902399999', '509999', 1)`); err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`DELETE FROM districts WHERE code = '509999'`)
		fkViolation(t, err, "phone_frame_district_code_fkey")
	})
}

func fkViolation(t *testing.T, err error, constraint string) {
	t.Helper()
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" || pqErr.Constraint != constraint {
		t.Errorf("got %v, want a violation of %s", err, constraint)
	}
}

// A database left part way through the old migrations is refused, with what
// to do, and left as it was.
func TestMigrateRefusesPartialLegacyDatabase(t *testing.T) {
	dsn := pgtest.NewEmptyDatabase(t)
	restore(t, dsn, legacyDump)
	db := open(t, dsn)
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version IN (60, 61)`); err != nil {
		t.Fatal(err)
	}
	schema := schemaDump(t, dsn)
	for name, err := range map[string]error{"Migrate": migrateErr(db), "CheckSchema": pg.CheckSchema(db)} {
		if err == nil {
			t.Fatalf("%s accepted a database at old version 50", name)
		}
		msg := err.Error()
		zh, en, ok := strings.Cut(msg, " / ")
		if !ok || !strings.Contains(zh, "0060, 0061") || !strings.Contains(zh, "minyi migrate") ||
			!strings.Contains(en, "version 50 of the old migrations, lacking 0060, 0061") || !strings.Contains(en, "has migration 0061 first") {
			t.Errorf("%s: %q, want the missing migrations and what to do, in Chinese then English", name, msg)
		}
	}
	if d := schemaDiff(schemaDump(t, dsn), schema); d != "" {
		t.Fatalf("the refused migrate changed the schema:\n%s", d)
	}
}

// A schema newer than the binary is refused as before.
func TestCheckSchemaRefusesNewerSchema(t *testing.T) {
	db := open(t, pgtest.NewDatabase(t))
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')`, pg.LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	if err := pg.CheckSchema(db); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("CheckSchema of a newer schema: %v", err)
	}
}

// allVersions are the versions of every migration, in order.
func migrateErr(db *sqlx.DB) error {
	_, err := pg.Migrate(db)
	return err
}

func open(t *testing.T, dsn string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// restore loads a gzipped plain-text dump with the cluster's psql, as an
// operator would.
func restore(t *testing.T, dsn, file string) {
	t.Helper()
	psql, err := pg.PGTool("psql")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", pg.LibpqDSN(dsn), "-f", "-")
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stderr = zr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("psql restore of %s: %v\n%s", file, err, stderr.String())
	}
}

// schemaDump is pg_dump --schema-only without its comments and the random
// key of its \restrict lines.
func schemaDump(t *testing.T, dsn string) []string {
	t.Helper()
	bin, err := pg.PGTool("pg_dump")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--schema-only", "--no-owner", "--no-privileges", "--dbname", pg.LibpqDSN(dsn)).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || strings.HasPrefix(l, "--") || strings.HasPrefix(l, `\restrict `) || strings.HasPrefix(l, `\unrestrict `) {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// schemaDiff names the lines only one dump has, or where their order
// differs (a column moved); "" when the dumps are the same.
func schemaDiff(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	var b strings.Builder
	for _, l := range got {
		if count[l] < 0 {
			fmt.Fprintf(&b, "+ %s\n", l)
			count[l]++
		}
	}
	for _, l := range want {
		if count[l] > 0 {
			fmt.Fprintf(&b, "- %s\n", l)
			count[l]--
		}
	}
	if b.Len() == 0 {
		for i := range got {
			if got[i] != want[i] {
				fmt.Fprintf(&b, "same lines in another order, first at line %d: %q, want %q\n", i+1, got[i], want[i])
				break
			}
		}
	}
	return b.String()
}

// tableCounts counts the rows of every table.
func tableCounts(t *testing.T, db *sqlx.DB) map[string]int64 {
	t.Helper()
	var tables []string
	if err := db.Select(&tables, `SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, table := range tables {
		var n int64
		if err := db.Get(&n, `SELECT count(*) FROM `+pq.QuoteIdentifier(table)); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
	}
	return counts
}

// values are a few things of the legacy database that must survive as
// they were: who can sign in as what, what was published, the frames'
// checksums, and where the id sequences stand.
type values struct {
	Users, Published, PhoneFrame, HouseholdFrame, Sequences, Interviews string
}

func spotValues(t *testing.T, db *sqlx.DB) values {
	t.Helper()
	var v values
	for _, q := range []struct {
		dst   *string
		query string
	}{
		{&v.Users, `SELECT string_agg(username || ':' || role || ':' || active || ':' || password_hash, ',' ORDER BY id) FROM users`},
		{&v.Published, `SELECT string_agg(sha256 || ':' || md5(long_csv), ',' ORDER BY id) FROM score_publications`},
		{&v.PhoneFrame, `SELECT version || ':' || checksum FROM frame_versions WHERE kind = 'phone'`},
		{&v.HouseholdFrame, `SELECT version || ':' || checksum FROM frame_versions WHERE kind = 'household'`},
		// The sequences of the tables later migrations make are not the
		// legacy database's.
		{&v.Sequences, `SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences
			WHERE sequencename NOT IN ('interview_evidence_id_seq', 'calls_id_seq', 'recordings_id_seq', 'case_notes_id_seq', 'participation_consents_id_seq')`},
		{&v.Interviews, `SELECT md5(string_agg(id || ':' || coalesce(case_id::text, '') || ':' || district_code || ':' || answers::text, ',' ORDER BY id)) FROM interviews`},
	} {
		if err := db.Get(q.dst, q.query); err != nil {
			t.Fatal(err)
		}
	}
	if v.Users == "" || v.Published == "" || v.Interviews == "" {
		t.Fatalf("the legacy data is missing: %+v", v)
	}
	return v
}
