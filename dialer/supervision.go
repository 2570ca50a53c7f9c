package dialer

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/sql/pg"
)

var (
	qAppointments     = pg.Q("dialer/appointments")
	qInterviewerStats = pg.Q("dialer/interviewer-stats")
	qFlagged          = pg.Q("dialer/flagged-interviews")
)

// Appointment is one appointment for the supervisors' list.
type Appointment struct {
	CaseID   int64     `db:"case_id"`
	District string    `db:"district"`
	At       time.Time `db:"at"`
	MadeBy   string    `db:"made_by"`
	InCall   bool      `db:"in_call"`
	Missed   bool      `db:"missed"`
}

// Appointments lists a wave's appointments by time; one more than grace
// past its time is missed.
func Appointments(ctx context.Context, db sqlx.QueryerContext, waveID int64, grace time.Duration) ([]Appointment, error) {
	var out []Appointment
	if err := sqlx.SelectContext(ctx, db, &out, qAppointments, waveID, fmt.Sprintf("%d seconds", int(grace.Seconds()))); err != nil {
		return nil, fmt.Errorf("dialer: appointments: %w", err)
	}
	return out, nil
}

// InterviewerStats are one interviewer's figures in a wave.
type InterviewerStats struct {
	Username      string  `db:"username"`
	Calls         int     `db:"calls"`
	Completes     int     `db:"completes"`
	Refusals      int     `db:"refusals"`
	Hours         float64 `db:"hours"`
	MedianSeconds float64 `db:"median_seconds"`
}

// CallsPerHour is the interviewer's call rate.
func (s InterviewerStats) CallsPerHour() float64 { return float64(s.Calls) / s.Hours }

// CompletesPerHour is the interviewer's completion rate.
func (s InterviewerStats) CompletesPerHour() float64 { return float64(s.Completes) / s.Hours }

// RefusalRate is refusals over calls.
func (s InterviewerStats) RefusalRate() float64 {
	if s.Calls == 0 {
		return 0
	}
	return float64(s.Refusals) / float64(s.Calls)
}

// Interviewers returns the figures of every interviewer who called in a wave.
func Interviewers(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]InterviewerStats, error) {
	var out []InterviewerStats
	if err := sqlx.SelectContext(ctx, db, &out, qInterviewerStats, waveID); err != nil {
		return nil, fmt.Errorf("dialer: interviewer stats: %w", err)
	}
	return out, nil
}

// Flagged is an interview that needs a supervisor's look.
type Flagged struct {
	ID            int64   `db:"id"`
	Interviewer   string  `db:"interviewer"`
	District      string  `db:"district_code"`
	Seconds       float64 `db:"seconds"`
	TooShort      bool    `db:"too_short"`
	StraightLined bool    `db:"straight_lined"`
	NotConfirmed  bool    `db:"not_confirmed"` // the respondent denied it on a verification call-back
	Imported      bool    `db:"imported"`      // from a responses file: no one saw it collected
	// NoAnsweredCall: Minyi places the calls, and none on the case was
	// ever answered.
	NoAnsweredCall bool      `db:"no_answered_call"`
	CompletedAt    time.Time `db:"completed_at"`
}

// FlaggedInterviews lists interviews shorter than minLength, with the same
// answer to every one of items, not confirmed on a verification call-back,
// or imported and not yet reviewed, or, when Minyi places the calls
// (placesCalls), whose case never had an answered call; newest first.
func FlaggedInterviews(ctx context.Context, db sqlx.QueryerContext, waveID int64, minLength time.Duration, items []string, placesCalls bool) ([]Flagged, error) {
	var out []Flagged
	if err := sqlx.SelectContext(ctx, db, &out, qFlagged, waveID, fmt.Sprintf("%d seconds", int(minLength.Seconds())), pq.StringArray(items), placesCalls); err != nil {
		return nil, fmt.Errorf("dialer: flagged interviews: %w", err)
	}
	return out, nil
}
