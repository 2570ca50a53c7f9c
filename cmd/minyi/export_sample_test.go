package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/cmd/internal/cli"
	"minyi/sql/pgtest"
)

// TestExportSample writes a drawn wave's sample file: every case with its
// stratum, inclusion probability and replicate, and no telephone number or
// address unless --with-contacts asks for them, which the audit log
// records.
func TestExportSample(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	phones := importPhoneFrame(t, dsn, 11, 60, "500101", "500102")
	var hh strings.Builder
	hh.WriteString("district_code,street,community,household_id,address,street_size,community_size\n")
	var addresses []string
	for _, d := range []string{"500101", "500102"} {
		for c := 1; c <= 3; c++ {
			for h := 1; h <= 20; h++ {
				a := fmt.Sprintf("%s街%d社区%d号楼%d室", d, c, h, 100+h)
				addresses = append(addresses, a)
				fmt.Fprintf(&hh, "%s,街道%d,社区%d,H%s-%d-%d,%s,,\n", d, c, c, d, c, h, a)
			}
		}
	}
	mustRun(t, dsn, "frame", "import", "--kind", "household", writeFile(t, "h.csv", hh.String()))
	mustRun(t, dsn, "wave", "create", "w", "--rate", "0.01", "--modes", "phone,door")
	mustRun(t, dsn, "sample", "draw", "--wave", "w", "--seed", "5")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cases struct {
		All   int `db:"all"`
		Phone int `db:"phone"`
		Door  int `db:"door"`
	}
	if err := db.Get(&cases, `SELECT count(*) AS all, count(*) FILTER (WHERE mode = 'phone') AS phone, count(*) FILTER (WHERE mode = 'door') AS door FROM cases`); err != nil {
		t.Fatal(err)
	}
	if cases.Phone == 0 || cases.Door == 0 {
		t.Fatalf("the draw gave %d telephone and %d door-to-door cases; the test needs both", cases.Phone, cases.Door)
	}

	read := func(args ...string) []string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "sample.csv")
		mustRun(t, dsn, append([]string{"export", "sample", "--wave", "w", "-o", out}, args...)...)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(b), "\ufeff"), "\r\n"), "\r\n")
	}

	plain := read()
	if plain[0] != "case_id,mode,stratum,inclusion_prob,replicate" {
		t.Fatalf("header %q", plain[0])
	}
	if len(plain)-1 != cases.All {
		t.Fatalf("%d rows for %d cases", len(plain)-1, cases.All)
	}
	text := strings.Join(plain, "\n")
	for _, p := range phones {
		if strings.Contains(text, p) {
			t.Fatalf("the sample without --with-contacts carries telephone number %s", p)
		}
	}
	for _, a := range addresses {
		if strings.Contains(text, a) {
			t.Fatalf("the sample without --with-contacts carries address %s", a)
		}
	}
	for _, line := range plain[1:] {
		f := strings.Split(line, ",")
		if len(f) != 5 {
			t.Fatalf("row %q", line)
		}
		p, err := strconv.ParseFloat(f[3], 64)
		if err != nil || p <= 0 || p > 1 {
			t.Errorf("row %q: inclusion probability %q", line, f[3])
		}
		if f[1] == "phone" && f[4] == "" {
			t.Errorf("telephone case without a replicate: %q", line)
		}
		if f[1] == "door" && (f[2] != "500101" && f[2] != "500102") {
			t.Errorf("door-to-door case without its district stratum: %q", line)
		}
	}

	full := read("--with-contacts")
	if full[0] != "case_id,mode,stratum,inclusion_prob,replicate,phone,address" || len(full) != len(plain) {
		t.Fatalf("with contacts: header %q, %d rows", full[0], len(full)-1)
	}
	var want []struct {
		ID      int64  `db:"id"`
		Phone   string `db:"phone"`
		Address string `db:"address"`
	}
	if err := db.Select(&want, `SELECT c.id, coalesce(c.phone, '') AS phone, coalesce(h.address, '') AS address
		FROM cases c LEFT JOIN household_frame h ON h.id = c.household_id ORDER BY c.id`); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		f := strings.Split(full[i+1], ",")
		if f[0] != strconv.FormatInt(w.ID, 10) || f[5] != w.Phone || f[6] != w.Address || w.Phone == "" && w.Address == "" {
			t.Errorf("case %d: row %q, want its number %q or address %q", w.ID, full[i+1], w.Phone, w.Address)
		}
		if full[i+1][:len(plain[i+1])] != plain[i+1] {
			t.Errorf("case %d: %q with contacts, %q without", w.ID, full[i+1], plain[i+1])
		}
	}

	var audits []struct {
		Contacts bool `db:"contacts"`
	}
	if err := db.Select(&audits, `SELECT coalesce((details->>'with_contacts')::boolean, false) AS contacts
		FROM audit_log WHERE action = 'export' AND subject = 'sample:w' ORDER BY seq`); err != nil {
		t.Fatal(err)
	}
	if len(audits) != 2 || audits[0].Contacts || !audits[1].Contacts {
		t.Fatalf("audit entries of the two exports: %+v, want one without and one with contacts", audits)
	}

	_, err = minyi(t, dsn, "export", "responses", "--wave", "w", "-o", filepath.Join(t.TempDir(), "r.csv"), "--with-contacts")
	if err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("--with-contacts on the responses: %v, want a usage error", err)
	}
}
