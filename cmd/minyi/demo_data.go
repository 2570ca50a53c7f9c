package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"minyi/cmd/minyi/data"
	"minyi/core"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/survey"
)

// The demo's districts, census margins and keyed-in interviews
// (docs/demo-data.md).

var qDemoImported = pg.Q("demo/imported-interviews")

// demoDistrictsFile names the embedded file in audit entries.
const demoDistrictsFile = "chongqing-2016-districts.csv"

// demoCensus reads the demo's districts and their margins by sex from the
// embedded 2016-boundary file.
func demoCensus() ([]sampler.District, []sampler.Margin, error) {
	ds, err := sampler.ParseDistricts(bytes.NewReader(data.Chongqing2016Districts))
	if err != nil {
		return nil, nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(data.Chongqing2016Districts)).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var ms []sampler.Margin
	for _, r := range recs[1:] {
		for cat, name := range map[int]string{1: "male", 2: "female"} {
			n, err := strconv.ParseInt(r[col[name]], 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("demo: %s of %s: %w", name, r[col["code"]], err)
			}
			ms = append(ms, sampler.Margin{District: r[col["code"]], Variable: "sex", Category: cat, Population: n})
		}
	}
	return ds, ms, nil
}

// oldBoundaries refuses a database an earlier demo filled on the 2010
// boundaries: its wave was drawn on districts that no longer exist, and
// adding those of today beside them would give a wave on both.
func oldBoundaries(ctx context.Context, db *pg.DB) error {
	ds, err := sampler.ListDistricts(ctx, db.DB)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if gone2010[d.Code] {
			return core.Errorf(core.EConflict,
				"数据库里是旧版示范的 2010 年区划（如 %s %s），而示范现用 2016 年起的 38 个区县：停止服务后删除数据目录（MINYI_DATA，默认 ./var）再运行",
				"the database holds an earlier demo on the 2010 boundaries (such as %s %s), and the demo now uses the 38 districts since 2016: stop the server, remove the data directory (MINYI_DATA, ./var by default) and run it again",
				d.Code, d.Name)
		}
	}
	return nil
}

// gone2010 are the codes of 2010 that no district has had since 2016
// (docs/demo-data.md §1).
var gone2010 = map[string]bool{"500222": true, "500223": true, "500224": true, "500225": true,
	"500226": true, "500227": true, "500228": true, "500232": true, "500234": true}

// demoRespondents is how many keyed-in interviews the demo gives a
// district: a tenth of its 2‰ target, and at least 30, so that every
// district has a score and an interval while the wave still has calling
// to do.
func demoRespondents(target int) int {
	return max(30, target/10)
}

// demoInterviewsCSV makes the demo's synthetic interviews as a responses
// CSV (docs/design.md §7), the way keyed-in paper interviews are imported.
// They are made from a fixed seed, so every demo has the same ones. Women
// answer more often than men, as on the telephone, so raking to the census
// sex margins moves the weights; each district has a level of its own, so
// that the scores differ.
func demoInterviewsCSV(ds []sampler.District, items []string) ([]byte, int, error) {
	strata := make([]sampler.Stratum, len(ds))
	for i, d := range ds {
		strata[i] = sampler.Stratum{Code: d.Code, Population: d.Population}
	}
	alloc, err := sampler.Allocate(strata, 0.002, 2)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(20161101, 500154))
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(append([]string{"interview_id", "district_code", "mode", "weight", "sex", "age_group"}, items...))
	ageShares := []float64{0.14, 0.17, 0.22, 0.22, 0.25}
	n := 0
	row := make([]string, 6+len(items))
	for _, a := range alloc {
		level := rng.Float64()*1.2 - 0.4
		for range demoRespondents(a.Target) {
			n++
			sex := 1
			if rng.Float64() < 0.58 {
				sex = 2
			}
			age, u := 1, rng.Float64()
			for age < 5 && u > ageShares[age-1] {
				u -= ageShares[age-1]
				age++
			}
			row[0], row[1], row[2], row[3] = fmt.Sprintf("DEMO-%06d", n), a.Code, "phone", ""
			row[4], row[5] = strconv.Itoa(sex), strconv.Itoa(age)
			for j := range items {
				row[6+j] = strconv.Itoa(demoAnswer(rng, level, sex))
			}
			w.Write(row)
		}
	}
	w.Flush()
	return b.Bytes(), n, w.Error()
}

// demoAnswer is one answer on the five-point scale (docs/statistics.md
// §1): a latent satisfaction cut into codes 1–5, or now and then don't
// know (8) or refused (9). Women are a little more satisfied.
func demoAnswer(rng *rand.Rand, level float64, sex int) int {
	switch u := rng.Float64(); {
	case u < 0.05:
		return 8
	case u < 0.06:
		return 9
	}
	x := level + rng.NormFloat64()
	if sex == 2 {
		x += 0.2
	}
	switch {
	case x > 1.2:
		return 1
	case x > 0.2:
		return 2
	case x > -0.6:
		return 3
	case x > -1.4:
		return 4
	}
	return 5
}

// importDemoInterviews keys the demo's synthetic interviews into its wave,
// once, and returns how many the wave holds.
func importDemoInterviews(ctx context.Context, db *pg.DB, ds []sampler.District) (n int, added bool, err error) {
	waveID, q, err := survey.WaveQuestionnaire(ctx, db.DB, DemoWave)
	if err != nil {
		return 0, false, err
	}
	if err := db.DB.GetContext(ctx, &n, qDemoImported, waveID); err != nil || n > 0 {
		return n, false, err
	}
	file, n, err := demoInterviewsCSV(ds, q.IndicatorIDs())
	if err != nil {
		return 0, false, err
	}
	_, err = survey.ImportResponses(ctx, db.DB, DemoWave, bytes.NewReader(file),
		survey.ImportOptions{Actor: "minyi demo", FileName: "demo-interviews.csv"})
	return n, err == nil, err
}

// marginNames are the margin variables as the demo's output names them.
var marginNames = map[string][2]string{"sex": {"性别", "sex"}, "age_group": {"年龄组", "age group"}, "urban": {"城乡", "urban/rural"}}

// demoWeighting says in a line how the demo wave's weights came out.
func demoWeighting(dws []survey.DistrictWeighting) string {
	raked, sweeps := 0, 0
	var zh, en []string
	for _, dw := range dws {
		if len(dw.Raked) > 0 {
			raked++
			sweeps = max(sweeps, dw.Sweeps)
			zh, en = zh[:0], en[:0]
			for _, v := range dw.Raked {
				zh, en = append(zh, marginNames[v][0]), append(en, marginNames[v][1])
			}
		}
	}
	return fmt.Sprintf("加权 / weighting: %d 个区县按普查边际（%s）迭代加权，至多 %d 轮 / %d districts raked to the census margins (%s) in at most %d sweeps",
		raked, strings.Join(zh, "、"), sweeps, raked, strings.Join(en, ", "), sweeps)
}
