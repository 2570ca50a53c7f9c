package sampler

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/sql"
	"minyi/survey"
)

// District is a district or county with its resident population.
type District struct {
	Code       string `db:"code"`
	Name       string `db:"name"`
	Population int64  `db:"population"`
}

var (
	qUpsertDistrict = sql.Q("sampler/upsert-district")
	qListDistricts  = sql.Q("sampler/list-districts")
)

// ParseDistricts reads the districts CSV (code,name,resident_population; more
// columns are ignored) and reports every bad line at once.
func ParseDistricts(r io.Reader) ([]District, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, survey.Errorf(survey.EInvalid, "无法读取表头:%v", "cannot read the header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, need := range []string{"code", "name", "resident_population"} {
		if _, ok := col[need]; !ok {
			return nil, survey.Errorf(survey.EInvalid, "第 1 行 / line 1: 缺少列 %s", "missing column %s", need)
		}
	}
	var out []District
	var problems []string
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("第 %d 行 / line %d: %v", line, line, err))
			continue
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		d := District{Code: get("code"), Name: get("name")}
		pop, perr := strconv.ParseInt(get("resident_population"), 10, 64)
		switch {
		case d.Code == "" || d.Name == "":
			problems = append(problems, fmt.Sprintf("第 %d 行 / line %d: 代码和名称不能为空 / code and name are required", line, line))
		case perr != nil || pop < 0:
			problems = append(problems, fmt.Sprintf("第 %d 行 / line %d: 常住人口 %q 不是非负整数 / resident_population %q is not a non-negative integer", line, line, get("resident_population"), get("resident_population")))
		case seen[d.Code] > 0:
			problems = append(problems, fmt.Sprintf("第 %d 行 / line %d: 代码 %s 与第 %d 行重复 / code %s repeats line %d", line, line, d.Code, seen[d.Code], d.Code, seen[d.Code]))
		default:
			d.Population = pop
			seen[d.Code] = line
			out = append(out, d)
		}
	}
	if len(problems) > 0 {
		return nil, &survey.Error{Code: survey.EInvalid, ZH: "区县文件有错误,未导入任何行", EN: "the districts file has errors; nothing was imported",
			Err: errors.New(strings.Join(problems, "\n"))}
	}
	if len(out) == 0 {
		return nil, survey.Errorf(survey.EInvalid, "文件中没有区县", "the file has no districts")
	}
	return out, nil
}

// SaveDistricts inserts or updates districts in one transaction and returns
// how many rows changed.
func SaveDistricts(ctx context.Context, db *sqlx.DB, ds []District) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	changed := 0
	for _, d := range ds {
		res, err := tx.ExecContext(ctx, qUpsertDistrict, d.Code, d.Name, d.Population)
		if err != nil {
			return 0, fmt.Errorf("sampler: save district %s: %w", d.Code, err)
		}
		n, _ := res.RowsAffected()
		changed += int(n)
	}
	return changed, tx.Commit()
}

// ListDistricts returns every district in code order.
func ListDistricts(ctx context.Context, db sqlx.QueryerContext) ([]District, error) {
	var ds []District
	if err := sqlx.SelectContext(ctx, db, &ds, qListDistricts); err != nil {
		return nil, fmt.Errorf("sampler: list districts: %w", err)
	}
	return ds, nil
}

// DistrictSet returns the valid district codes.
func DistrictSet(ds []District) map[string]bool {
	m := make(map[string]bool, len(ds))
	for _, d := range ds {
		m[d.Code] = true
	}
	return m
}

// Wave is one round of the poll.
type Wave struct {
	ID              int64          `db:"id"`
	Name            string         `db:"name"`
	Rate            float64        `db:"rate"`
	MinPerDistrict  int            `db:"min_per_district"`
	ExpectedRate    float64        `db:"expected_rate"`
	Modes           pq.StringArray `db:"modes"`
	QuestionnaireID *int64         `db:"questionnaire_id"`
	CreatedAt       time.Time      `db:"created_at"`
	Draw            DrawInfo       `db:"draw"`
}

// DrawInfo records how a wave's sample was drawn; empty before the draw.
type DrawInfo struct {
	Seed          *int64     `db:"seed"`
	Algorithm     *string    `db:"algorithm"`
	Version       *int       `db:"version"`
	FrameChecksum *string    `db:"frame_checksum"`
	CreatedAt     *time.Time `db:"created_at"`
}

// Drawn reports whether the wave's sample has been drawn.
func (w *Wave) Drawn() bool { return w.Draw.Seed != nil }

// WaveSpec is what an admin sets when creating a wave.
type WaveSpec struct {
	Name            string
	Rate            float64
	MinPerDistrict  int
	ExpectedRate    float64
	Modes           []string
	QuestionnaireID int64
}

var (
	qInsertWave = sql.Q("sampler/insert-wave")
	qGetWave    = sql.Q("sampler/get-wave")
	qListWaves  = sql.Q("sampler/list-waves")
)

// CreateWave validates and stores a new wave.
func CreateWave(ctx context.Context, db *sqlx.DB, s WaveSpec) (*Wave, error) {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || len(s.Name) > 100 {
		return nil, survey.Errorf(survey.EInvalid, "轮次名称不能为空,且不超过 100 个字符", "the wave name must be 1–100 characters")
	}
	if s.Rate <= 0 || s.Rate > 1 {
		return nil, survey.Errorf(survey.EInvalid, "抽样比例必须在 0 和 1 之间", "the sampling rate must be in (0, 1]")
	}
	if s.ExpectedRate == 0 {
		s.ExpectedRate = 0.5
	}
	if s.ExpectedRate < 0 || s.ExpectedRate > 1 {
		return nil, survey.Errorf(survey.EInvalid, "预期完成率必须在 0 和 1 之间", "the expected completion rate must be in (0, 1]")
	}
	if s.MinPerDistrict < 0 {
		return nil, survey.Errorf(survey.EInvalid, "每区县最少样本不能为负", "the minimum per district cannot be negative")
	}
	if len(s.Modes) == 0 {
		s.Modes = []string{"phone"}
	}
	for _, m := range s.Modes {
		if m != "phone" && m != "door" {
			return nil, survey.Errorf(survey.EInvalid, "调查方式 %q 无效(应为 phone 或 door)", "mode %q is not phone or door", m)
		}
	}
	var qid any
	if s.QuestionnaireID > 0 {
		qid = s.QuestionnaireID
	}
	if _, err := db.ExecContext(ctx, qInsertWave, s.Name, s.Rate, s.MinPerDistrict, s.ExpectedRate, pq.StringArray(s.Modes), qid); err != nil {
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return nil, survey.Errorf(survey.EConflict, "轮次 %q 已存在", "wave %q already exists", s.Name)
		}
		return nil, fmt.Errorf("sampler: create wave: %w", err)
	}
	return GetWave(ctx, db, s.Name)
}

// GetWave finds a wave by name.
func GetWave(ctx context.Context, db sqlx.QueryerContext, name string) (*Wave, error) {
	var w Wave
	if err := sqlx.GetContext(ctx, db, &w, qGetWave, name); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, survey.Errorf(survey.ENotFound, "没有名为 %q 的轮次", "no wave named %q", name)
		}
		return nil, fmt.Errorf("sampler: get wave: %w", err)
	}
	return &w, nil
}

// ListWaves returns the waves, newest first.
func ListWaves(ctx context.Context, db sqlx.QueryerContext) ([]Wave, error) {
	var ws []Wave
	if err := sqlx.SelectContext(ctx, db, &ws, qListWaves); err != nil {
		return nil, fmt.Errorf("sampler: list waves: %w", err)
	}
	return ws, nil
}
