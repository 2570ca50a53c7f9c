package csvfile

import (
	"io"

	"minyi/core"
)

// MaxLineBytes bounds one line of a file read, and one record when quotes
// hold line breaks. No row of an import comes near it; a longer line means
// a file of another kind (or an unclosed quote), and the bound keeps the
// reader's memory fixed whatever the file holds.
const MaxLineBytes = 64 << 10

// lineLimiter fails a read once a line, or a record that quotes line
// breaks, exceeds MaxLineBytes, so that neither a huge line nor an
// unclosed quote makes the CSV reader buffer the rest of the file.
//
// It works on the raw bytes: '\n', '"' and ',' never occur inside a UTF-8 or
// GB18030 multi-byte character, so its line count is the file's and its view
// of quoting is the CSV reader's. Its errors are sticky because bufio hands
// an error out once and then reads again.
type lineLimiter struct {
	r           io.Reader
	kind        core.Text // what the file should be, for the message
	line        int       // current physical line, from 1
	recordLine  int       // line on which the current record started
	run, record int       // bytes in the current line and record
	state       csvState
	err         error
}

// csvState follows encoding/csv's reading of quotes, including how it
// resumes after a quoting error (at the next line).
type csvState uint8

const (
	fieldStart csvState = iota
	unquoted
	quoted
	quoteInQuoted // a '"' inside a quoted field: its end, or the first of ""
)

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		l.run++
		l.record++
		switch {
		case b == '\n':
			l.line++
			l.run = 0
			if l.state != quoted {
				l.state, l.record, l.recordLine = fieldStart, 0, l.line
			}
		case l.state == quoted:
			if b == '"' {
				l.state = quoteInQuoted
			}
		case b == ',':
			l.state = fieldStart
		case b == '"' && l.state == fieldStart:
			l.state = quoted
		case b == '"' && l.state == quoteInQuoted:
			l.state = quoted
		default:
			l.state = unquoted
		}
		if l.run > MaxLineBytes {
			l.err = l.tooLong(l.line, "行长", "longer than")
			return i, l.err
		}
		if l.record > MaxLineBytes {
			l.err = l.tooLong(l.recordLine, "从此行开始的一条记录（引号内含换行）", "a record starting here (with line breaks inside quotes) is longer than")
			return i, l.err
		}
	}
	if err != nil {
		l.err = err
	}
	return n, err
}

// tooLong is an *Error, which tells it apart from CSV syntax errors
// wherever the csv package surfaces it.
func (l *lineLimiter) tooLong(line int, zh, en string) error {
	return fatal(line, zh+"超过 %[1]d KiB，文件可能不是%[2]s CSV，或有未闭合的引号",
		en+" %[1]d KiB; the file is probably not %[3]s CSV, or has an unclosed quote", MaxLineBytes>>10, l.kind.ZH, l.kind.EN)
}
