package dialer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql"
	"minyi/survey"
)

var (
	qHeldCase = sql.Q("dialer/held-case")
	// queueProbes are tried in order: due appointments, due retries, fresh.
	queueProbes      = []string{sql.Q("dialer/next-appointment"), sql.Q("dialer/next-retry"), sql.Q("dialer/next-fresh")}
	qGetCase         = sql.Q("dialer/get-case")
	qCaseAttempts    = sql.Q("dialer/case-attempts")
	qWaveProgress    = sql.Q("dialer/wave-progress")
	qInterviewOfCase = sql.Q("dialer/interview-of-case")
)

// Case is one sampled unit being worked.
type Case struct {
	ID           int64      `db:"id"`
	WaveID       int64      `db:"wave_id"`
	WaveName     string     `db:"wave_name"`
	District     string     `db:"district_code"`
	DistrictName string     `db:"district_name"`
	Mode         string     `db:"mode"`
	Phone        string     `db:"phone"`
	Status       string     `db:"status"`
	FinalCode    string     `db:"final_code"`
	Attempts     int        `db:"attempts"`
	NextAt       *time.Time `db:"next_at"`
	HeldBy       *int64     `db:"held_by"`
	HeldUntil    *time.Time `db:"held_until"`
	// QuestionnaireID is the version the case's wave collects with.
	QuestionnaireID *int64 `db:"questionnaire_id"`
}

// HeldBy reports whether the user holds the case now.
func (c *Case) IsHeldBy(userID int64) bool {
	return c.HeldBy != nil && *c.HeldBy == userID && c.HeldUntil != nil && c.HeldUntil.After(time.Now()) && c.Status != "final"
}

var leaseInterval = fmt.Sprintf("%d seconds", int(LeaseDuration.Seconds()))

// ErrNoCase means there is nothing to call now.
var ErrNoCase = survey.Errorf(survey.ENotFound, "现在没有可拨打的样本", "there is no case to call now")

// NextCase hands the interviewer a case no one else holds: the one they
// already hold, or the first in the queue, leased for LeaseDuration.
func NextCase(ctx context.Context, db *sqlx.DB, waveID, userID int64) (*Case, error) {
	id, err := HeldCase(ctx, db, waveID, userID)
	for _, probe := range queueProbes {
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
		err = db.GetContext(ctx, &id, probe, waveID, userID, leaseInterval)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoCase
	}
	if err != nil {
		return nil, fmt.Errorf("dialer: next case: %w", err)
	}
	return GetCase(ctx, db, id)
}

// GetCase loads a case.
func GetCase(ctx context.Context, db sqlx.QueryerContext, id int64) (*Case, error) {
	var c Case
	if err := sqlx.GetContext(ctx, db, &c, qGetCase, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, survey.Errorf(survey.ENotFound, "没有这个样本", "no such case")
		}
		return nil, fmt.Errorf("dialer: get case: %w", err)
	}
	return &c, nil
}

// CaseFor loads a case only for the interviewer holding it; for anyone else
// it does not exist, so that ids cannot be probed.
func CaseFor(ctx context.Context, db sqlx.QueryerContext, id, userID int64) (*Case, error) {
	c, err := GetCase(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if !c.IsHeldBy(userID) {
		return nil, survey.Errorf(survey.ENotFound, "没有这个样本,或它不在您手上", "no such case, or you do not hold it")
	}
	return c, nil
}

// Attempt is one recorded call.
type Attempt struct {
	Outcome       string     `db:"outcome"`
	AAPOR         string     `db:"aapor_code"`
	Final         bool       `db:"final"`
	AppointmentAt *time.Time `db:"appointment_at"`
	CreatedAt     time.Time  `db:"created_at"`
	Username      string     `db:"username"`
}

// Attempts returns a case's call history, oldest first.
func Attempts(ctx context.Context, db sqlx.QueryerContext, caseID int64) ([]Attempt, error) {
	var as []Attempt
	err := sqlx.SelectContext(ctx, db, &as, qCaseAttempts, caseID)
	return as, err
}

// RecordOutcome stores a call outcome for a case the interviewer holds and
// releases the case: to a later retry, to its appointment, or to its end.
func RecordOutcome(ctx context.Context, db *sqlx.DB, caseID, userID int64, code string, appointment time.Time, now time.Time) error {
	o, ok := OutcomeByCode(code)
	if !ok {
		return survey.Errorf(survey.EInvalid, "请选择一个呼叫结果", "choose a call outcome")
	}
	if o.NeedTime {
		if appointment.IsZero() {
			return survey.Errorf(survey.EInvalid, "预约需要日期和时间", "an appointment needs a date and time")
		}
		if !appointment.After(now) {
			return survey.Errorf(survey.EInvalid, "预约时间必须晚于现在", "the appointment must be in the future")
		}
	}
	return withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		attempts := lc.Attempts
		status, final, next := "pending", "", any(nil)
		var appt any
		switch {
		case o.Final:
			status, final = "final", o.AAPOR
		case o.NeedTime:
			status, next, appt = "appointment", appointment, appointment
		case attempts+1 >= MaxAttempts:
			// Attempts exhausted without an interview: the last outcome
			// stands as the case's disposition.
			status, final = "final", o.AAPOR
		default:
			next = now.Add(o.Retry)
		}
		return recordAttempt(ctx, db, tx, caseID, userID, o.Code, o.AAPOR, appt, status, final, next)
	})
}

// recordAttempt stores an attempt and the case's new state.
func recordAttempt(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, caseID, userID int64, outcome, aapor string, appt any, status, final string, next any) error {
	st, err := sql.TxStmt(ctx, db, tx, "dialer/record-attempt")
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, caseID, userID, outcome, aapor, status == "final", appt, status, nullStr(final), next)
	return err
}

// LockedCase is what a transaction holding a case's row lock knows of it.
type LockedCase struct {
	ID              int64  `db:"id"`
	Attempts        int    `db:"attempts"`
	WaveID          int64  `db:"wave_id"`
	QuestionnaireID *int64 `db:"questionnaire_id"`
	Mode            string `db:"mode"`
	PSU             string `db:"psu"`
}

// CompleteInterview saves an interview for a held case and closes the case
// as complete, in one transaction. build turns the locked case into the
// interview to store, or fails (for example when an answer is invalid),
// which stores nothing. A repeated submission stores nothing new and
// returns the first interview's id.
func CompleteInterview(ctx context.Context, db *sqlx.DB, caseID, userID int64, key string, build func(LockedCase) (survey.Interview, error)) (int64, error) {
	return CompleteInterviewAt(ctx, db, caseID, userID, key, 0, build)
}

// CompleteInterviewAt is CompleteInterview for a form that resumed the
// case's draft at draftVersion: the draft is deleted with the save, and when
// another tab has written a newer draft meanwhile it returns a
// *DraftConflict and stores nothing. draftVersion 0 skips that check.
func CompleteInterviewAt(ctx context.Context, db *sqlx.DB, caseID, userID int64, key string, draftVersion int, build func(LockedCase) (survey.Interview, error)) (int64, error) {
	var id int64
	err := withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		d, err := takeDraft(ctx, db, tx, caseID, draftVersion)
		if err != nil {
			return err
		}
		iv, err := build(lc)
		if err != nil {
			return err
		}
		if iv.Paradata == nil {
			// The page sent none (no script): keep what the draft gathered.
			iv.Paradata = d.Paradata()
		}
		var created bool
		id, created, err = survey.InsertInterview(ctx, db, tx, iv)
		if err != nil || !created {
			return err
		}
		return recordAttempt(ctx, db, tx, caseID, userID, outcomeComplete, CodeComplete, nil, "final", CodeComplete, nil)
	})
	if err != nil && survey.ErrorCode(err) == survey.ENotFound {
		// The case was closed by this very submission sent before (a double
		// click or a resend after a lost reply): answer with that interview.
		if prev, e := InterviewOfCase(ctx, db, caseID, userID, key); e == nil {
			return prev, nil
		}
	}
	return id, err
}

// ScreenOut closes a held case whose respondent the screener found not
// eligible.
func ScreenOut(ctx context.Context, db *sqlx.DB, caseID, userID int64) error {
	return withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, _ LockedCase) error {
		if _, err := takeDraft(ctx, db, tx, caseID, 0); err != nil {
			return err
		}
		return recordAttempt(ctx, db, tx, caseID, userID, outcomeScreened, CodeScreenOut, nil, "final", CodeScreenOut, nil)
	})
}

// BreakOff records that the respondent broke off the interview in progress
// on a held case, by the rule: once the indicator questions have begun, a
// partial interview (1.2, final, its answers stored as an interview flagged
// partial) or a break-off (2.12, final); before them, a callback that
// returns the case to the queue. The draft is deleted in the same
// transaction: a callback starts the questionnaire afresh, since whoever
// answers then may be someone else. questionnaire loads the case's version.
func BreakOff(ctx context.Context, db *sqlx.DB, caseID, userID int64, rule BreakOffRule, districts map[string]bool,
	questionnaire func(LockedCase) (*survey.Questionnaire, error), now time.Time) (BreakOffResult, error) {
	var res BreakOffResult
	err := withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		d, err := takeDraft(ctx, db, tx, caseID, 0)
		if err != nil {
			return err
		}
		if d == nil {
			return errDraftNotStarted
		}
		q, err := questionnaire(lc)
		if err != nil {
			return err
		}
		var ans survey.Answers
		res, ans = rule.classify(q, d.Answers, districts)
		switch res.Code {
		case CodePartial:
			sex, _ := strconv.Atoi(ans["sex"])
			age, _ := strconv.Atoi(ans["age_group"])
			id, created, err := survey.InsertInterview(ctx, db, tx, survey.Interview{
				WaveID: lc.WaveID, CaseID: caseID, QuestionnaireID: q.ID, InterviewerID: userID,
				District: ans["district"], Mode: lc.Mode, PSU: lc.PSU, Sex: sex, AgeGroup: age, Answers: ans,
				IdempotencyKey: d.Key, Source: lc.InterviewSource(), StartedAt: d.StartedAt, Paradata: d.Paradata(),
			})
			if err != nil {
				return err
			}
			if created {
				mark, err := sql.TxStmt(ctx, db, tx, "dialer/mark-partial")
				if err != nil {
					return err
				}
				if _, err := mark.ExecContext(ctx, id); err != nil {
					return fmt.Errorf("dialer: mark partial: %w", err)
				}
			}
			res.InterviewID = id
			return recordAttempt(ctx, db, tx, caseID, userID, outcomeBreakOffPartial, CodePartial, nil, "final", CodePartial, nil)
		case CodeBreakOff:
			return recordAttempt(ctx, db, tx, caseID, userID, outcomeBreakOff, CodeBreakOff, nil, "final", CodeBreakOff, nil)
		}
		if lc.Attempts+1 >= MaxAttempts {
			res.Code = CodeBreakOff
			return recordAttempt(ctx, db, tx, caseID, userID, outcomeBreakOffCallback, CodeBreakOff, nil, "final", CodeBreakOff, nil)
		}
		return recordAttempt(ctx, db, tx, caseID, userID, outcomeBreakOffCallback, CodeBreakOff, nil, "pending", "", now.Add(BreakOffRetry))
	})
	return res, err
}

// withHeldCase runs fn in a transaction holding the case's row lock, only if
// the user holds the case.
func withHeldCase(ctx context.Context, db *sqlx.DB, caseID, userID int64, fn func(tx *sqlx.Tx, lc LockedCase) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	lock, err := sql.TxStmt(ctx, db, tx, "dialer/lock-held-case")
	if err != nil {
		return err
	}
	var lc LockedCase
	if err := lock.GetContext(ctx, &lc, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return survey.Errorf(survey.ENotFound, "没有这个样本,或它不在您手上", "no such case, or you do not hold it")
		}
		return fmt.Errorf("dialer: lock case: %w", err)
	}
	if err := fn(tx, lc); err != nil {
		return err
	}
	return tx.Commit()
}

// DistrictProgress is one district's fieldwork count.
type DistrictProgress struct {
	District  string `db:"district_code"`
	Cases     int    `db:"cases"`
	Final     int    `db:"final"`
	Completes int    `db:"completes"`
}

// Progress returns a wave's case counts per district.
func Progress(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]DistrictProgress, error) {
	var ps []DistrictProgress
	err := sqlx.SelectContext(ctx, db, &ps, qWaveProgress, waveID)
	return ps, err
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// HeldCase returns the id of the case the interviewer holds in a wave.
func HeldCase(ctx context.Context, db sqlx.QueryerContext, waveID, userID int64) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, db, &id, qHeldCase, waveID, userID)
	return id, err
}

// InterviewOfCase finds the interview an interviewer saved for a case, by
// the submission's idempotency key or as its interviewer.
func InterviewOfCase(ctx context.Context, db sqlx.QueryerContext, caseID, userID int64, key string) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, db, &id, qInterviewOfCase, caseID, userID, key)
	return id, err
}
