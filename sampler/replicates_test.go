package sampler

import (
	"database/sql"
	"testing"

	"minyi/core"
	"minyi/sql/pg"
)

func TestReplicatesOpenByThresholdAndByHand(t *testing.T) {
	db := drawCity(t)
	drawPhones(t, db, 12, map[string]int{"A": 1000, "B": 500, "C": 300})
	drawWave(t, db, "r", "phone")
	drawSet(t, db, "r", "replicate_size = 50")
	rep, err := Draw(dctx, db, "r", 77)
	if err != nil {
		t.Fatal(err)
	}
	// Releases 400, 200, 100 in replicates of 50.
	if rep.Replicates != 8+4+2 {
		t.Fatalf("%d replicates, want 14", rep.Replicates)
	}
	w, _ := GetWave(dctx, db, "r")
	released := drawCount(t, db, `SELECT count(*) FROM cases WHERE wave_id = $1`, w.ID)
	if n := drawCount(t, db, `SELECT count(*) FROM cases WHERE wave_id = $1 AND replicate = 1`, w.ID); n != 150 {
		t.Errorf("%d cases in the first replicates, want 3·50", n)
	}
	rs, err := Replicates(dctx, db, "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Open() != (r.Number == 1) || r.Cases != 50 {
			t.Errorf("replicate %+v", r)
		}
	}

	// The dialer serves only cases of open replicates: 151 interviewers
	// ask for one each, and the last finds none.
	var callers []int64
	if err := db.Select(&callers, `INSERT INTO users (username, password_hash, role)
		SELECT 'caller' || g, 'x', 'interviewer' FROM generate_series(1, 151) g RETURNING id`); err != nil {
		t.Fatal(err)
	}
	next := pg.Q("dialer/next-task")
	for i := 0; i < 150; i++ {
		var task struct {
			Kind string `db:"kind"`
			ID   int64  `db:"id"`
		}
		if err := db.Get(&task, next, w.ID, callers[i], "1 hour", "15 minutes", true); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	var task struct {
		Kind string `db:"kind"`
		ID   int64  `db:"id"`
	}
	if err := db.Get(&task, next, w.ID, callers[150], "1 hour", "15 minutes", true); err != sql.ErrNoRows {
		t.Fatalf("the dialer served a case of a closed replicate: %+v %v", task, err)
	}
	if n := drawCount(t, db, `SELECT count(*) FROM cases WHERE wave_id = $1 AND held_by IS NOT NULL AND replicate <> 1`, w.ID); n != 0 {
		t.Errorf("%d cases of closed replicates handed out", n)
	}
	if _, err := db.Exec(`UPDATE cases SET held_by = NULL, held_until = NULL WHERE wave_id = $1`, w.ID); err != nil {
		t.Fatal(err)
	}

	finish := func(district string, n int) {
		t.Helper()
		if _, err := db.Exec(`UPDATE cases SET status = 'final', final_code = '2.20' WHERE id IN (
			SELECT id FROM cases WHERE wave_id = $1 AND district_code = $2 AND status <> 'final'
			  AND replicate IN (SELECT number FROM replicates WHERE wave_id = $1 AND district_code = $2 AND opened_at IS NOT NULL)
			ORDER BY id LIMIT $3)`, w.ID, district, n); err != nil {
			t.Fatal(err)
		}
	}
	// 39 of 50 final is below the wave's 0.8; 40 reaches it.
	finish("A", 39)
	if opened, err := OpenNextReplicates(dctx, db, "r", 0); err != nil || len(opened) != 0 {
		t.Fatalf("opened %v at 78%% (%v)", opened, err)
	}
	finish("A", 1)
	opened, err := OpenNextReplicates(dctx, db, "r", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened[0].District != "A" || opened[0].Number != 2 || opened[0].OpenedBy != "threshold" {
		t.Fatalf("opened %+v, want A's replicate 2", opened)
	}
	// Now A's open replicates are 40 of 100 final: nothing more opens
	// until the share is reached again, and a lower threshold opens it.
	if again, _ := OpenNextReplicates(dctx, db, "r", 0); len(again) != 0 {
		t.Errorf("opened %+v again", again)
	}
	if low, _ := OpenNextReplicates(dctx, db, "r", 0.4); len(low) != 1 || low[0].Number != 3 {
		t.Errorf("threshold 0.4 opened %+v, want A's replicate 3", low)
	}

	// By hand, whatever the progress; until none is left.
	for want := 2; want <= 4; want++ {
		r, err := OpenReplicate(dctx, db, "r", "B")
		if err != nil {
			t.Fatal(err)
		}
		if r.Number != want || r.OpenedBy != "hand" {
			t.Errorf("opened %+v, want B's replicate %d", r, want)
		}
	}
	if _, err := OpenReplicate(dctx, db, "r", "B"); core.ErrorCode(err) != core.ENotFound {
		t.Errorf("opening past the last replicate: %v", err)
	}

	// No case was dropped: every released case is still there, in a
	// replicate that exists.
	if n := drawCount(t, db, `SELECT count(*) FROM cases c JOIN replicates r
		ON r.wave_id = c.wave_id AND r.district_code = c.stratum AND r.number = c.replicate WHERE c.wave_id = $1`, w.ID); n != released {
		t.Errorf("%d of %d cases in their replicates", n, released)
	}
	if n := drawCount(t, db, `SELECT count(*) FROM cases c WHERE c.wave_id = $1 AND c.status <> 'final' AND c.stratum = 'B'`, w.ID); n != 200 {
		t.Errorf("B has %d open cases, want all 200", n)
	}
	v, err := Verify(dctx, db, "r")
	if err != nil || !v.Identical() {
		t.Errorf("verify after fieldwork: %v %v", err, v.Differences)
	}
}
