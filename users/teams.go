package users

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qSetTeam      = pg.Q("users/set-team")
	qSetAutoNext  = pg.Q("users/set-auto-next")
	qInterviewers = pg.Q("users/interviewers")
)

// MaxTeamLen is the longest group name, in characters.
const MaxTeamLen = 20

// Member is an active interviewer and their group.
type Member struct {
	ID          int64  `db:"id"`
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
	Team        string `db:"team"`
}

// Interviewers lists the active telephone interviewers by group.
func Interviewers(ctx context.Context, db sqlx.QueryerContext) ([]Member, error) {
	var ms []Member
	err := sqlx.SelectContext(ctx, db, &ms, qInterviewers)
	return ms, err
}

// CleanTeam checks a group name: empty is the default group; others are at
// most MaxTeamLen characters with no control characters.
func CleanTeam(team string) (string, error) {
	team = strings.TrimSpace(team)
	if utf8.RuneCountInString(team) > MaxTeamLen {
		return "", core.Errorf(core.EInvalid, "组名最多 %d 个字", "a group name has at most %d characters", MaxTeamLen)
	}
	for _, r := range team {
		if r < ' ' || r == 0x7f {
			return "", core.Errorf(core.EInvalid, "组名含有不可见字符", "the group name has invisible characters")
		}
	}
	return team, nil
}

// SetTeam puts an interviewer in a group; the wave they call is that
// group's from their next request on (within the second the calling waves
// are cached).
func SetTeam(ctx context.Context, db *sqlx.DB, by *User, userID int64, team string) error {
	team, err := CleanTeam(team)
	if err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var r struct {
		Username string `db:"username"`
		Old      string `db:"old"`
	}
	err = tx.GetContext(ctx, &r, qSetTeam, userID, team)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Errorf(core.ENotFound, "没有这个访员", "no such interviewer")
	}
	if err != nil {
		return err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "user-team", Subject: r.Username,
		Details: map[string]any{"from": r.Old, "to": team}}); err != nil {
		return err
	}
	return tx.Commit()
}

// SetAutoNext is the interviewer's own choice whether the next case opens
// once an outcome is recorded.
func SetAutoNext(ctx context.Context, db *sqlx.DB, u *User, on bool) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qSetAutoNext, u.ID, on); err != nil {
		return err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "user-auto-next", Subject: u.Username,
		Details: map[string]any{"on": on}}); err != nil {
		return err
	}
	return tx.Commit()
}
