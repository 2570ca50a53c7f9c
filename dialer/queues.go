package dialer

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qFlaggedPage         = pg.Q("dialer/flagged-page")
	qAppointmentsPage    = pg.Q("dialer/appointments-page")
	qAppointmentCalendar = pg.Q("dialer/appointment-calendar")
	qVerificationsPage   = pg.Q("dialer/verifications-page")
	qVerificationSummary = pg.Q("dialer/verification-summary")
)

// Flags an interview to review can carry, as the review list filters them.
var ReviewFlags = []string{"too_short", "straight_lined", "not_confirmed", "no_answered_call", "imported", "corrected"}

// FlagCounts are the interviews of a narrowed review list, in all and by
// flag (an interview may carry several), and the highest id among them.
type FlagCounts struct {
	Total           int   `db:"total"`
	TooShortN       int   `db:"n_too_short"`
	StraightLinedN  int   `db:"n_straight_lined"`
	NotConfirmedN   int   `db:"n_not_confirmed"`
	NoAnsweredCallN int   `db:"n_no_answered_call"`
	ImportedN       int   `db:"n_imported"`
	CorrectedN      int   `db:"n_corrected"`
	MaxID           int64 `db:"max_id"`
}

// FlaggedRow is a line of the review list with the counts of its list.
type FlaggedRow struct {
	Flagged
	DistrictName string `db:"district_name"`
	Corrected    bool   `db:"corrected"`
	FlagCounts
}

// ReviewQueue is what the review list asks of the database: the wave, the
// shortest plausible interview, and whether Minyi places the calls (see
// FlaggedInterviews).
type ReviewQueue struct {
	WaveID      int64
	MinLength   time.Duration
	PlacesCalls bool
}

// Page returns one page of the interviews to review narrowed by f (f.Flag
// one of ReviewFlags), newest first, and the counts of all of them. With
// f.Limit 0 it returns every one.
func (q ReviewQueue) Page(ctx context.Context, db sqlx.QueryerContext, f core.ListFilter) ([]FlaggedRow, FlagCounts, error) {
	rows, err := q.page(ctx, db, f)
	if err != nil || len(rows) > 0 || f.Offset == 0 {
		return rows, countsOf(rows), err
	}
	// Past the last page: the counts still come from the first.
	f.Offset, f.Limit = 0, 1
	first, err := q.page(ctx, db, f)
	return nil, countsOf(first), err
}

func (q ReviewQueue) page(ctx context.Context, db sqlx.QueryerContext, f core.ListFilter) ([]FlaggedRow, error) {
	var out []FlaggedRow
	if err := sqlx.SelectContext(ctx, db, &out, qFlaggedPage, q.WaveID, fmt.Sprintf("%d seconds", int(q.MinLength.Seconds())), q.PlacesCalls,
		f.District, f.UserID, f.FromArg(), f.ToArg(), f.UpTo, f.Flag, f.LimitArg(), f.Offset); err != nil {
		return nil, fmt.Errorf("dialer: interviews to review: %w", err)
	}
	return out, nil
}

func countsOf(rows []FlaggedRow) FlagCounts {
	if len(rows) == 0 {
		return FlagCounts{}
	}
	return rows[0].FlagCounts
}

// AppointmentRow is a line of the appointments list with the counts of
// its list.
type AppointmentRow struct {
	Appointment
	Total  int `db:"total"`
	Missed int `db:"n_missed"`
}

// AppointmentsPage returns one page of a wave's appointments narrowed by f
// (f.UserID who made them; f.Flag missed, in_call or upcoming), by time,
// with how many there are and how many of them are missed.
func AppointmentsPage(ctx context.Context, db sqlx.QueryerContext, waveID int64, grace time.Duration, f core.ListFilter) (rows []AppointmentRow, total, missed int, err error) {
	get := func(f core.ListFilter) error {
		return sqlx.SelectContext(ctx, db, &rows, qAppointmentsPage, waveID, fmt.Sprintf("%d seconds", int(grace.Seconds())),
			f.District, f.UserID, f.FromArg(), f.ToArg(), f.Flag, f.LimitArg(), f.Offset)
	}
	if err = get(f); err == nil && len(rows) == 0 && f.Offset > 0 {
		f.Offset, f.Limit = 0, 1
		err = get(f)
		defer func() { rows = nil }()
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("dialer: appointments: %w", err)
	}
	if len(rows) > 0 {
		total, missed = rows[0].Total, rows[0].Missed
	}
	return rows, total, missed, nil
}

// AppointmentHour is how many appointments of a wave fall in one hour of
// one Beijing day, and how many of them are missed.
type AppointmentHour struct {
	Day    string `db:"day"`
	Hour   int    `db:"hour"`
	N      int    `db:"n"`
	Missed int    `db:"missed"`
}

// AppointmentCalendar counts a wave's appointments by day and hour.
func AppointmentCalendar(ctx context.Context, db sqlx.QueryerContext, waveID int64, grace time.Duration) ([]AppointmentHour, error) {
	var out []AppointmentHour
	if err := sqlx.SelectContext(ctx, db, &out, qAppointmentCalendar, waveID, fmt.Sprintf("%d seconds", int(grace.Seconds()))); err != nil {
		return nil, fmt.Errorf("dialer: appointment calendar: %w", err)
	}
	return out, nil
}

// VerificationResults are the values a verification call-back can be
// filtered by: still open, or its result.
var VerificationResults = []string{"open", "confirmed", "not_confirmed", "refused", "unreachable"}

// VerificationPageRow is a line of the verification list with the count of
// its list.
type VerificationPageRow struct {
	VerificationRow
	Total int `db:"total"`
}

// VerificationsPage returns one page of a wave's verification call-backs
// narrowed by f (f.UserID the interviewer verified; f.Flag one of
// VerificationResults), open ones first, and how many there are.
func VerificationsPage(ctx context.Context, db sqlx.QueryerContext, waveID int64, f core.ListFilter) (rows []VerificationPageRow, total int, err error) {
	get := func(f core.ListFilter) error {
		return sqlx.SelectContext(ctx, db, &rows, qVerificationsPage, waveID, f.District, f.UserID, f.FromArg(), f.ToArg(), f.Flag, f.LimitArg(), f.Offset)
	}
	if err = get(f); err == nil && len(rows) == 0 && f.Offset > 0 {
		f.Offset, f.Limit = 0, 1
		err = get(f)
		defer func() { rows = nil }()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("dialer: verifications: %w", err)
	}
	if len(rows) > 0 {
		total = rows[0].Total
	}
	return rows, total, nil
}

// VerificationCount is one interviewer's verification call-backs by result.
type VerificationCount struct {
	Interviewer  string `db:"interviewer"`
	Open         int    `db:"open"`
	Confirmed    int    `db:"confirmed"`
	NotConfirmed int    `db:"not_confirmed"`
	Unresolved   int    `db:"unresolved"` // refused or unreachable
}

// VerificationSummary counts a wave's call-backs per interviewer verified.
func VerificationSummary(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]VerificationCount, error) {
	var out []VerificationCount
	if err := sqlx.SelectContext(ctx, db, &out, qVerificationSummary, waveID); err != nil {
		return nil, fmt.Errorf("dialer: verification summary: %w", err)
	}
	return out, nil
}
