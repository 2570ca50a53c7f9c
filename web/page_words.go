package web

import (
	"context"
	"html/template"
	"regexp"
	"strings"
	"sync"
	"time"

	"minyi/core"
	"minyi/sampler"
)

// Words the pages show for the codes the database keeps: a page names
// things in its own language, never by their codes.

// modeNames are the survey modes.
var modeNames = map[string]core.Text{
	"phone": {ZH: "电话", EN: "telephone"},
	"door":  {ZH: "入户", EN: "door-to-door"},
}

// algorithmNames are the sampling algorithms a draw records.
var algorithmNames = map[string]core.Text{
	sampler.AlgorithmPhoneSRS: {ZH: "各层等概率不放回抽样（Floyd 算法）", EN: "simple random sampling without replacement in each stratum (Floyd's algorithm)"},
	sampler.AlgorithmDoorPPS:  {ZH: "按规模成比例的系统抽样", EN: "systematic sampling with probability proportional to size"},
}

// sourceNames are where an interview came from.
var sourceNames = map[string]core.Text{
	"cati":   {ZH: "电话访问系统", EN: "telephone interviewing"},
	"capi":   {ZH: "入户访问系统", EN: "door-to-door interviewing"},
	"paper":  {ZH: "纸质问卷录入", EN: "paper form keyed"},
	"import": {ZH: "导入", EN: "imported"},
}

// deviceNames are the kinds of device an interview was filled in on.
var deviceNames = map[string]core.Text{
	"computer": {ZH: "电脑", EN: "computer"},
	"phone":    {ZH: "手机", EN: "phone"},
	"tablet":   {ZH: "平板", EN: "tablet"},
}

// sectionNames and typeNames describe a questionnaire's questions.
var sectionNames = map[string]core.Text{
	"screener":    {ZH: "甄别", EN: "screener"},
	"indicator":   {ZH: "满意度指标", EN: "indicator"},
	"demographic": {ZH: "背景", EN: "demographic"},
	"other":       {ZH: "其他", EN: "other"},
}

var typeNames = map[string]core.Text{
	"single":   {ZH: "单选", EN: "single choice"},
	"multiple": {ZH: "多选", EN: "multiple choice"},
	"number":   {ZH: "数字", EN: "number"},
	"date":     {ZH: "日期", EN: "date"},
	"text":     {ZH: "文字", EN: "text"},
	"district": {ZH: "区县", EN: "district"},
}

// weightVarNames are the variables weights are raked on.
var weightVarNames = map[string]core.Text{
	"sex":       {ZH: "性别", EN: "sex"},
	"age_group": {ZH: "年龄组", EN: "age group"},
	"urban":     {ZH: "城乡", EN: "urban or rural"},
}

// frameKindNames are the kinds of frame import.
var frameKindNames = map[string]core.Text{
	"phone":     {ZH: "电话号码", EN: "telephone numbers"},
	"household": {ZH: "住户", EN: "households"},
}

// word is the name of code in lang from names, or the code itself when it
// has none (a value a newer version wrote).
func word(names map[string]core.Text, lang, code string) string {
	t, ok := names[code]
	if !ok {
		return code
	}
	if lang == "en" {
		return t.EN
	}
	return t.ZH
}

// oneLanguage picks the page's language from a text stored as
// "中文 / English" (job messages and errors kept as one string).
func oneLanguage(lang, s string) string {
	zh, en, ok := strings.Cut(s, " / ")
	if !ok {
		return s
	}
	if lang == "en" {
		return en
	}
	return zh
}

// formatKey is a key or value of the questionnaire's JSON format in a
// message (section, show_if, questions[3].options, dont_know).
var formatKey = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?)*`)

// withKeys shows a questionnaire problem in the page's language, the
// format's keys it names marked as code: they are typed as they are.
func withKeys(lang string, t core.Text) template.HTML {
	s := t.ZH
	if lang == "en" && t.EN != "" {
		s = t.EN
	}
	var b strings.Builder
	last := 0
	for _, m := range formatKey.FindAllStringIndex(s, -1) {
		b.WriteString(template.HTMLEscapeString(s[last:m[0]]))
		b.WriteString("<code>" + template.HTMLEscapeString(s[m[0]:m[1]]) + "</code>")
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}

// encodingName is an encoding as people write it.
func encodingName(e string) string {
	switch strings.ToLower(e) {
	case "utf-8", "utf8":
		return "UTF-8"
	case "gb18030":
		return "GB18030"
	}
	return e
}

// districtNames looks districts up by code for the pages, reading the
// table again at most every few seconds.
type districtNames struct {
	mu     sync.Mutex
	read   time.Time
	byCode map[string]string
	load   func(context.Context) ([]sampler.District, error)
}

const districtNamesFresh = 10 * time.Second

// name is the district's name, or its code when there is no such district.
func (d *districtNames) name(code string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.byCode[code]
	if ok && time.Since(d.read) < districtNamesFresh {
		return n
	}
	if time.Since(d.read) >= districtNamesFresh || d.byCode == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ds, err := d.load(ctx)
		cancel()
		if err == nil {
			d.byCode = make(map[string]string, len(ds))
			for _, x := range ds {
				d.byCode[x.Code] = x.Name
			}
			d.read = time.Now()
		}
	}
	if n, ok := d.byCode[code]; ok {
		return n
	}
	return code
}

func pick(lang, zh, en string) string {
	if lang == "en" {
		return en
	}
	return zh
}
