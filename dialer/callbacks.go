package dialer

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qLockSearcher    = pg.Q("workspace/lock-searcher")
	qRecentSearches  = pg.Q("workspace/recent-searches")
	qInsertSearch    = pg.Q("workspace/insert-search")
	qFindCallback    = pg.Q("workspace/find-callback")
	qHoldsOther      = pg.Q("workspace/holds-other")
	qTakeCallback    = pg.Q("workspace/take-callback")
	callbackNoteText = "受访者来电回拨，访员接续此样本 / the respondent called back; the case was taken up"
)

// The limits of the call-back search, which looks at respondents' numbers:
// at least MinCallbackDigits of the number's end, at most
// CallbackSearchesPerHour searches per person, at most MaxCallbackMatches
// cases shown (more say "type more digits").
const (
	MinCallbackDigits       = 4
	CallbackSearchesPerHour = 20
	MaxCallbackMatches      = 5
)

// ErrTooManyMatches says the digits match more cases than are shown.
var ErrTooManyMatches = core.Errorf(core.EInvalid, "符合的样本太多，请多输入几位号码", "too many cases match: type more digits of the number")

// CallbackMatch is a case found by the end of its number. Phone is masked
// but for the digits typed.
type CallbackMatch struct {
	ID           int64  `db:"id"`
	WaveID       int64  `db:"wave_id"`
	WaveName     string `db:"wave_name"`
	DistrictName string `db:"district_name"`
	Phone        string `db:"phone"`
	Status       string `db:"status"`
	FinalCode    string `db:"final_code"`
	Attempts     int    `db:"attempts"`
	Held         bool   `db:"held"`
	HeldBy       int64  `db:"held_by"`
}

// Takeable says whether the user may take the case up.
func (m CallbackMatch) Takeable(userID int64) bool {
	return m.Status != "final" && (!m.Held || m.HeldBy == userID)
}

// CallbackDigits checks what was typed: digits only (spaces and dashes
// dropped), at least MinCallbackDigits.
func CallbackDigits(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", core.Errorf(core.EInvalid, "请只输入号码的数字", "type only the digits of the number")
		}
	}
	d := b.String()
	if len(d) < MinCallbackDigits {
		return "", core.Errorf(core.EInvalid, "请至少输入号码的后 %d 位", "type at least the last %d digits of the number", MinCallbackDigits)
	}
	if len(d) > 20 {
		return "", core.Errorf(core.EInvalid, "号码太长", "the number is too long")
	}
	return d, nil
}

// maskPhone shows only the last n digits of a number.
func maskPhone(phone string, n int) string {
	if n > len(phone) {
		n = len(phone)
	}
	return strings.Repeat("•", len(phone)-n) + phone[len(phone)-n:]
}

// FindCallback finds the telephone cases of the waves whose number ends in
// digits, for a respondent who called back. Every search is counted against
// the searcher's hourly cap and audited with the digits typed; the numbers
// come back masked but for those digits.
func FindCallback(ctx context.Context, db *sqlx.DB, userID int64, username string, waveIDs []int64, typed string) ([]CallbackMatch, error) {
	digits, err := CallbackDigits(typed)
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.GetContext(ctx, &id, qLockSearcher, userID); err != nil {
		return nil, err
	}
	var n int
	if err := tx.GetContext(ctx, &n, qRecentSearches, userID); err != nil {
		return nil, err
	}
	if n >= CallbackSearchesPerHour {
		return nil, core.Errorf(core.EConflict, "一小时内最多查找 %d 次来电号码，请稍后再试或联系督导", "at most %d number searches an hour: try later or ask a supervisor", CallbackSearchesPerHour)
	}
	var ms []CallbackMatch
	if err := tx.SelectContext(ctx, &ms, qFindCallback, pq.Int64Array(waveIDs), digits, MaxCallbackMatches+1); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, qInsertSearch, userID, len(digits), len(ms)); err != nil {
		return nil, err
	}
	ids := make([]int64, len(ms))
	for i := range ms {
		ids[i] = ms[i].ID
		ms[i].Phone = maskPhone(ms[i].Phone, len(digits))
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: userID, Actor: username, Action: "callback-search", Subject: "digits:" + digits,
		Details: map[string]any{"digits": digits, "waves": waveIDs, "cases": ids}}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if len(ms) > MaxCallbackMatches {
		return nil, ErrTooManyMatches
	}
	return ms, nil
}

// TakeCallback leases a call-back's case to the interviewer who took the
// call and logs the call on the case. The number must end in the digits
// they typed, the case be of their wave, not final and not held by anyone
// else, and they must hold no other case.
func TakeCallback(ctx context.Context, db *sqlx.DB, userID int64, username string, waveID, caseID int64, typed string) error {
	digits, err := CallbackDigits(typed)
	if err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var other bool
	if err := tx.GetContext(ctx, &other, qHoldsOther, waveID, userID, caseID); err != nil {
		return err
	}
	if other {
		return core.Errorf(core.EConflict, "您手上还有一个样本，请先记录它的结果", "you hold another case: record its outcome first")
	}
	var id int64
	err = tx.GetContext(ctx, &id, qTakeCallback, caseID, userID, waveID, digits, leaseInterval)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Errorf(core.ENotFound, "这个样本不能接续：号码不符、已结束，或在别的访员手上", "this case cannot be taken: the number does not match, it has ended, or another interviewer holds it")
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, qInsertNote, caseID, userID, NoteCallback, callbackNoteText); err != nil {
		return err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: userID, Actor: username, Action: "callback-take", Subject: "case:" + strconv.FormatInt(caseID, 10),
		Details: map[string]any{"case": caseID, "digits": digits}}); err != nil {
		return err
	}
	return tx.Commit()
}
