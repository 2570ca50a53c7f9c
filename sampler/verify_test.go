package sampler

import (
	"strings"
	"testing"
)

func TestVerifyFindsEveryKindOfDifference(t *testing.T) {
	db := drawCity(t)
	drawPhones(t, db, 9, map[string]int{"A": 600, "B": 300, "C": 30, "": 800})
	drawHouseholds(t, db, "A", 20)
	drawHouseholds(t, db, "B", 20)
	drawWave(t, db, "v", "phone", "door")
	drawSet(t, db, "v", "replicate_size = 40")
	if _, err := Draw(dctx, db, "v", 31); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dctx, db, "v")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Identical() || rep.Cases == 0 {
		t.Fatalf("fresh draw of %d cases not identical: %v", rep.Cases, rep.Differences)
	}
	if rep.StoredChecksum != rep.FrameChecksum || !strings.Contains(rep.FrameChecksum, "household:") {
		t.Errorf("checksums %q / %q", rep.StoredChecksum, rep.FrameChecksum)
	}

	// A deleted case is missing.
	w, _ := GetWave(dctx, db, "v")
	if _, err := db.Exec(`DELETE FROM cases WHERE id = (SELECT min(id) FROM cases WHERE wave_id = $1 AND mode = 'phone')`, w.ID); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(dctx, db, "v")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Identical() || rep.Missing != 1 || rep.Extra != 0 || len(rep.Differences) != 1 {
		t.Errorf("after deleting a case: missing %d extra %d: %v", rep.Missing, rep.Extra, rep.Differences)
	}

	// A moved replicate and a changed probability are changes; a case
	// slipped in is extra.
	if _, err := db.Exec(`UPDATE cases SET replicate = replicate + 1 WHERE id = (SELECT max(id) FROM cases WHERE wave_id = $1 AND mode = 'phone')`, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE cases SET inclusion_prob = inclusion_prob / 2 WHERE id = (SELECT max(id) FROM cases WHERE wave_id = $1 AND mode = 'door')`, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO cases (wave_id, district_code, stratum, mode, phone, replicate) VALUES ($1, 'A', 'A', 'phone', '13900000000', 1)`, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE drawn_units SET prob = prob / 2 WHERE wave_id = $1 AND stage = 'street' AND NOT certainty AND street = (SELECT min(street) FROM drawn_units WHERE wave_id = $1 AND stage = 'street' AND NOT certainty)`, w.ID); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(dctx, db, "v")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Missing != 1 || rep.Extra != 1 || rep.Changed != 2 || len(rep.Differences) != 5 {
		t.Errorf("missing %d extra %d changed %d:\n%s", rep.Missing, rep.Extra, rep.Changed, strings.Join(rep.Differences, "\n"))
	}

	// A change to the frame shows as a new checksum.
	drawWave(t, db, "v2", "phone")
	if _, err := Draw(dctx, db, "v2", 5); err != nil {
		t.Fatal(err)
	}
	drawPhones(t, db, 10, map[string]int{"C": 5})
	rep, err = Verify(dctx, db, "v2")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Identical() || rep.StoredChecksum == rep.FrameChecksum || !strings.Contains(rep.Differences[0], "frame checksum changed") {
		t.Errorf("after a frame change: %v", rep.Differences)
	}
	// C was short, so its new numbers are drawn now: the re-derived sample
	// differs as well.
	if rep.Missing == 0 {
		t.Errorf("the re-derived sample should include C's new numbers: %v", rep.Differences)
	}

	if _, err := Verify(dctx, db, "nope"); err == nil {
		t.Error("verify of an unknown wave succeeded")
	}
	drawWave(t, db, "undrawn", "phone")
	if _, err := Verify(dctx, db, "undrawn"); err == nil {
		t.Error("verify of an undrawn wave succeeded")
	}
}
