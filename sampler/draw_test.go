package sampler

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pgtest"
)

var dctx = context.Background()

// drawCity is a fresh database with three districts whose 2‰ targets are
// 200, 100 and 50 completes.
func drawCity(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := SaveDistricts(dctx, db, []District{{"A", "甲区", 100000}, {"B", "乙区", 50000}, {"C", "丙区", 25000}}); err != nil {
		t.Fatal(err)
	}
	return db
}

// drawPhones adds numbers to the telephone frame: counts[d] numbers hinted
// to district d ("" for no hint).
func drawPhones(t *testing.T, db *sqlx.DB, seed int64, counts map[string]int) {
	t.Helper()
	total := 0
	keys := make([]string, 0, len(counts))
	for d, n := range counts {
		total += n
		keys = append(keys, d)
	}
	slices.Sort(keys)
	phones, err := SyntheticPhones(seed, total)
	if err != nil {
		t.Fatal(err)
	}
	var es []PhoneEntry
	i := 0
	for _, d := range keys {
		for k := 0; k < counts[d]; k++ {
			es = append(es, PhoneEntry{Phone: phones[i], District: d})
			i++
		}
	}
	rep, err := AddPhones(dctx, db, es)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != total {
		t.Fatalf("added %d numbers, want %d", rep.Added, total)
	}
}

// drawHouseholds lists streets S01…, each with 2–4 communities of 10–34
// households, in a district.
func drawHouseholds(t *testing.T, db *sqlx.DB, district string, streets int) {
	t.Helper()
	if _, err := db.Exec(`
		INSERT INTO household_frame (district_code, street, community, household_id, address, ordinal)
		SELECT $1, 'S' || lpad(s::text, 2, '0'), 'C' || c, $1 || '-' || s || '-' || c || '-' || h, '地址 ' || h, h
		FROM generate_series(1, $2::int) s, generate_series(1, 2 + s % 3) c, generate_series(1, 10 + (s * 7 + c * 3) % 25) h`,
		district, streets); err != nil {
		t.Fatal(err)
	}
}

func drawWave(t *testing.T, db *sqlx.DB, name string, modes ...string) *Wave {
	t.Helper()
	w, err := CreateWave(dctx, db, WaveSpec{Name: name, Rate: 0.002, MinPerDistrict: 2, ExpectedRate: 0.5, Modes: modes})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func drawSet(t *testing.T, db *sqlx.DB, wave, set string) {
	t.Helper()
	if _, err := db.Exec(`UPDATE waves SET `+set+` WHERE name = $1`, wave); err != nil {
		t.Fatal(err)
	}
}

func drawCount(t *testing.T, db *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// drawnPhones returns a wave's telephone numbers, sorted.
func drawnPhones(t *testing.T, db *sqlx.DB, wave string) []string {
	t.Helper()
	var ps []string
	if err := db.Select(&ps, `SELECT c.phone FROM cases c JOIN waves w ON w.id = c.wave_id
		WHERE w.name = $1 AND c.mode = 'phone' ORDER BY c.phone`, wave); err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestDrawAllocationSumsAcrossModes(t *testing.T) {
	db := drawCity(t)
	drawPhones(t, db, 1, map[string]int{"A": 1000, "B": 500, "C": 300})
	for _, d := range []string{"A", "B", "C"} {
		drawHouseholds(t, db, d, 30)
	}
	drawWave(t, db, "both", "phone", "door")
	drawWave(t, db, "phone-only", "phone")
	drawWave(t, db, "door-only", "door")
	for wave, want := range map[string]float64{"both": 0.5, "phone-only": 0, "door-only": 1} {
		var got float64
		if err := db.Get(&got, `SELECT door_share FROM waves WHERE name = $1`, wave); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("wave %s: door_share %v, want %v", wave, got, want)
		}
	}
	if _, err := db.Exec(`UPDATE waves SET door_share = 0.5 WHERE name = 'phone-only'`); err == nil {
		t.Error("a door share was accepted for a telephone-only wave")
	}

	rep, err := Draw(dctx, db, "both", 7)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Target != 350 || rep.DoorTarget != 175 {
		t.Fatalf("target %d (door %d), want 350 (door 175)", rep.Target, rep.DoorTarget)
	}
	if rep.DoorAlgorithm != AlgorithmDoorPPS || rep.Algorithm != AlgorithmPhoneSRS {
		t.Errorf("algorithms %s, %s", rep.Algorithm, rep.DoorAlgorithm)
	}
	w, _ := GetWave(dctx, db, "both")
	stored, err := Allocations(dctx, db, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stored, rep.Rows) {
		t.Errorf("stored allocations %+v differ from the report %+v", stored, rep.Rows)
	}
	doorSum := 0
	for _, r := range rep.Rows {
		phone := r.Target - r.DoorTarget
		if r.DoorTarget < 0 || phone < 0 {
			t.Errorf("%s: door %d of %d", r.District, r.DoorTarget, r.Target)
		}
		doorSum += r.DoorTarget
		phoneCases := drawCount(t, db, `SELECT count(*) FROM cases WHERE wave_id = $1 AND district_code = $2 AND mode = 'phone'`, w.ID, r.District)
		doorCases := drawCount(t, db, `SELECT count(*) FROM cases WHERE wave_id = $1 AND district_code = $2 AND mode = 'door'`, w.ID, r.District)
		if phoneCases != release(phone, 0.5) || phoneCases+doorCases != r.Released || doorCases != r.DoorReleased {
			t.Errorf("%s: %d phone and %d door cases; allocation %+v", r.District, phoneCases, doorCases, r)
		}
		if doorCases < release(r.DoorTarget, 0.5) {
			t.Errorf("%s: %d households released for a door target of %d", r.District, doorCases, r.DoorTarget)
		}
	}
	if doorSum != rep.DoorTarget {
		t.Errorf("door targets add up to %d, report says %d", doorSum, rep.DoorTarget)
	}
	// Every door case carries its household, PSU and inclusion probability,
	// equal to the product of the stage probabilities stored for it.
	if n := drawCount(t, db, `SELECT count(*) FROM cases c
		JOIN drawn_units u ON u.wave_id = c.wave_id AND u.stage = 'household' AND u.household_frame_id = c.household_id
		WHERE c.wave_id = $1 AND c.mode = 'door' AND c.psu IS NOT NULL
		  AND abs(c.inclusion_prob - u.overall_prob) < 1e-12
		  AND abs(u.overall_prob - u.prob * (SELECT m.overall_prob FROM drawn_units m WHERE m.wave_id = u.wave_id
		        AND m.stage = 'community' AND m.district_code = u.district_code AND m.street = u.street AND m.community = u.community)) < 1e-12`,
		w.ID); n != rep.DoorReleased {
		t.Errorf("%d of %d door cases have consistent probabilities", n, rep.DoorReleased)
	}
	// Within a district, the street probabilities of a PPS stage add up to
	// the number of streets that would be drawn if all were listed: check
	// instead that certainty streets have π = 1 and others π < 1.
	if n := drawCount(t, db, `SELECT count(*) FROM drawn_units WHERE wave_id = $1 AND (certainty <> (prob = 1))`, w.ID); n != 0 {
		t.Errorf("%d drawn units with certainty not matching π = 1", n)
	}

	rep, err = Draw(dctx, db, "door-only", 7)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Algorithm != AlgorithmDoorPPS || rep.DoorTarget != rep.Target {
		t.Errorf("door-only draw: %s, door target %d of %d", rep.Algorithm, rep.DoorTarget, rep.Target)
	}
	if n := len(drawnPhones(t, db, "door-only")); n != 0 {
		t.Errorf("door-only wave released %d numbers", n)
	}
}

func TestDrawSameSeedSameSample(t *testing.T) {
	db := drawCity(t)
	drawPhones(t, db, 2, map[string]int{"A": 1500, "B": 800, "C": 400})
	for _, d := range []string{"A", "B", "C"} {
		drawHouseholds(t, db, d, 30)
	}
	for _, name := range []string{"one", "two", "three"} {
		drawWave(t, db, name, "phone", "door")
	}
	if _, err := Draw(dctx, db, "one", 11); err != nil {
		t.Fatal(err)
	}
	if _, err := Draw(dctx, db, "two", 11); err != nil {
		t.Fatal(err)
	}
	if _, err := Draw(dctx, db, "three", 12); err != nil {
		t.Fatal(err)
	}
	if _, err := Draw(dctx, db, "one", 11); err == nil {
		t.Error("a wave was drawn twice")
	}
	one, two, three := drawnPhones(t, db, "one"), drawnPhones(t, db, "two"), drawnPhones(t, db, "three")
	if len(one) == 0 || !slices.Equal(one, two) {
		t.Errorf("same seed, different numbers: %d vs %d", len(one), len(two))
	}
	if slices.Equal(one, three) {
		t.Error("different seeds drew the same numbers")
	}
	households := func(wave string) []int64 {
		var ids []int64
		if err := db.Select(&ids, `SELECT c.household_id FROM cases c JOIN waves w ON w.id = c.wave_id
			WHERE w.name = $1 AND c.mode = 'door' ORDER BY 1`, wave); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if h1, h2, h3 := households("one"), households("two"), households("three"); len(h1) == 0 || !slices.Equal(h1, h2) || slices.Equal(h1, h3) {
		t.Errorf("households: same seed equal %v, different seed equal %v", slices.Equal(h1, h2), slices.Equal(h1, h3))
	}
	replicates := func(wave string) []int {
		var rs []int
		if err := db.Select(&rs, `SELECT c.replicate FROM cases c JOIN waves w ON w.id = c.wave_id
			WHERE w.name = $1 AND c.mode = 'phone' ORDER BY c.phone`, wave); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if !slices.Equal(replicates("one"), replicates("two")) {
		t.Error("same seed, different replicates")
	}
}

// A draw writes its cases straight from the frame by ordinal. A stratum
// whose ordinals have a hole (a row deleted by hand) cannot give a simple
// random sample of its rows that way: the draw is refused and nothing is
// written, rather than releasing fewer numbers than it drew.
func TestDrawRefusesOrdinalsWithAHole(t *testing.T) {
	db := drawCity(t)
	// C's release is larger than its 30 numbers, so every ordinal is drawn.
	drawPhones(t, db, 11, map[string]int{"A": 1000, "B": 500, "C": 30})
	if _, err := db.Exec(`DELETE FROM phone_frame WHERE district_code = 'C' AND ordinal = 7`); err != nil {
		t.Fatal(err)
	}
	drawWave(t, db, "w", "phone")
	_, err := Draw(dctx, db, "w", 1)
	if core.ErrorCode(err) != core.EConflict || !strings.Contains(err.Error(), `"C"`) {
		t.Fatalf("draw over a hole in C's ordinals: %v, want a conflict naming C", err)
	}
	if n := drawCount(t, db, `SELECT count(*) FROM cases`); n != 0 {
		t.Errorf("%d cases written by the refused draw", n)
	}
	if w, err := GetWave(dctx, db, "w"); err != nil || w.Drawn() {
		t.Errorf("the wave counts as drawn: %v", err)
	}
}

func TestFrameChecksumFollowsImports(t *testing.T) {
	db := drawCity(t)
	version := func(kind string) (int64, string) {
		var v int64
		var sum string
		if err := db.QueryRow(`SELECT version, checksum FROM frame_versions WHERE kind = $1`, kind).Scan(&v, &sum); err != nil {
			t.Fatal(err)
		}
		return v, sum
	}
	v0, p0 := version("phone")
	_, h0 := version("household")
	drawPhones(t, db, 3, map[string]int{"A": 50})
	v1, p1 := version("phone")
	if v1 != v0+1 || p1 == p0 {
		t.Fatalf("an import left the phone checksum at v%d %s", v1, p1)
	}
	// Reading, drawing and a no-op import change nothing.
	var n int
	db.Get(&n, `SELECT count(*) FROM phone_frame`)
	drawWave(t, db, "w", "phone")
	if _, err := Draw(dctx, db, "w", 1); err != nil {
		t.Fatal(err)
	}
	phones, _ := SyntheticPhones(3, 50)
	dup := []PhoneEntry{{Phone: phones[0], District: "A"}}
	if rep, err := AddPhones(dctx, db, dup); err != nil || rep.Added != 0 {
		t.Fatalf("re-adding a number: %+v %v", rep, err)
	}
	if v, p := version("phone"); v != v1 || p != p1 {
		t.Errorf("phone checksum moved without a change: v%d %s", v, p)
	}
	if _, h := version("household"); h != h0 {
		t.Error("a phone import changed the household checksum")
	}
	w, _ := GetWave(dctx, db, "w")
	if want := fmt.Sprintf("phone:v%d:%s", v1, p1); w.Draw.FrameChecksum == nil || *w.Draw.FrameChecksum != want {
		t.Errorf("draw recorded checksum %v, want %s", w.Draw.FrameChecksum, want)
	}
	// Any change to a row, even one that restores the old value, is a new
	// version of the frame.
	if _, err := db.Exec(`UPDATE phone_frame SET district_code = 'B' WHERE ordinal = 1 AND district_code = 'A'`); err != nil {
		t.Fatal(err)
	}
	if _, p := version("phone"); p == p1 {
		t.Error("an update left the checksum unchanged")
	}
	drawHouseholds(t, db, "A", 2)
	if _, h := version("household"); h == h0 {
		t.Error("a household import left the household checksum unchanged")
	}
	_, h1 := version("household")
	if _, err := db.Exec(`DELETE FROM household_frame WHERE ordinal = 1 AND street = 'S01'`); err != nil {
		t.Fatal(err)
	}
	if _, h := version("household"); h == h1 {
		t.Error("a delete left the household checksum unchanged")
	}
}

func TestCityWideStratum(t *testing.T) {
	t.Run("random-digit dialing only", func(t *testing.T) {
		db := drawCity(t)
		drawPhones(t, db, 4, map[string]int{"": 2000})
		drawWave(t, db, "rdd", "phone")
		rep, err := Draw(dctx, db, "rdd", 5)
		if err != nil {
			t.Fatal(err)
		}
		// Targets 200/100/50 are proportional to population: each needs
		// t_h/(share_h·r̂) = 700 city-wide numbers.
		if rep.CityWide != 700 || rep.Released != 700 || rep.CityShort {
			t.Errorf("city-wide %d, released %d, short %v; want 700", rep.CityWide, rep.Released, rep.CityShort)
		}
		if len(rep.Short) != 3 {
			t.Errorf("short districts %v, want all three", rep.Short)
		}
		w, _ := GetWave(dctx, db, "rdd")
		if n := drawCount(t, db, `SELECT count(*) FROM cases WHERE wave_id = $1 AND district_code IS NULL AND stratum = '' AND replicate = 1`, w.ID); n != 700 {
			t.Errorf("%d city-wide cases stored, want 700", n)
		}
	})
	t.Run("one district short", func(t *testing.T) {
		db := drawCity(t)
		drawPhones(t, db, 6, map[string]int{"A": 500, "B": 300, "C": 30, "": 1000})
		drawWave(t, db, "mixed", "phone")
		rep, err := Draw(dctx, db, "mixed", 5)
		if err != nil {
			t.Fatal(err)
		}
		// C needs 100 numbers and has 30: 50 − 30·0.5 = 35 completes to
		// find city-wide, at a share of 1/7: 35/(1/7·0.5) = 490.
		if rep.CityWide != 490 || !slices.Equal(rep.Short, []string{"C"}) {
			t.Errorf("city-wide %d, short %v; want 490 and [C]", rep.CityWide, rep.Short)
		}
		if rep.Released != 400+200+30+490 {
			t.Errorf("released %d", rep.Released)
		}
	})
	t.Run("enough hinted numbers", func(t *testing.T) {
		db := drawCity(t)
		drawPhones(t, db, 7, map[string]int{"A": 500, "B": 300, "C": 200, "": 1000})
		drawWave(t, db, "hinted", "phone")
		rep, err := Draw(dctx, db, "hinted", 5)
		if err != nil {
			t.Fatal(err)
		}
		if rep.CityWide != 0 || len(rep.Short) != 0 {
			t.Errorf("city-wide %d, short %v; want none", rep.CityWide, rep.Short)
		}
	})
}

func TestFreshnessExcludesRecentlyInterviewed(t *testing.T) {
	db := drawCity(t)
	drawPhones(t, db, 8, map[string]int{"A": 1000, "B": 500, "C": 300})
	drawHouseholds(t, db, "A", 30)
	drawWave(t, db, "spring", "phone", "door")
	if _, err := Draw(dctx, db, "spring", 21); err != nil {
		t.Fatal(err)
	}
	spring, _ := GetWave(dctx, db, "spring")
	// 30 numbers complete in district A and 5 households are interviewed.
	if _, err := db.Exec(`UPDATE cases SET status = 'final', final_code = '1.1'
		WHERE id IN (SELECT id FROM cases WHERE wave_id = $1 AND district_code = 'A' AND mode = 'phone' ORDER BY id LIMIT 30)`, spring.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE cases SET status = 'final', final_code = '1.1'
		WHERE id IN (SELECT id FROM cases WHERE wave_id = $1 AND mode = 'door' ORDER BY id LIMIT 5)`, spring.ID); err != nil {
		t.Fatal(err)
	}
	// A refusal does not make a number stale.
	if _, err := db.Exec(`UPDATE cases SET status = 'final', final_code = '2.111'
		WHERE id IN (SELECT id FROM cases WHERE wave_id = $1 AND district_code = 'B' ORDER BY id LIMIT 10)`, spring.ID); err != nil {
		t.Fatal(err)
	}
	completed := map[string]bool{}
	var cs []string
	db.Select(&cs, `SELECT phone FROM cases WHERE wave_id = $1 AND final_code = '1.1' AND phone IS NOT NULL`, spring.ID)
	for _, p := range cs {
		completed[p] = true
	}

	drawWave(t, db, "summer", "phone", "door")
	drawSet(t, db, "summer", "freshness_months = 6")
	// The same seed redraws the same numbers first, so every completed
	// number comes up and must be replaced.
	rep, err := Draw(dctx, db, "summer", 21)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Excluded < 35 {
		t.Errorf("excluded %d units, want the 30 numbers and the 5 households at least", rep.Excluded)
	}
	var rowA AllocationRow
	for _, r := range rep.Rows {
		if r.District == "A" {
			rowA = r
		}
	}
	if rowA.Excluded != rep.Excluded {
		t.Errorf("district A excluded %d of %d", rowA.Excluded, rep.Excluded)
	}
	summer := drawnPhones(t, db, "summer")
	for _, p := range summer {
		if completed[p] {
			t.Fatalf("recently interviewed number %s drawn again", p)
		}
	}
	springN := len(drawnPhones(t, db, "spring"))
	if len(summer) != springN {
		t.Errorf("summer released %d numbers, spring %d: excluded numbers were not replaced", len(summer), springN)
	}
	if n := drawCount(t, db, `SELECT count(*) FROM cases s JOIN cases o ON o.household_id = s.household_id
		WHERE s.wave_id = (SELECT id FROM waves WHERE name = 'summer') AND o.wave_id = $1 AND o.final_code = '1.1'`, spring.ID); n != 0 {
		t.Errorf("%d interviewed households drawn again", n)
	}
	v, err := Verify(dctx, db, "summer")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Identical() {
		t.Errorf("verify after freshness: %v", v.Differences)
	}

	// Without the rule, or with the earlier wave outside the window, the
	// same seed gives spring's sample again.
	drawWave(t, db, "autumn", "phone", "door")
	rep, err = Draw(dctx, db, "autumn", 21)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Excluded != 0 || !slices.Equal(drawnPhones(t, db, "autumn"), drawnPhones(t, db, "spring")) {
		t.Errorf("no freshness rule: excluded %d", rep.Excluded)
	}
	if _, err := db.Exec(`UPDATE draws SET created_at = created_at - interval '7 months'`); err != nil {
		t.Fatal(err)
	}
	drawWave(t, db, "winter", "phone")
	drawSet(t, db, "winter", "freshness_months = 6")
	if rep, err = Draw(dctx, db, "winter", 21); err != nil || rep.Excluded != 0 {
		t.Errorf("interviews 7 months ago excluded %d (%v)", rep.Excluded, err)
	}
}

func TestDoorProbabilitiesAddUp(t *testing.T) {
	db := drawCity(t)
	drawHouseholds(t, db, "A", 12)
	drawWave(t, db, "door", "door")
	drawSet(t, db, "door", "households_per_community = 5, communities_per_street = 2")
	if _, err := Draw(dctx, db, "door", 3); err != nil {
		t.Fatal(err)
	}
	w, _ := GetWave(dctx, db, "door")
	var rows []struct {
		Stage string  `db:"stage"`
		N     int     `db:"n"`
		Sum   float64 `db:"sum"`
	}
	if err := db.Select(&rows, `SELECT stage, count(*) AS n, sum(prob) AS sum FROM drawn_units
		WHERE wave_id = $1 AND district_code = 'A' GROUP BY stage`, w.ID); err != nil {
		t.Fatal(err)
	}
	// A's door target is 200 → 400 households → 80 communities → 40
	// streets, more than the 12 listed: every street is a certainty unit.
	for _, r := range rows {
		if r.Stage == "street" && (r.N != 12 || math.Abs(r.Sum-12) > 1e-9) {
			t.Errorf("streets: %d drawn, Σπ = %v; want all 12 with certainty", r.N, r.Sum)
		}
	}
	// Household weights 1/π add up to the listed households of the drawn
	// communities, times 1/π of the community — the Horvitz–Thompson check
	// that the probabilities are those of the design.
	var ht, listed float64
	if err := db.Get(&ht, `SELECT sum(1 / u.prob) FROM drawn_units u WHERE u.wave_id = $1 AND u.stage = 'household'`, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&listed, `SELECT count(*) FROM household_frame h JOIN drawn_units u ON u.wave_id = $1 AND u.stage = 'community'
		AND u.district_code = h.district_code AND u.street = h.street AND u.community = h.community`, w.ID); err != nil {
		t.Fatal(err)
	}
	if math.Abs(ht-listed) > 1e-6 {
		t.Errorf("Σ 1/π(household | community) = %v, want the %v households listed", ht, listed)
	}
}
