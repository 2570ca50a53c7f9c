package dialer

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var (
	qLiveHours        = pg.Q("dialer/live-hours")
	qLiveInterviewers = pg.Q("dialer/live-interviewers")
)

// HourCount is one hour of a calling day: attempts, those that reached a
// person and those refused.
type HourCount struct {
	Day      string `db:"day"`
	Hour     int    `db:"hour"` // 0–23, Beijing time
	Attempts int    `db:"attempts"`
	Contacts int    `db:"contacts"`
	Refusals int    `db:"refusals"`
}

// ContactRate is the share of the hour's attempts that reached a person.
func (h HourCount) ContactRate() float64 { return ratio(float64(h.Contacts), float64(h.Attempts)) }

// RefusalRate is the share of the hour's contacts that refused.
func (h HourCount) RefusalRate() float64 { return ratio(float64(h.Refusals), float64(h.Contacts)) }

// InterviewerPace is an interviewer's completes per hour and mean
// interview length over a wave.
type InterviewerPace struct {
	Username    string  `db:"username"`
	Completes   int     `db:"completes"`
	Hours       float64 `db:"hours"`
	MeanSeconds float64 `db:"mean_seconds"`
}

// PerHour is the interviewer's completes per hour of calling.
func (p InterviewerPace) PerHour() float64 { return float64(p.Completes) / p.Hours }

// LiveHours counts a wave's attempts by hour on the latest day it called.
func LiveHours(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]HourCount, error) {
	var out []HourCount
	if err := sqlx.SelectContext(ctx, db, &out, qLiveHours, waveID); err != nil {
		return nil, fmt.Errorf("dialer: attempts by hour: %w", err)
	}
	return out, nil
}

// LiveInterviewers gives each interviewer's pace over a wave.
func LiveInterviewers(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]InterviewerPace, error) {
	var out []InterviewerPace
	if err := sqlx.SelectContext(ctx, db, &out, qLiveInterviewers, waveID); err != nil {
		return nil, fmt.Errorf("dialer: interviewers' pace: %w", err)
	}
	return out, nil
}
