package dialer

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var (
	qLiveDistricts = pg.Q("dialer/live-districts")
	qLiveSummary   = pg.Q("dialer/live-summary")
	qCompletesDays = pg.Q("dialer/completes-by-day")
)

// LiveDistrict is one district's fieldwork right now.
type LiveDistrict struct {
	District       string `db:"district_code" json:"district"`
	Name           string `db:"name" json:"name"`
	Target         int    `db:"target" json:"target"`
	Completes      int    `db:"completes" json:"completes"`
	Fresh          int    `db:"fresh" json:"fresh"`
	Pending        int    `db:"pending" json:"pending"`
	Appointments   int    `db:"appointments" json:"appointments"`
	Final          int    `db:"final" json:"final"`
	Held           int    `db:"held" json:"held"`
	OpenReplicates int    `db:"open_replicates" json:"open_replicates"`
	Replicates     int    `db:"replicates" json:"replicates"`
	// QuotaFull: the district has its completes; its cases are closed.
	QuotaFull bool `db:"quota_full" json:"quota_full"`
}

// LiveSummary is the whole wave right now.
type LiveSummary struct {
	Holding           int     `db:"holding" json:"holding"`                         // interviewers holding a case now
	Active            int     `db:"active" json:"active"`                           // interviewers who called in the last 15 minutes
	CompletesLastHour int     `db:"completes_last_hour" json:"completes_last_hour"` // completes per hour, over the last hour
	CallsLastHour     int     `db:"calls_last_hour" json:"calls_last_hour"`
	MedianSeconds     float64 `db:"median_seconds" json:"median_seconds"` // median interview length, last 1000 interviews
	Completes         int     `db:"completes" json:"completes"`
}

// Live is the supervisor's live view of a wave.
type Live struct {
	Summary   LiveSummary    `json:"summary"`
	Districts []LiveDistrict `json:"districts"`
	Days      []DayCount     `json:"days"` // completes per day, for the progress chart
}

// DayCount is the completes of one day (Asia/Shanghai).
type DayCount struct {
	Day string `db:"day" json:"day"`
	N   int    `db:"n" json:"n"`
}

// LiveView reads a wave's fieldwork as it stands.
func LiveView(ctx context.Context, db sqlx.QueryerContext, waveID int64) (*Live, error) {
	var l Live
	if err := sqlx.GetContext(ctx, db, &l.Summary, qLiveSummary, waveID); err != nil {
		return nil, fmt.Errorf("dialer: live summary: %w", err)
	}
	if err := sqlx.SelectContext(ctx, db, &l.Districts, qLiveDistricts, waveID); err != nil {
		return nil, fmt.Errorf("dialer: live districts: %w", err)
	}
	if err := sqlx.SelectContext(ctx, db, &l.Days, qCompletesDays, waveID); err != nil {
		return nil, fmt.Errorf("dialer: completes by day: %w", err)
	}
	return &l, nil
}
