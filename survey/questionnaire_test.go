package survey

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"minyi/core"
)

func TestDefaultQuestionnaire(t *testing.T) {
	q := Default()
	if q.Version != 2 {
		t.Fatalf("default version %d, want 2", q.Version)
	}
	var ids []string
	for _, qu := range q.Questions {
		ids = append(ids, qu.ID)
	}
	want := "s1 s2 district q01 q02 q03 q04 q05 q06 q07 q08 q09 q10 q11 q12 q13 sex age_group urban"
	if got := strings.Join(ids, " "); got != want {
		t.Fatalf("default questions\n got %s\nwant %s", got, want)
	}
	if len(q.IndicatorIDs()) != 13 || q.Introduction.ZH == "" || q.Closing.ZH == "" {
		t.Fatal("default lacks indicators, introduction or closing")
	}
	// The stored form reads back to the same definition.
	q2, err := ParseQuestionnaire(q.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q, q2) {
		t.Fatal("canonical form does not read back the same")
	}
	// Version 1 (without urban), as stored by earlier releases, stays valid.
	v1 := *q
	v1.Version, v1.Questions = 1, q.Questions[:len(q.Questions)-1]
	b, _ := json.Marshal(&v1)
	if _, err := ParseQuestionnaire(b); err != nil {
		t.Fatalf("version 1: %v", err)
	}
}

// def builds a definition from the default with the questions replaced.
func def(t *testing.T, questions string) []byte {
	t.Helper()
	return []byte(`{"name":"t","version":1,"title":{"zh":"测试","en":"test"},
	"introduction":{"zh":"您好"},"closing":{"zh":"谢谢"},
	"points":{"1":100,"2":80,"3":60,"4":40,"5":20},"satisfied":[1,2],"dont_know":[8,9],
	"questions":[` + questions + `]}`)
}

const (
	qDistrict  = `{"id":"district","section":"screener","type":"district","text":{"zh":"区县"}}`
	qIndicator = `{"id":"q01","section":"indicator","type":"single","text":{"zh":"满意吗"},"indicator":{"zh":"收入"},
		"options":[{"code":1,"label":{"zh":"很满意"}},{"code":2,"label":{"zh":"满意"}},{"code":3,"label":{"zh":"一般"}},
		{"code":4,"label":{"zh":"不满意"}},{"code":5,"label":{"zh":"很不满意"}},{"code":8,"label":{"zh":"不清楚"}},{"code":9,"label":{"zh":"拒答"}}]}`
)

func problemsOf(t *testing.T, b []byte) []string {
	t.Helper()
	_, err := ParseQuestionnaire(b)
	if err == nil {
		return nil
	}
	de, ok := AsDefinitionError(err)
	if !ok {
		t.Fatalf("error %T %v, want *DefinitionError", err, err)
	}
	var out []string
	for _, p := range de.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestDefinitionErrorsListEveryProblem(t *testing.T) {
	b := def(t, qDistrict+`,`+qIndicator+`,
	{"id":"q02","section":"indicator","type":"single","text":{"zh":"满意吗"},"indicator":{"zh":"就业"},
	 "options":[{"code":1,"label":{"zh":"很满意"}},{"code":2,"label":{"zh":""}},{"code":7,"label":{"zh":"x"}},{"code":7,"label":{"zh":"y"}}]},
	{"id":"q01","section":"other","type":"slider","text":{"zh":"重复"}},
	{"id":"n","section":"other","type":"number","text":{"zh":"几个"},"min":10,"max":2,"show_if":{"question":"later","in":[1]}},
	{"id":"later","section":"other","type":"single","text":{"zh":"后面"},"options":[{"code":1,"label":{"zh":"是"}}],
	 "show_if":{"any":[{"question":"nope","in":[1]},{"question":"q01","in":[6]},{"question":"n","min":"2020-01-01"}]}},
	{"id":"d","section":"other","type":"date","text":{"zh":"日期"},"min":"2024-13-01"},
	{"id":"s9","section":"screener","type":"single","text":{"zh":"晚了"},"options":[{"code":1,"label":{"zh":"是"}}],"eligible":[2]}`)
	got := problemsOf(t, b)
	want := []string{
		"questions[2].options: 缺少计分表中的代码 3、4、5 / lacks the scored codes 3, 4, 5",
		"questions[2].options[1].label.zh: 选项标签为空 / the option label is empty",
		"questions[2].options[2].code: 代码 7 既不在计分表中",
		"questions[2].options[3].code: 重复的代码 7（与 options[2] 相同） / duplicate code 7 (same as options[2])",
		"questions[3].id: 重复的编号 \"q01\"",
		"questions[3].type: 未知的题型 \"slider\"",
		"questions[4].min: 最小值 10 大于最大值 2",
		"questions[4].show_if.question: 条件只能引用前面的题目",
		"questions[5].show_if.any[0].question: 条件引用了不存在的题目 \"nope\"",
		"questions[5].show_if.any[1].in[0]: \"6\" 不是题目 q01 的选项代码",
		"questions[5].show_if.any[2].min: 数字题的条件范围须是数字",
		"questions[6].min: 日期题的范围须是",
		"questions[7].eligible[0]: 代码 2 不是本题的选项",
		"questions[7].section: 甄别题须排在其他题之前",
	}
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("missing problem %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), joined)
	}
	// The error is a core.EInvalid domain error for the web and the command line.
	_, err := ParseQuestionnaire(b)
	if core.ErrorCode(err) != core.EInvalid {
		t.Errorf("code %s, want invalid", core.ErrorCode(err))
	}
}

func TestDefinitionShapeProblems(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"syntax", "{\n \"name\": \"x\",\n \"version\": 1,,\n}", []string{"第 3 行", "line 3"}},
		{"not an object", `[1,2]`, []string{"须是一个 JSON 对象"}},
		{"trailing", `{} {}`, []string{"more after the end"}},
		{"unknown fields and kinds", string(def(t, qDistrict+`,`+strings.Replace(qIndicator, `"section"`, `"show-if":1,"section"`, 1)+
			`,{"id":"x","section":"other","type":"text","text":{"zh":"文字","fr":"texte"},"max_length":"long","optional":"yes"}`)),
			[]string{`questions[1].show-if: 未知的字段 "show-if"`, `questions[2].text.fr: 未知的字段`, "questions[2].max_length: 应为整数", "questions[2].optional: 应为 true 或 false"}},
		{"score map", strings.Replace(string(def(t, qDistrict+`,`+qIndicator)), `"5":20`, `"5":20,"x":3,"6":-1`, 1),
			[]string{`points["x"]: 计分表的代码须是`, `points["6"]: 分值须在 0 到 100 之间`}},
		{"no district, no indicator", string(def(t, `{"id":"a","section":"other","type":"text","text":{"zh":"文字"}}`)),
			[]string{"questions: 问卷没有计分指标", `questions: 需要一道编号为 district`}},
		{"wrong fields for the type", string(def(t, qDistrict+`,`+qIndicator+`,
			{"id":"t","section":"other","type":"text","text":{"zh":"文字"},"min":1,"options":[{"code":1,"label":{"zh":"a"}}],"decimals":2},
			{"id":"m","section":"other","type":"multiple","text":{"zh":"多选"},"options":[{"code":1,"label":{"zh":"a"}}],"max":3,"exclusive":[4]},
			{"id":"sex","section":"demographic","type":"single","text":{"zh":"性别"},"options":[{"code":1,"label":{"zh":"男"}},{"code":3,"label":{"zh":"其他"}}]}`)),
			[]string{"questions[2]: 题型 text 没有 min/max", "questions[2].options: 只有单选题和多选题有选项", "questions[2].decimals:",
				"questions[3].max: 多选题的 max 是选择个数", "questions[3].exclusive[0]: 代码 4 不是本题的选项",
				"questions[4].options[1].code: sex 的代码须与普查边际一致"}},
		{"condition forms", string(def(t, qDistrict+`,`+qIndicator+`,
			{"id":"a","section":"other","type":"text","text":{"zh":"文字"},"show_if":{"question":"q01","in":[1],"all":[{"question":"q01","in":[1]}]}},
			{"id":"b","section":"other","type":"text","text":{"zh":"文字"},"show_if":{"question":"a","in":["x"]}},
			{"id":"c","section":"other","type":"text","text":{"zh":"文字"},"show_if":{"question":"q01"}},
			{"id":"e","section":"other","type":"text","text":{"zh":"文字"},"show_if":{"not":{"not":{"not":{"not":{"not":{"not":{"not":{"not":{"question":"q01","in":[1]}}}}}}}}}}`)),
			[]string{"questions[2].show_if: 条件须且只须是以下之一", "questions[3].show_if.in: in 只用于单选、多选和区县题", "questions[4].show_if: 条件须有 in", "条件嵌套超过 8 层"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(problemsOf(t, []byte(c.doc)), "\n")
			if got == "" {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
		})
	}
}

// typed is a questionnaire with one question of every type.
func typed(t *testing.T) *Questionnaire {
	t.Helper()
	q, err := ParseQuestionnaire(def(t, `
	{"id":"s1","section":"screener","type":"single","text":{"zh":"住满6个月?"},"options":[{"code":1,"label":{"zh":"是"}},{"code":2,"label":{"zh":"否"}}],"eligible":[1]},
	`+qDistrict+`,`+qIndicator+`,
	{"id":"m","section":"other","type":"multiple","text":{"zh":"哪些"},"min":1,"max":2,"exclusive":[9],
	 "options":[{"code":1,"label":{"zh":"甲"}},{"code":2,"label":{"zh":"乙"}},{"code":3,"label":{"zh":"丙"}},{"code":9,"label":{"zh":"拒答","en":"refused"}}]},
	{"id":"n","section":"other","type":"number","text":{"zh":"几口人"},"min":1,"max":20},
	{"id":"x","section":"other","type":"number","text":{"zh":"面积"},"min":0,"decimals":1},
	{"id":"d","section":"other","type":"date","text":{"zh":"哪天"},"min":"2020-01-01","max":"2025-12-31"},
	{"id":"c","section":"other","type":"text","text":{"zh":"意见"},"max_length":5,"optional":true}`))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

var districts = map[string]bool{"500101": true, "500102": true}

func base() Answers {
	return Answers{"s1": "1", "district": "500101", "q01": "2", "m": "1", "n": "3", "x": "12.5", "d": "2024-05-01"}
}

func TestValidateEveryType(t *testing.T) {
	q := typed(t)
	cases := []struct {
		name    string
		change  Answers // "" deletes
		field   string  // the question with an error, "" for none
		message string
		stored  Answers // expected normal forms
	}{
		{"all valid", nil, "", "", Answers{"m": "1", "n": "3", "x": "12.5", "d": "2024-05-01"}},
		{"single bad code", Answers{"q01": "6"}, "q01", "not one of the options", nil},
		{"single not a number", Answers{"q01": "a"}, "q01", "not one of the options", nil},
		{"single missing", Answers{"q01": ""}, "q01", "please answer", nil},
		{"single don't know", Answers{"q01": "8"}, "", "", Answers{"q01": "8"}},
		{"district unknown", Answers{"district": "999999"}, "district", "district of the city", nil},
		{"multiple two", Answers{"m": "3, 1"}, "", "", Answers{"m": "1,3"}},
		{"multiple too many", Answers{"m": "1,2,3"}, "m", "at most 2", nil},
		{"multiple unknown code", Answers{"m": "4"}, "m", "not one of the options", nil},
		{"multiple exclusive", Answers{"m": "1,9"}, "m", `"refused" cannot be chosen`, nil},
		{"multiple exclusive alone", Answers{"m": "9"}, "", "", Answers{"m": "9"}},
		{"multiple from boxes", Answers{"m": "", "m_2": "2", "m_3": "3"}, "", "", Answers{"m": "2,3"}},
		{"number below", Answers{"n": "0"}, "n", "within 1–20", nil},
		{"number above", Answers{"n": "21"}, "n", "within 1–20", nil},
		{"number not whole", Answers{"n": "2.5"}, "n", "whole number", nil},
		{"number exponent", Answers{"n": "1e1"}, "n", "whole number", nil},
		{"number words", Answers{"n": "three"}, "n", "whole number", nil},
		{"decimal ok", Answers{"x": "0.5"}, "", "", Answers{"x": "0.5"}},
		{"decimal too precise", Answers{"x": "0.55"}, "x", "at most 1 decimal places", nil},
		{"decimal negative", Answers{"x": "-1"}, "x", "within ≥ 0", nil},
		{"date format", Answers{"d": "2024/05/01"}, "d", "year-month-day", nil},
		{"date impossible", Answers{"d": "2024-02-30"}, "d", "year-month-day", nil},
		{"date early", Answers{"d": "2019-12-31"}, "d", "within 2020-01-01–2025-12-31", nil},
		{"date late", Answers{"d": "2026-01-01"}, "d", "within 2020-01-01–2025-12-31", nil},
		{"text ok", Answers{"c": "很好很好"}, "", "", Answers{"c": "很好很好"}},
		{"text long", Answers{"c": "很好很好很好"}, "c", "at most 5 characters", nil},
		{"text control", Answers{"c": "a\x00b"}, "c", "control characters", nil},
		{"text optional", Answers{"c": ""}, "", "", nil},
		{"unknown ids dropped", Answers{"zzz": "1"}, "", "", Answers{"zzz": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := base()
			for k, v := range c.change {
				if v == "" {
					delete(a, k)
				} else {
					a[k] = v
				}
			}
			v := q.Validate(a, districts)
			if !v.Eligible {
				t.Fatal("not eligible")
			}
			if c.field == "" {
				if len(v.Errors) > 0 {
					t.Fatalf("errors %+v", v.Errors)
				}
				for k, want := range c.stored {
					if a[k] != want || v.Answers[k] != want {
						t.Errorf("%s stored as %q (validation %q), want %q", k, a[k], v.Answers[k], want)
					}
				}
				return
			}
			if len(v.Errors) != 1 || v.Errors[0].Question != c.field || !strings.Contains(v.Errors[0].Message.EN, c.message) || v.Errors[0].Message.ZH == "" {
				t.Fatalf("errors %+v, want one on %s with %q", v.Errors, c.field, c.message)
			}
			if v.Answers != nil {
				t.Error("answers to store despite errors")
			}
		})
	}
}

func TestValidateScreener(t *testing.T) {
	q := typed(t)
	v := q.Validate(Answers{"s1": "2"}, districts)
	if v.Eligible || len(v.Errors) != 0 {
		t.Fatalf("screened out: %+v", v)
	}
	v = q.Validate(Answers{"s1": "3"}, districts)
	if !v.Eligible || len(v.Errors) == 0 || v.Errors[0].Question != "s1" {
		t.Fatalf("bad screener code: %+v", v)
	}
}

// conditional returns a questionnaire whose question "t" has the condition.
func conditional(t *testing.T, cond string) *Questionnaire {
	t.Helper()
	q, err := ParseQuestionnaire(def(t, qDistrict+`,`+qIndicator+`,
	{"id":"m","section":"other","type":"multiple","text":{"zh":"哪些"},"options":[{"code":1,"label":{"zh":"甲"}},{"code":2,"label":{"zh":"乙"}}]},
	{"id":"n","section":"other","type":"number","text":{"zh":"几岁"},"min":0,"max":120},
	{"id":"d","section":"other","type":"date","text":{"zh":"哪天"}},
	{"id":"t","section":"other","type":"text","text":{"zh":"为什么"},"show_if":`+cond+`}`))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestValidateConditions(t *testing.T) {
	cases := []struct {
		name, cond string
		answers    Answers
		shown      bool
	}{
		{"in single yes", `{"question":"q01","in":[4,5]}`, Answers{"q01": "5"}, true},
		{"in single no", `{"question":"q01","in":[4,5]}`, Answers{"q01": "1"}, false},
		{"in multiple any chosen", `{"question":"m","in":[2]}`, Answers{"m": "1,2"}, true},
		{"in multiple none chosen", `{"question":"m","in":[2]}`, Answers{"m": "1"}, false},
		{"in district string", `{"question":"district","in":["500102"]}`, Answers{"district": "500102"}, true},
		{"in district number", `{"question":"district","in":[500101]}`, Answers{"district": "500102"}, false},
		{"number range in", `{"question":"n","min":18,"max":59}`, Answers{"n": "18"}, true},
		{"number range out", `{"question":"n","min":18,"max":59}`, Answers{"n": "60"}, false},
		{"number min only", `{"question":"n","min":60}`, Answers{"n": "75"}, true},
		{"date range", `{"question":"d","min":"2024-01-01"}`, Answers{"d": "2024-03-01"}, true},
		{"date before", `{"question":"d","max":"2023-12-31"}`, Answers{"d": "2024-03-01"}, false},
		{"all true", `{"all":[{"question":"q01","in":[4,5]},{"question":"n","min":18}]}`, Answers{"q01": "4", "n": "30"}, true},
		{"all one false", `{"all":[{"question":"q01","in":[4,5]},{"question":"n","min":18}]}`, Answers{"q01": "4", "n": "10"}, false},
		{"any one true", `{"any":[{"question":"q01","in":[4,5]},{"question":"n","min":18}]}`, Answers{"q01": "1", "n": "30"}, true},
		{"any none", `{"any":[{"question":"q01","in":[4,5]},{"question":"n","min":18}]}`, Answers{"q01": "1", "n": "3"}, false},
		{"not", `{"not":{"question":"q01","in":[8,9]}}`, Answers{"q01": "1"}, true},
		{"not false", `{"not":{"question":"q01","in":[8,9]}}`, Answers{"q01": "9"}, false},
		{"nested", `{"any":[{"all":[{"question":"q01","in":[5]},{"not":{"question":"m","in":[1]}}]},{"question":"n","max":5}]}`, Answers{"q01": "5", "m": "2"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := conditional(t, c.cond)
			a := Answers{"district": "500101", "q01": "1", "m": "1", "n": "40", "d": "2020-01-01"}
			for k, v := range c.answers {
				a[k] = v
			}
			if q.Shown("t", a) != c.shown {
				t.Fatalf("Shown = %v, want %v", !c.shown, c.shown)
			}
			// Unanswered: required only when shown.
			v := q.Validate(copyAnswers(a), map[string]bool{"500101": true, "500102": true})
			if c.shown != (len(v.Errors) == 1 && v.Errors[0].Question == "t") {
				t.Fatalf("unanswered: errors %+v, shown %v", v.Errors, c.shown)
			}
			// Answered: kept when shown, dropped when skipped.
			a["t"] = "因为"
			v = q.Validate(a, map[string]bool{"500101": true, "500102": true})
			if len(v.Errors) > 0 {
				t.Fatalf("answered: %+v", v.Errors)
			}
			if _, kept := a["t"]; kept != c.shown {
				t.Fatalf("answer to t kept=%v, want %v", kept, c.shown)
			}
			if skipped := len(v.Skipped) == 1 && v.Skipped[0] == "t"; skipped == c.shown {
				t.Fatalf("Skipped %v", v.Skipped)
			}
		})
	}
}

func copyAnswers(a Answers) Answers {
	out := Answers{}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func TestConditionJSONRoundTrip(t *testing.T) {
	q := conditional(t, `{"any":[{"question":"district","in":["500101",500102]},{"not":{"question":"d","min":"2024-01-01"}}]}`)
	b := q.Canonical()
	q2, err := ParseQuestionnaire(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.Questions, q2.Questions) {
		t.Fatal("condition changed on the way through JSON")
	}
	if d := q.Question("t").ShowIf.Describe(); !strings.Contains(d.EN, "district is 500101 or 500102 or not (d ≥ 2024-01-01)") {
		t.Errorf("describe: %q", d.EN)
	}
	var de *DefinitionError
	if errors.As(errors.New("x"), &de) {
		t.Fatal("as")
	}
}
