package sampler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pg"
)

// District is a district or county with its resident population.
type District struct {
	Code       string `db:"code"`
	Name       string `db:"name"`
	Population int64  `db:"population"`
}

var (
	qUpsertDistrict = pg.Q("sampler/upsert-district")
	qListDistricts  = pg.Q("sampler/list-districts")
)

// districtColumns are the columns of the districts CSV (docs/design.md §7).
var districtColumns = csvfile.Columns{Required: []string{"code", "name", "resident_population"},
	Chinese: map[string]string{"code": "代码", "name": "名称", "resident_population": "常住人口"}}

// MaxDistricts bounds the districts of a file: China has fewer than 3,000
// county-level divisions, so a longer file is another kind of file, and the
// bound keeps the rows kept for the import small whatever the file holds.
const MaxDistricts = 10_000

// maxDistrictText bounds a district's code and name, which every page shows.
const maxDistrictText = 100

// ParseDistricts reads the districts CSV (code,name,resident_population, or
// 代码,名称,常住人口; more columns are ignored), in UTF-8 or GB18030, and
// reports every bad line at once.
func ParseDistricts(r io.Reader) ([]District, error) {
	var out []District
	seen := map[string]int{}
	err := readTable(r, core.Text{ZH: "区县文件", EN: "the districts file"}, core.Text{ZH: "区县", EN: "a districts"},
		districtColumns, func(f *csvfile.Reader, rec csvfile.Row) {
			d := District{Code: rec.Get("code"), Name: rec.Get("name")}
			pop, perr := strconv.ParseInt(rec.Get("resident_population"), 10, 64)
			switch {
			case d.Code == "" || d.Name == "":
				f.Reject(rec.Line, "", "代码和名称不能为空", "code and name are required")
			case len(d.Code) > maxDistrictText || len(d.Name) > maxDistrictText:
				f.Reject(rec.Line, "", "代码或名称超过 %d 字节", "the code or the name is longer than %d bytes", maxDistrictText)
			case perr != nil || pop <= 0:
				f.Reject(rec.Line, "resident_population", "常住人口 %s 不是正整数", "resident_population %s is not a positive integer", csvfile.Quote(rec.Get("resident_population")))
			case seen[d.Code] > 0:
				f.Reject(rec.Line, "code", "代码 %s 与第 %d 行重复", "code %s repeats line %d", csvfile.Quote(d.Code), seen[d.Code])
			case len(out) == MaxDistricts:
				f.Reject(rec.Line, "", "区县超过 %d 个，文件可能不是区县文件", "more than %d districts: the file is probably not a districts file", MaxDistricts)
			default:
				// The cells share the memory of their whole line: a kept
				// value is copied out so as not to keep the line.
				d.Code, d.Name, d.Population = strings.Clone(d.Code), strings.Clone(d.Name), pop
				seen[d.Code] = rec.Line
				out = append(out, d)
			}
		})
	if err != nil {
		return nil, err
	}
	return out, nil
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
	// DoorShare is the share of each district's target interviewed door to
	// door when the wave has both modes; nil takes ½.
	DoorShare *float64
	// Design settings (its DoorShare is ignored: see above); zero values
	// keep the defaults: 10 households per community, 2 communities per
	// street, one replicate per district, threshold 0.8, no freshness rule.
	Design *Design
	// DistrictRates are expected completion rates of districts that differ
	// from the wave's.
	DistrictRates map[string]float64
	// AssessmentWeight is the poll's share of the leadership assessment;
	// 0 keeps the default 0.30.
	AssessmentWeight float64
}

var (
	qInsertWave          = pg.Q("sampler/insert-wave")
	qSetWaveDesign       = pg.Q("sampler/set-wave-design")
	qSetDistrictRate     = pg.Q("sampler/set-district-rate")
	qSetAssessmentWeight = pg.Q("sampler/set-assessment-weight")
	qGetWave             = pg.Q("sampler/get-wave")
	qListWaves           = pg.Q("sampler/list-waves")
)

// CreateWave validates and stores a new wave.
func CreateWave(ctx context.Context, db *sqlx.DB, s WaveSpec) (*Wave, error) {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || len(s.Name) > 100 {
		return nil, core.Errorf(core.EInvalid, "轮次名称不能为空，且不超过 100 个字符", "the wave name must be 1–100 characters")
	}
	// The name is part of the wave's addresses (/waves/NAME, /scores/NAME)
	// and of commands (--wave NAME).
	if strings.ContainsAny(s.Name, `/\?#%`) || strings.ContainsFunc(s.Name, unicode.IsControl) {
		return nil, core.Errorf(core.EInvalid, "轮次名称不能包含 / \\ ? # %% 或控制字符", "a wave name cannot contain / \\ ? # %% or control characters")
	}
	if s.Rate <= 0 || s.Rate > 1 {
		return nil, core.Errorf(core.EInvalid, "抽样比例必须在 0 和 1 之间", "the sampling rate must be in (0, 1]")
	}
	if s.ExpectedRate == 0 {
		s.ExpectedRate = 0.5
	}
	if s.ExpectedRate < 0 || s.ExpectedRate > 1 {
		return nil, core.Errorf(core.EInvalid, "预期完成率必须在 0 和 1 之间", "the expected completion rate must be in (0, 1]")
	}
	if s.MinPerDistrict < 0 {
		return nil, core.Errorf(core.EInvalid, "每区县最少样本不能为负", "the minimum per district cannot be negative")
	}
	if len(s.Modes) == 0 {
		s.Modes = []string{"phone"}
	}
	for _, m := range s.Modes {
		if m != "phone" && m != "door" {
			return nil, core.Errorf(core.EInvalid, "调查方式 %q 无效（应为 phone 或 door）", "mode %q is not phone or door", m)
		}
	}
	var qid any
	if s.QuestionnaireID > 0 {
		qid = s.QuestionnaireID
	}
	if err := s.checkDesign(); err != nil {
		return nil, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.GetContext(ctx, &id, qInsertWave, s.Name, s.Rate, s.MinPerDistrict, s.ExpectedRate, pq.StringArray(s.Modes), qid); err != nil {
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return nil, core.Errorf(core.EConflict, "轮次 %q 已存在", "wave %q already exists", s.Name)
		}
		return nil, fmt.Errorf("sampler: create wave: %w", err)
	}
	if d := s.Design; d != nil || s.DoorShare != nil {
		if d == nil {
			d = &Design{}
		}
		var share any
		if s.DoorShare != nil && len(s.Modes) == 2 {
			share = *s.DoorShare
		}
		if _, err := tx.ExecContext(ctx, qSetWaveDesign, id, share, orDefault(d.HouseholdsPerCommunity, 10), orDefault(d.CommunitiesPerStreet, 2),
			d.ReplicateSize, orDefaultF(d.ReplicateThreshold, 0.8), d.FreshnessMonths); err != nil {
			return nil, fmt.Errorf("sampler: wave design: %w", err)
		}
	}
	if s.AssessmentWeight != 0 {
		if _, err := tx.ExecContext(ctx, qSetAssessmentWeight, id, s.AssessmentWeight); err != nil {
			return nil, fmt.Errorf("sampler: assessment weight: %w", err)
		}
	}
	for code, r := range s.DistrictRates {
		if _, err := tx.ExecContext(ctx, qSetDistrictRate, id, code, r); err != nil {
			var pe *pq.Error
			if errors.As(err, &pe) && pe.Code == "23503" {
				return nil, core.Errorf(core.EInvalid, "未知区县代码 %q", "unknown district code %q", code)
			}
			return nil, fmt.Errorf("sampler: district rate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return GetWave(ctx, db, s.Name)
}

// checkDesign validates the design settings and district rates.
func (s *WaveSpec) checkDesign() error {
	for code, r := range s.DistrictRates {
		if !(r > 0 && r <= 1) {
			return core.Errorf(core.EInvalid, "区县 %s 的预期完成率 %v 应在 0 和 1 之间", "district %s: the expected completion rate %v is not in (0, 1]", code, r)
		}
	}
	if s.AssessmentWeight < 0 || s.AssessmentWeight > 1 {
		return core.Errorf(core.EInvalid, "民调在考核中的权重应在 0 和 1 之间", "the poll's weight in the assessment must be in (0, 1]")
	}
	if s.DoorShare != nil && (*s.DoorShare < 0 || *s.DoorShare > 1) {
		return core.Errorf(core.EInvalid, "入户比例应在 0 和 1 之间", "the door-to-door share must be in [0, 1]")
	}
	d := s.Design
	if d == nil {
		return nil
	}
	switch {
	case d.HouseholdsPerCommunity < 0 || d.CommunitiesPerStreet < 0 || d.ReplicateSize < 0 || d.FreshnessMonths < 0:
		return core.Errorf(core.EInvalid, "住户数、社区数、样本批次大小和排除月数不能为负", "households, communities, replicate size and freshness months cannot be negative")
	case d.ReplicateThreshold < 0 || d.ReplicateThreshold > 1:
		return core.Errorf(core.EInvalid, "开放下一批次的完成比例应在 0 和 1 之间", "the replicate threshold must be in (0, 1]")
	}
	return nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDefaultF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// GetWave finds a wave by name.
func GetWave(ctx context.Context, db sqlx.QueryerContext, name string) (*Wave, error) {
	var w Wave
	if err := sqlx.GetContext(ctx, db, &w, qGetWave, name); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有名为 %q 的轮次", "no wave named %q", name)
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
