// Package survey holds questionnaires and their versions, the validation of
// answers, interviews, and the scores and estimates computed from them.
package survey

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Text is a label in Chinese and English; Chinese is shown first.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en,omitempty"`
}

// Option is one answer code of a single-choice question.
type Option struct {
	Code  int  `json:"code"`
	Label Text `json:"label"`
}

// Question types.
const (
	TypeSingle   = "single"   // one code from Options
	TypeDistrict = "district" // a district code of the city
)

// Question is one question of a questionnaire.
type Question struct {
	ID        string   `json:"id"`
	Section   string   `json:"section"` // screener, indicator, demographic
	Type      string   `json:"type"`
	Text      Text     `json:"text"`           // read aloud
	Note      Text     `json:"note,omitempty"` // for the interviewer only
	Options   []Option `json:"options,omitempty"`
	Eligible  []int    `json:"eligible,omitempty"`  // screener: codes that let the interview go on
	Indicator *Text    `json:"indicator,omitempty"` // short name of a scored indicator
}

// Questionnaire is one version of a questionnaire definition.
type Questionnaire struct {
	ID           int64              `json:"-"`
	Name         string             `json:"name"`
	Version      int                `json:"version"`
	Title        Text               `json:"title"`
	Introduction Text               `json:"introduction"`
	Closing      Text               `json:"closing"`
	Points       map[string]float64 `json:"points"` // answer code -> points, the score map of this version
	Satisfied    []int              `json:"satisfied"`
	DontKnow     []int              `json:"dont_know"`
	Questions    []Question         `json:"questions"`
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

// ParseQuestionnaire decodes and checks a definition.
func ParseQuestionnaire(b []byte) (*Questionnaire, error) {
	var q Questionnaire
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, Errorf(EInvalid, "问卷定义不是有效的 JSON:%v", "questionnaire definition is not valid JSON: %v", err)
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	return &q, nil
}

func (q *Questionnaire) check() error {
	if q.Name == "" || q.Version < 1 {
		return Errorf(EInvalid, "问卷需要名称和版本号", "a questionnaire needs a name and a version")
	}
	seen := map[string]bool{}
	for i, qu := range q.Questions {
		if qu.ID == "" || seen[qu.ID] {
			return Errorf(EInvalid, "第 %d 题的编号为空或重复", "question %d has an empty or repeated id", i+1)
		}
		seen[qu.ID] = true
		if qu.Type != TypeSingle && qu.Type != TypeDistrict {
			return Errorf(EInvalid, "题目 %s 的类型 %q 不支持", "question %s: unsupported type %q", qu.ID, qu.Type)
		}
		if qu.Type == TypeSingle && len(qu.Options) == 0 {
			return Errorf(EInvalid, "题目 %s 没有选项", "question %s has no options", qu.ID)
		}
	}
	if len(q.Indicators()) == 0 {
		return Errorf(EInvalid, "问卷没有计分指标", "the questionnaire has no scored indicators")
	}
	for code := range q.Points {
		if _, err := strconv.Atoi(code); err != nil {
			return Errorf(EInvalid, "计分表的代码 %q 不是整数", "score map code %q is not an integer", code)
		}
	}
	return nil
}

// Indicators returns the scored questions in order.
func (q *Questionnaire) Indicators() []Question {
	var out []Question
	for _, qu := range q.Questions {
		if qu.Section == "indicator" {
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

// Answers maps question id to the answer code (district codes are strings,
// so every code is kept as text).
type Answers map[string]string

// FieldError is a problem with one answer.
type FieldError struct {
	Question string
	Message  Text
}

// Validation is the outcome of checking a set of answers.
type Validation struct {
	Eligible bool         // false when a screener answer ends the interview
	Errors   []FieldError // one per question that is missing or has a bad code
}

// Validate checks answers against the questionnaire. A screener answer that
// ends the interview makes the rest unnecessary; otherwise every question
// must have an allowed code. districts is the set of valid district codes.
func (q *Questionnaire) Validate(a Answers, districts map[string]bool) Validation {
	v := Validation{Eligible: true}
	for _, qu := range q.Questions {
		val, ok := a[qu.ID]
		if !ok || val == "" {
			v.Errors = append(v.Errors, FieldError{qu.ID, Text{"请回答此题", "please answer this question"}})
			continue
		}
		switch qu.Type {
		case TypeDistrict:
			if !districts[val] {
				v.Errors = append(v.Errors, FieldError{qu.ID, Text{"请选择一个本市的区县", "choose a district of the city"}})
			}
		case TypeSingle:
			code, err := strconv.Atoi(val)
			if err != nil || !qu.hasCode(code) {
				v.Errors = append(v.Errors, FieldError{qu.ID, Text{"答案不在允许的选项中", "the answer is not one of the options"}})
				continue
			}
			if qu.Section == "screener" && len(qu.Eligible) > 0 && !contains(qu.Eligible, code) {
				// Screened out: nothing after this question is asked.
				v.Eligible = false
				v.Errors = nil
				return v
			}
		}
	}
	return v
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

// Codes returns the indicator codes of a set of answers in item order.
func (q *Questionnaire) Codes(a Answers) []int {
	ids := q.IndicatorIDs()
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i], _ = strconv.Atoi(a[id])
	}
	return out
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
