package survey

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qLockQuestionnaireName = pg.Q("questionnaires/lock-name")
	qQuestionnaireByNameV  = pg.Q("questionnaires/by-name-version")
	qLatestQuestionnaire   = pg.Q("questionnaires/latest")
	qInsertQuestionnaireBy = pg.Q("questionnaires/insert")
	qListQuestionnaires    = pg.Q("questionnaires/list")
	qQuestionnaireInfo     = pg.Q("questionnaires/info")
	qQuestionnaireUses     = pg.Q("questionnaires/interview-count")
)

// QuestionnaireInfo describes a stored version for the admin pages.
type QuestionnaireInfo struct {
	ID         int64     `db:"id"`
	Name       string    `db:"name"`
	Version    int       `db:"version"`
	TitleZH    string    `db:"title_zh"`
	TitleEN    string    `db:"title_en"`
	CreatedAt  time.Time `db:"created_at"`
	CreatedBy  string    `db:"created_by"` // "" for versions stored by the program
	Interviews int       `db:"interviews"`
	Waves      int       `db:"waves"`
}

// Title is the version's title.
func (i QuestionnaireInfo) Title() core.Text { return core.Text{ZH: i.TitleZH, EN: i.TitleEN} }

// Frozen reports whether the version has collected interviews. Every stored
// version is immutable; a frozen one is also what some results were
// collected and scored under.
func (i QuestionnaireInfo) Frozen() bool { return i.Interviews > 0 }

// maxListedQuestionnaires bounds the admin list; an agency keeps a handful
// of questionnaires with a few versions each.
const maxListedQuestionnaires = 1000

// ListQuestionnaires lists the stored versions, newest version first within
// each name.
func ListQuestionnaires(ctx context.Context, db sqlx.QueryerContext) ([]QuestionnaireInfo, error) {
	var out []QuestionnaireInfo
	if err := sqlx.SelectContext(ctx, db, &out, qListQuestionnaires, maxListedQuestionnaires); err != nil {
		return nil, fmt.Errorf("survey: list questionnaires: %w", err)
	}
	return out, nil
}

// GetQuestionnaireInfo describes one stored version.
func GetQuestionnaireInfo(ctx context.Context, db sqlx.QueryerContext, id int64) (QuestionnaireInfo, error) {
	var info QuestionnaireInfo
	if err := sqlx.GetContext(ctx, db, &info, qQuestionnaireInfo, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return info, core.Errorf(core.ENotFound, "没有编号为 %d 的问卷", "no questionnaire with id %d", id)
		}
		return info, fmt.Errorf("survey: questionnaire info: %w", err)
	}
	return info, nil
}

// Canonical is the stored form of a definition: indented JSON with fields
// in a fixed order, the same bytes for the same content however the file
// was written.
func (q *Questionnaire) Canonical() []byte {
	b, err := json.MarshalIndent(q, "", "  ")
	if err != nil {
		// Every value of a checked definition marshals.
		panic("survey: marshal questionnaire: " + err.Error())
	}
	return append(b, '\n')
}

// sameContent compares two definitions apart from their version numbers.
func sameContent(a, b *Questionnaire) bool {
	ca, cb := *a, *b
	ca.Version, cb.Version = 0, 0
	return bytes.Equal(ca.Canonical(), cb.Canonical())
}

// UploadResult says what an upload did.
type UploadResult struct {
	Questionnaire *Questionnaire // the stored version, with its id and version
	Created       bool           // false: an identical version existed, nothing stored
}

// UploadQuestionnaire stores a checked definition as a version. Stored
// versions never change: interviews and waves refer to them, and their score
// maps score those interviews. So:
//   - version 0 (or none) stores the next version of the name, unless the
//     newest version has the same content, which is then returned as is;
//   - an explicit version that exists is returned as is when the content is
//     the same, and refused (core.EConflict) when it differs;
//   - an explicit version that does not exist is stored.
//
// userID is the uploader (0: the program itself).
func UploadQuestionnaire(ctx context.Context, db *sqlx.DB, q *Questionnaire, userID int64) (UploadResult, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return UploadResult{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qLockQuestionnaireName, q.Name); err != nil {
		return UploadResult{}, fmt.Errorf("survey: lock questionnaire: %w", err)
	}
	nq := *q
	if nq.Version == 0 {
		latest, found, err := storedVersion(ctx, tx, qLatestQuestionnaire, nq.Name)
		if err != nil {
			return UploadResult{}, err
		}
		if found && sameContent(latest, &nq) {
			return UploadResult{Questionnaire: latest}, nil
		}
		nq.Version = 1
		if found {
			nq.Version = latest.Version + 1
		}
	} else {
		old, found, err := storedVersion(ctx, tx, qQuestionnaireByNameV, nq.Name, nq.Version)
		if err != nil {
			return UploadResult{}, err
		}
		if found {
			if sameContent(old, &nq) {
				return UploadResult{Questionnaire: old}, nil
			}
			var n int
			if err := tx.GetContext(ctx, &n, qQuestionnaireUses, old.ID); err != nil {
				return UploadResult{}, fmt.Errorf("survey: count interviews: %w", err)
			}
			if n > 0 {
				return UploadResult{}, core.Errorf(core.EConflict,
					"问卷 %s 第 %d 版已收集 %d 份访问，已冻结，不能修改；请把新的内容作为新版本上传（去掉 version 或设为 0，系统会编为下一版）",
					"questionnaire %s version %d has collected %d interviews and is frozen; upload the changed definition as a new version (leave out version or set it to 0 to get the next number)",
					nq.Name, nq.Version, n)
			}
			return UploadResult{}, core.Errorf(core.EConflict,
				"问卷 %s 第 %d 版已存在且内容不同；已存储的版本不能修改，请作为新版本上传（去掉 version 或设为 0，系统会编为下一版）",
				"questionnaire %s version %d already exists with different content; stored versions never change: upload it as a new version (leave out version or set it to 0 to get the next number)",
				nq.Name, nq.Version)
		}
	}
	var id int64
	if err := tx.GetContext(ctx, &id, qInsertQuestionnaireBy, nq.Name, nq.Version, string(nq.Canonical()), nullInt(userID)); err != nil {
		return UploadResult{}, fmt.Errorf("survey: store questionnaire: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return UploadResult{}, fmt.Errorf("survey: store questionnaire: %w", err)
	}
	nq.ID = id
	return UploadResult{Questionnaire: &nq, Created: true}, nil
}

// storedVersion loads one version by the query; found is false when there
// is none, which for an upload is the ordinary case of a new version.
func storedVersion(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (q *Questionnaire, found bool, err error) {
	var row struct {
		ID         int64  `db:"id"`
		Definition []byte `db:"definition"`
	}
	if err := tx.GetContext(ctx, &row, query, args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("survey: load questionnaire: %w", err)
	}
	q, err = ParseQuestionnaire(row.Definition)
	if err != nil {
		return nil, false, fmt.Errorf("survey: stored questionnaire %d: %w", row.ID, err)
	}
	q.ID = row.ID
	return q, true, nil
}
