package sampler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pgtest"
)

var fctx = context.Background()

// frameDB returns a fresh database with two districts.
func frameDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := SaveDistricts(fctx, db, []District{{"500101", "万州区", 1000}, {"500102", "涪陵区", 2000}}); err != nil {
		t.Fatal(err)
	}
	return db
}

func frameCount(t *testing.T, db *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func loadPhones(t *testing.T, db *sqlx.DB, file string, enc string) (FrameReport, error) {
	t.Helper()
	return ImportPhoneFrame(fctx, db, strings.NewReader(file), ImportOptions{Encoding: csvfile.Encoding(enc), FileName: "phones.csv"})
}

func loadHouseholds(t *testing.T, db *sqlx.DB, file string, enc string) (FrameReport, error) {
	t.Helper()
	return ImportHouseholdFrame(fctx, db, strings.NewReader(file), ImportOptions{Encoding: csvfile.Encoding(enc), FileName: "households.csv"})
}

// wantProblems checks that each line has a problem whose reason contains
// the given text, and that no other line has one.
func wantProblems(t *testing.T, rep FrameReport, want map[int]string) {
	t.Helper()
	got := map[int]string{}
	for _, p := range rep.Problems {
		got[p.Line] = p.Reason()
	}
	for line, text := range want {
		if !strings.Contains(got[line], text) {
			t.Errorf("line %d: problem %q, want one containing %q", line, got[line], text)
		}
		if r := got[line]; r != "" && !strings.Contains(r, " / ") {
			t.Errorf("line %d: reason %q is not bilingual", line, r)
		}
	}
	for line, r := range got {
		if _, ok := want[line]; !ok {
			t.Errorf("unexpected problem on line %d: %s", line, r)
		}
	}
	if t.Failed() {
		t.Logf("report: %+v", rep)
	}
}

func checkCounts(t *testing.T, rep FrameReport, read, kept, fixed, rejected, dups int) {
	t.Helper()
	got := [5]int{rep.Read, rep.Kept, rep.Fixed, rep.Rejected, rep.Duplicates}
	if want := [5]int{read, kept, fixed, rejected, dups}; got != want {
		t.Errorf("read/kept/fixed/rejected/duplicates = %v, want %v", got, want)
	}
}

const householdsUTF8 = "district_code,street,community,household_id,address,street_size,community_size\n" +
	"500101,高笋塘街道,白岩社区,H001,万州区白岩路1号1-1,3000,800\n" +
	"500101,高笋塘街道,白岩社区,H002,万州区白岩路1号1-2,3000,800\n" +
	"500101,高笋塘街道,太白社区,H003,万州区太白路2号,3000,500\n" +
	"500102,敦仁街道,望州社区,F001,涪陵区望州路3号,2000,\n"

func TestImportHouseholdEncodings(t *testing.T) {
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(householdsUTF8)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, enc string
		want            csvfile.Encoding
	}{
		{"utf-8", householdsUTF8, "auto", csvfile.UTF8},
		{"utf-8 with BOM", "\uFEFF" + householdsUTF8, "auto", csvfile.UTF8},
		{"gb18030 detected", gb, "auto", csvfile.GB18030},
		{"gb18030 forced", gb, "gb18030", csvfile.GB18030},
		{"utf-8 forced", householdsUTF8, "utf-8", csvfile.UTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := frameDB(t)
			rep, err := loadHouseholds(t, db, tc.file, tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, rep, 4, 4, 0, 0, 0)
			if rep.Encoding != tc.want {
				t.Errorf("encoding %q, want %q", rep.Encoding, tc.want)
			}
			var addr string
			var size *int64
			if err := db.QueryRow(`SELECT address, community_size FROM household_frame WHERE household_id = 'F001'`).Scan(&addr, &size); err != nil {
				t.Fatal(err)
			}
			if addr != "涪陵区望州路3号" || size != nil {
				t.Errorf("stored %q, size %v", addr, size)
			}
			if n := frameCount(t, db, `SELECT count(*) FROM household_frame WHERE street = '高笋塘街道' AND street_size = 3000`); n != 3 {
				t.Errorf("%d rows of 高笋塘街道", n)
			}
		})
	}
	// A GB18030 file read as UTF-8 is refused: every row has bytes that
	// are not UTF-8, and the message says what to do.
	db := frameDB(t)
	rep, err := loadHouseholds(t, db, gb, "utf-8")
	if err == nil || core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("GB18030 read as UTF-8: %v", err)
	}
	if rep.Rejected != 4 || len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0].Reason(), "--encoding gb18030") {
		t.Errorf("report %+v", rep)
	}
}

func TestImportPhoneFrameBadRows(t *testing.T) {
	db := frameDB(t)
	if _, err := AddPhones(fctx, db, []PhoneEntry{{Phone: "13902300009", District: "500101"}}); err != nil {
		t.Fatal(err)
	}
	file := strings.Join([]string{
		"phone,district_code",      // 1
		"13902300001,500101",       // 2 ok
		"+86 139-0230-0002,500101", // 3 ok, fixed
		",500101",                  // 4 empty
		"12345,500101",             // 5 invalid
		"1390230000a,500101",       // 6 letter
		"13902300003,599999",       // 7 unknown district
		"13902300004",              // 8 too few fields
		"13902300005,500101,x",     // 9 too many fields
		"13902300001,500102",       // 10 duplicate of line 2
		"13902300009,",             // 11 already in the frame
		"023-6361 2345,500102",     // 12 ok, fixed landline
		"1390230\xff006,500101",    // 13 not UTF-8
		"13902300007,5001\"01",     // 14 bare quote
		" 13902300008 ,",           // 15 ok, fixed (spaces), city-wide
		"13902300010,500101",       // 16 ok
		"13902300011,500102",       // 17 ok
		"13902300012,500102",       // 18 ok
		"13902300013,500102",       // 19 ok
		"13902300014,500101",       // 20 ok
		"13902300015,500101",       // 21 ok
		"13902300016,500101",       // 22 ok
		"13902300017,500101",       // 23 ok
		"13902300018,500101",       // 24 ok
		"13902300019,500101",       // 25 ok
		"\"13902300020\t\",500101", // 26 control character
		"13902300021,500101",       // 27 ok
	}, "\n") + "\n"
	rep, err := loadPhones(t, db, file, "auto")
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, rep, map[int]string{
		4:  "phone number is empty",
		5:  "invalid phone number \"12345\"",
		6:  "invalid phone number",
		7:  "unknown district code \"599999\"",
		8:  "has 1 fields but the header has 2",
		9:  "has 3 fields",
		10: "duplicate of line 2",
		11: "already in the frame",
		13: "not UTF-8",
		14: "malformed CSV",
		26: "control characters",
	})
	checkCounts(t, rep, 26, 15, 3, 9, 2)
	if n := frameCount(t, db, `SELECT count(*) FROM phone_frame`); n != 1+15 {
		t.Errorf("%d numbers in the frame, want 16", n)
	}
	if n := frameCount(t, db, `SELECT count(*) FROM phone_frame WHERE phone IN ('13902300002', '02363612345', '13902300008')`); n != 3 {
		t.Errorf("fixed numbers stored: %d of 3", n)
	}
	if n := frameCount(t, db, `SELECT count(*) FROM phone_frame WHERE phone = '13902300001' AND district_code = '500101'`); n != 1 {
		t.Error("the first of two repeated numbers is not the one kept")
	}
	// The report is stored for the admin pages.
	var kind, status, problems string
	var kept, rejected int
	if err := db.QueryRow(`SELECT kind, status, kept, rejected, problems FROM frame_imports ORDER BY id DESC LIMIT 1`).
		Scan(&kind, &status, &kept, &rejected, &problems); err != nil {
		t.Fatal(err)
	}
	var ps []csvfile.Problem
	if err := json.Unmarshal([]byte(problems), &ps); err != nil {
		t.Fatal(err)
	}
	if kind != "phone" || status != "ok" || kept != 15 || rejected != 9 || len(ps) != 11 || ps[0].Line != 4 {
		t.Errorf("stored report: %s %s kept %d rejected %d problems %v", kind, status, kept, rejected, ps)
	}
}

func TestImportHouseholdBadRows(t *testing.T) {
	db := frameDB(t)
	if _, err := loadHouseholds(t, db, householdsUTF8, "auto"); err != nil {
		t.Fatal(err)
	}
	file := strings.Join([]string{
		"household_id,district_code,street,community,address,community_size,street_size", // 1: any order
		"H101,500101,高笋塘街道,白岩社区,白岩路5号,800,3000",                                          // 2 ok
		"H102,500101,高笋塘街道,白岩社区,,800,3000",                                               // 3 missing address
		"H103,599999,高笋塘街道,白岩社区,白岩路6号,800,3000",                                          // 4 unknown district
		"H104,500101,高笋塘街道,白岩社区,白岩路7号,0,3000",                                            // 5 zero size
		"H105,500101,高笋塘街道,白岩社区,白岩路8号,800,-5",                                            // 6 negative size
		"H106,500101,高笋塘街道,白岩社区,白岩路9号,八百,3000",                                           // 7 not a number
		"H107,500101,新街道,新社区,新路1号,100,1000",                                              // 8 ok
		"H108,500101,新街道,新社区,新路2号,100,1200",                                              // 9 street size differs from line 8
		"H109,500101,新街道,新社区,新路3号,120,1000",                                              // 10 community size differs from line 8
		"H107,500101,新街道,新社区,新路4号,100,1000",                                              // 11 duplicate of line 8
		"H001,500101,高笋塘街道,白岩社区,白岩路1号,800,3000",                                          // 12 already in the frame
		"H110,500101,高笋塘街道,太白社区,太白路10号,900,3000",                                         // 13 community size differs from the frame
		"H111,500101,新街道,新社区,新路5号,,",                                                     // 14 ok, no sizes
		"H112,500102,敦仁街道,望州社区,望州路1号,,",                                                  // 15 ok
		"H113,500102,敦仁街道,望州社区,望州路2号,,",                                                  // 16 ok
		"H114,500102,敦仁街道,望州社区,望州路3号,,",                                                  // 17 ok
		"H115,500102,敦仁街道,望州社区,望州路4号,,",                                                  // 18 ok
		"H116,500102,敦仁街道,望州社区,望州路5号,,",                                                  // 19 ok
		"H117,500102,敦仁街道,望州社区,望州路6号,,",                                                  // 20 ok
		"H118,500102,敦仁街道,望州社区,望州路7号,,",                                                  // 21 ok
		"H119,500102,敦仁街道,望州社区,望州路8号,,",                                                  // 22 ok
		"H120,500102,敦仁街道,望州社区,望州路9号,,",                                                  // 23 ok
		"H121,500102,敦仁街道,望州社区,望州路10号,,",                                                 // 24 ok
	}, "\n")
	rep, err := loadHouseholds(t, db, file, "auto")
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, rep, map[int]string{
		3:  "missing required value(s): address",
		4:  "unknown district code \"599999\"",
		5:  "community_size is \"0\"; it must be a positive integer",
		6:  "street_size is \"-5\"",
		7:  "community_size is \"八百\"",
		9:  "street_size 1200 of street \"新街道\" differs from 1000 on line 8",
		10: "community_size 120 of community \"新社区\" differs from 100 on line 8",
		11: "duplicate of line 8",
		12: "household id is already in the frame",
		13: "community_size 900 differs from 500 already in the frame",
	})
	checkCounts(t, rep, 23, 13, 0, 8, 2)
	if n := frameCount(t, db, `SELECT count(*) FROM household_frame`); n != 4+13 {
		t.Errorf("%d households, want 17", n)
	}
	checkDenseHouseholds(t, db)
	// H101 follows the two households already in 白岩社区.
	if n := frameCount(t, db, `SELECT ordinal FROM household_frame WHERE household_id = 'H101'`); n != 3 {
		t.Errorf("H101 has ordinal %d, want 3", n)
	}
}

func checkDenseHouseholds(t *testing.T, db *sqlx.DB) {
	t.Helper()
	if n := frameCount(t, db, `SELECT count(*) FROM (
		SELECT district_code, street, community FROM household_frame GROUP BY 1, 2, 3
		HAVING min(ordinal) <> 1 OR max(ordinal) <> count(*) OR count(DISTINCT ordinal) <> count(*)) x`); n != 0 {
		t.Errorf("%d communities without dense ordinals", n)
	}
}

func checkDensePhones(t *testing.T, db *sqlx.DB) {
	t.Helper()
	if n := frameCount(t, db, `SELECT count(*) FROM (
		SELECT coalesce(district_code, '') FROM phone_frame GROUP BY 1
		HAVING min(ordinal) <> 1 OR max(ordinal) <> count(*) OR count(DISTINCT ordinal) <> count(*)) x`); n != 0 {
		t.Errorf("%d strata without dense ordinals", n)
	}
}

func TestImportFatalFilesImportNothing(t *testing.T) {
	db := frameDB(t)
	if _, err := loadPhones(t, db, "phone,district_code\n13902300001,500101\n13902300002,\n", "auto"); err != nil {
		t.Fatal(err)
	}
	if _, err := loadHouseholds(t, db, householdsUTF8, "auto"); err != nil {
		t.Fatal(err)
	}
	good := "13902301001,500101\n13902301002,500102\n13902301003,\n"
	long := "phone\n13902302001\n13902302002\n" + strings.Repeat("1", csvfile.MaxLineBytes+1) + "\n13902302003\n"
	var mostlyBad strings.Builder
	mostlyBad.WriteString("phone,district_code\n13902303001,500101\n13902303002,500101\n")
	for i := 0; i < 3; i++ {
		mostlyBad.WriteString("12345,500101\n")
	}
	for _, tc := range []struct {
		name, kind, file string
		want             []string
	}{
		{"empty", "phone", "", []string{"the file is empty"}},
		{"blank", "phone", " \n\n", []string{"the file is empty"}},
		{"header only", "phone", "phone,district_code\n", []string{"no data rows"}},
		{"no header", "phone", good, []string{"line 1", "must start with a header row"}},
		{"unknown column", "phone", "phone,district,notes\n" + good, []string{"line 1", `unknown column(s) "district", "notes"`}},
		{"missing column", "household", "district_code,street,community,address\n500101,a,b,c\n", []string{"line 1", "missing column(s) household_id"}},
		{"repeated column", "phone", "phone,phone\n1,2\n", []string{"line 1", "phone appear more than once"}},
		{"long line", "phone", long, []string{"line 4", "longer than 64 KiB"}},
		{"long header", "phone", strings.Repeat("x", csvfile.MaxLineBytes+10), []string{"line 1", "longer than 64 KiB"}},
		{"binary", "phone", "phone\n1390230\x000001\n", []string{"binary data"}},
		{"xlsx", "household", "PK\x03\x04\x14\x00\x06\x00", []string{"Excel or ZIP"}},
		{"utf-16", "phone", "\xFF\xFEp\x00h\x00", []string{"UTF-16"}},
		{"bad header csv", "phone", "ph\"one\n13902301001\n", []string{"line 1", "not valid CSV"}},
		{"all rejected", "phone", "phone\n12345\nabc\n", []string{"all 2 rows were rejected"}},
		{"mostly rejected", "phone", mostlyBad.String(), []string{"3 of 5 rows were rejected, more than half"}},
		{"households mostly conflicting", "household", "district_code,street,community,household_id,address,street_size\n" +
			"500101,高笋塘街道,白岩社区,N1,a,1\n500101,高笋塘街道,白岩社区,N2,b,1\n500101,other,c,N3,c,1\n", []string{"2 of 3 rows were rejected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phones := frameCount(t, db, `SELECT count(*) FROM phone_frame`)
			households := frameCount(t, db, `SELECT count(*) FROM household_frame`)
			var err error
			if tc.kind == "phone" {
				_, err = loadPhones(t, db, tc.file, "auto")
			} else {
				_, err = loadHouseholds(t, db, tc.file, "auto")
			}
			if err == nil {
				t.Fatal("a fatal file was accepted")
			}
			if core.ErrorCode(err) != core.EInvalid {
				t.Errorf("error code %s, want invalid: %v", core.ErrorCode(err), err)
			}
			for _, w := range append(tc.want, "nothing was imported") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if p, h := frameCount(t, db, `SELECT count(*) FROM phone_frame`), frameCount(t, db, `SELECT count(*) FROM household_frame`); p != phones || h != households {
				t.Errorf("frame rows changed: phones %d→%d, households %d→%d", phones, p, households, h)
			}
			if n := frameCount(t, db, `SELECT count(*) FROM frame_imports WHERE id = (SELECT max(id) FROM frame_imports) AND status = 'failed' AND error <> ''`); n != 1 {
				t.Error("the failed import was not recorded")
			}
		})
	}
}

func TestImportPhonesDenseAfterTwoImports(t *testing.T) {
	db := frameDB(t)
	first := "phone,district_code\n13902300001,500101\n13902300002,\n13902300003,500102\n13902300004,500101\n"
	second := "district_code,phone\n500102,13902300005\n,13902300006\n500101,13902300007\n500101,13902300001\n,13902300006\n"
	if _, err := loadPhones(t, db, first, ""); err != nil {
		t.Fatal(err)
	}
	rep, err := loadPhones(t, db, second, "")
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep, 5, 3, 0, 0, 2)
	wantProblems(t, rep, map[int]string{5: "already in the frame", 6: "duplicate of line 3"})
	checkDensePhones(t, db)
	if n := frameCount(t, db, `SELECT ordinal FROM phone_frame WHERE phone = '13902300007'`); n != 3 {
		t.Errorf("13902300007 has ordinal %d, want 3 in 500101", n)
	}
	// AddPhones appends after the importer's rows, still densely.
	if _, err := AddPhones(fctx, db, []PhoneEntry{{Phone: "13902300008"}, {Phone: "13902300009", District: "500102"}}); err != nil {
		t.Fatal(err)
	}
	checkDensePhones(t, db)
	// A file that only repeats known numbers imports nothing new, and says so.
	rep, err = loadPhones(t, db, first, "")
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep, 4, 0, 0, 0, 4)
}

func TestImportHouseholdsDenseAfterTwoImports(t *testing.T) {
	db := frameDB(t)
	if _, err := loadHouseholds(t, db, householdsUTF8, ""); err != nil {
		t.Fatal(err)
	}
	more := "district_code,street,community,household_id,address\n" +
		"500101,高笋塘街道,太白社区,H201,太白路3号\n500102,敦仁街道,望州社区,F002,望州路4号\n500101,高笋塘街道,白岩社区,H202,白岩路2号\n"
	rep, err := loadHouseholds(t, db, more, "")
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep, 3, 3, 0, 0, 0)
	checkDenseHouseholds(t, db)
	if n := frameCount(t, db, `SELECT ordinal FROM household_frame WHERE household_id = 'H202'`); n != 3 {
		t.Errorf("H202 has ordinal %d, want 3", n)
	}
}
