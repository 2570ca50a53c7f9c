package export

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/csvfile"
	"minyi/sampler"
	"minyi/survey"
)

// ValueLabelsHeader is the header of the value labels file that goes with
// the responses file: each variable with its Chinese label, and each of its
// values with the value's label.
var ValueLabelsHeader = []string{"variable", "variable_label", "value", "value_label"}

// modeLabels are the labels of the responses file's mode column.
var modeLabels = [][2]string{{"phone", "电话访问"}, {"door", "入户访问"}}

// variable is one variable of the responses file or the questionnaire,
// with its value labels.
type variable struct {
	Name, Label string
	Values      [][2]string // value, label
	Numeric     bool        // its values are numbers (SPSS reads it as F)
	Width       int         // for text: the longest value SPSS must hold
	InFile      bool        // a column of the responses file
}

// responsesVariables lists the responses file's columns in file order,
// then the questionnaire's other questions, each with its value labels.
func responsesVariables(ctx context.Context, db *sqlx.DB, wave string) ([]variable, error) {
	_, q, err := survey.WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	ds, err := sampler.ListDistricts(ctx, db)
	if err != nil {
		return nil, err
	}
	district := variable{Name: "district_code", Label: columnLabels["district_code"], Width: 6, InFile: true}
	for _, d := range ds {
		district.Values = append(district.Values, [2]string{d.Code, d.Name})
		district.Width = max(district.Width, len(d.Code))
	}
	mode := variable{Name: "mode", Label: columnLabels["mode"], Values: modeLabels, Width: 5, InFile: true}
	byID := map[string]survey.Question{}
	for _, qu := range q.Questions {
		byID[qu.ID] = qu
	}
	question := func(qu survey.Question, inFile bool) variable {
		v := variable{Name: qu.ID, Label: QuestionLabel(qu), Numeric: len(qu.Options) > 0 || qu.Type == "number", Width: 255, InFile: inFile}
		for _, o := range qu.Options {
			v.Values = append(v.Values, [2]string{strconv.Itoa(o.Code), o.Label.ZH})
		}
		return v
	}
	var vs []variable
	inFile := map[string]bool{}
	for _, col := range survey.ResponsesHeader(q.IndicatorIDs()) {
		inFile[col] = true
		switch col {
		case "interview_id":
			vs = append(vs, variable{Name: col, Label: columnLabels[col], Width: 16, InFile: true})
		case "district_code":
			vs = append(vs, district)
		case "mode":
			vs = append(vs, mode)
		case "weight":
			vs = append(vs, variable{Name: col, Label: columnLabels[col], Numeric: true, InFile: true})
		default:
			qu, ok := byID[col]
			if !ok {
				// sex or age_group without a question of that id: codes
				// of the margins.
				vs = append(vs, variable{Name: col, Label: columnLabels[col], Numeric: true, InFile: true})
				continue
			}
			v := question(qu, true)
			if l, ok := columnLabels[col]; ok {
				v.Label = l
			}
			vs = append(vs, v)
		}
	}
	for _, qu := range q.Questions {
		if !inFile[qu.ID] {
			vs = append(vs, question(qu, false))
		}
	}
	return vs, nil
}

// writeValueLabels writes the value labels file of a wave's responses:
// every column of the responses file and every question of the
// questionnaire, one row per value (a variable without value labels has
// one row with the value empty).
func writeValueLabels(ctx context.Context, db *sqlx.DB, wave string, w interface{ Write([]string) error }) (int, error) {
	vs, err := responsesVariables(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	if err := w.Write(ValueLabelsHeader); err != nil {
		return 0, err
	}
	n := 0
	for _, v := range vs {
		if len(v.Values) == 0 {
			if err := w.Write([]string{v.Name, v.Label, "", ""}); err != nil {
				return n, err
			}
			n++
			continue
		}
		for _, x := range v.Values {
			if err := w.Write([]string{v.Name, v.Label, x[0], x[1]}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// writeSPSS writes SPSS syntax that reads the responses file of the same
// wave and encoding (its name as FileName gives it, in the same folder)
// and labels its variables and values: GET DATA, VARIABLE LABELS, VALUE
// LABELS. It returns the number of variables. Text in it is quoted the
// SPSS way (a quote doubled), and the file is in the data's encoding,
// which GET DATA names.
func writeSPSS(ctx context.Context, db *sqlx.DB, wave string, enc csvfile.Encoding, out io.Writer) (int, error) {
	vs, err := responsesVariables(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	var cols []variable
	for _, v := range vs {
		if v.InFile {
			cols = append(cols, v)
		}
	}
	spssEnc := "UTF8"
	if enc == csvfile.GB18030 {
		spssEnc = "GB18030"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "* 读取民意调查的访问数据并加上变量标签和值标签。 / Reads a wave's responses and labels its variables and values.\n")
	fmt.Fprintf(&b, "* 轮次 / wave: %s. 请将本文件与数据文件放在同一目录。/ Keep this file beside the data file.\n", oneLine(wave))
	fmt.Fprintf(&b, "GET DATA /TYPE=TXT\n  /FILE=%s\n  /ENCODING=%s\n  /ARRANGEMENT=DELIMITED\n  /DELIMITERS=\",\"\n  /QUALIFIER='\"'\n  /FIRSTCASE=2\n  /VARIABLES=\n",
		spssString(FileName("responses", wave, enc)), spssString(spssEnc))
	for _, v := range cols {
		format := "F12.6"
		switch {
		case v.Name == "weight":
		case v.Numeric:
			format = "F8.0"
		default:
			format = "A" + strconv.Itoa(v.Width)
		}
		fmt.Fprintf(&b, "    %s %s\n", v.Name, format)
	}
	b.WriteString(".\n")
	b.WriteString("VARIABLE LABELS\n")
	for i, v := range cols {
		sepr := "\n"
		if i < len(cols)-1 {
			sepr = "\n  /"
		}
		if i == 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%s %s%s", v.Name, spssString(v.Label), sepr)
	}
	b.WriteString(".\n")
	var labelled []variable
	for _, v := range cols {
		if len(v.Values) > 0 {
			labelled = append(labelled, v)
		}
	}
	if len(labelled) > 0 {
		b.WriteString("VALUE LABELS\n")
		for i, v := range labelled {
			if i > 0 {
				b.WriteString("  /")
			} else {
				b.WriteString("  ")
			}
			b.WriteString(v.Name + "\n")
			for _, x := range v.Values {
				val := x[0]
				if !v.Numeric {
					val = spssString(val)
				}
				fmt.Fprintf(&b, "    %s %s\n", val, spssString(x[1]))
			}
		}
		b.WriteString(".\n")
	}
	b.WriteString("EXECUTE.\n")
	// Windows line ends, as the CSV files have: the office opens both there.
	_, err = io.WriteString(out, strings.ReplaceAll(b.String(), "\n", "\r\n"))
	return len(cols), err
}

// spssString quotes text for SPSS syntax: in single quotes, a quote
// doubled, on one line.
func spssString(s string) string {
	return "'" + strings.ReplaceAll(oneLine(s), "'", "''") + "'"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
