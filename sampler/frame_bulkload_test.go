package sampler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lib/pq"
)

// A file without duplicates goes in with the ordinals given while it was
// read, after those already in the frame; one with a duplicate falls back
// to the merge, and both leave the same frame as numbering in line order.
func TestImportPhonesOrdinalsWithAndWithoutDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name, second string
		dups         int
	}{
		{"clean", "phone,district_code\n13902300020,500101\n13902300010,\n13902300005,500101\n13902300001,500102\n", 0},
		{"duplicate", "phone,district_code\n13902300020,500101\n13902300010,\n13902300005,500101\n13902300020,500101\n13902300001,500102\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := frameDB(t)
			first := "phone,district_code\n13902300099,500101\n13902300098,\n"
			if _, err := loadPhones(t, db, first, ""); err != nil {
				t.Fatal(err)
			}
			before := frameChecksumOf(t, db)
			rep, err := loadPhones(t, db, tc.second, "")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Kept != 4 || rep.Duplicates != tc.dups {
				t.Fatalf("kept %d, duplicates %d; want 4, %d", rep.Kept, rep.Duplicates, tc.dups)
			}
			checkDensePhones(t, db)
			for phone, want := range map[string]int{"13902300020": 2, "13902300005": 3, "13902300010": 2, "13902300001": 1} {
				if n := frameCount(t, db, `SELECT ordinal FROM phone_frame WHERE phone = $1`, phone); n != want {
					t.Errorf("%s has ordinal %d, want %d", phone, n, want)
				}
			}
			if frameChecksumOf(t, db) == before {
				t.Error("the frame checksum did not change")
			}
		})
	}
}

func frameChecksumOf(t *testing.T, db interface {
	Get(any, string, ...any) error
}) string {
	t.Helper()
	var sum string
	if err := db.Get(&sum, `SELECT checksum FROM frame_versions WHERE kind = 'phone'`); err != nil {
		t.Fatal(err)
	}
	return sum
}

// The district hint is a foreign key: a number cannot name an unknown
// district, and a district the frame uses cannot go, after a bulk load too.
func TestPhoneFrameDistrictStillChecked(t *testing.T) {
	db := frameDB(t)
	_, err := db.Exec(`INSERT INTO phone_frame (phone, district_code, ordinal) VALUES ('13902300001', '999999', 1)`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" || pqErr.Constraint != "phone_frame_district_code_fkey" {
		t.Fatalf("insert with an unknown district: %v, want a foreign key violation", err)
	}
	if _, err := loadPhones(t, db, "phone,district_code\n13902300001,500101\n", ""); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DELETE FROM districts WHERE code = '500101'`)
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" || pqErr.Constraint != "phone_frame_district_code_fkey" {
		t.Fatalf("delete of a district in use: %v, want a foreign key violation", err)
	}
	_, err = db.Exec(`UPDATE districts SET code = '500199' WHERE code = '500101'`)
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" || pqErr.Constraint != "phone_frame_district_code_fkey" {
		t.Fatalf("renaming a district in use: %v, want a foreign key violation", err)
	}
	// A district the frame does not use can go.
	if _, err := db.Exec(`DELETE FROM districts WHERE code = '500102'`); err != nil {
		t.Fatal(err)
	}
}

// The checksum trigger spells out the same text as phone_frame_row_text,
// so that checksums recorded before it was inlined stay comparable.
func TestPhoneFrameChecksumTextUnchanged(t *testing.T) {
	db := frameDB(t)
	if _, err := loadPhones(t, db, "phone,district_code\n13902300001,500101\n13902300002,\n", ""); err != nil {
		t.Fatal(err)
	}
	var same bool
	err := db.Get(&same, `
		SELECT bool_and(phone_frame_row_text(r) = r.id || '|' || coalesce(r.district_code, '') || '|' || r.ordinal || '|' || r.phone)
		FROM phone_frame r`)
	if err != nil {
		t.Fatal(err)
	}
	if !same {
		t.Error("the trigger's row text differs from phone_frame_row_text")
	}
}

// A load into an empty frame checks duplicates, hands out ids and ordinals
// and folds the frame checksum itself, with the indexes and the checksum
// trigger set aside. Afterwards the frame must be as if the rows had been
// inserted with both in place: the same checksum as the trigger's, dense
// ordinals, the indexes and the foreign key back, the trigger back, and the
// report as the general import gives it.
func TestBulkLoadIntoEmptyFrame(t *testing.T) {
	db := frameDB(t)
	var version int64
	var before string
	if err := db.QueryRow(`SELECT version, checksum FROM frame_versions WHERE kind = 'phone'`).Scan(&version, &before); err != nil {
		t.Fatal(err)
	}
	// More than 65,536 rows, so that the digest spans two blocks of ids.
	var file strings.Builder
	file.WriteString("phone,district_code\n")
	const n = 70000
	for i := 0; i < n; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&file, "139%08d,500101\n", i)
		case 1:
			fmt.Fprintf(&file, "139%08d,500102\n", i)
		default:
			fmt.Fprintf(&file, "139%08d,\n", i)
		}
	}
	// Line n+2: a repeat of line 3; n+3: a repeat, written differently, of
	// line 2; n+4: a landline, normalised; n+5: its repeat; n+6: rejected.
	file.WriteString("13900000001,500102\n139 0000 0000,500101\n023-6361 2345,500102\n02363612345,\n12345,\n")
	rep, err := loadPhones(t, db, file.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep, n+5, n+1, 1, 1, 3)
	wantProblems(t, rep, map[int]string{
		n + 2: "duplicate of line 3",
		n + 3: "duplicate of line 2",
		n + 5: fmt.Sprintf("duplicate of line %d", n+4),
		n + 6: "invalid phone number",
	})
	checkDensePhones(t, db)
	if got := frameCount(t, db, `SELECT count(*) FROM phone_frame`); got != n+1 {
		t.Fatalf("%d rows in the frame, want %d", got, n+1)
	}
	if got := frameCount(t, db, `SELECT ordinal FROM phone_frame WHERE phone = '13900000004'`); got != 2 {
		t.Errorf("the second number of 500102 has ordinal %d, want 2", got)
	}
	var want, got string
	err = db.Get(&want, `
		SELECT sha256_hex($1 || '|' || ($2::bigint + 1) || '|INSERT|' || sha256_hex(string_agg(h, '' ORDER BY b)))
		FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(phone_frame_row_text(r), E'\n' ORDER BY r.id)) AS h
		      FROM phone_frame r GROUP BY 1) x`, before, version)
	if err != nil {
		t.Fatal(err)
	}
	if got = frameChecksumOf(t, db); got != want {
		t.Errorf("checksum after the load %s, the trigger's would be %s", got, want)
	}
	if got := frameCount(t, db, `SELECT count(*) FROM pg_indexes WHERE tablename = 'phone_frame'`); got != 3 {
		t.Errorf("%d indexes on the frame after the load, want 3", got)
	}
	// The unique index and the trigger are back: a repeated number is
	// refused, and a new one changes the checksum.
	var pqErr *pq.Error
	if _, err := db.Exec(`INSERT INTO phone_frame (phone, ordinal) VALUES ('13900000002', 99999)`); !errors.As(err, &pqErr) || pqErr.Code != "23505" {
		t.Errorf("inserting a number already in the frame: %v, want a unique violation", err)
	}
	if _, err := db.Exec(`INSERT INTO phone_frame (phone, ordinal) VALUES ('13800000002', $1)`, n/3+1); err != nil {
		t.Fatal(err)
	}
	if frameChecksumOf(t, db) == got {
		t.Error("an insert after the load did not change the checksum")
	}
	_, err = db.Exec(`INSERT INTO phone_frame (phone, district_code, ordinal) VALUES ('13800000003', '599999', 1)`)
	if !errors.As(err, &pqErr) || pqErr.Constraint != "phone_frame_district_code_fkey" {
		t.Errorf("inserting a number of an unknown district after the load: %v, want a foreign key violation", err)
	}
	// New ids follow the loaded ones.
	if got := frameCount(t, db, `SELECT count(*) FROM phone_frame WHERE id > (SELECT max(id) FROM phone_frame WHERE phone <> '13800000002')`); got != 1 {
		t.Error("the id sequence was not moved past the loaded rows")
	}
}

// A load that fails leaves the empty frame with its indexes, its foreign
// key, its trigger and its checksum.
func TestBulkLoadFailureRestoresFrame(t *testing.T) {
	db := frameDB(t)
	before := frameChecksumOf(t, db)
	if _, err := loadPhones(t, db, "phone\n13902300001\n12345\nabc\n", ""); err == nil {
		t.Fatal("a file with most rows rejected was accepted")
	}
	if got := frameCount(t, db, `SELECT count(*) FROM phone_frame`); got != 0 {
		t.Errorf("%d rows left by a failed load", got)
	}
	if got := frameCount(t, db, `SELECT count(*) FROM pg_indexes WHERE tablename = 'phone_frame'`); got != 3 {
		t.Errorf("%d indexes on the frame after a failed load, want 3", got)
	}
	if got := frameCount(t, db, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'phone_frame'::regclass AND contype = 'f'`); got != 1 {
		t.Errorf("%d foreign keys on the frame after a failed load, want 1", got)
	}
	if got := frameChecksumOf(t, db); got != before {
		t.Error("a failed load changed the checksum")
	}
	if _, err := db.Exec(`INSERT INTO phone_frame (phone, ordinal) VALUES ('13800000002', 1)`); err != nil {
		t.Fatal(err)
	}
	if frameChecksumOf(t, db) == before {
		t.Error("the checksum trigger is off after a failed load")
	}
}

// A bulk load sets the district key aside with the indexes, so that the
// copy looks no district up per row, and adds it back checked: a row that
// breaks it fails the load.
func TestSuspendSetsDistrictKeyAside(t *testing.T) {
	db := frameDB(t)
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// As a load does: the frame locked against other writers first.
	if _, err := tx.Exec(`LOCK TABLE phone_frame IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT phone_frame_suspend_indexes()`); err != nil {
		t.Fatal(err)
	}
	var keys int
	if err := tx.Get(&keys, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'phone_frame'::regclass`); err != nil || keys != 0 {
		t.Fatalf("%d constraints on the frame while set aside (%v), want none", keys, err)
	}
	if _, err := tx.Exec(`INSERT INTO phone_frame (phone, district_code, ordinal) VALUES ('13902300001', '599999', 1)`); err != nil {
		t.Fatalf("insert while the key is set aside: %v", err)
	}
	_, err = tx.Exec(`SELECT phone_frame_restore_indexes()`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" || pqErr.Constraint != "phone_frame_district_code_fkey" {
		t.Fatalf("restoring over a row of an unknown district: %v, want a foreign key violation", err)
	}
}

// The rows reach the consumer in file order, and a consumer's failure stops
// the parser and is returned, however far the parser had read ahead. The
// batches are reused once consumed, so a consumer must not keep them.
func TestParsePipelined(t *testing.T) {
	var file strings.Builder
	file.WriteString("phone\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&file, "139%08d\n", i)
	}
	next := 0
	rep, perr, aerr := parsePipelined(strings.NewReader(file.String()), ParseOptions{}, func(rows []PhoneRow) error {
		for _, row := range rows {
			if want := fmt.Sprintf("139%08d", next); row.Phone != want || row.Line != next+2 {
				return fmt.Errorf("row %d: %s on line %d", next, row.Phone, row.Line)
			}
			next++
		}
		return nil
	})
	if perr != nil || aerr != nil || rep.Kept != 20000 || next != 20000 {
		t.Fatalf("kept %d, consumed %d: %v, %v", rep.Kept, next, perr, aerr)
	}
	failed := errors.New("copy failed")
	n := 0
	_, _, aerr = parsePipelined(strings.NewReader(file.String()), ParseOptions{}, func(rows []PhoneRow) error {
		if n += len(rows); n >= 5000 {
			return failed
		}
		return nil
	})
	if !errors.Is(aerr, failed) || n >= 10000 {
		t.Fatalf("consumer error: %v after %d rows", aerr, n)
	}
}
