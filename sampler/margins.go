package sampler

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pg"
)

// Margin is a census target for weighting: the population of one category
// of a variable in a district.
type Margin struct {
	District   string `db:"district_code"`
	Variable   string `db:"variable"`
	Category   int    `db:"category"`
	Population int64  `db:"population"`
}

// marginCategories are the codes each variable takes (docs/design.md §7).
var marginCategories = map[string][2]int{"sex": {1, 2}, "age_group": {1, 5}, "urban": {1, 2}}

var (
	qUpsertMargin = pg.Q("sampler/upsert-margin")
	qListMargins  = pg.Q("sampler/list-margins")
)

// marginColumns are the columns of the margins CSV (docs/design.md §7).
var marginColumns = csvfile.Columns{Required: []string{"district_code", "variable", "category", "population"},
	Chinese: map[string]string{"district_code": "区县代码", "variable": "变量", "category": "类别", "population": "人口"}}

// marginVariableZH names the margins' variables in Chinese.
var marginVariableZH = map[string]string{"sex": "性别", "age_group": "年龄组", "urban": "城乡"}

// ParseMargins reads the margins CSV (district_code,variable,category,
// population, or 区县代码,变量,类别,人口), in UTF-8 or GB18030, and reports
// every bad line at once. districts holds the known district codes; only
// rows of known districts, variables and categories are kept, so what is
// kept is bounded by the districts whatever the file holds.
func ParseMargins(r io.Reader, districts map[string]bool) ([]Margin, error) {
	var out []Margin
	seen := map[[3]string]int{}
	err := readTable(r, core.Text{ZH: "普查边际文件", EN: "the margins file"}, core.Text{ZH: "普查边际", EN: "a margins"},
		marginColumns, func(f *csvfile.Reader, rec csvfile.Row) {
			m := Margin{District: rec.Get("district_code"), Variable: rec.Get("variable")}
			cat, cerr := strconv.Atoi(rec.Get("category"))
			pop, perr := strconv.ParseInt(rec.Get("population"), 10, 64)
			rng, knownVar := marginCategories[m.Variable]
			key := [3]string{m.District, m.Variable, rec.Get("category")}
			switch {
			case !districts[m.District]:
				f.Reject(rec.Line, "district_code", "未知区县代码 %s", "unknown district code %s", csvfile.Quote(m.District))
			case !knownVar:
				f.Reject(rec.Line, "variable", "变量 %s 应为 sex、age_group 或 urban", "variable %s is not sex, age_group or urban", csvfile.Quote(m.Variable))
			case cerr != nil || cat < rng[0] || cat > rng[1]:
				f.Reject(rec.Line, "category", "%[5]s的类别 %[2]s 应在 %[3]d–%[4]d 之间", "%[1]s category %[2]s is not in %[3]d–%[4]d", m.Variable, csvfile.Quote(rec.Get("category")), rng[0], rng[1], marginVariableZH[m.Variable])
			case perr != nil || pop < 0:
				f.Reject(rec.Line, "population", "人口 %s 不是非负整数", "population %s is not a non-negative integer", csvfile.Quote(rec.Get("population")))
			case seen[key] > 0:
				f.Reject(rec.Line, "", "与第 %d 行重复", "repeats line %d", seen[key])
			default:
				// The cells share the memory of their whole line: a kept
				// value is copied out so as not to keep the line.
				m.District, m.Variable, m.Category, m.Population = strings.Clone(m.District), strings.Clone(m.Variable), cat, pop
				key = [3]string{m.District, m.Variable, strings.Clone(key[2])}
				seen[key] = rec.Line
				out = append(out, m)
			}
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListMargins returns every margin.
func ListMargins(ctx context.Context, db sqlx.QueryerContext) ([]Margin, error) {
	var ms []Margin
	err := sqlx.SelectContext(ctx, db, &ms, qListMargins)
	return ms, err
}
