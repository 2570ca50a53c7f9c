package dialer

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qTeamWaves     = pg.Q("workspace/team-waves")
	qCallableWave  = pg.Q("workspace/callable-wave")
	qOldTeamWave   = pg.Q("workspace/old-team-wave")
	qSetTeamWave   = pg.Q("workspace/set-team-wave")
	qClearTeamWave = pg.Q("workspace/clear-team-wave")
)

// TeamWave is the wave a group of interviewers calls, as a supervisor set
// it.
type TeamWave struct {
	Team     string    `db:"team"`
	WaveID   int64     `db:"wave_id"`
	WaveName string    `db:"wave_name"`
	SetBy    string    `db:"set_by"`
	SetAt    time.Time `db:"set_at"`
}

// TeamWaves lists the groups that call a wave. A group not listed calls
// nothing: no wave is guessed for it, and drawing one moves no one.
func TeamWaves(ctx context.Context, db sqlx.QueryerContext) ([]TeamWave, error) {
	var ts []TeamWave
	err := sqlx.SelectContext(ctx, db, &ts, qTeamWaves)
	return ts, err
}

// SetTeamWave sets the wave a group calls (an empty waveName stops it calling).
// Only a drawn wave with the telephone mode can be called.
func SetTeamWave(ctx context.Context, db *sqlx.DB, actorID int64, actor, team, waveName string) error {
	waveName = strings.TrimSpace(waveName)
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var old string
	if err := tx.GetContext(ctx, &old, qOldTeamWave, team); err != nil {
		return err
	}
	if waveName == "" {
		if _, err := tx.ExecContext(ctx, qClearTeamWave, team); err != nil {
			return err
		}
	} else {
		var w struct {
			ID    int64 `db:"id"`
			Phone bool  `db:"phone"`
			Drawn bool  `db:"drawn"`
		}
		err := tx.GetContext(ctx, &w, qCallableWave, waveName)
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有轮次 %s", "no wave %s", waveName)
		}
		if err != nil {
			return err
		}
		if !w.Phone {
			return core.Errorf(core.EInvalid, "轮次 %s 没有电话访问方式，不能用于电话访问", "wave %s has no telephone mode and cannot be called", waveName)
		}
		if !w.Drawn {
			return core.Errorf(core.EInvalid, "轮次 %s 还没有抽样", "wave %s has not been drawn", waveName)
		}
		if _, err := tx.ExecContext(ctx, qSetTeamWave, team, w.ID, nullID(actorID)); err != nil {
			return err
		}
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: actorID, Actor: actor, Action: "team-wave", Subject: team,
		Details: map[string]any{"team": team, "from": old, "to": waveName}}); err != nil {
		return err
	}
	return tx.Commit()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
