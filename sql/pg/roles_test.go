package pg_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lib/pq"

	"minyi/sql/pg"
	"minyi/sql/pgtest"
)

// TestAppRoleGrants: the application's role of a migrated database has
// what it needs and no more; a table a later migration makes is readable
// and appendable at once, and fully granted after the grants run again;
// CheckApp names a privilege too many and a superuser.
func TestAppRoleGrants(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	owner := open(t, pg.WithUser(dsn, pg.OwnerRole))
	app := open(t, pgtest.AppDSN(t, dsn))
	if problems, err := pg.CheckApp(owner, pg.AppRole); err != nil || len(problems) > 0 {
		t.Fatalf("the app role after migrating: %v %v", problems, err)
	}
	owner.MustExec(`CREATE TABLE later (id bigserial PRIMARY KEY, v text)`)
	app.MustExec(`INSERT INTO later (v) VALUES ('a')`)
	var n int
	if err := app.Get(&n, `SELECT count(*) FROM later`); err != nil || n != 1 {
		t.Fatalf("read a later table: %d %v", n, err)
	}
	var pe *pq.Error
	if _, err := app.Exec(`UPDATE later SET v = 'b'`); !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("update a later table before the grants: %v", err)
	}
	if err := pg.GrantApp(owner, pg.AppRole); err != nil {
		t.Fatal(err)
	}
	app.MustExec(`UPDATE later SET v = 'b'`)

	owner.MustExec(`GRANT UPDATE ON audit_log TO ` + pg.AppRole)
	problems, err := pg.CheckApp(owner, pg.AppRole)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "must not have: UPDATE ON audit_log") {
		t.Fatalf("a privilege too many: %v %v", problems, err)
	}
	problems, _ = pg.CheckApp(owner, pg.Superuser)
	if len(problems) == 0 || !strings.Contains(problems[0], "is a superuser") {
		t.Fatalf("the superuser as the app role: %v", problems)
	}
	problems, _ = pg.CheckApp(owner, "nobody_here")
	if len(problems) != 1 || !strings.Contains(problems[0], "does not exist") {
		t.Fatalf("a missing role: %v", problems)
	}
}
