package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/survey"
)

// maxDefinitionSize bounds what check reads; real definitions are a few
// tens of kilobytes.
const maxDefinitionSize = 4 << 20

func cmdQuestionnaire(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "check")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "questionnaire check", "questionnaire check FILE\n"+
		"  检查问卷定义文件(JSON,格式见 docs/questionnaire-format.md),列出每处错误\n"+
		"  check a questionnaire definition (JSON, see docs/questionnaire-format.md) and list every problem")
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	f, err := oneFile(fs, pos)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDefinitionSize+1))
	if err != nil {
		return &core.Error{Code: core.EInvalid, ZH: "无法读取文件", EN: "cannot read the file", Err: err}
	}
	if len(b) > maxDefinitionSize {
		return core.Errorf(core.EInvalid, "文件超过 %d MB", "the file is larger than %d MB", maxDefinitionSize>>20)
	}
	q, err := survey.ParseQuestionnaire(b)
	if de, ok := survey.AsDefinitionError(err); ok {
		for _, p := range de.Problems {
			fmt.Fprintln(e.Stdout, p.String())
		}
		// The problems are printed above; the error only sets the exit code.
		return core.Errorf(core.EInvalid, "%s:%d 处错误", "%s: %d problems", pos[0], len(de.Problems))
	}
	if err != nil {
		return err
	}
	printQuestionnaireSummary(e.Stdout, q)
	return nil
}

func printQuestionnaireSummary(w io.Writer, q *survey.Questionnaire) {
	version := fmt.Sprint(q.Version)
	if q.Version == 0 {
		version = "0(上传时编为下一版 / the next version on upload)"
	}
	fmt.Fprintln(w, "ok")
	fmt.Fprintf(w, "问卷 / questionnaire: %s, 版本 / version %s: %s / %s\n", q.Name, version, q.Title.ZH, q.Title.EN)
	sections, types := map[string]int{}, map[string]int{}
	conditional := 0
	for _, qu := range q.Questions {
		sections[qu.Section]++
		types[qu.Type]++
		if qu.ShowIf != nil {
			conditional++
		}
	}
	fmt.Fprintf(w, "题目 / questions: %d (%s; %s), 有条件 / conditional: %d\n", len(q.Questions), counts(sections), counts(types), conditional)
	fmt.Fprintf(w, "指标 / indicators: %s\n", strings.Join(q.IndicatorIDs(), " "))
	var pts []string
	for _, c := range q.SortedCodes() {
		p, _ := q.PointsOf(c)
		pts = append(pts, fmt.Sprintf("%d=%g", c, p))
	}
	fmt.Fprintf(w, "计分 / points: %s; 满意 / satisfied: %v; 不清楚 / don't know: %v\n", strings.Join(pts, " "), q.Satisfied, q.DontKnow)
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
