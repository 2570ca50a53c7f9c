// Package survey holds questionnaires and their versions, the validation of
// answers, interviews, and the scores and estimates computed from them.
package survey

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"minyi/core"
)

// Option is one answer code of a single- or multiple-choice question.
type Option struct {
	Code  int       `json:"code"`
	Label core.Text `json:"label"`
}

// Question types.
const (
	TypeSingle   = "single"   // one code from Options
	TypeMultiple = "multiple" // one or more codes from Options
	TypeNumber   = "number"   // a number, whole unless Decimals > 0
	TypeDate     = "date"     // a calendar date, YYYY-MM-DD
	TypeText     = "text"     // free text
	TypeDistrict = "district" // a district code of the city
)

// Sections of a questionnaire.
const (
	SectionScreener    = "screener"    // decides eligibility
	SectionIndicator   = "indicator"   // the scored livelihood indicators
	SectionDemographic = "demographic" // weighting and breakdown variables
	SectionOther       = "other"       // anything else asked (not scored)
)

// Question is one question of a questionnaire. Which of the optional fields
// apply depends on Type; the checker rejects the ones that do not, so that a
// misplaced range is an error rather than silently ignored.
type Question struct {
	ID        string     `json:"id"`
	Section   string     `json:"section"`
	Type      string     `json:"type"`
	Text      core.Text  `json:"text"`           // read aloud
	Note      core.Text  `json:"note,omitempty"` // for the interviewer only
	Options   []Option   `json:"options,omitempty"`
	Eligible  []int      `json:"eligible,omitempty"`  // screener: codes that let the interview go on
	Indicator *core.Text `json:"indicator,omitempty"` // short name of a scored indicator
	ShowIf    *Condition `json:"show_if,omitempty"`   // asked only when this holds
	Optional  bool       `json:"optional,omitempty"`  // may be left unanswered
	// Min and Max bound a number, a date, or (multiple) the count of codes chosen.
	Min       *Limit `json:"min,omitempty"`
	Max       *Limit `json:"max,omitempty"`
	Decimals  int    `json:"decimals,omitempty"`   // number: decimal places allowed
	MaxLength int    `json:"max_length,omitempty"` // text: characters allowed (default DefaultMaxLength)
	Exclusive []int  `json:"exclusive,omitempty"`  // multiple: codes that must stand alone (don't know, refused)
}

// DefaultMaxLength is the length limit of a text answer whose question sets none.
const DefaultMaxLength = 500

// Questionnaire is one version of a questionnaire definition.
type Questionnaire struct {
	ID           int64     `json:"-"`
	Name         string    `json:"name"`
	Version      int       `json:"version"` // 0 in an upload: the next version of Name
	Title        core.Text `json:"title"`
	Introduction core.Text `json:"introduction"`
	// Consent is the question read after the introduction, asking the
	// respondent to take part; empty: DefaultConsent.
	Consent   core.Text          `json:"consent,omitzero"`
	Closing   core.Text          `json:"closing"`
	Points    map[string]float64 `json:"points"` // answer code -> points, the score map of this version
	Satisfied []int              `json:"satisfied"`
	DontKnow  []int              `json:"dont_know"`
	Questions []Question         `json:"questions"`
}

//go:embed questionnaires/default.json
var defaultFS embed.FS

// Default returns the default questionnaire shipped with the program.
func Default() *Questionnaire {
	b, err := defaultFS.ReadFile("questionnaires/default.json")
	if err != nil {
		panic(err)
	}
	q, err := ParseQuestionnaire(b)
	if err != nil {
		panic("survey: default questionnaire: " + err.Error())
	}
	return q
}

// ParseQuestionnaire decodes and checks a definition. A bad one gives a
// *DefinitionError listing every problem found, each with its path.
func ParseQuestionnaire(b []byte) (*Questionnaire, error) {
	shapeProblems := checkShape(b)
	var q Questionnaire
	if err := json.Unmarshal(b, &q); err != nil {
		if len(shapeProblems) > 0 {
			return nil, &DefinitionError{Problems: shapeProblems}
		}
		// checkShape accepted it, so this is a value out of Go's range.
		return nil, &DefinitionError{Problems: []DefinitionProblem{{Path: "", Message: core.Text{
			ZH: "无法读取问卷定义：" + err.Error(), EN: "cannot read the definition: " + err.Error()}}}}
	}
	// Unknown fields alone leave a readable definition: check its meaning
	// too, so that one report lists everything.
	if ps := append(shapeProblems, q.check()...); len(ps) > 0 {
		sortProblems(ps)
		if len(ps) > maxProblems+1 {
			ps = append(ps[:maxProblems:maxProblems], DefinitionProblem{Message: core.Text{ZH: "错误太多，其余未列出", EN: "too many problems; the rest are not listed"}})
		}
		return nil, &DefinitionError{Problems: ps}
	}
	return &q, nil
}

// Question returns the question with the id, or nil.
func (q *Questionnaire) Question(id string) *Question {
	for i := range q.Questions {
		if q.Questions[i].ID == id {
			return &q.Questions[i]
		}
	}
	return nil
}

// Indicators returns the scored questions in order.
func (q *Questionnaire) Indicators() []Question {
	var out []Question
	for _, qu := range q.Questions {
		if qu.Section == SectionIndicator {
			out = append(out, qu)
		}
	}
	return out
}

// IndicatorIDs returns the ids of the scored questions in order.
func (q *Questionnaire) IndicatorIDs() []string {
	var ids []string
	for _, qu := range q.Indicators() {
		ids = append(ids, qu.ID)
	}
	return ids
}

// Design returns the estimation design of this version: its items and score map.
func (q *Questionnaire) Design() Design {
	pts := map[int]float64{}
	for k, v := range q.Points {
		c, _ := strconv.Atoi(k)
		pts[c] = v
	}
	return Design{Items: q.IndicatorIDs(), Points: pts, Satisfied: q.Satisfied, DontKnow: q.DontKnow}
}

// PointsOf returns the points of an answer code, ok=false when the code
// scores nothing (don't know, refused, or not on the scale).
func (q *Questionnaire) PointsOf(code int) (float64, bool) {
	p, ok := q.Points[strconv.Itoa(code)]
	return p, ok
}

// Answers maps question id to the answer as text: a code, several codes
// separated by commas (multiple), a number, a date, free text, or a
// district code.
type Answers map[string]string

// FieldError is a problem with one answer.
type FieldError struct {
	Question string
	Message  core.Text
}

// Validation is the outcome of checking a set of answers.
type Validation struct {
	Eligible bool         // false when a screener answer ends the interview
	Errors   []FieldError // one per question that is missing or has a bad answer
	// Answers are what may be stored: the answers of the questions that
	// were asked, in their normal form; nil when Errors is not empty. For a
	// screened-out respondent, the answers up to the deciding question.
	Answers Answers
	// Skipped lists the questions whose conditions left them out.
	Skipped []string
}

// Validate checks answers against the questionnaire, question by question
// in order, so that a condition sees the answers before it.
//
// A screener answer outside its eligible codes ends the interview: the rest
// is neither required nor checked. A question whose show_if condition does
// not hold is not asked: it needs no answer, and any answer given to it is
// dropped rather than stored, because the respondent was never asked it (an
// interviewer may have answered it before changing an earlier answer).
// Answers to ids that are no question are dropped too.
//
// When every answer is valid, a is rewritten in place to Validation.Answers,
// so that the caller stores exactly what was asked, normalised. A form posts
// each ticked box of a multiple question as its own field "<id>_<code>";
// those are folded into "<id>" = "code,code".
//
// districts is the set of valid district codes.
func (q *Questionnaire) Validate(a Answers, districts map[string]bool) Validation {
	in := q.foldMultiple(a)
	v := Validation{Eligible: true}
	clean := Answers{}
	shown := map[string]bool{}
	for i := range q.Questions {
		qu := &q.Questions[i]
		if qu.ShowIf != nil && !qu.ShowIf.holds(q, shown, clean) {
			v.Skipped = append(v.Skipped, qu.ID)
			continue
		}
		shown[qu.ID] = true
		raw := strings.TrimSpace(in[qu.ID])
		if raw == "" {
			if !qu.Optional {
				v.Errors = append(v.Errors, FieldError{qu.ID, core.Text{ZH: "请回答此题", EN: "please answer this question"}})
			}
			continue
		}
		norm, msg := qu.checkAnswer(raw, districts)
		if msg != nil {
			v.Errors = append(v.Errors, FieldError{qu.ID, *msg})
			continue
		}
		clean[qu.ID] = norm
		if qu.Section == SectionScreener && len(qu.Eligible) > 0 {
			code, _ := strconv.Atoi(norm)
			if !contains(qu.Eligible, code) {
				// Screened out: nothing after this question is asked.
				return Validation{Eligible: false, Answers: clean}
			}
		}
	}
	if len(v.Errors) == 0 {
		v.Answers = clean
		for k := range a {
			delete(a, k)
		}
		for k, val := range clean {
			a[k] = val
		}
	}
	return v
}

// foldMultiple returns a copy of a in which the "<id>_<code>" fields of
// multiple-choice questions are joined into "<id>".
func (q *Questionnaire) foldMultiple(a Answers) Answers {
	out := make(Answers, len(a))
	for k, v := range a {
		out[k] = v
	}
	for _, qu := range q.Questions {
		if qu.Type != TypeMultiple {
			continue
		}
		var codes []string
		if v := strings.TrimSpace(out[qu.ID]); v != "" {
			codes = append(codes, v)
		}
		for _, o := range qu.Options {
			k := qu.ID + "_" + strconv.Itoa(o.Code)
			if v, ok := out[k]; ok {
				delete(out, k)
				if strings.TrimSpace(v) != "" {
					codes = append(codes, strconv.Itoa(o.Code))
				}
			}
		}
		if len(codes) > 0 {
			out[qu.ID] = strings.Join(codes, ",")
		}
	}
	return out
}

func (qu Question) hasCode(c int) bool {
	for _, o := range qu.Options {
		if o.Code == c {
			return true
		}
	}
	return false
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// SortedCodes returns the points map's codes in order, for display.
func (q *Questionnaire) SortedCodes() []int {
	var cs []int
	for k := range q.Points {
		c, _ := strconv.Atoi(k)
		cs = append(cs, c)
	}
	sort.Ints(cs)
	return cs
}

// String names the version for people.
func (q *Questionnaire) String() string { return fmt.Sprintf("%s v%d", q.Name, q.Version) }

// DefaultConsent is the consent script of a questionnaire that sets none.
var DefaultConsent = core.Text{ZH: "请问您愿意接受这次访问吗？", EN: "Would you be willing to take part in this interview?"}

// ConsentScript is the question asking the respondent to take part.
func (q *Questionnaire) ConsentScript() core.Text {
	if q.Consent.ZH == "" && q.Consent.EN == "" {
		return DefaultConsent
	}
	return q.Consent
}
