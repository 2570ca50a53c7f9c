package dialer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"minyi/sampler"
)

// recountInterviewerStats is the supervision page's interviewer figures
// counted from every attempt of the wave, as they were before the running
// totals: the auditor's recount.
const recountInterviewerStats = `
WITH m AS (
    SELECT interviewer_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)) AS median_seconds
    FROM interviews
    WHERE wave_id = $1 AND interviewer_id IS NOT NULL AND started_at IS NOT NULL
    GROUP BY interviewer_id
)
SELECT u.username,
       count(a.id) AS calls,
       count(a.id) FILTER (WHERE a.aapor_code = '1.1') AS completes,
       count(a.id) FILTER (WHERE a.aapor_code LIKE '2.1%') AS refusals,
       greatest(extract(epoch FROM max(a.created_at) - min(a.created_at)) / 3600, 0.25) AS hours,
       coalesce(min(m.median_seconds), 0) AS median_seconds
FROM attempts a JOIN cases c ON c.id = a.case_id JOIN users u ON u.id = a.interviewer_id
LEFT JOIN m ON m.interviewer_id = u.id
WHERE c.wave_id = $1
GROUP BY u.id, u.username
ORDER BY u.username`

// checkAgainstRecount fails unless the figures the supervision page shows
// for the wave are those of a full recount.
func checkAgainstRecount(t *testing.T, q *queue, wave int64, when string) []InterviewerStats {
	t.Helper()
	got, err := Interviewers(context.Background(), q.db, wave)
	if err != nil {
		t.Fatal(err)
	}
	var want []InterviewerStats
	if err := q.db.Select(&want, recountInterviewerStats, wave); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: the page's interviewer figures of wave %d\n%v\ndiffer from a recount\n%v", when, wave, got, want)
	}
	return got
}

// TestInterviewerFiguresAddUpUnderConcurrentCalls records calls in two
// waves from many connections at once — outcomes through the dialer, bulk
// inserts, transactions that roll back — and checks the interviewers'
// figures against a full recount of the attempts after each step.
func TestInterviewerFiguresAddUpUnderConcurrentCalls(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	now := time.Now()
	// A second wave, whose calls must not count in the first.
	w2, err := sampler.CreateWave(ctx, q.db, sampler.WaveSpec{Name: "q2", Rate: 0.002, QuestionnaireID: q.qid})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int64{q.wave, w2.ID} {
		q.exec(`INSERT INTO cases (wave_id, district_code, stratum, replicate, mode, phone, status, attempts)
			SELECT $1::bigint, $2, $2, 1, 'phone', '1380' || lpad(($1::bigint * 1000 + g)::text, 7, '0'), 'final', 1 FROM generate_series(1, 40) g`, w, districtA)
	}
	var cases1, cases2 []int64
	if err := q.db.Select(&cases1, `SELECT id FROM cases WHERE wave_id = $1 AND phone LIKE '1380%' ORDER BY id`, q.wave); err != nil {
		t.Fatal(err)
	}
	if err := q.db.Select(&cases2, `SELECT id FROM cases WHERE wave_id = $1 ORDER BY id`, w2.ID); err != nil {
		t.Fatal(err)
	}
	checkAgainstRecount(t, q, q.wave, "before any call")

	// Calls through the dialer: ann reaches no one, then is refused.
	for _, outcome := range []string{"no_answer", "refusal"} {
		id := q.nextCase("ann")
		q.record("ann", id, outcome, time.Time{}, now)
	}
	checkAgainstRecount(t, q, q.wave, "after ann's two calls")

	// Twelve connections record calls at once, each for all three
	// interviewers in both waves, one call a statement or several, some in
	// transactions that roll back.
	codes := []string{"1.1", "2.11", "2.21", "3.13", "3.12", "4.70"}
	users := []int64{q.users["ann"], q.users["bob"], q.users["conv"]}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				cs := cases1
				if (g+i)%3 == 0 {
					cs = cases2
				}
				c, u, code := cs[(g*7+i)%len(cs)], users[(g*2+i)%len(users)], codes[(g*5+i)%len(codes)]
				at := now.Add(time.Duration(g*60+i) * time.Minute)
				var err error
				switch i % 5 {
				case 0: // several calls in one statement
					_, err = q.db.Exec(`INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at)
						SELECT $1, $2, 'x', $3, false, $4::timestamptz + g * interval '1 minute' FROM generate_series(1, 3) g`, c, u, code, at)
				case 1: // a call whose transaction rolls back
					tx, e := q.db.Begin()
					if e != nil {
						errs <- e
						return
					}
					if _, e := tx.Exec(`INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at) VALUES ($1, $2, 'x', $3, false, $4)`, c, u, code, at.Add(-100*time.Hour)); e != nil {
						errs <- e
						return
					}
					err = tx.Rollback()
				default:
					_, err = q.db.Exec(`INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at) VALUES ($1, $2, 'x', $3, false, $4)`, c, u, code, at)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := checkAgainstRecount(t, q, q.wave, "after the concurrent calls")
	checkAgainstRecount(t, q, w2.ID, "after the concurrent calls")
	if len(got) != 3 {
		t.Fatalf("figures for %d interviewers, want ann, bob and conv", len(got))
	}
	for _, s := range got {
		if s.Calls == 0 || s.Hours <= 0.25 {
			t.Errorf("%s: %d calls over %.2f hours", s.Username, s.Calls, s.Hours)
		}
	}

	// Were a call ever corrected or removed (the application does neither),
	// the figures would still be those of the attempts.
	q.exec(`UPDATE attempts SET aapor_code = '2.11' WHERE id = (SELECT min(id) FROM attempts WHERE aapor_code = '1.1' AND case_id = ANY ($1))`, cases1)
	q.exec(`UPDATE attempts SET case_id = $1 WHERE id = (SELECT max(id) FROM attempts WHERE case_id = ANY ($2))`, cases2[0], cases1)
	q.exec(`DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE case_id = ANY ($1) ORDER BY created_at DESC LIMIT 5)`, cases1)
	checkAgainstRecount(t, q, q.wave, "after a correction and a removal")
	checkAgainstRecount(t, q, w2.ID, "after a correction and a removal")
	q.exec(`DELETE FROM attempts WHERE interviewer_id = $1`, q.users["conv"])
	if got := checkAgainstRecount(t, q, q.wave, "after removing all of conv's calls"); len(got) != 2 {
		t.Errorf("after conv's calls are gone the page still lists %d interviewers", len(got))
	}
}
