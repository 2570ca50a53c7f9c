package survey

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"minyi/core"
)

// Limit is a bound of a question or a condition: a JSON number for numbers
// and counts of choices, a "YYYY-MM-DD" string for dates.
type Limit struct {
	Num    float64
	Date   string
	IsDate bool
}

// MarshalJSON writes the bound back in the form it was given.
func (l Limit) MarshalJSON() ([]byte, error) {
	if l.IsDate {
		return json.Marshal(l.Date)
	}
	return json.Marshal(l.Num)
}

// UnmarshalJSON reads a number or a date string; whether the kind suits the
// question is the checker's business.
func (l *Limit) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = Limit{Date: s, IsDate: true}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("a limit is a number or a date \"YYYY-MM-DD\"")
	}
	*l = Limit{Num: f}
	return nil
}

// String shows the bound as written.
func (l Limit) String() string {
	if l.IsDate {
		return l.Date
	}
	return formatNum(l.Num)
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

const dateLayout = "2006-01-02"

// numberRE is the one written form of a number answer: no exponents, hex,
// signs other than minus, or thousands separators, which a keyed-in typo
// could otherwise slip through.
var numberRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// checkAnswer checks one non-empty answer against its question and returns
// it in normal form, or a message for the interviewer.
func (qu *Question) checkAnswer(raw string, districts map[string]bool) (string, *core.Text) {
	switch qu.Type {
	case TypeDistrict:
		if !districts[raw] {
			return "", &core.Text{ZH: "请选择一个本市的区县", EN: "choose a district of the city"}
		}
		return raw, nil
	case TypeSingle:
		code, err := strconv.Atoi(raw)
		if err != nil || !qu.hasCode(code) {
			return "", &core.Text{ZH: "答案不在允许的选项中", EN: "the answer is not one of the options"}
		}
		return strconv.Itoa(code), nil
	case TypeMultiple:
		return qu.checkMultiple(raw)
	case TypeNumber:
		return qu.checkNumber(raw)
	case TypeDate:
		d, err := time.Parse(dateLayout, raw)
		if err != nil {
			return "", &core.Text{ZH: "请按 年-月-日 填写日期，如 2024-05-01", EN: "enter a date as year-month-day, e.g. 2024-05-01"}
		}
		lo, hi := qu.dateRange()
		if (!lo.IsZero() && d.Before(lo)) || (!hi.IsZero() && d.After(hi)) {
			return "", &core.Text{ZH: "日期须在 " + qu.rangeText() + " 之间", EN: "the date must be within " + qu.rangeText()}
		}
		return d.Format(dateLayout), nil
	case TypeText:
		if !utf8.ValidString(raw) {
			return "", &core.Text{ZH: "文字含有无效字符", EN: "the text has invalid characters"}
		}
		for _, r := range raw {
			if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
				return "", &core.Text{ZH: "文字含有控制字符", EN: "the text has control characters"}
			}
		}
		if n, max := utf8.RuneCountInString(raw), qu.maxLength(); n > max {
			return "", &core.Text{ZH: fmt.Sprintf("最多 %d 个字，现有 %d 个", max, n), EN: fmt.Sprintf("at most %d characters; this has %d", max, n)}
		}
		return raw, nil
	}
	return "", &core.Text{ZH: "不支持的题型", EN: "unsupported question type"}
}

func (qu *Question) maxLength() int {
	if qu.MaxLength > 0 {
		return qu.MaxLength
	}
	return DefaultMaxLength
}

func (qu *Question) checkMultiple(raw string) (string, *core.Text) {
	chosen := map[int]bool{}
	for _, part := range strings.Split(raw, ",") {
		code, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || !qu.hasCode(code) {
			return "", &core.Text{ZH: "答案不在允许的选项中", EN: "the answer is not one of the options"}
		}
		chosen[code] = true
	}
	for _, x := range qu.Exclusive {
		if chosen[x] && len(chosen) > 1 {
			label := qu.optionLabel(x)
			return "", &core.Text{ZH: fmt.Sprintf("“%s”不能与其他选项同选", label.ZH), EN: fmt.Sprintf("%q cannot be chosen with other options", label.EN)}
		}
	}
	n := len(chosen)
	if qu.Min != nil && float64(n) < qu.Min.Num {
		return "", &core.Text{ZH: fmt.Sprintf("至少选 %s 项", qu.Min), EN: fmt.Sprintf("choose at least %s", qu.Min)}
	}
	if qu.Max != nil && float64(n) > qu.Max.Num {
		return "", &core.Text{ZH: fmt.Sprintf("最多选 %s 项", qu.Max), EN: fmt.Sprintf("choose at most %s", qu.Max)}
	}
	// Option order, so that the same choice is always stored the same way.
	var out []string
	for _, o := range qu.Options {
		if chosen[o.Code] {
			out = append(out, strconv.Itoa(o.Code))
		}
	}
	return strings.Join(out, ","), nil
}

func (qu *Question) optionLabel(code int) core.Text {
	for _, o := range qu.Options {
		if o.Code == code {
			if o.Label.EN == "" {
				return core.Text{ZH: o.Label.ZH, EN: o.Label.ZH}
			}
			return o.Label
		}
	}
	return core.Text{ZH: strconv.Itoa(code), EN: strconv.Itoa(code)}
}

func (qu *Question) checkNumber(raw string) (string, *core.Text) {
	if !numberRE.MatchString(raw) {
		if qu.Decimals == 0 {
			return "", &core.Text{ZH: "请填写整数", EN: "enter a whole number"}
		}
		return "", &core.Text{ZH: "请填写数字", EN: "enter a number"}
	}
	if i := strings.IndexByte(raw, '.'); i >= 0 && len(raw)-i-1 > qu.Decimals {
		if qu.Decimals == 0 {
			return "", &core.Text{ZH: "请填写整数", EN: "enter a whole number"}
		}
		return "", &core.Text{ZH: fmt.Sprintf("最多 %d 位小数", qu.Decimals), EN: fmt.Sprintf("at most %d decimal places", qu.Decimals)}
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsInf(f, 0) {
		return "", &core.Text{ZH: "数字太大", EN: "the number is too large"}
	}
	if (qu.Min != nil && f < qu.Min.Num) || (qu.Max != nil && f > qu.Max.Num) {
		return "", &core.Text{ZH: "请填写 " + qu.rangeText() + " 之间的数", EN: "enter a number within " + qu.rangeText()}
	}
	return raw, nil
}

// rangeText shows a question's bounds, e.g. "18–120", "≥ 0".
func (qu *Question) rangeText() string {
	switch {
	case qu.Min != nil && qu.Max != nil:
		return qu.Min.String() + "–" + qu.Max.String()
	case qu.Min != nil:
		return "≥ " + qu.Min.String()
	case qu.Max != nil:
		return "≤ " + qu.Max.String()
	}
	return ""
}

// RangeText is rangeText for templates.
func (qu Question) RangeText() string { return qu.rangeText() }

func (qu *Question) dateRange() (lo, hi time.Time) {
	if qu.Min != nil {
		lo, _ = time.Parse(dateLayout, qu.Min.Date)
	}
	if qu.Max != nil {
		hi, _ = time.Parse(dateLayout, qu.Max.Date)
	}
	return lo, hi
}

// Step is the HTML step of a number question's input.
func (qu Question) Step() string {
	if qu.Decimals <= 0 {
		return "1"
	}
	return "0." + strings.Repeat("0", qu.Decimals-1) + "1"
}

// MaxLen is the length limit of a text question, for templates.
func (qu Question) MaxLen() int { return qu.maxLength() }

// Chosen reports whether an answer (one code or several, comma-separated)
// includes code; templates use it to re-tick boxes.
func Chosen(answer string, code int) bool {
	c := strconv.Itoa(code)
	for _, part := range strings.Split(answer, ",") {
		if strings.TrimSpace(part) == c {
			return true
		}
	}
	return false
}

// Ticked reports whether a multiple question's answer includes code, for
// the form: the answer may be "<id>" = "1,3" or "<id>_<code>" fields.
func (a Answers) Ticked(id string, code int) bool {
	if Chosen(a[id], code) {
		return true
	}
	return a[id+"_"+strconv.Itoa(code)] != ""
}

// PointsText shows the points of a code for the preview, "" when it scores
// nothing.
func (q *Questionnaire) PointsText(code int) string {
	if p, ok := q.PointsOf(code); ok {
		return formatNum(p)
	}
	return ""
}

// Continues reports whether a screener code lets the interview go on.
func (qu Question) Continues(code int) bool {
	return len(qu.Eligible) == 0 || contains(qu.Eligible, code)
}

// AnswerText is an answer as people read it: the labels of the codes
// chosen, or the answer itself for numbers, dates, text and districts.
func (q *Questionnaire) AnswerText(id, raw string) core.Text {
	qu := q.Question(id)
	if qu == nil || raw == "" || (qu.Type != TypeSingle && qu.Type != TypeMultiple) {
		return core.Text{ZH: raw, EN: raw}
	}
	var zh, en []string
	for _, part := range strings.Split(raw, ",") {
		c, err := strconv.Atoi(part)
		if err != nil {
			return core.Text{ZH: raw, EN: raw}
		}
		l := qu.optionLabel(c)
		zh = append(zh, part+" "+l.ZH)
		en = append(en, part+" "+l.EN)
	}
	return core.Text{ZH: strings.Join(zh, "、"), EN: strings.Join(en, ", ")}
}
