package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
	"minyi/survey"
)

var (
	qHeldTask        = pg.Q("dialer/held-task")
	qGetCase         = pg.Q("dialer/get-case")
	qCaseAttempts    = pg.Q("dialer/case-attempts")
	qWaveProgress    = pg.Q("dialer/wave-progress")
	qInterviewOfCase = pg.Q("dialer/interview-of-case")
	qTransactionTime = pg.Q("dialer/transaction-time")
)

// Kinds of call task.
const (
	TaskCase         = "case"
	TaskVerification = "verification"
)

// Task is what the queue hands an interviewer: a case of the sample, or a
// verification call-back of another interviewer's interview.
type Task struct {
	Kind string `db:"kind"`
	ID   int64  `db:"id"`
}

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
var ErrNoCase = core.Errorf(core.ENotFound, "现在没有可拨打的样本", "there is no case to call now")

// NextTask hands the interviewer a task no one else holds: the one they
// already hold, or, within the wave's calling hours at now, the first in
// the queue, leased for LeaseDuration. Outside the calling hours it hands
// out nothing and returns an error wrapping ErrClosed that says when
// calling resumes.
func NextTask(ctx context.Context, db *sqlx.DB, waveID, userID int64, rules Rules, now time.Time) (Task, error) {
	open := rules.Open(now)
	grace := fmt.Sprintf("%d seconds", int(rules.Grace().Seconds()))
	var t Task
	// Prepared, so that its plan is made once per connection rather than
	// on every request: planning the whole queue costs more than running it.
	st, err := pg.Stmt(ctx, db, "dialer/next-task")
	if err != nil {
		return Task{}, err
	}
	err = st.GetContext(ctx, &t, waveID, userID, leaseInterval, grace, open)
	switch {
	case err == nil:
		return t, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Task{}, fmt.Errorf("dialer: next case: %w", err)
	case !open:
		// Nothing held, and nothing handed out outside the hours.
		return Task{}, rules.ClosedError(now)
	}
	return Task{}, ErrNoCase
}

// WarmNextTask prepares and plans the next-task statement on tx's
// connection without handing anything out: wave 0 has no cases and user 0
// holds none. PostgreSQL plans a prepared statement afresh for each of its
// first five runs before it settles on one plan, and planning this one costs
// ten times what running it does, so it is run six times.
func WarmNextTask(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx) error {
	st, err := pg.TxStmt(ctx, db, tx, "dialer/next-task")
	if err != nil {
		return err
	}
	for range 6 {
		if _, err := st.ExecContext(ctx, 0, 0, leaseInterval, "0 seconds", true); err != nil {
			return err
		}
	}
	return nil
}

// GetCase loads a case.
func GetCase(ctx context.Context, db sqlx.QueryerContext, id int64) (*Case, error) {
	var c Case
	if err := sqlx.GetContext(ctx, db, &c, qGetCase, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有这个样本", "no such case")
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
		return nil, core.Errorf(core.ENotFound, "没有这个样本，或它不在您手上", "no such case, or you do not hold it")
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
	// The call Minyi placed, when it did: the network's final code, how
	// long it rang and was talked, and who hung up.
	SIPCode  int    `db:"sip_code"`
	RingMS   int64  `db:"ring_ms"`
	TalkMS   int64  `db:"talk_ms"`
	HangupBy string `db:"hangup_by"`
}

// Attempts returns a case's call history, oldest first.
func Attempts(ctx context.Context, db sqlx.QueryerContext, caseID int64) ([]Attempt, error) {
	var as []Attempt
	err := sqlx.SelectContext(ctx, db, &as, qCaseAttempts, caseID)
	return as, err
}

// RecordOutcome stores a call outcome for a case the interviewer holds and
// releases the case: to a later retry, to its appointment, or to its end.
// now is the time of the call (Asia/Shanghai day parts, calling hours).
func RecordOutcome(ctx context.Context, db *sqlx.DB, caseID, userID int64, code string, appointment time.Time, now time.Time) error {
	o, ok := OutcomeByCode(code)
	if !ok {
		return core.Errorf(core.EInvalid, "请选择一个呼叫结果", "choose a call outcome")
	}
	if o.NeedTime {
		if appointment.IsZero() {
			return core.Errorf(core.EInvalid, "预约需要日期和时间", "an appointment needs a date and time")
		}
		if !appointment.After(now) {
			return core.Errorf(core.EInvalid, "预约时间必须晚于现在", "the appointment must be in the future")
		}
	}
	return withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		r := lc.Rules
		tr := transition{Outcome: o.Code, AAPOR: o.AAPOR, Status: "pending"}
		switch {
		case o.Final:
			tr.Status, tr.Final = "final", o.AAPOR
		case o.NeedTime:
			if !r.Open(appointment) {
				hours := r.CallingTimes()
				return &core.Error{Code: core.EInvalid, ZH: fmt.Sprintf("预约时间不在本轮的拨打时段内（%s）", hours.ZH),
					EN: fmt.Sprintf("the appointment is outside this wave's calling hours (%s)", hours.EN)}
			}
			tr.Status, tr.Next, tr.Appt = "appointment", appointment, appointment
		case o.Converter && lc.ConverterOnly:
			// Refused again after a conversion attempt: that is final.
			tr.Status, tr.Final = "final", o.AAPOR
		default:
			tr.Next = r.Retry(now, r.retryDelay(o), lc.DaypartsTried|1<<Daypart(now), o.Code == "no_answer")
		}
		return recordAttempt(ctx, db, tx, lc, userID, tr, now)
	})
}

// retryDelay is the wave's delay before calling again after o.
func (r Rules) retryDelay(o Outcome) time.Duration {
	m := 0
	switch o.Code {
	case "busy", "unavailable":
		m = r.RetryBusy
	case "no_answer", "network_failure":
		m = r.RetryNoAnswer
	case "soft_refusal":
		m = r.RetrySoftRefusal
	}
	if m <= 0 {
		return o.Retry
	}
	return time.Duration(m) * time.Minute
}

// transition is an attempt and where it moves its case.
type transition struct {
	Outcome, AAPOR string
	Appt           any // appointment time, or nil
	Status, Final  string
	Next           any // next_at, or nil
	CallID         any // the call the attempt codes, or nil for the latest answered
}

// reachedCode is the 2.x disposition of a case reached in calls so far: a
// refusal once given stands, else the latest contact.
func reachedCode(old, code string) string {
	if !strings.HasPrefix(code, "2.") || strings.HasPrefix(old, "2.1") && !strings.HasPrefix(code, "2.1") {
		return old
	}
	return code
}

// recordAttempt stores an attempt and the case's new state. It applies the
// rules every outcome obeys: a case of a district whose quota is full
// ends as 4.80; a case whose attempts have run out ends with its 2.x code
// if anyone was ever reached, else as 3.13. An appointment is a promise to
// the respondent and is kept even on the last attempt.
func recordAttempt(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, lc LockedCase, userID int64, tr transition, now time.Time) error {
	reached := reachedCode(lc.ReachedCode, tr.AAPOR)
	converter := lc.ConverterOnly
	if o, ok := OutcomeByCode(tr.Outcome); ok && o.Converter {
		converter = true
	}
	switch {
	case tr.Status == "final":
	case lc.QuotaFull && lc.Mode == "phone":
		tr.Status, tr.Final, tr.Next = "final", CodeQuotaFilled, nil
	case tr.Status != "appointment" && lc.Attempts+1 >= lc.Rules.MaxAttempts:
		tr.Status, tr.Final, tr.Next = "final", CodeNoAnswer, nil
		if reached != "" {
			tr.Final = reached
		}
	}
	var apptBy any
	if tr.Status == "appointment" {
		apptBy = userID
	}
	if tr.Status == "final" && tr.Final == "" {
		tr.Final = tr.AAPOR
	}
	st, err := pg.TxStmt(ctx, db, tx, "dialer/record-attempt")
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, lc.ID, userID, tr.Outcome, tr.AAPOR, tr.Status == "final", tr.Appt, tr.Status, nullStr(tr.Final), tr.Next,
		apptBy, converter, lc.DaypartsTried|1<<Daypart(now), nullStr(reached), tr.CallID)
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
	District        string `db:"district_code"`
	Phone           string `db:"phone"`
	ConverterOnly   bool   `db:"converter_only"`
	DaypartsTried   int    `db:"dayparts_tried"`
	ReachedCode     string `db:"reached_code"`
	QuotaFull       bool   `db:"quota_full"`
	Rules
}

// CompleteInterview saves an interview for a held case and closes the case
// as complete, in one transaction. build turns the locked case into the
// interview to store, or fails (for example when an answer is invalid),
// which stores nothing. A repeated submission (same key) stores nothing new
// and returns the first interview's id. draftVersion is the version of the
// case's draft the form resumed: the draft is deleted with the save, and
// when another tab has written a newer draft meanwhile it returns a
// *DraftConflict and stores nothing; 0 skips that check.
//
// The interview's start is the server's own record, whatever build says:
// when its questionnaire was first opened (the draft's start). A form
// cannot move it back to make a fabricated interview look long enough, nor
// leave it out to escape the length check; a submission for a case whose
// questionnaire the server never opened starts now, takes no time, and is
// flagged as too short.
func CompleteInterview(ctx context.Context, db *sqlx.DB, caseID, userID int64, key string, draftVersion int, build func(LockedCase) (survey.Interview, error)) (int64, error) {
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
		if d != nil {
			iv.StartedAt = d.StartedAt
		} else if err := tx.GetContext(ctx, &iv.StartedAt, qTransactionTime); err != nil {
			return fmt.Errorf("dialer: transaction time: %w", err)
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
		if lc.Phone != "" && lc.VerifyShare > 0 {
			st, err := pg.TxStmt(ctx, db, tx, "dialer/sample-verification")
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, lc.WaveID, userID, id, caseID, lc.Phone, verifyInterval); err != nil {
				return fmt.Errorf("dialer: sample verification: %w", err)
			}
		}
		if err := recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: outcomeComplete, AAPOR: CodeComplete, Status: "final", Final: CodeComplete}, time.Now()); err != nil {
			return err
		}
		if iv.Mode != "phone" {
			// Door-to-door households are a clustered sample worked whole:
			// the quotas are the telephone targets.
			return nil
		}
		// The quota is counted last, so that its row lock, which every
		// save in the district waits for, is held only until the commit.
		full, err := takeQuota(ctx, db, tx, lc.WaveID, iv.District, iv.Sex, iv.AgeGroup)
		if err == nil && full {
			err = errQuotaFull
		}
		return err
	})
	if errors.Is(err, errQuotaFull) {
		// The respondent's district (or sex × age group) has all the
		// interviews it needs: nothing was stored, and the case ends as
		// quota filled.
		err = withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
			if _, err := takeDraft(ctx, db, tx, caseID, 0); err != nil {
				return err
			}
			return recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: outcomeQuotaFilled, AAPOR: CodeQuotaFilled, Status: "final", Final: CodeQuotaFilled}, time.Now())
		})
		if err == nil {
			return 0, ErrQuotaFilled
		}
	}
	if err != nil && core.ErrorCode(err) == core.ENotFound {
		// The case was closed by this very submission sent before (a double
		// click or a resend after a lost reply): answer with that interview.
		if prev, e := InterviewOfCase(ctx, db, caseID, userID, key); e == nil {
			return prev, nil
		}
	}
	return id, err
}

var errQuotaFull = errors.New("quota full")

// ErrQuotaFilled says that an interview was not stored because its quota
// was full; its case has ended as 4.80.
var ErrQuotaFilled = core.Errorf(core.EConflict,
	"受访者所在区县（或其性别年龄组）的配额已满：访问不保存，样本按配额已满（AAPOR 4.80）结束。",
	"The quota of the respondent's district (or sex and age group) is full: the interview is not kept and the case ends as quota filled (AAPOR 4.80).")

// ScreenOut closes a held case whose respondent the screener found not
// eligible.
func ScreenOut(ctx context.Context, db *sqlx.DB, caseID, userID int64) error {
	return withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		if _, err := takeDraft(ctx, db, tx, caseID, 0); err != nil {
			return err
		}
		return recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: outcomeScreened, AAPOR: CodeScreenOut, Status: "final", Final: CodeScreenOut}, time.Now())
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
			id, _, err := survey.InsertInterview(ctx, db, tx, survey.Interview{
				WaveID: lc.WaveID, CaseID: caseID, QuestionnaireID: q.ID, InterviewerID: userID,
				District: ans["district"], Mode: lc.Mode, PSU: lc.PSU, Sex: sex, AgeGroup: age, Answers: ans,
				IdempotencyKey: d.Key, Source: lc.InterviewSource(), StartedAt: d.StartedAt, Paradata: d.Paradata(), Partial: true,
			})
			if err != nil {
				return err
			}
			res.InterviewID = id
			return recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: outcomeBreakOffPartial, AAPOR: CodePartial, Status: "final", Final: CodePartial}, now)
		case CodeBreakOff:
			return recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: outcomeBreakOff, AAPOR: CodeBreakOff, Status: "final", Final: CodeBreakOff}, now)
		}
		if lc.Attempts+1 >= lc.MaxAttempts {
			// The last attempt: the case ends (recordAttempt gives it its
			// 2.x code).
			res.Code = CodeBreakOff
		}
		return recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: outcomeBreakOffCallback, AAPOR: CodeBreakOff, Status: "pending",
			Next: lc.Rules.Retry(now, BreakOffRetry, 0, false)}, now)
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
	lock, err := pg.TxStmt(ctx, db, tx, "dialer/lock-held-case")
	if err != nil {
		return err
	}
	var lc LockedCase
	if err := lock.GetContext(ctx, &lc, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有这个样本，或它不在您手上", "no such case, or you do not hold it")
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

// InterviewOfCase finds the interview an interviewer saved for a case, by
// the submission's idempotency key or as its interviewer.
func InterviewOfCase(ctx context.Context, db sqlx.QueryerContext, caseID, userID int64, key string) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, db, &id, qInterviewOfCase, caseID, userID, key)
	return id, err
}

// HeldTask returns the task the interviewer holds in a wave.
func HeldTask(ctx context.Context, db sqlx.QueryerContext, waveID, userID int64) (Task, error) {
	var t Task
	err := sqlx.GetContext(ctx, db, &t, qHeldTask, waveID, userID)
	return t, err
}

// InterviewSource is how an interview on the case was collected: by
// telephone (cati) or face to face at the door (capi).
func (lc LockedCase) InterviewSource() string {
	if lc.Mode == "door" {
		return "capi"
	}
	return "cati"
}
