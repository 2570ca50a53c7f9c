package telephony

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pgtest"
	"minyi/survey"
	"minyi/telephony/peers"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// field is a drawn telephone wave called around the clock by the
// interviewer ann.
type field struct {
	t    *testing.T
	db   *sqlx.DB
	wave int64
	ann  int64
}

func newField(t *testing.T) *field {
	t.Helper()
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := sampler.SaveDistricts(ctx, db, []sampler.District{{Code: "500101", Name: "万州区", Population: 100000}}); err != nil {
		t.Fatal(err)
	}
	phones, err := sampler.SyntheticPhones(3, 800)
	if err != nil {
		t.Fatal(err)
	}
	var es []sampler.PhoneEntry
	for _, p := range phones {
		es = append(es, sampler.PhoneEntry{Phone: p, District: "500101"})
	}
	if _, err := sampler.AddPhones(ctx, db, es); err != nil {
		t.Fatal(err)
	}
	qid, err := survey.SaveQuestionnaire(ctx, db, survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: "t", Rate: 0.002, MinPerDistrict: 2, ExpectedRate: 0.5, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.Draw(ctx, db, "t", 9); err != nil {
		t.Fatal(err)
	}
	if err := dialer.SetRules(ctx, db, w.ID, dialer.AllDay()); err != nil {
		t.Fatal(err)
	}
	f := &field{t: t, db: db, wave: w.ID}
	if err := db.Get(&f.ann, `INSERT INTO users (username, password_hash, role) VALUES ('ann', 'x', 'interviewer') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	return f
}

// caseFor hands ann her next case, with the number given.
func (f *field) caseFor(number string) *dialer.Case {
	f.t.Helper()
	ctx := context.Background()
	task, err := dialer.NextTask(ctx, f.db, f.wave, f.ann, dialer.AllDay(), time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.db.Exec(`UPDATE cases SET phone = $2 WHERE id = $1`, task.ID, number); err != nil {
		f.t.Fatal(err)
	}
	c, err := dialer.GetCase(ctx, f.db, task.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// testConfig is a configuration for a Minyi on loopback with the trunk at
// trunk.
func testConfig(t *testing.T, trunk string) Config {
	t.Helper()
	lo, hi := peers.RTPPorts()
	return Config{Trunk: trunk, User: "minyi", Password: "trunk-secret", CallerID: "02312345678",
		Listen: fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t)), RTPPorts: fmt.Sprintf("%d-%d", lo, hi), Channels: 4,
		RingTimeout: 5 * time.Second, Recordings: t.TempDir(), RateLimit: DefaultRateLimit}
}
