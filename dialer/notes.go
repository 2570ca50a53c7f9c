package dialer

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qInsertNote = pg.Q("workspace/insert-note")
	qCaseNotes  = pg.Q("workspace/case-notes")
)

// Kinds of case note.
const (
	NoteCase        = "note"        // left on the case
	NoteAppointment = "appointment" // left with an appointment
	NoteCallback    = "callback"    // the respondent called back
)

// MaxNoteLen is the longest note, in characters.
const MaxNoteLen = 500

// Note is one note on a case, for the interviewers who call it next. Notes
// are only appended, and no export reads them.
type Note struct {
	ID        int64     `db:"id"`
	Kind      string    `db:"kind"`
	Body      string    `db:"body"`
	CreatedAt time.Time `db:"created_at"`
	Author    string    `db:"author"`
}

// KindLabel names the kind of note for people.
func (n Note) KindLabel() core.Text {
	switch n.Kind {
	case NoteAppointment:
		return core.Text{ZH: "预约备注", EN: "Appointment note"}
	case NoteCallback:
		return core.Text{ZH: "来电回拨", EN: "Called back"}
	}
	return core.Text{ZH: "备注", EN: "Note"}
}

// Notes lists a case's notes, oldest first.
func Notes(ctx context.Context, db sqlx.QueryerContext, caseID int64) ([]Note, error) {
	var ns []Note
	err := sqlx.SelectContext(ctx, db, &ns, qCaseNotes, caseID)
	return ns, err
}

// AddNote appends a note to a case the interviewer holds; anyone else is
// told the case does not exist.
func AddNote(ctx context.Context, db *sqlx.DB, caseID, userID int64, username, kind, body string) error {
	body = strings.TrimSpace(body)
	if body == "" {
		return core.Errorf(core.EInvalid, "备注不能为空", "the note is empty")
	}
	if utf8.RuneCountInString(body) > MaxNoteLen {
		return core.Errorf(core.EInvalid, "备注最多 %d 个字", "a note has at most %d characters", MaxNoteLen)
	}
	if kind != NoteCase && kind != NoteAppointment {
		return core.Errorf(core.EInvalid, "备注类型无效", "not a kind of note")
	}
	return withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		return insertNote(ctx, tx, caseID, userID, username, kind, body)
	})
}

func insertNote(ctx context.Context, tx *sqlx.Tx, caseID, userID int64, username, kind, body string) error {
	var id int64
	if err := tx.GetContext(ctx, &id, qInsertNote, caseID, userID, kind, body); err != nil {
		return err
	}
	return core.Audit(ctx, tx, core.AuditEntry{ActorID: userID, Actor: username, Action: "case-note", Subject: "case:" + strconv.FormatInt(caseID, 10),
		Details: map[string]any{"case": caseID, "note": id, "kind": kind, "body": body}})
}
