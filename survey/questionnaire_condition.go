package survey

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"minyi/core"
)

// Condition decides whether a question is asked. It is data, never code: a
// test on one earlier question's answer, or all/any/not of conditions.
// Exactly one form is used in each object:
//
//	{"question": "s1", "in": [1, 2]}        the answer is one of the codes (multiple: any chosen)
//	{"question": "age", "min": 18, "max": 59} a number or date answer within the bounds
//	{"all": [...]}  {"any": [...]}  {"not": {...}}
//
// A test on a question that was not asked or not answered is false.
type Condition struct {
	Question string      `json:"question,omitempty"`
	In       []Value     `json:"in,omitempty"`
	Min      *Limit      `json:"min,omitempty"`
	Max      *Limit      `json:"max,omitempty"`
	All      []Condition `json:"all,omitempty"`
	Any      []Condition `json:"any,omitempty"`
	Not      *Condition  `json:"not,omitempty"`
}

// maxConditionDepth bounds nesting: deeper trees are not a real need and
// would only cost stack.
const maxConditionDepth = 8

// Value is an answer value in a condition: a code (JSON number) or a
// district code (JSON number or string), kept as text like the answers.
type Value string

// UnmarshalJSON accepts a whole number or a string.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = Value(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*v = Value(strconv.FormatInt(n, 10))
	return nil
}

// MarshalJSON writes codes as numbers and anything else as a string.
func (v Value) MarshalJSON() ([]byte, error) {
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(v) {
		return []byte(string(v)), nil
	}
	return json.Marshal(string(v))
}

// holds evaluates the condition on the answers given so far; shown holds
// the questions asked so far. Only checked definitions are evaluated, so
// every referenced question exists and comes earlier.
func (c *Condition) holds(q *Questionnaire, shown map[string]bool, ans Answers) bool {
	switch {
	case len(c.All) > 0:
		for i := range c.All {
			if !c.All[i].holds(q, shown, ans) {
				return false
			}
		}
		return true
	case len(c.Any) > 0:
		for i := range c.Any {
			if c.Any[i].holds(q, shown, ans) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !c.Not.holds(q, shown, ans)
	}
	a, ok := ans[c.Question]
	if !shown[c.Question] || !ok || a == "" {
		return false
	}
	if len(c.In) > 0 {
		for _, part := range strings.Split(a, ",") {
			for _, v := range c.In {
				if part == string(v) {
					return true
				}
			}
		}
		return false
	}
	ref := q.Question(c.Question)
	if ref == nil {
		return false
	}
	if ref.Type == TypeDate {
		d, err := time.Parse(dateLayout, a)
		if err != nil {
			return false
		}
		if c.Min != nil {
			if lo, err := time.Parse(dateLayout, c.Min.Date); err == nil && d.Before(lo) {
				return false
			}
		}
		if c.Max != nil {
			if hi, err := time.Parse(dateLayout, c.Max.Date); err == nil && d.After(hi) {
				return false
			}
		}
		return true
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil {
		return false
	}
	return (c.Min == nil || f >= c.Min.Num) && (c.Max == nil || f <= c.Max.Num)
}

// Shown reports whether question id is asked given the answers, for
// callers that walk a form one question at a time.
func (q *Questionnaire) Shown(id string, a Answers) bool {
	shown := map[string]bool{}
	for i := range q.Questions {
		qu := &q.Questions[i]
		if qu.ShowIf == nil || qu.ShowIf.holds(q, shown, a) {
			shown[qu.ID] = true
		}
		if qu.ID == id {
			return shown[id]
		}
	}
	return false
}

// Describe says the condition in words, for the interviewer and the preview.
func (c *Condition) Describe() core.Text {
	join := func(cs []Condition, zh, en string) core.Text {
		var zs, es []string
		for i := range cs {
			t := cs[i].Describe()
			if len(cs[i].All)+len(cs[i].Any) > 0 {
				t = core.Text{ZH: "（" + t.ZH + "）", EN: "(" + t.EN + ")"}
			}
			zs, es = append(zs, t.ZH), append(es, t.EN)
		}
		return core.Text{ZH: strings.Join(zs, zh), EN: strings.Join(es, en)}
	}
	switch {
	case len(c.All) > 0:
		return join(c.All, " 且 ", " and ")
	case len(c.Any) > 0:
		return join(c.Any, " 或 ", " or ")
	case c.Not != nil:
		t := c.Not.Describe()
		return core.Text{ZH: "并非（" + t.ZH + "）", EN: "not (" + t.EN + ")"}
	case len(c.In) > 0:
		vs := make([]string, len(c.In))
		for i, v := range c.In {
			vs[i] = string(v)
		}
		return core.Text{ZH: c.Question + " 的回答为 " + strings.Join(vs, "、"), EN: c.Question + " is " + strings.Join(vs, " or ")}
	}
	var zs, es []string
	if c.Min != nil {
		zs, es = append(zs, c.Question+" ≥ "+c.Min.String()), append(es, c.Question+" ≥ "+c.Min.String())
	}
	if c.Max != nil {
		zs, es = append(zs, c.Question+" ≤ "+c.Max.String()), append(es, c.Question+" ≤ "+c.Max.String())
	}
	return core.Text{ZH: strings.Join(zs, " 且 "), EN: strings.Join(es, " and ")}
}

// ShowIfJSON is the condition as JSON, for a script that hides questions
// as answers change; "" when the question is always asked.
func (qu Question) ShowIfJSON() string {
	if qu.ShowIf == nil {
		return ""
	}
	b, err := json.Marshal(qu.ShowIf)
	if err != nil {
		return ""
	}
	return string(b)
}
