package door

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
	"minyi/survey"
)

// Paper forms at the door. A field interviewer who interviews on paper
// writes on the form the number printed for that household on their visit
// sheet. Numbers are issued by the system when households are assigned,
// one per household for its interviewer, and a form is keyed only against
// a number issued and not yet used: a form made up at a desk has no number
// to be keyed under, and a keyed form is the interview of its household by
// its interviewer.

var (
	qFieldWithoutNumber = pg.Q("door/households-without-form-number")
	qFieldIssueNumbers  = pg.Q("door/issue-form-numbers")
	qFieldIssuedForm    = pg.Q("door/issued-form")
	qFieldLockHousehold = pg.Q("door/lock-household")
	qFieldOnPaper       = pg.Q("door/interviewed-on-paper")
	qFieldVisitSheet    = pg.Q("door/visit-sheet")
)

// formAlphabet is Crockford's base 32: digits and letters without I, L, O
// and U, which are read as 1, 1, 0 or not at all.
const formAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// formDigits is how many characters a number has: 60 random bits, so that
// of the thousands issued none can be hit by guessing.
const formDigits = 12

// newFormNumber is a fresh random number, such as 7KQM-3XPD-9R2T.
func newFormNumber() string {
	var b [formDigits]byte
	rand.Read(b[:])
	var s strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(formAlphabet[x%32])
	}
	return s.String()
}

// NormalizeFormNumber reads a form number as an operator may type it:
// lower or upper case, with or without the dashes, spaces anywhere, and I,
// L and O for 1, 1 and 0. ok is false when it cannot be a number.
func NormalizeFormNumber(s string) (string, bool) {
	var out strings.Builder
	n := 0
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'I', 'L':
			r = '1'
		case 'O':
			r = '0'
		}
		if !strings.ContainsRune(formAlphabet, r) || n == formDigits {
			return "", false
		}
		if n > 0 && n%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteRune(r)
		n++
	}
	return out.String(), n == formDigits
}

// issueFormNumbers gives every unfinished household of the wave assigned
// to the interviewer a form number of theirs, if it has none, inside the
// assignment's transaction, and returns how many it issued.
func issueFormNumbers(ctx context.Context, tx *sqlx.Tx, waveID, interviewerID, byID int64) (int, error) {
	var cases []int64
	if err := tx.SelectContext(ctx, &cases, qFieldWithoutNumber, waveID, interviewerID); err != nil {
		return 0, fmt.Errorf("door: households without a form number: %w", err)
	}
	if len(cases) == 0 {
		return 0, nil
	}
	numbers := make([]string, len(cases))
	for i := range numbers {
		numbers[i] = newFormNumber()
	}
	var by any
	if byID > 0 {
		by = byID
	}
	if _, err := tx.ExecContext(ctx, qFieldIssueNumbers, pq.StringArray(numbers), waveID, pq.Int64Array(cases), interviewerID, by); err != nil {
		return 0, fmt.Errorf("door: issue form numbers: %w", err)
	}
	return len(cases), nil
}

// IssuedForm is an issued paper form number with the household and field
// interviewer it was issued to; no address, since operators keying forms
// see it.
type IssuedForm struct {
	Number        string `db:"form_number"`
	WaveID        int64  `db:"wave_id"`
	WaveName      string `db:"wave_name"`
	CaseID        int64  `db:"case_id"`
	InterviewerID int64  `db:"interviewer_id"`
	Interviewer   string `db:"interviewer"`
	District      string `db:"district_code"`
	DistrictName  string `db:"district_name"`
	Street        string `db:"street"`
	Community     string `db:"community"`
	HouseholdID   string `db:"household_id"`
	PSU           string `db:"psu"`
	Status        string `db:"status"`
	FinalCode     string `db:"final_code"`
}

// errNotIssued is the answer to a number no visit sheet ever carried.
func errNotIssued(typed string) error {
	return core.Errorf(core.EInvalid, "问卷编号 %s 没有发放过：纸质问卷只能按走访单上印的编号录入，请核对问卷上的编号",
		"form number %s was never issued: paper forms are keyed only under the numbers printed on visit sheets; check the number on the form", quoteTyped(typed))
}

// quoteTyped quotes what an operator typed for a message, cut short.
func quoteTyped(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

// LookupForm finds the issued form of a number as an operator typed it;
// a number that was never issued is an EInvalid error that says so.
func LookupForm(ctx context.Context, db sqlx.QueryerContext, typed string) (*IssuedForm, error) {
	number, ok := NormalizeFormNumber(typed)
	if !ok {
		return nil, errNotIssued(typed)
	}
	var f IssuedForm
	if err := sqlx.GetContext(ctx, db, &f, qFieldIssuedForm, number); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotIssued(typed)
		}
		return nil, fmt.Errorf("door: issued form: %w", err)
	}
	return &f, nil
}

// keying is the form as the survey package keys it: its household is
// finished as interviewed when its interview is stored.
func (f *IssuedForm) keying() survey.PaperKeying {
	return survey.PaperKeying{Number: f.Number, WaveID: f.WaveID, Wave: f.WaveName, CaseID: f.CaseID,
		InterviewerID: f.InterviewerID, Interviewer: f.Interviewer, PSU: f.PSU,
		Close: func(ctx context.Context, tx *sqlx.Tx) error {
			var h struct {
				Status    string `db:"status"`
				FinalCode string `db:"final_code"`
			}
			if err := tx.GetContext(ctx, &h, qFieldLockHousehold, f.CaseID); err != nil {
				return fmt.Errorf("door: lock household: %w", err)
			}
			if h.Status == "final" {
				return f.finished(h.FinalCode)
			}
			if _, err := tx.ExecContext(ctx, qFieldOnPaper, f.CaseID, f.InterviewerID); err != nil {
				return fmt.Errorf("door: household interviewed on paper: %w", err)
			}
			return nil
		}}
}

// finished is the answer to keying a form of a household that has ended.
func (f *IssuedForm) finished(code string) error {
	return core.Errorf(core.EConflict, "问卷 %s 的住户已经结束（%s），不能再录入；如确有这次访问，请交督导核实",
		"the household of form %s is finished already (%s): the form cannot be keyed; if the interview did take place, take it to a supervisor",
		f.Number, code)
}

// KeyPaperForm stores one operator's keying of the paper form with the
// number typed, which must have been issued; see survey.KeyPaperForm.
func KeyPaperForm(ctx context.Context, db *sqlx.DB, typed string, op survey.Editor, answers survey.Answers, districts map[string]bool) (survey.PaperResult, *survey.Validation, error) {
	f, err := LookupForm(ctx, db, typed)
	if err != nil {
		return survey.PaperResult{}, nil, err
	}
	if f.Status == "final" {
		// A household that has ended takes no more keyings; the form of
		// its own interview says so itself (already stored).
		status, err := survey.PaperFormStatus(ctx, db, f.WaveID, f.Number)
		if err != nil {
			return survey.PaperResult{}, nil, err
		}
		if status != survey.PaperAccepted {
			return survey.PaperResult{}, nil, f.finished(f.FinalCode)
		}
	}
	return survey.KeyPaperForm(ctx, db, f.keying(), op, answers, districts)
}

// ResolvePaperForm stores a form whose keyings differ as a supervisor
// decided (see survey.ResolvePaperForm), as the interview of the household
// and field interviewer its number was issued to. A form keyed before
// numbers were issued is stored with neither.
func ResolvePaperForm(ctx context.Context, db *sqlx.DB, id int64, by survey.Editor, chosen map[string]string, districts map[string]bool) (int64, *survey.Validation, error) {
	pf, err := survey.GetPaperForm(ctx, db, id)
	if err != nil {
		return 0, nil, err
	}
	k := survey.PaperKeying{Number: pf.Number, WaveID: pf.WaveID, Wave: pf.WaveName}
	if f, err := LookupForm(ctx, db, pf.Number); err == nil {
		k = f.keying()
	} else if core.ErrorCode(err) != core.EInvalid {
		return 0, nil, err
	}
	return survey.ResolvePaperForm(ctx, db, id, k, by, chosen, districts)
}

// SheetHousehold is one household of a visit sheet.
type SheetHousehold struct {
	CaseID       int64  `db:"case_id"`
	WaveName     string `db:"wave_name"`
	MaxVisits    int    `db:"max_visits"`
	District     string `db:"district_code"`
	DistrictName string `db:"district_name"`
	Street       string `db:"street"`
	Community    string `db:"community"`
	HouseholdID  string `db:"household_id"`
	Address      string `db:"address"`
	Visits       int    `db:"attempts"`
	FormNumber   string `db:"form_number"`
}

// VisitSheet lists a field interviewer's unfinished households, of one
// wave or (waveID 0) of all, in walking order, with the paper form number
// issued to them for each: the sheet they take into the field.
func VisitSheet(ctx context.Context, db sqlx.QueryerContext, interviewerID, waveID int64) ([]SheetHousehold, error) {
	var out []SheetHousehold
	if err := sqlx.SelectContext(ctx, db, &out, qFieldVisitSheet, interviewerID, waveID); err != nil {
		return nil, fmt.Errorf("door: visit sheet: %w", err)
	}
	return out, nil
}
