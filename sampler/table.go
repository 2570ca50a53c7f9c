package sampler

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"minyi/core"
)

// readTable reads a small reference CSV (districts, margins) that is
// imported whole or not at all. The header must name the required columns
// (others are ignored); each data row is handed to row with a getter of
// trimmed cells, and row returns what is wrong with it in Chinese and
// English, or "" when it is fine. Every problem is collected so that the
// file can be mended in one pass.
func readTable(r io.Reader, required []string, row func(line int, get func(col string) string) (zh, en string)) (rows int, problems []string, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return 0, nil, core.Errorf(core.EInvalid, "第 1 行:无法读取表头:%v", "line 1: cannot read the header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, need := range required {
		if _, ok := col[need]; !ok {
			return 0, nil, core.Errorf(core.EInvalid, "第 1 行:缺少列 %s", "line 1: missing column %s", need)
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, problems, nil
		}
		rows++
		if err != nil {
			problems = append(problems, fmt.Sprintf("第 %d 行 / line %d: CSV 格式错误 / malformed CSV: %v", line, line, err))
			continue
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if zh, en := row(line, get); zh != "" {
			problems = append(problems, fmt.Sprintf("第 %d 行 / line %d: %s / %s", line, line, zh, en))
		}
	}
}

// tableError is the error for a reference file with problems or no rows.
func tableError(what core.Text, rows int, problems []string) error {
	if len(problems) > 0 {
		return &core.Error{Code: core.EInvalid, ZH: what.ZH + "有错误,未导入任何行", EN: what.EN + " has errors; nothing was imported",
			Err: errors.New(strings.Join(problems, "\n"))}
	}
	if rows == 0 {
		return &core.Error{Code: core.EInvalid, ZH: what.ZH + "没有数据行", EN: what.EN + " has no data rows"}
	}
	return nil
}
