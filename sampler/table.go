package sampler

import (
	"errors"
	"io"

	"minyi/core"
	"minyi/csvfile"
)

// readTable reads a small reference CSV (districts, margins) that is
// imported whole or not at all. The header must name the columns, in
// English or in Chinese (others are ignored); each data row is handed to row, which rejects through f
// what is wrong with it. Every problem is collected, up to the reader's
// limit, so that the file can be mended in one pass.
func readTable(r io.Reader, what, kind core.Text, columns csvfile.Columns, row func(f *csvfile.Reader, rec csvfile.Row)) error {
	f, err := csvfile.NewReader(r, csvfile.Options{Kind: kind})
	if err != nil {
		return tableError(what, nil, err)
	}
	if err := f.ReadHeader(columns); err != nil {
		return tableError(what, f, err)
	}
	for {
		rec, err := f.Read()
		if err == io.EOF {
			return tableError(what, f, nil)
		}
		if err != nil {
			return tableError(what, f, err)
		}
		row(f, rec)
	}
}

// tableError is the error for a reference file with problems or no rows:
// the problems of the rows read and what stopped the reading, if anything.
func tableError(what core.Text, f *csvfile.Reader, err error) error {
	problems := csvfile.NewProblems(0)
	if f != nil {
		problems = f.Problems()
	}
	var fe *csvfile.Error
	switch {
	case errors.As(err, &fe):
		for _, p := range fe.Problems {
			problems.Add(p)
		}
	case err != nil:
		return err
	}
	if problems.Len() > 0 {
		return &core.Error{Code: core.EInvalid, ZH: what.ZH + "有错误，未导入任何行", EN: what.EN + " has errors; nothing was imported",
			Err: listedProblems{problems}}
	}
	if f.Rows() == 0 {
		return &core.Error{Code: core.EInvalid, ZH: what.ZH + "没有数据行", EN: what.EN + " has no data rows"}
	}
	return nil
}

// listedProblems is a file's problems as the cause of its refusal: one
// line each, in both languages for logs and the command line, in one
// language for a page (Text).
type listedProblems struct{ *csvfile.Problems }

func (l listedProblems) Error() string { return l.Problems.String() }
