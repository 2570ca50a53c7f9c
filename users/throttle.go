package users

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

// Limit is the back-off of one kind of key: after Free failures in a
// streak each further attempt must wait, Base at first and twice as long
// after every failure, never longer than Cap. Nobody is locked out for
// longer than Cap, and the owner of an account keeps a way in: the
// account-wide key is the last to bite and spares addresses the account
// signed in from lately.
type Limit struct {
	Free int
	Base time.Duration
	Cap  time.Duration
}

// The limits per account from one address, per account from anywhere, and
// per address for any accounts (an office behind one address has many
// interviewers mistyping at the start of a shift).
var (
	PairLimit    = Limit{Free: 5, Base: 30 * time.Second, Cap: 15 * time.Minute}
	AccountLimit = Limit{Free: 20, Base: 30 * time.Second, Cap: 15 * time.Minute}
	AddressLimit = Limit{Free: 30, Base: 30 * time.Second, Cap: 15 * time.Minute}
)

const (
	// StreakEnd: a key with no attempt for this long, and no wait left,
	// starts again with its free failures.
	StreakEnd = time.Hour
	// KnownAddressAge: an address the account signed in from within this
	// time is spared the account-wide back-off.
	KnownAddressAge = 30 * 24 * time.Hour
	// AttemptsKept is how long checked attempts are kept.
	AttemptsKept = 30 * 24 * time.Hour
	// idleKeysKept is how long the back-off state of a quiet key is kept.
	idleKeysKept = 7 * 24 * time.Hour
)

// wait is how long a key must wait after its failures-th failure.
func (l Limit) wait(failures int) time.Duration {
	if failures < l.Free {
		return 0
	}
	d := l.Base
	for i := l.Free; i < failures && d < l.Cap; i++ {
		d *= 2
	}
	return min(d, l.Cap)
}

// Throttled refuses a sign-in without checking its password.
type Throttled struct {
	RetryAfter time.Duration
}

// Text is the message for the person signing in.
func (t *Throttled) Text() core.Text {
	if t.RetryAfter > time.Minute {
		m := int(math.Ceil(t.RetryAfter.Minutes()))
		return core.Text{ZH: fmt.Sprintf("登录失败次数过多，请 %d 分钟后再试；如忘记密码，请管理员重置", m),
			EN: fmt.Sprintf("too many failed sign-ins: try again in %d minutes, or ask an admin to reset the password", m)}
	}
	s := t.Seconds()
	return core.Text{ZH: fmt.Sprintf("登录失败次数过多，请 %d 秒后再试", s), EN: fmt.Sprintf("too many failed sign-ins: try again in %d seconds", s)}
}

// Seconds is the wait in whole seconds, at least 1 (for Retry-After).
func (t *Throttled) Seconds() int { return max(1, int(math.Ceil(t.RetryAfter.Seconds()))) }

func (t *Throttled) Error() string { x := t.Text(); return x.ZH + " / " + x.EN }

// ErrorCode makes a refused sign-in the user's to fix, not a fault.
func (t *Throttled) ErrorCode() string { return core.EInvalid }

var (
	qThrottleEnsure = pg.Q("users/throttle-ensure")
	qThrottleLock   = pg.Q("users/throttle-lock")
	qThrottleSave   = pg.Q("users/throttle-save")
	qThrottleForget = pg.Q("users/throttle-forget-user")
	qKnownAddress   = pg.Q("users/throttle-known-address")
	qPruneAttempts  = pg.Q("users/throttle-prune-attempts")
	qPruneKeys      = pg.Q("users/throttle-prune-keys")
)

// throttleKey is one key an attempt counts against.
type throttleKey struct {
	key     string
	limit   Limit
	account bool   // the account-wide key
	address bool   // the address-wide key
	subject string // for the audit log
}

// accountName is how a typed username is counted: case does not matter,
// and nothing longer than a username can be is kept.
func accountName(username string) string {
	n := strings.ToLower(strings.TrimSpace(username))
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

func accountKey(username string) string { return "u|" + accountName(username) }
func pairPrefix(username string) string { return "p|" + accountName(username) + "|" }

func throttleKeys(username, address string, withAccount bool) []throttleKey {
	name := accountName(username)
	ks := []throttleKey{
		{key: pairPrefix(username) + address, limit: PairLimit, subject: name},
		{key: "a|" + address, limit: AddressLimit, address: true, subject: address},
	}
	if withAccount {
		ks = append(ks, throttleKey{key: accountKey(username), limit: AccountLimit, account: true, subject: name})
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	return ks
}

// throttleRow is a key's state.
type throttleRow struct {
	Key          string     `db:"key"`
	Failures     int        `db:"failures"`
	BlockedUntil *time.Time `db:"blocked_until"`
	Refused      int        `db:"refused"`
	FailedTotal  int        `db:"failed_total"`
	RefusedTotal int        `db:"refused_total"`
	LastAt       time.Time  `db:"last_at"`
	Now          time.Time  `db:"now"`
}

func (r *throttleRow) blocked() bool { return r.BlockedUntil != nil && r.BlockedUntil.After(r.Now) }

func lockKeys(ctx context.Context, tx *sqlx.Tx, ks []throttleKey) ([]throttleRow, error) {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.key
	}
	if _, err := tx.ExecContext(ctx, qThrottleEnsure, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("users: sign-in throttle: %w", err)
	}
	var rows []throttleRow
	if err := tx.SelectContext(ctx, &rows, qThrottleLock, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("users: sign-in throttle: %w", err)
	}
	if len(rows) != len(ks) {
		return nil, fmt.Errorf("users: sign-in throttle: %d of %d keys", len(rows), len(ks))
	}
	return rows, nil
}

func saveKey(ctx context.Context, tx *sqlx.Tx, r *throttleRow) error {
	_, err := tx.ExecContext(ctx, qThrottleSave, r.Key, r.Failures, r.BlockedUntil, r.Refused, r.FailedTotal, r.RefusedTotal, r.LastAt)
	return err
}

// admit decides, before any password is checked, whether an attempt may
// go on; one that may is counted as a failure already, so that parallel
// attempts see each other. The first refusal of a streak is audited: one
// entry when a key starts turning people away, not one per request.
func admit(ctx context.Context, db *sqlx.DB, ks []throttleKey, username, address string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := lockKeys(ctx, tx, ks)
	if err != nil {
		return err
	}
	var until time.Time
	for i := range rows {
		r := &rows[i]
		if !r.blocked() && r.Now.Sub(r.LastAt) > StreakEnd {
			r.Failures, r.Refused, r.BlockedUntil = 0, 0, nil
		}
		if r.blocked() && r.BlockedUntil.After(until) {
			until = *r.BlockedUntil
		}
	}
	if !until.IsZero() {
		// The account counts every refusal of its sign-ins, for the summary
		// at its next success; a blocked key counts its own streak.
		for i := range rows {
			r, k := &rows[i], ks[i]
			blocked := r.blocked()
			if !blocked && !k.account {
				continue
			}
			if blocked {
				r.Refused++
			}
			r.RefusedTotal++
			if err := saveKey(ctx, tx, r); err != nil {
				return err
			}
			if blocked && r.Refused == 1 {
				if err := core.Audit(ctx, tx, throttledEntry(k, r, username, address)); err != nil {
					return err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return &Throttled{RetryAfter: until.Sub(rows[0].Now)}
	}
	for i := range rows {
		r, k := &rows[i], ks[i]
		r.Failures++
		r.FailedTotal++
		r.LastAt = r.Now
		if w := k.limit.wait(r.Failures); w > 0 {
			t := r.Now.Add(w)
			r.BlockedUntil = &t
		}
		if err := saveKey(ctx, tx, r); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func throttledEntry(k throttleKey, r *throttleRow, username, address string) core.AuditEntry {
	kind := "account-from-address"
	switch {
	case k.account:
		kind = "account"
	case k.address:
		kind = "address"
	}
	return core.AuditEntry{Actor: accountName(username), Action: "sign-in-throttled", Subject: k.subject,
		Details: map[string]any{"key": kind, "address": address, "failures": r.Failures, "until": r.BlockedUntil.UTC().Format(time.RFC3339)}}
}

// succeeded gives back what admit counted for a right password: the
// account's keys start afresh, and the address's count loses this attempt
// (a success does not clear an address, which an attacker with an account
// of their own could otherwise do between guesses). It returns the
// failures and refusals the account had since its previous success.
func succeeded(ctx context.Context, tx *sqlx.Tx, username, address string, accountCounted bool) (failed, refused int, err error) {
	ks := throttleKeys(username, address, true)
	rows, err := lockKeys(ctx, tx, ks)
	if err != nil {
		return 0, 0, err
	}
	for i := range rows {
		r, k := &rows[i], ks[i]
		switch {
		case k.address:
			r.Failures = max(0, r.Failures-1)
			r.FailedTotal = max(0, r.FailedTotal-1)
			if k.limit.wait(r.Failures) == 0 {
				r.BlockedUntil = nil
			}
		default:
			if k.account {
				failed, refused = r.FailedTotal, r.RefusedTotal
				if accountCounted {
					failed = max(0, failed-1)
				}
			}
			r.Failures, r.BlockedUntil, r.Refused, r.FailedTotal, r.RefusedTotal = 0, nil, 0, 0, 0
		}
		if err := saveKey(ctx, tx, r); err != nil {
			return 0, 0, err
		}
	}
	return failed, refused, nil
}

// lastPrune is when this process last removed old attempts (Unix seconds).
var lastPrune atomic.Int64

// prune removes checked attempts older than AttemptsKept and the state of
// keys quiet for a week, so that neither table grows with time; after a
// success always, otherwise at most once a minute per process.
func prune(ctx context.Context, db *sqlx.DB, always bool) {
	now := time.Now().Unix()
	if always {
		lastPrune.Store(now)
	} else if last := lastPrune.Load(); now-last < 60 || !lastPrune.CompareAndSwap(last, now) {
		return
	}
	db.ExecContext(ctx, qPruneAttempts, interval(AttemptsKept))
	db.ExecContext(ctx, qPruneKeys, interval(idleKeysKept))
}

func interval(d time.Duration) string { return fmt.Sprintf("%d seconds", int64(d.Seconds())) }

// knownAddress reports whether the account signed in from the address
// lately.
func knownAddress(ctx context.Context, db *sqlx.DB, username, address string) (bool, error) {
	var ok bool
	err := db.GetContext(ctx, &ok, qKnownAddress, accountName(username), address, interval(KnownAddressAge))
	return ok, err
}
