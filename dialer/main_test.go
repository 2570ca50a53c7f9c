package dialer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sampler"
	"minyi/sql/pgtest"
	"minyi/survey"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// queue is a drawn telephone wave of two districts (A 500101 with a target
// of 200 completes, B 500102 with 100) called around the clock, with
// interviewers ann and bob and a refusal converter conv.
type queue struct {
	t     *testing.T
	db    *sqlx.DB
	wave  int64
	qid   int64
	users map[string]int64
}

const districtA, districtB = "500101", "500102"

func newQueue(t *testing.T) *queue {
	t.Helper()
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := sampler.SaveDistricts(ctx, db, []sampler.District{{Code: districtA, Name: "万州区", Population: 100000}, {Code: districtB, Name: "涪陵区", Population: 50000}}); err != nil {
		t.Fatal(err)
	}
	phones, err := sampler.SyntheticPhones(3, 1600)
	if err != nil {
		t.Fatal(err)
	}
	var es []sampler.PhoneEntry
	for i, p := range phones {
		d := districtA
		if i%2 == 1 {
			d = districtB
		}
		es = append(es, sampler.PhoneEntry{Phone: p, District: d})
	}
	if _, err := sampler.AddPhones(ctx, db, es); err != nil {
		t.Fatal(err)
	}
	qid, err := survey.SaveQuestionnaire(ctx, db, survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: "q", Rate: 0.002, MinPerDistrict: 2, ExpectedRate: 0.5, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.Draw(ctx, db, "q", 9); err != nil {
		t.Fatal(err)
	}
	q := &queue{t: t, db: db, wave: w.ID, qid: qid, users: map[string]int64{}}
	q.setRules(AllDay())
	for _, u := range []string{"ann", "bob", "conv"} {
		var id int64
		if err := db.Get(&id, `INSERT INTO users (username, password_hash, role, refusal_converter) VALUES ($1, 'x', 'interviewer', $1 = 'conv') RETURNING id`, u); err != nil {
			t.Fatal(err)
		}
		q.users[u] = id
	}
	return q
}

func (q *queue) setRules(r Rules) {
	q.t.Helper()
	if err := SetRules(context.Background(), q.db, q.wave, r); err != nil {
		q.t.Fatal(err)
	}
}

func (q *queue) rules() Rules {
	q.t.Helper()
	r, err := GetRules(context.Background(), q.db, q.wave)
	if err != nil {
		q.t.Fatal(err)
	}
	return r
}

// next asks for the user's next task at the real time.
func (q *queue) next(user string) Task {
	q.t.Helper()
	t, err := NextTask(context.Background(), q.db, q.wave, q.users[user], q.rules(), time.Now())
	if err != nil {
		q.t.Fatalf("next task for %s: %v", user, err)
	}
	return t
}

// nextCase asks for the user's next task and expects a case.
func (q *queue) nextCase(user string) int64 {
	q.t.Helper()
	t := q.next(user)
	if t.Kind != TaskCase {
		q.t.Fatalf("%s got a %s task, want a case", user, t.Kind)
	}
	return t.ID
}

func (q *queue) record(user string, id int64, outcome string, appt, now time.Time) {
	q.t.Helper()
	if err := RecordOutcome(context.Background(), q.db, id, q.users[user], outcome, appt, now); err != nil {
		q.t.Fatalf("%s records %s on case %d: %v", user, outcome, id, err)
	}
}

func (q *queue) exec(query string, args ...any) {
	q.t.Helper()
	if _, err := q.db.Exec(query, args...); err != nil {
		q.t.Fatal(err)
	}
}

// caseState is a case's status and final code.
func (q *queue) caseState(id int64) string {
	q.t.Helper()
	var s string
	if err := q.db.Get(&s, `SELECT status || ' ' || coalesce(final_code, '-') FROM cases WHERE id = $1`, id); err != nil {
		q.t.Fatal(err)
	}
	return s
}

// complete saves an interview on a held case with the respondent's
// district, sex and age group.
func (q *queue) complete(user string, id int64, district string, sex, age int) (int64, error) {
	q.t.Helper()
	return CompleteInterview(context.Background(), q.db, id, q.users[user], fmt.Sprintf("k-%d", id), 0, func(lc LockedCase) (survey.Interview, error) {
		return survey.Interview{WaveID: lc.WaveID, CaseID: id, QuestionnaireID: q.qid, InterviewerID: q.users[user], District: district,
			Mode: "phone", Sex: sex, AgeGroup: age, Answers: survey.Answers{"district": district}, IdempotencyKey: fmt.Sprintf("k-%d", id), Source: "cati"}, nil
	})
}

// shanghai is a time on a day of November 2026 in Asia/Shanghai (the 27th
// is a Friday).
func shanghai(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, Shanghai)
}
