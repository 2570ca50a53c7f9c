package sampler

import (
	"errors"
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

// The district hint's foreign key is checked per statement (migration
// 0006); both of its sides still hold.
func TestPhoneFrameDistrictStillChecked(t *testing.T) {
	db := frameDB(t)
	_, err := db.Exec(`INSERT INTO phone_frame (phone, district_code, ordinal) VALUES ('13902300001', '999999', 1)`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" {
		t.Fatalf("insert with an unknown district: %v, want a foreign key violation", err)
	}
	if _, err := loadPhones(t, db, "phone,district_code\n13902300001,500101\n", ""); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DELETE FROM districts WHERE code = '500101'`)
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" {
		t.Fatalf("delete of a district in use: %v, want a foreign key violation", err)
	}
	_, err = db.Exec(`UPDATE districts SET code = '500199' WHERE code = '500101'`)
	if !errors.As(err, &pqErr) || pqErr.Code != "23503" {
		t.Fatalf("renaming a district in use: %v, want a foreign key violation", err)
	}
	// A district the frame does not use can go.
	if _, err := db.Exec(`DELETE FROM districts WHERE code = '500102'`); err != nil {
		t.Fatal(err)
	}
}

// The checksum trigger of migration 0006 hashes the same text as that of
// migration 0003, so checksums recorded before it stay comparable.
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
