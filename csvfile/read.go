package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"minyi/core"
)

// Options control how a file is read.
type Options struct {
	Encoding Encoding // Auto (or ""), UTF8 or GB18030; ParseReadEncoding's names are accepted
	// Kind says what the file should be, for messages: "文件可能不是{ZH}
	// CSV" / "the file is probably not {EN} CSV", as {"抽样框", "a frame"}.
	Kind core.Text
	// MaxProblems is how many problems are kept; 0 means MaxProblems.
	MaxProblems int
	// NoControl refuses a row with a control character (such as a line
	// break or a tab) in any cell, for values kept as one line of text.
	NoControl bool
	// EncodingHint is for imports that let the user choose the encoding:
	// a row that does not decode says which --encoding to give.
	EncodingHint bool
}

// Columns says what a file's header must and may name. Names are matched
// without regard to case or surrounding spaces.
type Columns struct {
	Required []string
	Optional []string
	Others   Others // what becomes of a column neither required nor optional
	// Chinese gives columns the Chinese name a header may call them by
	// instead (docs/design.md §7), by their name in Required or Optional:
	// files made by hand in a Chinese spreadsheet are headed in Chinese.
	Chinese map[string]string
}

// canonical is the name a header cell stands for: a column's Chinese name
// stands for the column.
func (cols Columns) canonical(name string) string {
	for c, zh := range cols.Chinese {
		if name == zh {
			return c
		}
	}
	return name
}

// list names the columns for messages, with their Chinese names.
func (cols Columns) list(known []string) string {
	s := strings.Join(known, ",")
	var zh []string
	for _, c := range known {
		if n, ok := cols.Chinese[c]; ok {
			zh = append(zh, n)
		}
	}
	if len(zh) > 0 {
		s += " / " + strings.Join(zh, ",")
	}
	return s
}

// Others is what becomes of a column a header should not have.
type Others uint8

const (
	// IgnoreOthers reads the file as if the column were not there.
	IgnoreOthers Others = iota
	// ReportOthers makes the column a problem on the header's line, and the
	// rows are still read, so that every problem is found in one pass.
	ReportOthers
	// RefuseOthers refuses the header: an unknown column usually means a
	// misspelt or shifted header, whose data would go in the wrong place.
	RefuseOthers
)

// Reader reads a CSV file one row at a time, so that its memory does not
// grow with the file: a header, then the data rows. It reads UTF-8, with or
// without a byte-order mark, and GB18030, and tells which when asked to;
// it refuses early a file that is not CSV text (a spreadsheet, UTF-16,
// binary data) and a line longer than MaxLineBytes.
//
// Rows that cannot be read as the header says (malformed CSV, the wrong
// number of fields, text that did not decode) are counted, put in the
// problem list and skipped; the caller rejects more with Reject. What
// makes the rest of the file unreadable is the error of NewReader,
// ReadHeader or Read: an *Error when the file is at fault.
type Reader struct {
	cr       *csv.Reader
	enc      func() Encoding // the encoding in use; Auto decides late
	opt      Options
	names    []string // the header's column names, as matched
	index    map[string]int
	problems Problems
	rows     int   // data rows read, refused or not
	refused  int   // data rows refused by the reader or the caller
	err      error // what stopped the reading: sticky
}

// NewReader checks that in holds CSV text and sets up decoding. It reads
// ahead at most 64 KiB.
func NewReader(in io.Reader, opt Options) (*Reader, error) {
	enc, err := ParseReadEncoding(string(opt.Encoding))
	if err != nil {
		return nil, err
	}
	if opt.Kind == (core.Text{}) {
		opt.Kind = core.Text{ZH: "所需的", EN: "the expected"}
	}
	lim := &lineLimiter{r: in, kind: opt.Kind, line: 1, recordLine: 1}
	br := bufio.NewReaderSize(lim, sniffBytes)
	head, err := br.Peek(sniffBytes)
	var fe *Error
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &fe) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, readError(err)
	}
	switch {
	case len(bytes.TrimSpace(bytes.TrimPrefix(head, []byte(bom)))) == 0:
		return nil, fatal(0, "文件为空", "the file is empty")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0")):
		return nil, fatal(0, "这是 Excel 或压缩文件，不是 CSV；请在 Excel 中另存为 CSV",
			"this is an Excel or ZIP file, not CSV; save it as CSV from Excel")
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		return nil, fatal(0, "文件是 UTF-16 编码；请另存为 UTF-8 或 GB18030 的 CSV",
			"the file is UTF-16; save it as CSV in UTF-8 or GB18030")
	case bytes.IndexByte(head, 0) >= 0:
		return nil, fatal(0, "文件含有二进制数据，不是 CSV 文本", "the file holds binary data, not CSV text")
	}
	r := &Reader{opt: opt, problems: Problems{max: opt.MaxProblems}}
	var text io.Reader
	hasBOM := bytes.HasPrefix(head, []byte(bom))
	switch {
	case hasBOM && enc == GB18030:
		return nil, fatal(0, "文件以 UTF-8 字节顺序标记开头，但指定了 gb18030 编码",
			"the file starts with a UTF-8 byte-order mark but the encoding gb18030 was given")
	case hasBOM || enc == UTF8:
		if hasBOM {
			br.Discard(len(bom))
		}
		text, r.enc = br, func() Encoding { return UTF8 }
	case enc == GB18030:
		text, r.enc = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), func() Encoding { return GB18030 }
	default:
		a := &autoDecoder{br: br}
		text, r.enc = a, a.encoding
	}
	r.cr = csv.NewReader(text)
	r.cr.FieldsPerRecord = -1
	r.cr.ReuseRecord = true
	return r, nil
}

// readError is the error of a file that could not be read: the reading
// failed, whatever the file holds.
func readError(err error) error {
	return &core.Error{Code: core.EInvalid, ZH: "无法读取文件", EN: "cannot read the file", Err: err}
}

// stop records what stops the reading and returns it.
func (r *Reader) stop(err error) error {
	var fe *Error
	switch {
	case errors.Is(err, io.EOF):
		r.err = io.EOF
	case errors.As(err, &fe):
		r.err = fe
	default:
		r.err = readError(err)
	}
	return r.err
}

// ReadHeader reads the header row and matches it to the columns. A header
// that lacks a required column or names one twice is an *Error listing
// every fault of the header; so is one with other columns when cols
// refuses them. Other columns that cols reports are problems.
func (r *Reader) ReadHeader(cols Columns) error {
	if r.err != nil {
		return r.err
	}
	rec, err := r.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		var fe *Error
		switch {
		case errors.As(err, &fe):
		case errors.As(err, &pe):
			err = fatal(pe.StartLine, "表头不是有效的 CSV（%v）", "the header is not valid CSV (%v)", pe.Err)
		case errors.Is(err, io.EOF):
			err = fatal(0, "文件为空", "the file is empty")
		}
		return r.stop(err)
	}
	line, _ := r.cr.FieldPos(0)
	known := append(slices.Clip(cols.Required), cols.Optional...)
	want := cols.list(known)
	r.names = make([]string, len(rec))
	r.index = make(map[string]int, len(rec))
	var unknown, repeated []string
	for i, h := range rec {
		name := cols.canonical(strings.ToLower(strings.TrimSpace(h)))
		r.names[i] = name
		if !slices.Contains(known, name) {
			unknown = append(unknown, Quote(h))
			continue
		}
		if _, dup := r.index[name]; dup {
			repeated = append(repeated, name)
		}
		r.index[name] = i
	}
	var missing []string
	for _, name := range cols.Required {
		if _, ok := r.index[name]; !ok {
			if zh, ok := cols.Chinese[name]; ok {
				name += "/" + zh
			}
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 && len(rec) > 0 && looksLikeData(rec[0]) {
		return r.stop(fatal(line, "文件须以表头行开头（可用列：%s）", "the file must start with a header row (columns: %s)", want))
	}
	var ps []Problem
	if len(unknown) > 0 && cols.Others != IgnoreOthers {
		ps = append(ps, problemf(line, "", "未知的列 %s（可用列：%s）", "unknown column(s) %s (columns: %s)", strings.Join(unknown, ", "), want))
	}
	if len(repeated) > 0 {
		ps = append(ps, problemf(line, "", "列 %s 重复", "column(s) %s appear more than once", strings.Join(repeated, ", ")))
	}
	if len(missing) > 0 {
		ps = append(ps, problemf(line, "", "缺少列 %s（可用列：%s）", "missing column(s) %s (columns: %s)", strings.Join(missing, ", "), want))
	}
	if len(missing) > 0 || len(repeated) > 0 || (len(unknown) > 0 && cols.Others == RefuseOthers) {
		return r.stop(&Error{Problems: ps})
	}
	for _, p := range ps {
		r.problems.Add(p)
	}
	return nil
}

// looksLikeData tells a first row of data (a file without a header) from a
// misspelt header, for a more helpful message.
func looksLikeData(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && strings.Trim(s, "0123456789+-() ") == ""
}

// Row is one data row.
type Row struct {
	Line   int      // the physical line the row starts on
	Fields []string // the cells as read; the slice is reused by the next Read
	index  map[string]int
}

// Get returns the cell of the named column, trimmed of surrounding spaces,
// or "" when the header does not have the column.
func (row Row) Get(name string) string {
	if i, ok := row.index[name]; ok {
		return strings.TrimSpace(row.Fields[i])
	}
	return ""
}

// Index is the position of the named column in the rows' Fields, -1 when
// the header does not have it.
func (r *Reader) Index(name string) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	return -1
}

// Read returns the next data row that has as many fields as the header,
// all valid text; it refuses and counts the others. At the end of the file
// the error is io.EOF.
func (r *Reader) Read() (Row, error) {
	for r.err == nil {
		rec, err := r.cr.Read()
		if err != nil {
			var pe *csv.ParseError
			var fe *Error
			if errors.As(err, &pe) && !errors.As(err, &fe) {
				r.rows++
				r.Reject(pe.StartLine, "", "CSV 格式错误：%v", "malformed CSV: %v", pe.Err)
				continue
			}
			return Row{}, r.stop(err)
		}
		line, _ := r.cr.FieldPos(0)
		r.rows++
		if len(rec) != len(r.names) {
			r.Reject(line, "", "有 %d 列，表头有 %d 列", "has %d fields but the header has %d", len(rec), len(r.names))
			continue
		}
		if i, msg := r.checkText(rec); i >= 0 {
			r.refused++
			r.problems.Add(Problem{Line: line, Column: r.names[i], Message: msg})
			continue
		}
		return Row{Line: line, Fields: rec, index: r.index}, nil
	}
	return Row{}, r.err
}

// checkText finds the first cell that PostgreSQL would refuse or that shows
// the file was read in the wrong encoding, and says what is wrong with it.
func (r *Reader) checkText(rec []string) (int, core.Text) {
	for i, s := range rec {
		if !utf8.ValidString(s) {
			if r.opt.EncodingHint {
				return i, core.Text{ZH: "含有不是 UTF-8 的字节（若文件是 GB18030/GBK 编码，请指定 --encoding gb18030）",
					EN: "contains bytes that are not UTF-8 (if the file is GB18030/GBK, use --encoding gb18030)"}
			}
			return i, core.Text{ZH: "含有不是 UTF-8 的字节，文件编码可能有误", EN: "contains bytes that are not UTF-8; the file's encoding may be wrong"}
		}
		if strings.ContainsRune(s, utf8.RuneError) {
			if r.enc() == GB18030 {
				if r.opt.EncodingHint {
					return i, core.Text{ZH: "含有无法按 GB18030 解码的字节（若文件是 UTF-8 编码，请指定 --encoding utf-8）",
						EN: "contains bytes that are not GB18030 (if the file is UTF-8, use --encoding utf-8)"}
				}
				return i, core.Text{ZH: "含有无法按 GB18030 解码的字节，文件编码可能有误", EN: "contains bytes that are not GB18030; the file's encoding may be wrong"}
			}
			return i, core.Text{ZH: "含有替换字符 U+FFFD，文件编码可能有误", EN: "contains the replacement character U+FFFD; the file's encoding may be wrong"}
		}
		if r.opt.NoControl {
			for _, c := range s {
				if unicode.IsControl(c) {
					return i, core.Text{ZH: "含有控制字符（如换行、制表符）", EN: "contains control characters (such as line breaks or tabs)"}
				}
			}
		}
	}
	return -1, core.Text{}
}

// Reject refuses a data row: it is counted as refused and the problem
// listed. The arguments fill both messages.
func (r *Reader) Reject(line int, column, zh, en string, args ...any) {
	r.refused++
	r.problems.Addf(line, column, zh, en, args...)
}

// Problems is the list of problems found so far, for the caller to add
// its own.
func (r *Reader) Problems() *Problems { return &r.problems }

// Rows is how many data rows have been read, refused or not.
func (r *Reader) Rows() int { return r.rows }

// Refused is how many data rows were refused, by the reader or by Reject.
func (r *Reader) Refused() int { return r.refused }

// Encoding is the encoding the file is being read in. With Auto it is
// UTF-8 until the first text that is not ASCII decides.
func (r *Reader) Encoding() Encoding { return r.enc() }
