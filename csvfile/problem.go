package csvfile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"minyi/core"
)

// Problem is one thing wrong with a file being read.
type Problem struct {
	// Line is the physical line the problem is on (for a row, the line it
	// starts on), from 1; 0 means the file as a whole.
	Line int `json:"line"`
	// Column names the column at fault, when the problem is one column's.
	Column  string    `json:"column,omitempty"`
	Message core.Text `json:"message"`
}

// Reason is the message as one text, Chinese first.
func (p Problem) Reason() string {
	if p.Message.EN == "" {
		return p.Message.ZH
	}
	return p.Message.ZH + " / " + p.Message.EN
}

// Text is the problem in each language: "第 N 行：中文", "line N: English".
func (p Problem) Text() core.Text {
	en := p.Message.EN
	if en == "" {
		en = p.Message.ZH
	}
	if p.Line == 0 {
		return core.Text{ZH: p.Message.ZH, EN: en}
	}
	return core.Text{ZH: fmt.Sprintf("第 %d 行：%s", p.Line, p.Message.ZH), EN: fmt.Sprintf("line %d: %s", p.Line, en)}
}

// String is the problem as listed for people: "第 N 行：中文 / line N: English".
func (p Problem) String() string {
	t := p.Text()
	if p.Message.EN == "" {
		return t.ZH
	}
	return t.ZH + " / " + t.EN
}

// MaxProblems is how many problems a list keeps unless told otherwise:
// enough to mend a file by, while a hopeless file of millions of bad rows
// costs no more memory, and makes no longer an error page, than this.
const MaxProblems = 100

// Problems is a bounded list of problems: the first ones found are kept
// and the rest only counted. The zero value keeps MaxProblems.
type Problems struct {
	list    []Problem
	omitted int
	max     int
}

// NewProblems returns a list that keeps up to max problems; max <= 0 means
// MaxProblems.
func NewProblems(max int) *Problems {
	return &Problems{max: max}
}

func (ps *Problems) full() bool {
	max := ps.max
	if max <= 0 {
		max = MaxProblems
	}
	return len(ps.list) >= max
}

// Add adds a problem.
func (ps *Problems) Add(p Problem) {
	if ps.full() {
		ps.omitted++
		return
	}
	ps.list = append(ps.list, p)
}

// Addf adds a problem on a line and column; the arguments fill both
// messages, which are only formatted if the problem is kept.
func (ps *Problems) Addf(line int, column, zh, en string, args ...any) {
	if ps.full() {
		ps.omitted++
		return
	}
	ps.list = append(ps.list, problemf(line, column, zh, en, args...))
}

func problemf(line int, column, zh, en string, args ...any) Problem {
	return Problem{Line: line, Column: column, Message: core.Text{ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}}
}

// List returns the problems kept, in the order found.
func (ps *Problems) List() []Problem { return ps.list }

// Omitted is how many problems were found after the list was full.
func (ps *Problems) Omitted() int { return ps.omitted }

// Len is how many problems were found, kept or not.
func (ps *Problems) Len() int { return len(ps.list) + ps.omitted }

// Text lists the problems in each language, for a page.
func (ps *Problems) Text() core.Text { return ProblemsText(ps.list, ps.omitted) }

// ProblemsText lists problems one per line, "第 N 行：中文" in Chinese and
// "line N: English" in English, then how many more there are.
func ProblemsText(list []Problem, omitted int) core.Text {
	var zh, en []string
	for _, p := range list {
		t := p.Text()
		zh, en = append(zh, t.ZH), append(en, t.EN)
	}
	if omitted > 0 {
		zh, en = append(zh, fmt.Sprintf("……另有 %d 处", omitted)), append(en, fmt.Sprintf("… and %d more", omitted))
	}
	return core.Text{ZH: strings.Join(zh, "\n"), EN: strings.Join(en, "\n")}
}

// String lists the problems one per line, then how many more there are.
func (ps *Problems) String() string {
	return FormatProblems(ps.list, ps.omitted)
}

// FormatProblems lists problems one per line as "第 N 行 / line N: 中文 /
// English", and then, when more were found than listed, how many more.
func FormatProblems(list []Problem, omitted int) string {
	var b strings.Builder
	for i, p := range list {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	if omitted > 0 {
		if len(list) > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "……另有 %[1]d 处 / … and %[1]d more", omitted)
	}
	return b.String()
}

// Error is the error of a file that cannot be read on: a file that is not
// CSV text, a header that does not name the columns needed, a line too
// long. Problems says what is wrong, the first problem first; it is at
// least one. An Error is a *core.Error of code EInvalid that says the
// first problem.
type Error struct {
	Problems []Problem
}

func fatal(line int, zh, en string, args ...any) *Error {
	return &Error{Problems: []Problem{problemf(line, "", zh, en, args...)}}
}

func (e *Error) Error() string { return e.core().Error() }

// Unwrap makes the error a *core.Error for errors.As and core.ErrorCode.
func (e *Error) Unwrap() error { return e.core() }

func (e *Error) core() *core.Error {
	t := e.Problems[0].Text()
	return &core.Error{Code: core.EInvalid, ZH: t.ZH, EN: t.EN}
}

// Text lists the file's problems in each language, for a page.
func (e *Error) Text() core.Text { return ProblemsText(e.Problems, 0) }

// Quote quotes a value from a file for a message: escaped so that control
// characters and invalid bytes stay visible (and the message valid UTF-8),
// and cut short so that a huge field does not make a huge message.
func Quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		n, i := 0, 0
		for i = range s {
			if n == max {
				break
			}
			n++
		}
		return strconv.Quote(s[:i]) + "…"
	}
	return strconv.Quote(s)
}
