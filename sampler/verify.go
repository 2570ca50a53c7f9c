package sampler

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qStoredCases = pg.Q("draws/stored-cases")
	qStoredUnits = pg.Q("draws/stored-units")
)

// VerifyReport compares a stored draw with the draw re-derived from its
// seed and the current frames.
type VerifyReport struct {
	Wave           string
	Seed           int64
	Algorithm      string
	Version        int
	DoorAlgorithm  string
	DoorVersion    int
	StoredChecksum string // recorded by the draw
	FrameChecksum  string // of the frames now
	Cases          int    // cases stored
	Missing        int    // re-derived but not stored
	Extra          int    // stored but not re-derived
	Changed        int    // stored and re-derived, with a different replicate or probability
	// Differences describes every difference, one line each in both
	// languages; empty when the draw is identical.
	Differences []string
}

// Identical reports whether re-deriving the draw gave exactly what is
// stored.
func (r *VerifyReport) Identical() bool { return len(r.Differences) == 0 }

func (r *VerifyReport) add(zh, en string, args ...any) {
	r.Differences = append(r.Differences, fmt.Sprintf(zh, args...)+" / "+fmt.Sprintf(en, args...))
}

type storedDraw struct {
	Algorithm     string    `db:"algorithm"`
	Version       int       `db:"version"`
	Seed          int64     `db:"seed"`
	FrameChecksum string    `db:"frame_checksum"`
	DoorAlgorithm string    `db:"door_algorithm"`
	DoorVersion   int       `db:"door_version"`
	CityReleased  int       `db:"city_released"`
	CityExcluded  int       `db:"city_excluded"`
	CreatedAt     time.Time `db:"created_at"`
}

type storedCase struct {
	ID          int64   `db:"id"`
	Stratum     string  `db:"stratum"`
	Mode        string  `db:"mode"`
	Phone       string  `db:"phone"`
	HouseholdID int64   `db:"household_id"`
	Replicate   int     `db:"replicate"`
	PSU         string  `db:"psu"`
	Prob        float64 `db:"inclusion_prob"`
}

// Verify re-derives a wave's sample from its stored seed, the wave's
// settings and the frames as they are now, and compares it with the stored
// cases, allocations and drawn units. Verification reads one snapshot of the
// database and changes nothing.
//
// The freshness rule is applied as of the time of the stored draw, so later
// interviews do not change the re-derived sample; interviews recorded later
// for waves drawn before it can, and show up as differences.
func Verify(ctx context.Context, db *sqlx.DB, waveName string) (*VerifyReport, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	w, err := GetWave(ctx, tx, waveName)
	if err != nil {
		return nil, err
	}
	if !w.Drawn() {
		return nil, core.Errorf(core.EInvalid, "轮次 %q 还没有抽样", "wave %q has not been drawn yet", w.Name)
	}
	var st storedDraw
	if err := tx.GetContext(ctx, &st, qGetDraw, w.ID); err != nil {
		return nil, fmt.Errorf("sampler: stored draw: %w", err)
	}
	rep := &VerifyReport{Wave: w.Name, Seed: st.Seed, Algorithm: st.Algorithm, Version: st.Version,
		DoorAlgorithm: st.DoorAlgorithm, DoorVersion: st.DoorVersion, StoredChecksum: st.FrameChecksum}
	design, err := GetDesign(ctx, tx, w.ID)
	if err != nil {
		return nil, err
	}
	s, err := derive(ctx, tx, w, design, st.Seed, st.CreatedAt, true)
	if err != nil {
		return nil, err
	}
	rep.FrameChecksum = s.checksum
	if s.algorithm != st.Algorithm || s.version != st.Version || s.doorAlgorithm != st.DoorAlgorithm || s.doorVersion != st.DoorVersion {
		rep.add("抽样算法不同：记录为 %s v%d %s v%d，本程序为 %s v%d %s v%d，无法重新推导",
			"the draw used %s v%d %s v%d but this program implements %s v%d %s v%d; it cannot be re-derived",
			st.Algorithm, st.Version, st.DoorAlgorithm, st.DoorVersion, s.algorithm, s.version, s.doorAlgorithm, s.doorVersion)
		return rep, nil
	}
	if s.checksum != st.FrameChecksum {
		rep.add("抽样框校验和已改变：抽样时 %s，现在 %s", "frame checksum changed: %s at the draw, %s now", st.FrameChecksum, s.checksum)
	}
	if err := compareAllocations(ctx, tx, w.ID, s, st, rep); err != nil {
		return nil, err
	}
	if err := compareCases(ctx, tx, w.ID, s, rep); err != nil {
		return nil, err
	}
	if err := compareUnits(ctx, tx, w.ID, s, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func compareAllocations(ctx context.Context, tx *sqlx.Tx, waveID int64, s *sample, st storedDraw, rep *VerifyReport) error {
	stored, err := Allocations(ctx, tx, waveID)
	if err != nil {
		return err
	}
	byCode := map[string]AllocationRow{}
	for _, r := range stored {
		byCode[r.District] = r
	}
	for _, r := range s.rows {
		o, ok := byCode[r.District]
		delete(byCode, r.District)
		if !ok {
			rep.add("区县 %s 没有分配记录", "district %s has no stored allocation", r.District)
			continue
		}
		o.Name = r.Name
		if o != r {
			rep.add("区县 %s 的分配不同：记录为 人口 %d 目标 %d 发放 %d 入户目标 %d 入户发放 %d 排除 %d，重新推导为 %d %d %d %d %d %d",
				"district %s allocation differs: stored population %d target %d released %d door target %d door released %d excluded %d, re-derived %d %d %d %d %d %d",
				r.District, o.Population, o.Target, o.Released, o.DoorTarget, o.DoorReleased, o.Excluded,
				r.Population, r.Target, r.Released, r.DoorTarget, r.DoorReleased, r.Excluded)
		}
	}
	for code := range byCode {
		rep.add("区县 %s 有分配记录，但重新推导中没有", "district %s has a stored allocation but none re-derived", code)
	}
	if st.CityReleased != s.cityWide || st.CityExcluded != s.cityExcluded {
		rep.add("全市分层：记录为发放 %d 排除 %d，重新推导为 %d %d", "city-wide stratum: stored %d released %d excluded, re-derived %d %d",
			st.CityReleased, st.CityExcluded, s.cityWide, s.cityExcluded)
	}
	return nil
}

func caseKey(mode, stratum, phone string, household int64) string {
	if mode == "door" {
		return fmt.Sprintf("door\x00%d", household)
	}
	return "phone\x00" + stratum + "\x00" + phone
}

func stratumName(s string) string {
	if s == "" {
		return "全市 city-wide"
	}
	return s
}

// sameProb compares probabilities stored as float8; they went through the
// database unchanged, but a tolerance keeps the check about meaning rather
// than the last bit.
func sameProb(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func compareCases(ctx context.Context, tx *sqlx.Tx, waveID int64, s *sample, rep *VerifyReport) error {
	var stored []storedCase
	if err := sqlx.SelectContext(ctx, tx, &stored, qStoredCases, waveID); err != nil {
		return fmt.Errorf("sampler: stored cases: %w", err)
	}
	rep.Cases = len(stored)
	byKey := make(map[string]storedCase, len(stored))
	for _, c := range stored {
		byKey[caseKey(c.Mode, c.Stratum, c.Phone, c.HouseholdID)] = c
	}
	check := func(p plannedCase) {
		k := caseKey(p.Mode, p.Stratum, p.Phone, p.HouseholdID)
		c, ok := byKey[k]
		if !ok {
			rep.Missing++
			if p.Mode == "door" {
				rep.add("缺少个案：区县 %s 住户（抽样框行 %d）", "missing case: district %s household (frame row %d)", p.Stratum, p.FrameID)
			} else {
				rep.add("缺少个案：分层 %s 号码（抽样框行 %d）", "missing case: stratum %s number (frame row %d)", stratumName(p.Stratum), p.FrameID)
			}
			return
		}
		delete(byKey, k)
		switch {
		case c.Replicate != p.Replicate:
			rep.Changed++
			rep.add("个案 %d 的样本批次不同：记录为 %d，重新推导为 %d", "case %d is in replicate %d but re-derives into %d", c.ID, c.Replicate, p.Replicate)
		case !sameProb(c.Prob, p.Prob):
			rep.Changed++
			rep.add("个案 %d 的入样概率不同：记录为 %g，重新推导为 %g", "case %d inclusion probability changed: stored %g, re-derived %g", c.ID, c.Prob, p.Prob)
		case c.PSU != p.PSU:
			rep.Changed++
			rep.add("个案 %d 的初级抽样单位不同：记录为 %s，重新推导为 %s", "case %d PSU changed: stored %s, re-derived %s", c.ID, c.PSU, p.PSU)
		}
	}
	for _, st := range s.strata {
		for _, p := range s.phone[st] {
			check(p)
		}
	}
	for _, p := range s.door {
		check(p)
	}
	for _, c := range stored {
		if _, ok := byKey[caseKey(c.Mode, c.Stratum, c.Phone, c.HouseholdID)]; ok {
			rep.Extra++
			rep.add("多出个案 %d（%s，分层 %s），重新推导中没有", "extra case %d (%s, stratum %s) that the draw does not re-derive", c.ID, c.Mode, stratumName(c.Stratum))
		}
	}
	return nil
}

func unitKey(u DrawnUnit) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%d", u.Stage, u.District, u.Street, u.Community, u.HouseholdID)
}

func compareUnits(ctx context.Context, tx *sqlx.Tx, waveID int64, s *sample, rep *VerifyReport) error {
	var stored []DrawnUnit
	if err := sqlx.SelectContext(ctx, tx, &stored, qStoredUnits, waveID); err != nil {
		return fmt.Errorf("sampler: stored drawn units: %w", err)
	}
	byKey := make(map[string]DrawnUnit, len(stored))
	for _, u := range stored {
		byKey[unitKey(u)] = u
	}
	for _, u := range s.units {
		k := unitKey(u)
		o, ok := byKey[k]
		if !ok {
			rep.add("缺少抽中单位：%s %s/%s/%s %d", "missing drawn unit: %s %s/%s/%s %d", u.Stage, u.District, u.Street, u.Community, u.HouseholdID)
			continue
		}
		delete(byKey, k)
		if o.Certainty != u.Certainty || !sameProb(o.Prob, u.Prob) || !sameProb(o.OverallProb, u.OverallProb) || !sameProb(o.Size, u.Size) {
			rep.add("抽中单位 %s %s/%s/%s 的规模或概率不同：记录为 规模 %g 概率 %g 总概率 %g，重新推导为 %g %g %g",
				"drawn unit %s %s/%s/%s changed size or probability: stored size %g prob %g overall %g, re-derived %g %g %g",
				u.Stage, u.District, u.Street, u.Community, o.Size, o.Prob, o.OverallProb, u.Size, u.Prob, u.OverallProb)
		}
	}
	for _, u := range stored {
		if _, ok := byKey[unitKey(u)]; ok {
			rep.add("多出抽中单位：%s %s/%s/%s %d", "extra drawn unit: %s %s/%s/%s %d", u.Stage, u.District, u.Street, u.Community, u.HouseholdID)
		}
	}
	return nil
}
