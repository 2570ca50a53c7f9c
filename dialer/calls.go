package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// A call Minyi places is a small state machine: ringing (the interviewer's
// phone, then the respondent's), talking, ended. The states are named as
// the case page shows them.
const (
	CallRinging = "ringing"
	CallTalking = "talking"
	CallEnded   = "ended"
)

// CallStateLabels name the states for people.
var CallStateLabels = map[string]core.Text{
	CallRinging: {ZH: "振铃", EN: "Ringing"},
	CallTalking: {ZH: "通话中", EN: "Talking"},
	CallEnded:   {ZH: "已挂断", EN: "Ended"},
}

// Who ended a call.
const (
	ByInterviewer = "interviewer"
	ByRespondent  = "respondent"
	ByMinyi       = "minyi"   // the ring timeout, or the server stopping
	ByNetwork     = "network" // a failure response: busy, no such number…
)

var (
	qCallStart     = pg.Q("calls/start")
	qCallAnswered  = pg.Q("calls/answered")
	qCallGet       = pg.Q("calls/get")
	qCallLatest    = pg.Q("calls/latest-of-case")
	qCallConsent   = pg.Q("calls/consent")
	qCallsLive     = pg.Q("calls/live")
	qCallPolicy    = pg.Q("calls/policy")
	qCallsOfCase   = pg.Q("calls/of-case")
	qCallInterrupt = pg.Q("calls/interrupt")
)

// Call is a call as stored.
type Call struct {
	ID            int64      `db:"id"`
	CaseID        int64      `db:"case_id"`
	InterviewerID int64      `db:"interviewer_id"`
	State         string     `db:"state"`
	StartedAt     time.Time  `db:"started_at"`
	AnsweredAt    *time.Time `db:"answered_at"`
	EndedAt       *time.Time `db:"ended_at"`
	SIPCode       int        `db:"sip_code"`
	RingMS        int64      `db:"ring_ms"`
	TalkMS        int64      `db:"talk_ms"`
	HangupBy      string     `db:"hangup_by"`
	Interrupted   bool       `db:"interrupted"`
	Consent       string     `db:"consent"`
	Error         string     `db:"error"`
	// The attempt that codes the call, once there is one.
	Outcome string `db:"outcome"`
	AAPOR   string `db:"aapor_code"`
}

// StateLabel names the call's state.
func (c *Call) StateLabel() core.Text { return CallStateLabels[c.State] }

// OutcomeLabel names the outcome of the attempt that codes the call.
func (c *Call) OutcomeLabel() core.Text {
	if o, ok := OutcomeByCode(c.Outcome); ok {
		return o.Label
	}
	if o, ok := networkOutcomeByCode(c.Outcome); ok {
		return o.Label
	}
	return core.Text{ZH: c.Outcome, EN: c.Outcome}
}

// ErrCaseNotHeld refuses a call on a case the interviewer does not hold.
var ErrCaseNotHeld = core.Errorf(core.ENotFound, "没有这个样本，或它不在您手上", "no such case, or you do not hold it")

// StartCall stores a call about to be placed on a case the interviewer
// holds, ringing.
func StartCall(ctx context.Context, db *sqlx.DB, caseID, userID int64) (int64, error) {
	var id int64
	if err := db.GetContext(ctx, &id, qCallStart, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrCaseNotHeld
		}
		return 0, fmt.Errorf("dialer: start call: %w", err)
	}
	return id, nil
}

// CallAnswered moves a ringing call to talking.
func CallAnswered(ctx context.Context, db *sqlx.DB, id int64) error {
	_, err := db.ExecContext(ctx, qCallAnswered, id)
	return err
}

// CallEnd is how a call ended, as the network told it.
type CallEnd struct {
	ID       int64
	SIPCode  int // the final response; 0 when none came
	RingMS   int64
	TalkMS   int64
	HangupBy string
	Error    string // what went wrong, for people (an unreachable trunk)
	// Dialled: the respondent's number was dialled and the network
	// answered for it; a call that never got that far (the interviewer's
	// phone did not answer, the trunk could not be reached) is no attempt.
	Dialled bool
}

// EndCall stores how a call ended. A call that was not answered is coded
// by the network (NetworkOutcome) as an attempt on its case, which moves
// on by the calling rules, when its interviewer still holds it; an
// answered call is left for the interviewer to code. It returns the
// outcome recorded, ok=false when none was.
func EndCall(ctx context.Context, db *sqlx.DB, e CallEnd, now time.Time) (Outcome, bool, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Outcome{}, false, err
	}
	defer tx.Rollback()
	st, err := pg.TxStmt(ctx, db, tx, "calls/end")
	if err != nil {
		return Outcome{}, false, err
	}
	var owner struct {
		Case        sql.NullInt64 `db:"case_id"`
		Interviewer sql.NullInt64 `db:"interviewer_id"`
	}
	var code any
	if e.SIPCode > 0 {
		code = e.SIPCode
	}
	var talk any
	if e.SIPCode == StatusAnswered {
		talk = e.TalkMS
	}
	if err := st.GetContext(ctx, &owner, e.ID, code, e.RingMS, talk, nullStr(e.HangupBy), e.Error); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Outcome{}, false, nil // already ended
		}
		return Outcome{}, false, fmt.Errorf("dialer: end call: %w", err)
	}
	o, coded := NetworkOutcome(e.SIPCode)
	if !coded || !e.Dialled || !owner.Case.Valid {
		return Outcome{}, false, tx.Commit()
	}
	lock, err := pg.TxStmt(ctx, db, tx, "dialer/lock-held-case")
	if err != nil {
		return Outcome{}, false, err
	}
	var lc LockedCase
	if err := lock.GetContext(ctx, &lc, owner.Case.Int64, owner.Interviewer.Int64); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			// The lease ran out meanwhile: the call is kept, the case
			// is someone else's to call.
			return Outcome{}, false, tx.Commit()
		}
		return Outcome{}, false, fmt.Errorf("dialer: lock case: %w", err)
	}
	tr := transition{Outcome: o.Code, AAPOR: o.AAPOR, Status: "pending", CallID: e.ID}
	if o.Final {
		tr.Status, tr.Final = "final", o.AAPOR
	} else {
		tr.Next = lc.Rules.Retry(now, lc.Rules.retryDelay(o), lc.DaypartsTried|1<<Daypart(now), o.Code == netNoAnswer.Code)
	}
	if err := recordAttempt(ctx, db, tx, lc, owner.Interviewer.Int64, tr, now); err != nil {
		return Outcome{}, false, err
	}
	return o, true, tx.Commit()
}

// GetCall loads a call.
func GetCall(ctx context.Context, db sqlx.QueryerContext, id int64) (*Call, error) {
	var c Call
	if err := sqlx.GetContext(ctx, db, &c, qCallGet, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有这个通话", "no such call")
		}
		return nil, fmt.Errorf("dialer: get call: %w", err)
	}
	return &c, nil
}

// LatestCall is the interviewer's latest call on a case.
func LatestCall(ctx context.Context, db sqlx.QueryerContext, caseID, userID int64) (*Call, error) {
	var id int64
	if err := sqlx.GetContext(ctx, db, &id, qCallLatest, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "这个样本还没有拨打过", "this case has not been called")
		}
		return nil, err
	}
	return GetCall(ctx, db, id)
}

// CallsOfCase lists a case's calls, oldest first.
func CallsOfCase(ctx context.Context, db sqlx.QueryerContext, caseID int64) ([]Call, error) {
	var out []Call
	err := sqlx.SelectContext(ctx, db, &out, qCallsOfCase, caseID)
	return out, err
}

// SetConsent stores the respondent's answer to the recording consent
// prompt, given by the interviewer who holds the answered call; audited.
func SetConsent(ctx context.Context, db *sqlx.DB, callID, userID int64, username string, yes bool) error {
	answer := "no"
	if yes {
		answer = "yes"
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var caseID sql.NullInt64
	if err := tx.GetContext(ctx, &caseID, qCallConsent, callID, userID, answer); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有这个已接通的通话", "no such answered call")
		}
		return err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: userID, Actor: username, Action: "recording-consent",
		Subject: "call:" + strconv.FormatInt(callID, 10), Details: map[string]any{"case": caseID.Int64, "consent": answer}}); err != nil {
		return err
	}
	return tx.Commit()
}

// LiveCall is a call ringing or talking now, for the live view.
type LiveCall struct {
	ID          int64      `db:"id"`
	CaseID      int64      `db:"case_id"`
	Interviewer string     `db:"interviewer"`
	State       string     `db:"state"`
	StartedAt   time.Time  `db:"started_at"`
	AnsweredAt  *time.Time `db:"answered_at"`
	District    string     `db:"district_code"`
}

// StateLabel names the call's state.
func (c LiveCall) StateLabel() core.Text { return CallStateLabels[c.State] }

// LiveCalls lists a wave's calls ringing or talking.
func LiveCalls(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]LiveCall, error) {
	var out []LiveCall
	if err := sqlx.SelectContext(ctx, db, &out, qCallsLive, waveID); err != nil {
		return nil, fmt.Errorf("dialer: live calls: %w", err)
	}
	return out, nil
}

// RecordingPolicy says whether a case's wave records its calls, and how
// many days a recording is kept (0: the server's setting).
func RecordingPolicy(ctx context.Context, db sqlx.QueryerContext, caseID int64) (record bool, days int, err error) {
	var p struct {
		Record bool          `db:"record_calls"`
		Days   sql.NullInt64 `db:"recording_retention_days"`
	}
	if err := sqlx.GetContext(ctx, db, &p, qCallPolicy, caseID); err != nil {
		return false, 0, fmt.Errorf("dialer: recording policy: %w", err)
	}
	return p.Record, int(p.Days.Int64), nil
}

// CloseInterruptedCalls closes, when a server starts, the calls a stopped
// server left ringing or talking: ended, interrupted, by Minyi. Each one's
// recording is kept as far as it was written, hashed as found (hash) and
// entered in the audit chain. A case whose call was cut off stays with its
// interviewer, to call again or to code. It returns how many were closed.
func CloseInterruptedCalls(ctx context.Context, db *sqlx.DB, hash func(path string) (string, int64, error)) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var open []struct {
		ID         int64      `db:"id"`
		CaseID     int64      `db:"case_id"`
		AnsweredAt *time.Time `db:"answered_at"`
		Path       string     `db:"path"`
	}
	if err := tx.SelectContext(ctx, &open, pg.Q("calls/open")); err != nil {
		return 0, fmt.Errorf("dialer: open calls: %w", err)
	}
	for _, c := range open {
		if _, err := tx.ExecContext(ctx, qCallInterrupt, c.ID); err != nil {
			return 0, fmt.Errorf("dialer: interrupt call: %w", err)
		}
		details := map[string]any{"case": c.CaseID, "answered": c.AnsweredAt != nil}
		if c.Path != "" {
			sum, n, err := hash(c.Path)
			if err == nil {
				if err := finishRecording(ctx, tx, c.ID, n, 0, sum); err != nil {
					return 0, err
				}
				details["recording_sha256"], details["recording_bytes"] = sum, n
			} else {
				details["recording_error"] = err.Error()
			}
		}
		if err := core.Audit(ctx, tx, core.AuditEntry{Actor: "minyi serve", Action: "call-interrupted",
			Subject: "call:" + strconv.FormatInt(c.ID, 10), Details: details}); err != nil {
			return 0, err
		}
	}
	return len(open), tx.Commit()
}
