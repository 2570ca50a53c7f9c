package survey

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"minyi/core"
)

// DefinitionProblem is one thing wrong with a questionnaire definition: where
// (a path such as questions[3].options[2].code) and why.
type DefinitionProblem struct {
	Path    string
	Message core.Text
}

func (p DefinitionProblem) String() string {
	if p.Path == "" {
		return p.Message.ZH + " / " + p.Message.EN
	}
	return p.Path + ": " + p.Message.ZH + " / " + p.Message.EN
}

// DefinitionError lists every problem of a rejected definition, so that an
// author fixes the file in one go rather than one error per upload.
type DefinitionError struct {
	Problems []DefinitionProblem
}

func (e *DefinitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "问卷定义有 %d 处错误 / the definition has %d problems", len(e.Problems), len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// As lets a DefinitionError count as a core.EInvalid *core.Error, so that the one
// place mapping domain errors to statuses and exit codes treats it as bad
// input.
func (e *DefinitionError) As(target any) bool {
	t, ok := target.(**core.Error)
	if !ok {
		return false
	}
	*t = core.Errorf(core.EInvalid, "问卷定义有 %d 处错误", "the questionnaire definition has %d problems", len(e.Problems))
	return true
}

// AsDefinitionError returns the problems of err, if it is a DefinitionError.
func AsDefinitionError(err error) (*DefinitionError, bool) {
	var de *DefinitionError
	ok := errors.As(err, &de)
	return de, ok
}

// maxProblems keeps a hopeless file's report readable.
const maxProblems = 200

type problems []DefinitionProblem

func (ps *problems) add(path, zh, en string, args ...any) {
	if len(*ps) == maxProblems {
		*ps = append(*ps, DefinitionProblem{Message: core.Text{ZH: "错误太多，其余未列出", EN: "too many problems; the rest are not listed"}})
	}
	if len(*ps) > maxProblems {
		return
	}
	*ps = append(*ps, DefinitionProblem{Path: path, Message: core.Text{ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}})
}

// The rules of a questionnaire, checked on the decoded definition; its
// shape was checked before it was decoded (questionnaire_shape.go).

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	idRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// reservedIDs are column names of the responses CSV; a question with one of
// these ids would clash with them in exports.
var reservedIDs = map[string]bool{"interview_id": true, "district_code": true, "mode": true, "weight": true, "psu": true}

// marginCodes are the codes of the weighting variables (docs/design.md §7, margins
// CSV): a questionnaire asking them must use the census codes.
var marginCodes = map[string][]int{"sex": {1, 2}, "age_group": {1, 2, 3, 4, 5}, "urban": {1, 2}}

var sections = map[string]bool{SectionScreener: true, SectionIndicator: true, SectionDemographic: true, SectionOther: true}

var types = map[string]bool{TypeSingle: true, TypeMultiple: true, TypeNumber: true, TypeDate: true, TypeText: true, TypeDistrict: true}

const (
	maxQuestions = 500
	maxOptions   = 100
	maxCode      = 999
	maxTextLimit = 10000
)

func (q *Questionnaire) check() []DefinitionProblem {
	var ps problems
	if q.Name == "" {
		ps.add("name", "缺少问卷名称", "the questionnaire needs a name")
	} else if !nameRE.MatchString(q.Name) {
		ps.add("name", "名称只能用字母、数字、_ . -，最长 64 个字符：%q", "a name uses only letters, digits, _ . - and at most 64 characters: %q", q.Name)
	}
	if q.Version < 0 {
		ps.add("version", "版本号不能为负数", "the version cannot be negative")
	}
	for path, t := range map[string]core.Text{"title": q.Title, "introduction": q.Introduction, "closing": q.Closing} {
		if strings.TrimSpace(t.ZH) == "" {
			ps.add(path+".zh", "文字为空", "the text is empty")
		}
	}
	if (q.Consent.ZH != "" || q.Consent.EN != "") && strings.TrimSpace(q.Consent.ZH) == "" {
		ps.add("consent.zh", "文字为空", "the text is empty")
	}
	q.checkPoints(&ps)
	if len(q.Questions) == 0 {
		ps.add("questions", "问卷没有题目", "the questionnaire has no questions")
	}
	if len(q.Questions) > maxQuestions {
		ps.add("questions", "题目太多（最多 %d 道）", "too many questions (at most %d)", maxQuestions)
		sortProblems(ps)
		return ps
	}
	index := map[string]int{}
	for i := range q.Questions {
		id := q.Questions[i].ID
		if _, dup := index[id]; !dup && id != "" {
			index[id] = i
		}
	}
	nonScreener := -1
	for i := range q.Questions {
		qu := &q.Questions[i]
		p := fmt.Sprintf("questions[%d]", i)
		if qu.Section != SectionScreener && nonScreener < 0 {
			nonScreener = i
		}
		if qu.Section == SectionScreener && nonScreener >= 0 {
			ps.add(p+".section", "甄别题须排在其他题之前（questions[%d] 不是甄别题）", "screener questions come before all others (questions[%d] is not a screener)", nonScreener)
		}
		q.checkQuestion(&ps, p, i, qu, index)
	}
	if len(q.Indicators()) == 0 {
		ps.add("questions", "问卷没有计分指标（section 为 indicator 的题）", "the questionnaire has no scored indicators (questions with section indicator)")
	}
	if d := q.Question("district"); d == nil || d.Type != TypeDistrict {
		ps.add("questions", "需要一道编号为 district、题型为 district 的题（受访者居住的区县；电话号码不能说明区县）", "needs a question with id \"district\" and type district (the respondent's district of residence; a phone number does not tell it)")
	}
	sortProblems(ps)
	return ps
}

// sortProblems orders problems by where they are in the file, so that the
// report reads top to bottom; the checks find them in a different order.
func sortProblems(ps problems) {
	sort.SliceStable(ps, func(i, j int) bool { return pathLess(ps[i].Path, ps[j].Path) })
}

// pathLess compares paths with their indices as numbers (questions[10]
// after questions[9]).
func pathLess(a, b string) bool {
	for a != "" && b != "" {
		ia, ib := strings.IndexAny(a, "0123456789"), strings.IndexAny(b, "0123456789")
		if ia < 0 || ib < 0 || a[:ia] != b[:ib] {
			return a < b
		}
		a, b = a[ia:], b[ib:]
		na, nb := numPrefix(a), numPrefix(b)
		if len(na) != len(nb) {
			return len(na) < len(nb)
		}
		if na != nb {
			return na < nb
		}
		a, b = a[len(na):], b[len(nb):]
	}
	return a < b
}

func numPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func (q *Questionnaire) checkPoints(ps *problems) {
	if len(q.Points) == 0 {
		ps.add("points", "缺少计分表（代码 → 分值）", "the score map (code → points) is missing")
	}
	for k, v := range q.Points {
		c, err := strconv.Atoi(k)
		if err != nil || strconv.Itoa(c) != k || c < 1 || c > maxCode {
			ps.add(fmt.Sprintf("points[%q]", k), "计分表的代码须是 1 到 %d 的整数", "a score map code must be a whole number from 1 to %d", maxCode)
			continue
		}
		if math.IsNaN(v) || v < 0 || v > 100 {
			ps.add(fmt.Sprintf("points[%q]", k), "分值须在 0 到 100 之间", "points must be from 0 to 100")
		}
	}
	seen := map[int]bool{}
	for j, c := range q.Satisfied {
		if _, ok := q.Points[strconv.Itoa(c)]; !ok {
			ps.add(fmt.Sprintf("satisfied[%d]", j), "代码 %d 不在计分表中", "code %d is not in the score map", c)
		}
		if seen[c] {
			ps.add(fmt.Sprintf("satisfied[%d]", j), "重复的代码 %d", "duplicate code %d", c)
		}
		seen[c] = true
	}
	seen = map[int]bool{}
	for j, c := range q.DontKnow {
		if _, ok := q.Points[strconv.Itoa(c)]; ok {
			ps.add(fmt.Sprintf("dont_know[%d]", j), "代码 %d 在计分表中，不能同时算作不清楚", "code %d is in the score map and cannot also count as don't know", c)
		}
		if seen[c] {
			ps.add(fmt.Sprintf("dont_know[%d]", j), "重复的代码 %d", "duplicate code %d", c)
		}
		seen[c] = true
	}
}

func (q *Questionnaire) checkQuestion(ps *problems, p string, i int, qu *Question, index map[string]int) {
	switch {
	case qu.ID == "":
		ps.add(p+".id", "缺少编号", "the id is missing")
	case !idRE.MatchString(qu.ID):
		ps.add(p+".id", "编号 %q 须以小写字母开头，只含小写字母、数字和 _，最长 32 个字符", "id %q must start with a lower-case letter and use only a-z, 0-9 and _ (at most 32)", qu.ID)
	case index[qu.ID] != i:
		ps.add(p+".id", "重复的编号 %q（与 questions[%d] 相同）", "duplicate id %q (same as questions[%d])", qu.ID, index[qu.ID])
	case reservedIDs[qu.ID]:
		ps.add(p+".id", "编号 %q 是导出文件的列名，请换一个", "id %q is a column of the exported files; choose another", qu.ID)
	}
	if qu.Section == "" {
		ps.add(p+".section", "缺少 section（screener、indicator、demographic 或 other）", "section is missing (screener, indicator, demographic or other)")
	} else if !sections[qu.Section] {
		ps.add(p+".section", "未知的部分 %q（可用 screener、indicator、demographic、other）", "unknown section %q (use screener, indicator, demographic or other)", qu.Section)
	}
	if strings.TrimSpace(qu.Text.ZH) == "" {
		ps.add(p+".text.zh", "题目文字为空", "the question text is empty")
	}
	if qu.Type == "" {
		ps.add(p+".type", "缺少题型 type（single、multiple、number、date、text 或 district）", "type is missing (single, multiple, number, date, text or district)")
		return
	}
	if !types[qu.Type] {
		ps.add(p+".type", "未知的题型 %q（可用 single、multiple、number、date、text、district）", "unknown question type %q (use single, multiple, number, date, text or district)", qu.Type)
		return
	}
	choice := qu.Type == TypeSingle || qu.Type == TypeMultiple
	if choice {
		q.checkOptions(ps, p, qu)
	} else if len(qu.Options) > 0 {
		ps.add(p+".options", "只有单选题和多选题有选项", "only single and multiple questions have options")
	}
	q.checkRange(ps, p, qu)
	if qu.Decimals != 0 && (qu.Type != TypeNumber || qu.Decimals < 0 || qu.Decimals > 6) {
		ps.add(p+".decimals", "decimals 只用于数字题，取 0 到 6", "decimals applies to number questions only, from 0 to 6")
	}
	if qu.MaxLength != 0 && (qu.Type != TypeText || qu.MaxLength < 1 || qu.MaxLength > maxTextLimit) {
		ps.add(p+".max_length", "max_length 只用于文字题，取 1 到 %d", "max_length applies to text questions only, from 1 to %d", maxTextLimit)
	}
	for j, c := range qu.Exclusive {
		if qu.Type != TypeMultiple {
			ps.add(p+".exclusive", "exclusive 只用于多选题", "exclusive applies to multiple questions only")
			break
		}
		if !qu.hasCode(c) {
			ps.add(fmt.Sprintf("%s.exclusive[%d]", p, j), "代码 %d 不是本题的选项", "code %d is not an option of this question", c)
		}
	}
	// Eligibility.
	if len(qu.Eligible) > 0 {
		if qu.Section != SectionScreener || qu.Type != TypeSingle {
			ps.add(p+".eligible", "eligible 只用于单选的甄别题", "eligible applies to single-choice screener questions only")
		} else {
			for j, c := range qu.Eligible {
				if !qu.hasCode(c) {
					ps.add(fmt.Sprintf("%s.eligible[%d]", p, j), "代码 %d 不是本题的选项", "code %d is not an option of this question", c)
				}
			}
		}
	}
	if qu.Optional && (qu.Section == SectionScreener || qu.Section == SectionIndicator) {
		ps.add(p+".optional", "甄别题和指标题必须回答，不能设为可不答", "screener and indicator questions must be answered; they cannot be optional")
	}
	// Indicators.
	if qu.Indicator != nil && qu.Section != SectionIndicator {
		ps.add(p+".indicator", "只有 section 为 indicator 的题有指标名称", "only questions of section indicator have an indicator name")
	}
	if qu.Section == SectionIndicator {
		if qu.Indicator == nil || strings.TrimSpace(qu.Indicator.ZH) == "" {
			ps.add(p+".indicator.zh", "指标题需要简短的指标名称", "an indicator question needs a short indicator name")
		}
		if qu.Type != TypeSingle {
			ps.add(p+".type", "指标题须是单选题（满意度量表）", "an indicator question must be single choice (the satisfaction scale)")
		} else {
			var missing []string
			for _, c := range q.SortedCodes() {
				if !qu.hasCode(c) {
					missing = append(missing, strconv.Itoa(c))
				}
			}
			if len(missing) > 0 {
				ps.add(p+".options", "缺少计分表中的代码 %[1]s", "lacks the scored codes %[2]s of the score map", strings.Join(missing, "、"), strings.Join(missing, ", "))
			}
			seen := map[int]bool{}
			for j, o := range qu.Options {
				if seen[o.Code] {
					continue // reported as a duplicate
				}
				seen[o.Code] = true
				if _, scored := q.PointsOf(o.Code); !scored && !contains(q.DontKnow, o.Code) {
					ps.add(fmt.Sprintf("%s.options[%d].code", p, j), "代码 %d 既不在计分表中，也不在 dont_know 中", "code %d is neither in the score map nor in dont_know", o.Code)
				}
			}
		}
	}
	// Weighting variables.
	if want, ok := marginCodes[qu.ID]; ok {
		if qu.Type != TypeSingle {
			ps.add(p+".type", "%s 是加权变量，须是单选题", "%s is a weighting variable and must be single choice", qu.ID)
		}
		for j, o := range qu.Options {
			if !contains(want, o.Code) {
				ps.add(fmt.Sprintf("%s.options[%d].code", p, j), "%s 的代码须与普查边际一致（%v）,%d 不在其中", "the codes of %s must be those of the census margins (%v); %d is not", qu.ID, want, o.Code)
			}
		}
	}
	if qu.ID == "district" && qu.ShowIf != nil {
		ps.add(p+".show_if", "区县题每次都要问，不能有条件", "the district question is always asked; it cannot have a condition")
	}
	// Folded checkbox fields "<id>_<code>" must not be another question's id.
	if qu.Type == TypeMultiple {
		for _, o := range qu.Options {
			k := qu.ID + "_" + strconv.Itoa(o.Code)
			if j, clash := index[k]; clash {
				ps.add(fmt.Sprintf("questions[%d].id", j), "编号 %q 与多选题 %s 的选项字段冲突", "id %q clashes with a box of the multiple question %s", k, qu.ID)
			}
		}
	}
	if qu.ShowIf != nil {
		q.checkCondition(ps, p+".show_if", i, qu.ShowIf, index, 1)
	}
}

func (q *Questionnaire) checkOptions(ps *problems, p string, qu *Question) {
	if len(qu.Options) == 0 {
		ps.add(p+".options", "选择题需要选项", "a choice question needs options")
		return
	}
	if len(qu.Options) > maxOptions {
		ps.add(p+".options", "选项太多（最多 %d 个）", "too many options (at most %d)", maxOptions)
		return
	}
	seen := map[int]int{}
	for j, o := range qu.Options {
		op := fmt.Sprintf("%s.options[%d]", p, j)
		if o.Code < 1 || o.Code > maxCode {
			ps.add(op+".code", "代码须是 1 到 %d 的整数：%d", "a code must be a whole number from 1 to %d: %d", maxCode, o.Code)
		} else if k, dup := seen[o.Code]; dup {
			ps.add(op+".code", "重复的代码 %d（与 options[%d] 相同）", "duplicate code %d (same as options[%d])", o.Code, k)
		} else {
			seen[o.Code] = j
		}
		if strings.TrimSpace(o.Label.ZH) == "" {
			ps.add(op+".label.zh", "选项标签为空", "the option label is empty")
		}
	}
}

func (q *Questionnaire) checkRange(ps *problems, p string, qu *Question) {
	if qu.Min == nil && qu.Max == nil {
		return
	}
	switch qu.Type {
	case TypeNumber:
		for name, l := range map[string]*Limit{"min": qu.Min, "max": qu.Max} {
			if l != nil && l.IsDate {
				ps.add(p+"."+name, "数字题的范围须是数字", "the range of a number question must be numbers")
			}
		}
		if qu.Min != nil && qu.Max != nil && !qu.Min.IsDate && !qu.Max.IsDate && qu.Min.Num > qu.Max.Num {
			ps.add(p+".min", "最小值 %s 大于最大值 %s", "min %s is greater than max %s", qu.Min, qu.Max)
		}
	case TypeDate:
		var lo, hi time.Time
		for name, l := range map[string]*Limit{"min": qu.Min, "max": qu.Max} {
			if l == nil {
				continue
			}
			d, err := time.Parse(dateLayout, l.Date)
			if !l.IsDate || err != nil {
				ps.add(p+"."+name, "日期题的范围须是 \"YYYY-MM-DD\" 形式的日期", "the range of a date question must be dates \"YYYY-MM-DD\"")
				continue
			}
			if name == "min" {
				lo = d
			} else {
				hi = d
			}
		}
		if !lo.IsZero() && !hi.IsZero() && lo.After(hi) {
			ps.add(p+".min", "最早日期 %s 晚于最晚日期 %s", "min %s is later than max %s", qu.Min, qu.Max)
		}
	case TypeMultiple:
		ok := true
		for name, l := range map[string]*Limit{"min": qu.Min, "max": qu.Max} {
			if l != nil && (l.IsDate || l.Num != math.Trunc(l.Num) || l.Num < 0 || l.Num > float64(len(qu.Options))) {
				ps.add(p+"."+name, "多选题的 %s 是选择个数，须是 0 到选项数 %d 的整数", "%s of a multiple question counts choices: a whole number from 0 to the %d options", name, len(qu.Options))
				ok = false
			}
		}
		if ok && qu.Min != nil && qu.Max != nil && qu.Min.Num > qu.Max.Num {
			ps.add(p+".min", "最少选择数 %s 大于最多选择数 %s", "min %s is greater than max %s", qu.Min, qu.Max)
		}
		if ok && qu.Max != nil && qu.Max.Num == 0 {
			ps.add(p+".max", "最多选择数不能为 0", "max cannot be 0")
		}
	default:
		ps.add(p, "题型 %s 没有 min/max 范围（文字长度用 max_length）", "type %s has no min/max range (text length is max_length)", qu.Type)
	}
}

func (q *Questionnaire) checkCondition(ps *problems, p string, at int, c *Condition, index map[string]int, depth int) {
	if depth > maxConditionDepth {
		ps.add(p, "条件嵌套超过 %d 层", "conditions nest more than %d deep", maxConditionDepth)
		return
	}
	forms := 0
	if c.Question != "" || len(c.In) > 0 || c.Min != nil || c.Max != nil {
		forms++
	}
	for _, set := range []bool{len(c.All) > 0, len(c.Any) > 0, c.Not != nil} {
		if set {
			forms++
		}
	}
	if forms != 1 {
		ps.add(p, "条件须且只须是以下之一：question（加 in 或 min/max）、all、any、not", "a condition must be exactly one of: question (with in or min/max), all, any, not")
		return
	}
	switch {
	case len(c.All) > 0:
		for j := range c.All {
			q.checkCondition(ps, fmt.Sprintf("%s.all[%d]", p, j), at, &c.All[j], index, depth+1)
		}
		return
	case len(c.Any) > 0:
		for j := range c.Any {
			q.checkCondition(ps, fmt.Sprintf("%s.any[%d]", p, j), at, &c.Any[j], index, depth+1)
		}
		return
	case c.Not != nil:
		q.checkCondition(ps, p+".not", at, c.Not, index, depth+1)
		return
	}
	j, known := index[c.Question]
	switch {
	case c.Question == "":
		ps.add(p+".question", "条件缺少题目编号", "the condition names no question")
		return
	case !known:
		ps.add(p+".question", "条件引用了不存在的题目 %q", "the condition refers to an unknown question %q", c.Question)
		return
	case j >= at:
		ps.add(p+".question", "条件只能引用前面的题目，%q 不在本题之前", "a condition may only refer to earlier questions; %q does not come before this one", c.Question)
		return
	}
	ref := &q.Questions[j]
	hasIn, hasRange := len(c.In) > 0, c.Min != nil || c.Max != nil
	if hasIn == hasRange {
		ps.add(p, "条件须有 in（代码列表）或 min/max（范围）之一", "a condition needs either in (a list of codes) or min/max (a range)")
		return
	}
	if hasIn {
		switch ref.Type {
		case TypeSingle, TypeMultiple:
			for k, v := range c.In {
				code, err := strconv.Atoi(string(v))
				if err != nil || !ref.hasCode(code) {
					ps.add(fmt.Sprintf("%s.in[%d]", p, k), "%q 不是题目 %s 的选项代码", "%q is not an option code of question %s", string(v), ref.ID)
				}
			}
		case TypeDistrict:
		default:
			ps.add(p+".in", "in 只用于单选、多选和区县题；%s 是 %s 题，请用 min/max", "in applies to single, multiple and district questions; %s is a %s question: use min/max", ref.ID, ref.Type)
		}
		return
	}
	switch ref.Type {
	case TypeNumber:
		for name, l := range map[string]*Limit{"min": c.Min, "max": c.Max} {
			if l != nil && l.IsDate {
				ps.add(p+"."+name, "数字题的条件范围须是数字", "a range on a number question must be numbers")
			}
		}
		if c.Min != nil && c.Max != nil && !c.Min.IsDate && !c.Max.IsDate && c.Min.Num > c.Max.Num {
			ps.add(p+".min", "最小值 %s 大于最大值 %s", "min %s is greater than max %s", c.Min, c.Max)
		}
	case TypeDate:
		for name, l := range map[string]*Limit{"min": c.Min, "max": c.Max} {
			if l == nil {
				continue
			}
			if _, err := time.Parse(dateLayout, l.Date); !l.IsDate || err != nil {
				ps.add(p+"."+name, "日期题的条件范围须是 \"YYYY-MM-DD\" 形式的日期", "a range on a date question must be dates \"YYYY-MM-DD\"")
			}
		}
	default:
		ps.add(p, "min/max 只用于数字题和日期题；%s 是 %s 题，请用 in", "min/max applies to number and date questions; %s is a %s question: use in", ref.ID, ref.Type)
	}
}
