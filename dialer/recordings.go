package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qRecordingStart     = pg.Q("recordings/start")
	qRecordingFinish    = pg.Q("recordings/finish")
	qRecordingGet       = pg.Q("recordings/get")
	qRecordingsOfIv     = pg.Q("recordings/of-interview")
	qRecordingsDue      = pg.Q("recordings/due")
	qRecordingDeleted   = pg.Q("recordings/mark-deleted")
	defaultRetentionDay = 180
)

// DefaultRetention is how long recordings are kept when neither the wave
// nor the server says otherwise.
const DefaultRetention = 180 * 24 * time.Hour

// Recording is a call's recording as stored.
type Recording struct {
	ID          int64      `db:"id"`
	CallID      int64      `db:"call_id"`
	CaseID      int64      `db:"case_id"`
	Path        string     `db:"path"`
	Codec       string     `db:"codec"`
	Bytes       int64      `db:"bytes"`
	Seconds     float64    `db:"seconds"`
	SHA256      string     `db:"sha256"`
	CreatedAt   time.Time  `db:"created_at"`
	DeleteAfter time.Time  `db:"delete_after"`
	DeletedAt   *time.Time `db:"deleted_at"`
	Consent     string     `db:"consent"`
	Interviewer string     `db:"interviewer"`
}

// StartRecording stores that a call is being recorded into path, kept for
// days (0: retention).
func StartRecording(ctx context.Context, db *sqlx.DB, callID int64, path, codec string, days int, retention time.Duration) error {
	if days <= 0 {
		days = int(retention / (24 * time.Hour))
	}
	if days <= 0 {
		days = defaultRetentionDay
	}
	_, err := db.ExecContext(ctx, qRecordingStart, callID, path, codec, days)
	return err
}

// FinishRecording stores a finished recording's size, length and SHA-256,
// and enters the hash in the audit chain in the same transaction.
func FinishRecording(ctx context.Context, db *sqlx.DB, callID, bytes int64, seconds float64, sha256 string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := finishRecording(ctx, tx, callID, bytes, seconds, sha256); err != nil {
		return err
	}
	return tx.Commit()
}

func finishRecording(ctx context.Context, tx *sqlx.Tx, callID, bytes int64, seconds float64, sum string) error {
	var id int64
	if err := tx.GetContext(ctx, &id, qRecordingFinish, callID, bytes, seconds, sum); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil // finished before
		}
		return fmt.Errorf("dialer: finish recording: %w", err)
	}
	return core.Audit(ctx, tx, core.AuditEntry{Actor: "minyi serve", Action: "recording",
		Subject: "recording:" + strconv.FormatInt(id, 10),
		Details: map[string]any{"call": callID, "sha256": sum, "bytes": bytes, "seconds": seconds}})
}

// GetRecording loads a recording.
func GetRecording(ctx context.Context, db sqlx.QueryerContext, id int64) (*Recording, error) {
	var r Recording
	if err := sqlx.GetContext(ctx, db, &r, qRecordingGet, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有这个录音", "no such recording")
		}
		return nil, fmt.Errorf("dialer: get recording: %w", err)
	}
	return &r, nil
}

// RecordingsOfInterview lists the recordings of the calls on an
// interview's case.
func RecordingsOfInterview(ctx context.Context, db sqlx.QueryerContext, interviewID int64) ([]Recording, error) {
	var out []Recording
	if err := sqlx.SelectContext(ctx, db, &out, qRecordingsOfIv, interviewID); err != nil {
		return nil, fmt.Errorf("dialer: recordings: %w", err)
	}
	return out, nil
}

// OpenRecording opens a recording for a supervisor, auditing it as a
// playback when playback (a player's later requests for parts of the same
// playback are not). A deleted recording is gone.
func OpenRecording(ctx context.Context, db *sqlx.DB, id, userID int64, username string, playback bool) (*Recording, *os.File, error) {
	r, err := GetRecording(ctx, db, id)
	if err != nil {
		return nil, nil, err
	}
	if r.DeletedAt != nil {
		return nil, nil, core.Errorf(core.ENotFound, "这个录音已过保存期并已删除", "this recording was deleted at the end of its retention period")
	}
	f, err := os.Open(r.Path)
	if err != nil {
		return nil, nil, core.Errorf(core.ENotFound, "录音文件不存在", "the recording's file is missing")
	}
	if !playback {
		return r, f, nil
	}
	if err := core.AuditNow(ctx, db, core.AuditEntry{ActorID: userID, Actor: username, Action: "recording-play",
		Subject: "recording:" + strconv.FormatInt(id, 10), Details: map[string]any{"call": r.CallID, "case": r.CaseID, "sha256": r.SHA256}}); err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// DeleteExpiredRecordings deletes the files of recordings past their
// retention at now and marks them deleted, each deletion audited; the row
// and its hash stay. It returns how many were deleted.
func DeleteExpiredRecordings(ctx context.Context, db *sqlx.DB, now time.Time) (int, error) {
	total := 0
	for {
		n, err := deleteExpiredBatch(ctx, db, now)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func deleteExpiredBatch(ctx context.Context, db *sqlx.DB, now time.Time) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var due []struct {
		ID     int64  `db:"id"`
		CallID int64  `db:"call_id"`
		Path   string `db:"path"`
		SHA256 string `db:"sha256"`
	}
	if err := tx.SelectContext(ctx, &due, qRecordingsDue, now); err != nil {
		return 0, fmt.Errorf("dialer: recordings due: %w", err)
	}
	for _, r := range due {
		if err := os.Remove(r.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("dialer: delete recording %d: %w", r.ID, err)
		}
		if _, err := tx.ExecContext(ctx, qRecordingDeleted, r.ID); err != nil {
			return 0, err
		}
		if err := core.Audit(ctx, tx, core.AuditEntry{Actor: "minyi serve", Action: "recording-delete",
			Subject: "recording:" + strconv.FormatInt(r.ID, 10), Details: map[string]any{"call": r.CallID, "sha256": r.SHA256, "reason": "retention"}}); err != nil {
			return 0, err
		}
	}
	return len(due), tx.Commit()
}

// WaveRecording is whether a wave records its calls, and for how long.
type WaveRecording struct {
	WaveID int64  `db:"wave_id"`
	Name   string `db:"name"`
	Record bool   `db:"record_calls"`
	Days   *int   `db:"recording_retention_days"` // nil: the server's setting
}

// WaveRecordings lists every wave's recording setting, newest first.
func WaveRecordings(ctx context.Context, db sqlx.QueryerContext) ([]WaveRecording, error) {
	var out []WaveRecording
	if err := sqlx.SelectContext(ctx, db, &out, pg.Q("recordings/wave-settings")); err != nil {
		return nil, fmt.Errorf("dialer: wave recordings: %w", err)
	}
	return out, nil
}

// SetWaveRecording sets whether a wave records its calls and for how many
// days it keeps them (0: the server's setting); audited.
func SetWaveRecording(ctx context.Context, db *sqlx.DB, waveID int64, record bool, days int, actorID int64, actor string) error {
	if days < 0 || days > 3650 {
		return core.Errorf(core.EInvalid, "录音保存天数须在 1 到 3650 之间（0：按服务器设置）", "the retention must be 1 to 3650 days (0: the server's setting)")
	}
	var d any
	if days > 0 {
		d = days
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var name string
	if err := tx.GetContext(ctx, &name, pg.Q("recordings/set-wave"), waveID, record, d); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有这个轮次", "no such wave")
		}
		return err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: actorID, Actor: actor, Action: "wave-recording", Subject: name,
		Details: map[string]any{"record_calls": record, "retention_days": days}}); err != nil {
		return err
	}
	return tx.Commit()
}
