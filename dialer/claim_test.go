package dialer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestNoCaseHeldTwice: thirty interviewers press "next case" at the same
// moment on a queue of a dozen cases (due appointments, due retries, fresh
// cases); no case is handed to two of them, each case handed out is held
// by the one it went to, and asking again gives each the case they hold.
func TestNoCaseHeldTwice(t *testing.T) {
	q := newQueue(t)
	// A dozen cases left to call, of open replicates: two appointments
	// and four retries due, six fresh.
	q.exec(`UPDATE cases SET status = 'final', final_code = '2.20'
		WHERE wave_id = $1 AND id NOT IN (
			SELECT c.id FROM cases c JOIN replicates r ON r.wave_id = c.wave_id AND r.district_code = c.stratum AND r.number = c.replicate
			WHERE c.wave_id = $1 AND c.mode = 'phone' AND r.opened_at IS NOT NULL ORDER BY c.id LIMIT 12)`, q.wave)
	q.exec(`UPDATE cases SET status = CASE WHEN rk <= 2 THEN 'appointment' ELSE 'pending' END, next_at = now() - interval '1 minute', attempts = 1
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS rk FROM cases WHERE wave_id = $1 AND status = 'fresh') x
		WHERE cases.id = x.id AND x.rk <= 6`, q.wave)
	var left int
	if err := q.db.Get(&left, `SELECT count(*) FROM cases WHERE wave_id = $1 AND status <> 'final'`, q.wave); err != nil || left != 12 {
		t.Fatalf("%d cases left to call (%v), want 12", left, err)
	}
	const n = 30
	users := make([]int64, n)
	for i := range users {
		if err := q.db.Get(&users[i], `INSERT INTO users (username, password_hash, role) VALUES ($1, 'x', 'interviewer') RETURNING id`, fmt.Sprintf("caller%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rules := q.rules()
	ask := func() ([]Task, []error) {
		tasks, errs := make([]Task, n), make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range users {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				tasks[i], errs[i] = NextTask(context.Background(), q.db, q.wave, users[i], rules, time.Now())
			}(i)
		}
		close(start)
		wg.Wait()
		return tasks, errs
	}
	tasks, errs := ask()
	holder := map[int64]int{}
	for i, tk := range tasks {
		if errs[i] != nil {
			if !errors.Is(errs[i], ErrNoCase) {
				t.Fatalf("interviewer %d: %v", i, errs[i])
			}
			continue
		}
		if tk.Kind != TaskCase {
			t.Fatalf("interviewer %d got %+v", i, tk)
		}
		if j, ok := holder[tk.ID]; ok {
			t.Fatalf("case %d handed to interviewers %d and %d at once", tk.ID, j, i)
		}
		holder[tk.ID] = i
		var by int64
		if err := q.db.Get(&by, `SELECT held_by FROM cases WHERE id = $1 AND held_until > now()`, tk.ID); err != nil || by != users[i] {
			t.Errorf("case %d handed to %d is held by %d (%v)", tk.ID, users[i], by, err)
		}
	}
	if len(holder) == 0 {
		t.Fatal("no case handed out")
	}
	// Asking again, each keeps what they hold and nothing more is handed
	// to those who hold a case.
	again, errs := ask()
	for id, i := range holder {
		if errs[i] != nil || again[i] != (Task{Kind: TaskCase, ID: id}) {
			t.Errorf("interviewer %d holding case %d got %+v (%v) on asking again", i, id, again[i], errs[i])
		}
	}
	var held int
	if err := q.db.Get(&held, `SELECT count(*) FROM cases WHERE wave_id = $1 AND held_by IS NOT NULL`, q.wave); err != nil {
		t.Fatal(err)
	}
	for i, tk := range again {
		if errs[i] != nil {
			if !errors.Is(errs[i], ErrNoCase) {
				t.Fatalf("interviewer %d: %v", i, errs[i])
			}
			continue
		}
		if j, had := holder[tk.ID]; had && j != i {
			t.Fatalf("case %d handed to interviewers %d and %d", tk.ID, j, i)
		}
		holder[tk.ID] = i
	}
	if held != len(holder) {
		t.Errorf("%d cases held, %d handed out", held, len(holder))
	}
}
