package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Writer writes CSV files meant to be opened by people in a spreadsheet:
// RFC 4180 records with CRLF line ends in the chosen encoding (Excel needs
// a byte-order mark to read UTF-8, or GB18030 on older Chinese
// installations), with cells a spreadsheet would run as formulas
// neutralised (CSV injection).
type Writer struct {
	out *bufio.Writer
	rec bytes.Buffer // the current record, CSV-encoded in UTF-8
	csv *csv.Writer  // writes into rec
	enc *encoding.Encoder
	err error // first error; the file is unusable after it
}

// NewWriter returns a Writer on w. For UTF-8 the byte-order mark is the
// first thing written. Nothing reaches w before Flush.
func NewWriter(w io.Writer, enc Encoding) (*Writer, error) {
	cw := &Writer{out: bufio.NewWriter(w)}
	switch enc {
	case UTF8:
		cw.out.WriteString(bom)
	case GB18030:
		cw.enc = simplifiedchinese.GB18030.NewEncoder()
	default:
		return nil, fmt.Errorf("不支持的编码 / unsupported encoding: %q", string(enc))
	}
	cw.csv = csv.NewWriter(&cw.rec)
	cw.csv.UseCRLF = true
	return cw, nil
}

// Write writes one record. Each record is CSV-encoded on its own and then
// transcoded whole, so a multi-byte character is never split between two
// transcoder calls.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	cells := make([]string, len(record))
	for i, c := range record {
		cells[i] = Neutralise(c)
	}
	w.rec.Reset()
	if err := w.csv.Write(cells); err != nil {
		w.err = err
		return err
	}
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		w.err = err
		return err
	}
	b := w.rec.Bytes()
	if w.enc != nil {
		var err error
		if b, err = w.enc.Bytes(b); err != nil {
			w.err = fmt.Errorf("csvfile: cannot encode record as GB18030: %w", err)
			return w.err
		}
	}
	if _, err := w.out.Write(b); err != nil {
		w.err = err
		return err
	}
	return nil
}

// WritePlain writes a record already joined with commas, for a caller that
// streams many rows of plain values: it skips the per-cell work of Write,
// and it refuses (writing nothing) a record that would need any, that is
// one with a byte other than an ASCII letter, digit, '.', '_' or ','. It
// reports whether it wrote the record;
// the caller writes a refused record with Write. ASCII is the same in
// GB18030, so the record needs no transcoding.
func (w *Writer) WritePlain(record []byte) (bool, error) {
	if w.err != nil {
		return false, w.err
	}
	for _, c := range record {
		if !plain[c] {
			return false, nil
		}
	}
	w.out.Write(record)
	if _, err := w.out.WriteString("\r\n"); err != nil {
		w.err = err
		return false, err
	}
	return true, nil
}

// plain are the bytes WritePlain accepts.
var plain = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	t['.'], t['_'], t[','] = true, true, true
	return
}()

// Flush writes any buffered data to the underlying writer and returns the
// first error met by Write or Flush, so that checking Flush alone is enough
// to know whether the whole file was written.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.out.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

// Neutralise returns the cell as it should be written: a cell that a
// spreadsheet would treat as a formula (it starts with = + - @, a tab or a
// carriage return) gets a leading single quote, which makes the spreadsheet
// show it as text. Plain decimal numbers such as "-5.5" or "+3" are left
// alone so that negative numbers stay numbers.
func Neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isDecimal(cell) {
			return cell
		}
		return "'" + cell
	}
	return cell
}

// isDecimal reports whether s is a number in decimal notation. ParseFloat
// alone would also accept "Inf", "NaN" and hexadecimal floats, which a
// spreadsheet does not read as numbers, so the alphabet is checked first.
func isDecimal(s string) bool {
	if strings.Trim(s, "0123456789.eE+-") != "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
