package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qGetVerification    = pg.Q("dialer/get-verification")
	qRecordVerification = pg.Q("dialer/record-verification")
	qVerifications      = pg.Q("dialer/verifications")
)

// VerificationOutcome is what a verification call-back found.
type VerificationOutcome struct {
	Code   string
	Label  core.Text
	Result string // the call-back's result; "" keeps it open for a retry
	Key    string
}

// VerificationOutcomes is the short outcome set of a verification call.
var VerificationOutcomes = []VerificationOutcome{
	{Code: "confirmed", Label: core.Text{ZH: "确认接受过访问", EN: "Confirmed the interview"}, Result: "confirmed", Key: "1"},
	{Code: "not_confirmed", Label: core.Text{ZH: "否认或情况不符", EN: "Denied it, or details differ"}, Result: "not_confirmed", Key: "2"},
	{Code: "no_answer", Label: core.Text{ZH: "无人接听", EN: "No answer"}, Key: "3"},
	{Code: "refused", Label: core.Text{ZH: "拒绝回答", EN: "Refused"}, Result: "refused", Key: "4"},
}

// VerifyAttempts is how many calls a verification gets before it ends as
// unreachable.
const VerifyAttempts = 3

// Verification is a verification call-back: another interviewer calls the
// respondent of an interview to confirm that it took place.
type Verification struct {
	ID          int64      `db:"id"`
	WaveID      int64      `db:"wave_id"`
	InterviewID int64      `db:"interview_id"`
	CaseID      int64      `db:"case_id"`
	Phone       string     `db:"phone"`
	Status      string     `db:"status"`
	Result      string     `db:"result"`
	Attempts    int        `db:"attempts"`
	NextAt      time.Time  `db:"next_at"`
	HeldBy      *int64     `db:"held_by"`
	HeldUntil   *time.Time `db:"held_until"`
	Interviewer string     `db:"interviewer"`
	CompletedAt time.Time  `db:"completed_at"`
	District    string     `db:"district_code"`
}

var errNoVerification = core.Errorf(core.ENotFound, "没有这个回访任务，或它不在您手上", "no such verification call, or you do not hold it")

// VerificationFor loads a verification call only for the interviewer
// holding it; for anyone else it does not exist.
func VerificationFor(ctx context.Context, db sqlx.QueryerContext, id, userID int64) (*Verification, error) {
	var v Verification
	if err := sqlx.GetContext(ctx, db, &v, qGetVerification, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNoVerification
		}
		return nil, fmt.Errorf("dialer: get verification: %w", err)
	}
	if v.Status != "open" || v.HeldBy == nil || *v.HeldBy != userID || v.HeldUntil == nil || !v.HeldUntil.After(time.Now()) {
		return nil, errNoVerification
	}
	return &v, nil
}

// RecordVerification records a verification call's outcome on a call the
// interviewer holds: a result ends it; no answer sets it for later, until
// VerifyAttempts calls have gone unanswered.
func RecordVerification(ctx context.Context, db *sqlx.DB, id, userID int64, code, note string, now time.Time) error {
	var o *VerificationOutcome
	for i := range VerificationOutcomes {
		if VerificationOutcomes[i].Code == code {
			o = &VerificationOutcomes[i]
		}
	}
	if o == nil {
		return core.Errorf(core.EInvalid, "请选择一个回访结果", "choose a verification outcome")
	}
	v, err := VerificationFor(ctx, db, id, userID)
	if err != nil {
		return err
	}
	status, result, next := "done", any(o.Result), any(nil)
	if o.Result == "" {
		if v.Attempts+1 >= VerifyAttempts {
			result = "unreachable"
		} else {
			rules, err := GetRules(ctx, db, v.WaveID)
			if err != nil {
				return err
			}
			status, result = "open", nil
			next = rules.Retry(now, time.Duration(rules.RetryNoAnswer)*time.Minute, 0, false)
		}
	}
	note = strings.TrimSpace(note)
	if len(note) > 2000 {
		note = note[:2000]
	}
	var got int64
	err = db.GetContext(ctx, &got, qRecordVerification, id, userID, status, result, next, note)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoVerification
	}
	return err
}

// VerificationRow is a verification call-back for the supervisors' list.
type VerificationRow struct {
	ID          int64     `db:"id"`
	InterviewID int64     `db:"interview_id"`
	CaseID      int64     `db:"case_id"`
	Interviewer string    `db:"interviewer"`
	Status      string    `db:"status"`
	Result      string    `db:"result"`
	Attempts    int       `db:"attempts"`
	NextAt      time.Time `db:"next_at"`
	VerifiedBy  string    `db:"verified_by"`
	Note        string    `db:"note"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// Verifications lists a wave's verification call-backs, open ones first.
func Verifications(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]VerificationRow, error) {
	var out []VerificationRow
	if err := sqlx.SelectContext(ctx, db, &out, qVerifications, waveID); err != nil {
		return nil, fmt.Errorf("dialer: verifications: %w", err)
	}
	return out, nil
}
