package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/cmd/internal/cli"
	"minyi/sql/pgtest"
)

func TestFrameImportPhone(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	file := "phone,district_code\n13902300001,500101\n+86 139 0230 0002,500102\n12345,500101\n13902300003,\n13902300001,\n"
	out := mustRun(t, dsn, "frame", "import", "--kind", "phone", writeFile(t, "p.csv", file))
	for _, want := range []string{
		"read 5 rows: kept 3 (fixed 1), rejected 1, duplicates 1",
		"第 4 行 / line 4: ",
		"invalid phone number \"12345\"",
		"第 6 行 / line 6: 重复：与第 2 行相同 / duplicate of line 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A fatal file: exit code 2, the reason with its line, nothing imported.
	long := "phone\n13902300004\n" + strings.Repeat("1", 70<<10) + "\n"
	out, err := minyi(t, dsn, "frame", "import", "--kind", "phone", writeFile(t, "long.csv", long))
	if err == nil || cli.ExitCode(err) != 2 || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("long line: %v (exit %d)\n%s", err, cli.ExitCode(err), out)
	}
	out, err = minyi(t, dsn, "frame", "import", "--kind", "phone", writeFile(t, "bad.csv", "phone\n1\n2\n13902300005\n"))
	if err == nil || cli.ExitCode(err) != 2 || !strings.Contains(out, "nothing was imported") || !strings.Contains(out, "第 2 行 / line 2") {
		t.Fatalf("mostly bad file: %v\n%s", err, out)
	}
	// The rdd numbers come after the three imported ones.
	out = mustRun(t, dsn, "frame", "rdd", "--count", "20", "--seed", "7", "--prefixes", "1390230,1350030")
	if !strings.Contains(out, "generated 20 numbers (2 prefixes, seed 7)") {
		t.Errorf("rdd: %s", out)
	}
	_, err = minyi(t, dsn, "frame", "rdd", "--count", "20", "--seed", "7", "--prefixes", "0230123")
	if err == nil || cli.ExitCode(err) != 2 {
		t.Errorf("landline prefix: %v", err)
	}
}

func TestFrameImportHouseholdGB18030(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	file := "district_code,street,community,household_id,address,street_size,community_size\n" +
		"500101,高笋塘街道,白岩社区,H1,白岩路1号,3000,800\n500102,敦仁街道,望州社区,F1,望州路3号,2000,600\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(file)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "h.csv")
	if err := os.WriteFile(p, []byte(gb), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, dsn, "frame", "import", p, "--kind", "household")
	if !strings.Contains(out, "encoding: gb18030") || !strings.Contains(out, "kept 2") {
		t.Errorf("import: %s", out)
	}
	out = mustRun(t, dsn, "frame", "import", "--kind", "household", "--encoding", "gb18030", p)
	if !strings.Contains(out, "duplicates 2") || !strings.Contains(out, "already in the frame") {
		t.Errorf("re-import: %s", out)
	}
}

func TestFrameUsageErrors(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	p := writeFile(t, "p.csv", "phone\n13902300001\n")
	for _, args := range [][]string{
		{"frame"},
		{"frame", "export"},
		{"frame", "import", p},
		{"frame", "import", "--kind", "fax", p},
		{"frame", "import", "--kind", "phone", "--encoding", "latin1", p},
		{"frame", "import", "--kind", "phone"},
		{"frame", "import", "--kind", "phone", filepath.Join(t.TempDir(), "missing.csv")},
		{"frame", "rdd", "--seed", "1"},
		{"frame", "rdd", "--count", "5"},
	} {
		if _, err := minyi(t, dsn, args...); err == nil || cli.ExitCode(err) != 2 {
			t.Errorf("minyi %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if _, err := minyi(t, dsn, "frame", "import", "--help"); err != nil {
		t.Errorf("--help: %v", err)
	}
}
