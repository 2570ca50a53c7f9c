package pg

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Roles of the embedded cluster (docs/evidence.md §8). The initdb
// superuser only sets the cluster up; OwnerRole owns the schema and runs
// the migrations; AppRole is what the server and the commands connect as:
// no superuser, owner of nothing, and on the tables that keep evidence
// only INSERT and SELECT, so that neither a bug nor an injected query of
// the application can rewrite what the audit chain recorded, nor set a
// trigger aside.
const (
	OwnerRole = "minyi_owner"
	AppRole   = "minyi_app"
)

// AppendOnly are the tables the application's role may only read and
// append to.
var AppendOnly = []string{"audit_log", "interview_evidence", "interview_changes", "score_publications", "published_weights", "case_notes", "participation_consents"}

// securityDefiners are the functions that do, with the owner's rights and
// checks of their own, what the bulk load of a frame needs of the owner.
var securityDefiners = []string{"phone_frame_suspend_indexes()", "phone_frame_restore_indexes()", "phone_frame_set_version_trigger(boolean)"}

// GrantApp gives role what the application needs on the schema as it now
// is, and no more; the owner (or a superuser) runs it after every
// migration. It is idempotent.
func GrantApp(db *sqlx.DB, role string) error {
	r := pq.QuoteIdentifier(role)
	var have []string
	if err := db.Select(&have, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`); err != nil {
		return fmt.Errorf("pg: grant: %w", err)
	}
	exists := map[string]bool{}
	for _, t := range have {
		exists[t] = true
	}
	stmts := []string{
		"GRANT USAGE ON SCHEMA public TO " + r,
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + r,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + r,
	}
	if exists["interviews"] {
		stmts = append(stmts, "REVOKE DELETE ON interviews FROM "+r)
	}
	for _, t := range AppendOnly {
		if exists[t] {
			stmts = append(stmts, "REVOKE UPDATE, DELETE ON "+pq.QuoteIdentifier(t)+" FROM "+r)
		}
	}
	if exists["schema_migrations"] {
		stmts = append(stmts, "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM "+r)
	}
	for _, f := range securityDefiners {
		var ok bool
		if err := db.Get(&ok, `SELECT to_regprocedure($1) IS NOT NULL`, f); err != nil {
			return err
		}
		if ok {
			stmts = append(stmts, "GRANT EXECUTE ON FUNCTION "+f+" TO "+r)
		}
	}
	// Tables a later migration makes can be read and appended to at once;
	// the grants above, run again after it, give the rest. Only in the
	// schema: a table the owner's functions make in pg_temp must stay the
	// owner's alone (0104_evidence.sql).
	var owner string
	if err := db.Get(&owner, `SELECT coalesce((SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('public.audit_log')), current_user::text)`); err != nil {
		return err
	}
	o := pq.QuoteIdentifier(owner)
	stmts = append(stmts,
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+o+" IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO "+r,
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+o+" IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "+r)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			return fmt.Errorf("pg: %s: %w", s, err)
		}
	}
	return nil
}

// CheckApp lists, in both languages, what keeps role from being what the
// application should connect as: missing, a superuser, owning tables,
// lacking a privilege it needs, or holding one it must not have. None
// means it is right.
func CheckApp(db *sqlx.DB, role string) ([]string, error) {
	var r struct {
		Super     bool `db:"rolsuper"`
		BypassRLS bool `db:"rolbypassrls"`
	}
	err := db.Get(&r, `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, role)
	if err == sql.ErrNoRows {
		return []string{fmt.Sprintf("角色 %s 不存在 / role %s does not exist", role, role)}, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if r.Super {
		out = append(out, fmt.Sprintf("角色 %[1]s 是超级用户，可以绕过一切限制 / role %[1]s is a superuser, which nothing restricts", role))
	}
	var owned []string
	if err := db.Select(&owned, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')
		AND pg_has_role($1, relowner, 'USAGE') ORDER BY relname`, role); err != nil {
		return nil, err
	}
	if len(owned) > 0 {
		out = append(out, fmt.Sprintf("角色 %[1]s 拥有（或继承了所有者的）数据表 %[2]s，可以删除触发器和数据 / role %[1]s owns, or has the rights of the owner of, the tables %[2]s, so it can drop their triggers and rows",
			role, strings.Join(owned, ", ")))
	}
	type priv struct {
		Table string `db:"relname"`
		Priv  string `db:"priv"`
		Has   bool   `db:"has"`
	}
	var ps []priv
	if err := db.Select(&ps, `SELECT c.relname, p.priv, has_table_privilege($1, c.oid, p.priv) AS has
		FROM pg_class c CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) AS p(priv)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY c.relname, p.priv`, role); err != nil {
		return nil, err
	}
	appendOnly := map[string]bool{"interviews": false}
	for _, t := range AppendOnly {
		appendOnly[t] = true
	}
	var missing, excess []string
	for _, p := range ps {
		var want bool
		switch {
		case p.Table == "schema_migrations":
			want = p.Priv == "SELECT"
		case p.Priv == "TRUNCATE" || p.Priv == "TRIGGER":
			want = false
		case p.Priv == "UPDATE" && appendOnly[p.Table]:
			want = false
		case p.Priv == "DELETE" && (appendOnly[p.Table] || p.Table == "interviews"):
			want = false
		default:
			want = true
		}
		switch {
		case want && !p.Has:
			missing = append(missing, p.Priv+" ON "+p.Table)
		case !want && p.Has:
			excess = append(excess, p.Priv+" ON "+p.Table)
		}
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("角色 %[1]s 缺少权限 / role %[1]s lacks: %[2]s", role, strings.Join(missing, ", ")))
	}
	if len(excess) > 0 {
		out = append(out, fmt.Sprintf("角色 %[1]s 有不应有的权限 / role %[1]s must not have: %[2]s", role, strings.Join(excess, ", ")))
	}
	return out, nil
}

// Privileged reports why the connection's role is more than the
// application should be (a superuser, or able to rewrite the audit log),
// "" when it is not.
func Privileged(db *sqlx.DB) (string, error) {
	var r struct {
		User  string `db:"usr"`
		Super bool   `db:"super"`
		Owns  bool   `db:"owns"`
		Write bool   `db:"write"`
	}
	err := db.Get(&r, `SELECT current_user AS usr, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super,
		coalesce((SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass('public.audit_log')), false) AS owns,
		coalesce(has_table_privilege(current_user, to_regclass('public.audit_log'), 'UPDATE, DELETE, TRUNCATE'), false) AS write`)
	if err != nil {
		return "", err
	}
	switch {
	case r.Super:
		return fmt.Sprintf("以超级用户 %[1]s 连接数据库 / connected as %[1]s, a superuser", r.User), nil
	case r.Owns:
		return fmt.Sprintf("以审计日志的所有者 %[1]s 连接数据库 / connected as %[1]s, which owns the audit log", r.User), nil
	case r.Write:
		return fmt.Sprintf("角色 %[1]s 可以改写或删除审计日志 / role %[1]s may update or delete the audit log", r.User), nil
	}
	return "", nil
}

// provision sets the roles and the application database of the embedded
// cluster up, as its superuser: the owner and the application roles, the
// database owned by the owner, every object of the schema handed to the
// owner (a database made before the roles existed, or restored by the
// superuser), and the application's grants.
func (c *Cluster) provision(dbname string) error {
	admin, err := sqlx.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := EnsureRoles(admin); err != nil {
		return err
	}
	if err := CreateDatabase(admin.DB, dbname, ""); err != nil {
		return err
	}
	if _, err := admin.Exec("ALTER DATABASE " + pq.QuoteIdentifier(dbname) + " OWNER TO " + OwnerRole); err != nil {
		return fmt.Errorf("pg: database owner: %w", err)
	}
	db, err := sqlx.Open("postgres", c.DSN(dbname))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := adopt(db, OwnerRole); err != nil {
		return err
	}
	return GrantApp(db, AppRole)
}

// EnsureRoles creates the owner and application roles if missing, neither
// a superuser; admin is a superuser's connection.
func EnsureRoles(admin *sqlx.DB) error {
	for _, r := range []string{OwnerRole, AppRole} {
		_, err := admin.Exec("CREATE ROLE " + r + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
		if pe, ok := err.(*pq.Error); ok && pe.Code == "42710" { // exists
			_, err = admin.Exec("ALTER ROLE " + r + " NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
		}
		if err != nil {
			return fmt.Errorf("pg: role %s: %w", r, err)
		}
	}
	return nil
}

// adopt hands every table, view, sequence and function of the schema to
// owner. Sequences of serial columns follow their tables.
func adopt(db *sqlx.DB, owner string) error {
	var stmts []string
	err := db.Select(&stmts, `
		SELECT format('ALTER %s %s OWNER TO %I', kind, obj, $1::text) FROM (
		    SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
		           c.oid::regclass::text AS obj
		    FROM pg_class c
		    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
		      AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
		      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
		                        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
		    UNION ALL
		    SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
		    WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
		) x`, owner)
	if err != nil {
		return fmt.Errorf("pg: objects to hand over: %w", err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			return fmt.Errorf("pg: %s: %w", s, err)
		}
	}
	return nil
}
