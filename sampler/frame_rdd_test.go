package sampler

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/core"
)

func rddNumbers(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	var out []string
	if err := db.Select(&out, `SELECT phone FROM phone_frame WHERE district_code IS NULL ORDER BY ordinal`); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateRDDSkipsUsedNumbers(t *testing.T) {
	db := frameDB(t)
	const prefix = "1390230"
	// 9,000 of the block's 10,000 numbers are in the frame and 500 more
	// were called in an earlier wave, so exactly 500 are left.
	var entries []PhoneEntry
	for i := 0; i < 9000; i++ {
		entries = append(entries, PhoneEntry{Phone: fmt.Sprintf("%s%04d", prefix, i), District: "500101"})
	}
	if _, err := AddPhones(fctx, db, entries); err != nil {
		t.Fatal(err)
	}
	var wave int64
	if err := db.Get(&wave, `INSERT INTO waves (name) VALUES ('w') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO cases (wave_id, phone) SELECT $1, $2 || lpad(i::text, 4, '0') FROM generate_series(9000, 9499) i`, wave, prefix); err != nil {
		t.Fatal(err)
	}
	_, err := GenerateRDD(fctx, db, []string{prefix}, 501, 1)
	if err == nil || core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "only 500 unused numbers") {
		t.Fatalf("asking for 501 of 500 free numbers: %v", err)
	}
	if n := frameCount(t, db, `SELECT count(*) FROM phone_frame`); n != 9000 {
		t.Fatalf("a refused generation added numbers: %d", n)
	}
	rep, err := GenerateRDD(fctx, db, []string{prefix}, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep, 500, 500, 0, 0, 0)
	got := rddNumbers(t, db)
	if len(got) != 500 {
		t.Fatalf("%d city-wide numbers, want 500", len(got))
	}
	for _, p := range got {
		if p < prefix+"9500" || p > prefix+"9999" {
			t.Fatalf("generated %s, which was already used", p)
		}
	}
	if slices.IsSorted(got) {
		t.Error("numbers were not appended in random order")
	}
	checkDensePhones(t, db)
	if _, err := GenerateRDD(fctx, db, []string{prefix}, 1, 1); err == nil {
		t.Error("a full block still gave a number")
	}
}

func TestGenerateRDDDeterministic(t *testing.T) {
	prefixes := []string{"1390230", "1350030"}
	run := func(seed int64, ps []string) []string {
		db := frameDB(t)
		if _, err := loadPhones(t, db, "phone\n13902300001\n13500300002\n", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := GenerateRDD(fctx, db, ps, 300, seed); err != nil {
			t.Fatal(err)
		}
		got := rddNumbers(t, db)[2:]
		for _, p := range got {
			if p == "13902300001" || p == "13500300002" {
				t.Errorf("repeated a frame number %s", p)
			}
		}
		if len(got) != 300 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 300 {
			t.Errorf("%d numbers, not 300 distinct", len(got))
		}
		return got
	}
	a := run(42, prefixes)
	if b := run(42, []string{"1350030", "1390230"}); !slices.Equal(a, b) {
		t.Error("same seed and prefixes gave different numbers")
	}
	if c := run(43, prefixes); slices.Equal(a, c) {
		t.Error("different seeds gave the same numbers")
	}
}

func TestGenerateRDDRejectsBadPrefixes(t *testing.T) {
	db := frameDB(t)
	for _, ps := range [][]string{nil, {"139023"}, {"13902301"}, {"139023x"}, {"0230123"}, {"1230230"}, {"1390230", "1390230"}} {
		_, err := GenerateRDD(fctx, db, ps, 1, 1)
		if err == nil || core.ErrorCode(err) != core.EInvalid {
			t.Errorf("prefixes %q: %v", ps, err)
		}
	}
	if _, err := GenerateRDD(fctx, db, []string{"1390230"}, 0, 1); err == nil {
		t.Error("count 0 accepted")
	}
	if n := frameCount(t, db, `SELECT count(*) FROM phone_frame`); n != 0 {
		t.Errorf("%d numbers added by refused generations", n)
	}
}
