package dialer

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qInsertConsent  = pg.Q("workspace/insert-consent")
	qConsentsOfCase = pg.Q("workspace/consents-of-case")
)

// ConsentAction is the audit action of a respondent's answer to the
// questionnaire's consent script.
const ConsentAction = "participation-consent"

// Consent is a respondent's answer to the consent script, as the
// interviewer who read it recorded it.
type Consent struct {
	ID              int64     `db:"id"`
	Answer          string    `db:"answer"` // yes or no
	CreatedAt       time.Time `db:"created_at"`
	QuestionnaireID int64     `db:"questionnaire_id"`
	Interviewer     string    `db:"interviewer"`
}

// Agreed tells whether the respondent agreed.
func (c Consent) Agreed() bool { return c.Answer == "yes" }

// RecordConsent stores the respondent's answer to the consent script on a
// case the interviewer holds, with the questionnaire version it was read
// from, and audits it. A refusal codes the case as a refusal (AAPOR 2.11)
// in the same transaction, so the answer and the outcome cannot part.
func RecordConsent(ctx context.Context, db *sqlx.DB, caseID, userID int64, username string, agreed bool, now time.Time) error {
	return withHeldCase(ctx, db, caseID, userID, func(tx *sqlx.Tx, lc LockedCase) error {
		answer := "no"
		if agreed {
			answer = "yes"
		}
		var qid any
		if lc.QuestionnaireID != nil {
			qid = *lc.QuestionnaireID
		}
		var id int64
		if err := tx.GetContext(ctx, &id, qInsertConsent, caseID, qid, userID, answer); err != nil {
			return err
		}
		if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: userID, Actor: username, Action: ConsentAction, Subject: "case:" + strconv.FormatInt(caseID, 10),
			Details: map[string]any{"case": caseID, "consent": id, "answer": answer, "questionnaire": qid}}); err != nil {
			return err
		}
		if agreed {
			return nil
		}
		o, _ := OutcomeByCode("refusal")
		return recordAttempt(ctx, db, tx, lc, userID, transition{Outcome: o.Code, AAPOR: o.AAPOR, Status: "final", Final: o.AAPOR}, now)
	})
}

// Consents lists a case's answers to the consent script, oldest first.
func Consents(ctx context.Context, db sqlx.QueryerContext, caseID int64) ([]Consent, error) {
	var cs []Consent
	err := sqlx.SelectContext(ctx, db, &cs, qConsentsOfCase, caseID)
	return cs, err
}
