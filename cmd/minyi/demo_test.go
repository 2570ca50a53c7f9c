package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/cmd/internal/cli"
	"minyi/cmd/minyi/data"
	"minyi/sampler"
	"minyi/sql/pgtest"
	"minyi/survey"
)

// TestDemoOnCurrentBoundariesWithRakedWeights prepares the demo on a fresh
// database and checks what an auditor would: the 38 districts and counties
// of Chongqing since 2016 under their current codes and names, holding the
// 2010 census counts of the units they were made of; census margins by sex
// adding up to each district's residents; and the demo wave's interviews
// raked to those margins.
func TestDemoOnCurrentBoundariesWithRakedWeights(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	out := mustRun(t, dsn, "demo", "--no-serve")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	census2010, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		t.Fatal(err)
	}
	pop2010 := map[string]int64{}
	var total2010 int64
	for _, d := range census2010 {
		pop2010[d.Code] = d.Population
		total2010 += d.Population
	}

	ds, err := sampler.ListDistricts(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 38 {
		t.Fatalf("the demo has %d districts, want the 38 since 2016", len(ds))
	}
	byCode := map[string]sampler.District{}
	var total int64
	for _, d := range ds {
		byCode[d.Code] = d
		total += d.Population
	}
	if total != total2010 {
		t.Errorf("the districts hold %d residents, the 2010 census file %d", total, total2010)
	}
	// Units of 2010 that no longer exist under their 2010 code.
	for _, gone := range []string{"500222", "500223", "500224", "500225", "500226", "500227", "500228", "500232", "500234"} {
		if _, ok := byCode[gone]; ok {
			t.Errorf("2010 code %s is still a district", gone)
		}
	}
	// Current code → name and the 2010 units it holds.
	for _, c := range []struct {
		code, name string
		from       []string
	}{
		{"500110", "綦江区", []string{"500222", "500110"}}, // 綦江县 + 万盛区, 2011
		{"500111", "大足区", []string{"500225", "500111"}}, // 大足县 + 双桥区, 2011
		{"500120", "璧山区", []string{"500227"}},
		{"500151", "铜梁区", []string{"500224"}},
		{"500152", "潼南区", []string{"500223"}},
		{"500153", "荣昌区", []string{"500226"}},
		{"500154", "开州区", []string{"500234"}},
		{"500155", "梁平区", []string{"500228"}},
		{"500156", "武隆区", []string{"500232"}},
		{"500101", "万州区", []string{"500101"}},
		{"500243", "彭水苗族土家族自治县", []string{"500243"}},
	} {
		d, ok := byCode[c.code]
		if !ok || d.Name != c.name {
			t.Errorf("district %s: got %q, want %s", c.code, d.Name, c.name)
			continue
		}
		var want int64
		for _, f := range c.from {
			want += pop2010[f]
		}
		if d.Population != want {
			t.Errorf("%s has %d residents, want %d (2010 %v)", c.name, d.Population, want, c.from)
		}
	}

	ms, err := sampler.ListMargins(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sex := map[string]map[int]int64{}
	for _, m := range ms {
		if m.Variable != "sex" {
			t.Errorf("margin of %s for %s: the demo has margins by sex only", m.Variable, m.District)
			continue
		}
		if sex[m.District] == nil {
			sex[m.District] = map[int]int64{}
		}
		sex[m.District][m.Category] = m.Population
	}
	for _, d := range ds {
		s := sex[d.Code]
		if s[1] <= 0 || s[2] <= 0 || s[1]+s[2] != d.Population {
			t.Errorf("%s: men %d + women %d, want %d residents", d.Name, s[1], s[2], d.Population)
		}
	}
	// Published counts are kept as published: 綦江县 404,511 + 万盛区 128,968 men.
	if sex["500110"][1] != 404511+128968 {
		t.Errorf("綦江区 has %d men in its margins, want 533,479", sex["500110"][1])
	}

	// The wave's interviews, weighted as the scores page weights them.
	sc, err := survey.ScoreWaveNamed(ctx, db, DemoWave)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Weighting) != 38 {
		t.Fatalf("weighting covers %d districts, want 38", len(sc.Weighting))
	}
	for _, dw := range sc.Weighting {
		if !slices.Equal(dw.Raked, []string{"sex"}) || dw.Sweeps == 0 || dw.N < 30 {
			t.Errorf("%s: %d interviews raked to %v in %d sweeps, want ≥ 30 raked to sex", dw.District, dw.N, dw.Raked, dw.Sweeps)
		}
		if c := sc.Composite(dw.District); c == nil || c.Score <= 0 {
			t.Errorf("%s has no score", dw.District)
		}
	}
	// The raked weights meet the margins: men and women weigh what the
	// census counts.
	waveID, q, err := survey.WaveQuestionnaire(ctx, db, DemoWave)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := survey.Respondents(ctx, db, waveID, q)
	if err != nil {
		t.Fatal(err)
	}
	pops := map[string]int64{}
	for _, d := range ds {
		pops[d.Code] = d.Population
	}
	if err := survey.BaseWeights(pops, rs); err != nil {
		t.Fatal(err)
	}
	margins, err := survey.LoadMargins(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := survey.Calibrate(rs, margins); err != nil {
		t.Fatal(err)
	}
	weighed := map[string]map[int]float64{}
	for _, r := range rs {
		if weighed[r.District] == nil {
			weighed[r.District] = map[int]float64{}
		}
		weighed[r.District][r.Sex] += r.Weight
	}
	for code, s := range sex {
		for cat, want := range s {
			if got := weighed[code][cat]; math.Abs(got-float64(want)) > 1e-6*float64(want) {
				t.Errorf("%s sex %d: weights sum to %.1f, census %d", byCode[code].Name, cat, got, want)
			}
		}
	}
	if !strings.Contains(out, "38") || !strings.Contains(out, "raked to the census margins (sex)") {
		t.Errorf("the demo does not say what it loaded and how it weighted:\n%s", out)
	}

	// The assessment office sees it on the scores page: every district by
	// its name of today, with its score and its weights raked to sex.
	m := regexp.MustCompile(`office\s.*password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no password for office in:\n%s", out)
	}
	page := signIn(t, serveInProcess(t), "office", m[1]).get("/scores/" + DemoWave)
	weighting := page[strings.Index(page, `id="weighting"`):]
	// The table groups districts by method: one row (beside its head),
	// raked, for all 38.
	if m := regexp.MustCompile(`迭代加权到[^<]*</td>\s*<td class="n">(\d+)</td>`).FindStringSubmatch(weighting); m == nil || m[1] != "38" || strings.Count(weighting[:strings.Index(weighting, "</table>")], "<tr>") != 2 {
		t.Errorf("the weighting table does not show the 38 districts raked in one row:\n%.600s", weighting)
	}
	for _, d := range ds {
		if !strings.Contains(page, ">"+d.Name+"<") {
			t.Errorf("the scores page does not name %s", d.Name)
		}
	}
	if strings.Contains(page, "开县") || strings.Contains(page, "万盛区") {
		t.Error("the scores page names a district of 2010")
	}
}

// serveInProcess runs minyi serve on the test's database (DATABASE_URL, as
// set by the last command run) until the test ends, and returns its URL.
func serveInProcess(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, &cli.Env{Prog: "minyi", Stdout: pw, Stderr: pw, Stdin: strings.NewReader("")}, []string{"serve", "--addr", "127.0.0.1:0"})
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	sc := bufio.NewScanner(pr)
	var said []string
	for sc.Scan() {
		said = append(said, sc.Text())
		if m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, pr)
			return m[1]
		}
	}
	t.Fatalf("serve did not start:\n%s", strings.Join(said, "\n"))
	return ""
}

// TestDemoDistrictsFileFollowsThe2010Census checks the embedded 2016 file
// row by row against the 2010 census file it is made from
// (docs/demo-data.md): every 2010 unit in exactly one district, each
// district's residents the sum of its units', men and women the published
// sums where published, and elsewhere the derived split.
func TestDemoDistrictsFileFollowsThe2010Census(t *testing.T) {
	read := func(b []byte) []map[string]string {
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]string
		for _, r := range recs[1:] {
			m := map[string]string{}
			for i, h := range recs[0] {
				m[h] = r[i]
			}
			out = append(out, m)
		}
		return out
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil && s != "" {
			t.Fatal(err)
		}
		return n
	}
	units := map[string]map[string]string{}
	for _, r := range read(data.ChongqingDistricts) {
		units[r["code"]] = r
	}
	used := map[string]bool{}
	for _, d := range read(data.Chongqing2016Districts) {
		var pop, men, women int64
		exact := true
		for _, part := range strings.Split(d["census_2010"], " + ") {
			code, name, _ := strings.Cut(part, " ")
			u, ok := units[code]
			if !ok || u["name"] != name || used[code] {
				t.Errorf("%s: 2010 unit %q unknown, misnamed or used twice", d["name"], part)
				continue
			}
			used[code] = true
			pop += num(u["resident_population"])
			men += num(u["male"])
			women += num(u["female"])
			exact = exact && u["exact"] == "yes"
		}
		if num(d["resident_population"]) != pop {
			t.Errorf("%s: %s residents, its 2010 units %d", d["name"], d["resident_population"], pop)
		}
		if !exact {
			// The nine without published sexes share the men the city
			// total leaves: 2,979,051 of 5,856,444.
			men = int64(math.Round(float64(pop) * 2979051 / 5856444))
			women = pop - men
		}
		if want := map[bool]string{true: "census", false: "derived"}[exact]; d["sex_source"] != want {
			t.Errorf("%s: sex_source %s, want %s", d["name"], d["sex_source"], want)
		}
		if num(d["male"]) != men || num(d["female"]) != women {
			t.Errorf("%s: men %s women %s, want %d and %d", d["name"], d["male"], d["female"], men, women)
		}
	}
	if len(used) != len(units) {
		t.Errorf("%d of the %d units of 2010 are in a district of 2016", len(used), len(units))
	}
}

// TestDemoRefusesTheOldDemo: a database an earlier demo filled on the
// 2010 boundaries is refused with what to do, and left as it was.
func TestDemoRefusesTheOldDemo(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustRun(t, dsn, "migrate")
	old, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.SaveDistricts(context.Background(), db, old); err != nil {
		t.Fatal(err)
	}
	_, err = minyi(t, dsn, "demo", "--no-serve")
	if err == nil || !strings.Contains(err.Error(), "./var") || !strings.Contains(err.Error(), "2010") {
		t.Fatalf("the demo on a 2010 database: %v", err)
	}
	var districts, margins int
	db.Get(&districts, "SELECT count(*) FROM districts")
	db.Get(&margins, "SELECT count(*) FROM margins")
	if districts != 40 || margins != 0 {
		t.Errorf("after the refusal: %d districts, %d margins; want the 40 of 2010 and none", districts, margins)
	}
}
