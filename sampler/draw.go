package sampler

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

// The recorded algorithms. A version changes whenever the same frame and
// seed would give a different sample, so that a stored draw can always be
// re-derived by the code that made it, or recognised as made by other code.
//
// Telephone, version 2: simple random sample without replacement per
// district by Floyd's algorithm on the frame's dense ordinals, with
// replacements for numbers excluded by the freshness rule, a city-wide
// stratum of numbers without a district hint, and a random split into
// replicates. Version 1 had neither freshness, city-wide stratum nor
// replicates; on the same frame it drew the same numbers.
//
// Door to door, version 1: systematic PPS streets → systematic PPS
// communities → systematic households (docs/statistics.md §3).
const (
	AlgorithmPhoneSRS = "phone-srswor-floyd"
	AlgorithmVersion  = 2

	AlgorithmDoorPPS     = "door-pps-systematic"
	AlgorithmDoorVersion = 1
)

var (
	// qFrameSizes serves FrameSizes (frame.go), which counts whole strata
	// for display; draws find stratum sizes from the ordinals instead.
	qFrameSizes        = pg.Q("sampler/frame-sizes")
	qLockWave          = pg.Q("draws/lock-wave")
	qLockPhoneFrame    = pg.Q("draws/lock-phone-frame")
	qLockHouseFrame    = pg.Q("draws/lock-household-frame")
	qNow               = pg.Q("draws/now")
	qWaveDesign        = pg.Q("draws/wave-design")
	qDistrictRates     = pg.Q("draws/wave-district-rates")
	qFrameVersions     = pg.Q("draws/frame-versions")
	qInsertDraw        = pg.Q("draws/insert-draw")
	qGetDraw           = pg.Q("draws/get-draw")
	qInsertAllocation  = pg.Q("draws/insert-allocation")
	qListAllocations   = pg.Q("draws/list-allocations")
	qReleasePhoneCases = pg.Q("draws/release-phone-cases")
	qReleaseDoorCases  = pg.Q("draws/release-door-cases")
	qInsertDrawnUnits  = pg.Q("draws/insert-drawn-units")
	qInsertReplicates  = pg.Q("draws/insert-replicates")
)

// AllocationRow is one district's share of a wave. Target and Released are
// totals over both modes; the Door fields are the door-to-door part of them.
type AllocationRow struct {
	District     string `db:"district_code"`
	Name         string `db:"name"`
	Population   int64  `db:"population"`
	Target       int    `db:"target"`        // completes wanted
	Released     int    `db:"released"`      // cases released (numbers and households)
	DoorTarget   int    `db:"door_target"`   // completes wanted door to door
	DoorReleased int    `db:"door_released"` // households released
	Excluded     int    `db:"excluded"`      // units left out by the freshness rule
}

// DrawReport says what a draw did.
type DrawReport struct {
	Wave          string
	Seed          int64
	Algorithm     string
	Version       int
	DoorAlgorithm string // "" when nothing was drawn door to door
	DoorVersion   int
	FrameChecksum string
	Rows          []AllocationRow
	Target        int
	Released      int // all cases, city-wide ones included
	DoorTarget    int
	DoorReleased  int
	CityWide      int      // numbers drawn from the city-wide stratum (no district hint)
	Excluded      int      // units left out by the freshness rule
	Replicates    int      // replicates made, over all strata
	Short         []string // districts whose telephone frame was smaller than the release
	DoorShort     []string // districts whose household frame could not supply the release
	CityShort     bool     // the city-wide stratum was smaller than its release
}

// Design holds the settings of a wave that shape its draw beyond the
// allocation.
type Design struct {
	DoorShare              float64 `db:"door_share"`
	HouseholdsPerCommunity int     `db:"households_per_community"`
	CommunitiesPerStreet   int     `db:"communities_per_street"`
	ReplicateSize          int     `db:"replicate_size"`
	ReplicateThreshold     float64 `db:"replicate_threshold"`
	FreshnessMonths        int     `db:"freshness_months"`
}

// GetDesign reads a wave's design settings.
func GetDesign(ctx context.Context, db sqlx.QueryerContext, waveID int64) (Design, error) {
	var d Design
	if err := sqlx.GetContext(ctx, db, &d, qWaveDesign, waveID); err != nil {
		return d, fmt.Errorf("sampler: wave design: %w", err)
	}
	return d, nil
}

// Plan computes the allocation of a wave without drawing, for display.
func Plan(ctx context.Context, db sqlx.QueryerContext, w *Wave) ([]Allocation, error) {
	ds, err := ListDistricts(ctx, db)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, core.Errorf(core.EInvalid, "还没有区县：请先导入区县人口", "there are no districts yet: import districts first")
	}
	strata := make([]Stratum, len(ds))
	for i, d := range ds {
		strata[i] = Stratum{Code: d.Code, Population: d.Population}
	}
	return Allocate(strata, w.Rate, w.MinPerDistrict)
}

// SplitByMode divides each district's target between door-to-door and
// telephone interviews. The door-to-door total is round(share·Σtarget),
// shared over districts by largest remainder in proportion to their
// targets, so that the two modes add up to each district's target exactly
// and the city-wide split is as close to the share as whole interviews
// allow. It returns the door-to-door targets in the order of alloc.
func SplitByMode(alloc []Allocation, doorShare float64) ([]int, error) {
	out := make([]int, len(alloc))
	if doorShare <= 0 || len(alloc) == 0 {
		return out, nil
	}
	if doorShare >= 1 {
		for i, a := range alloc {
			out[i] = a.Target
		}
		return out, nil
	}
	s, err := decimalRate(doorShare)
	if err != nil {
		return nil, err
	}
	strata := make([]Stratum, len(alloc))
	quotas := make([]*big.Rat, len(alloc))
	var total int64
	for i, a := range alloc {
		strata[i] = Stratum{Code: a.Code, Population: int64(a.Target)}
		quotas[i] = new(big.Rat).Mul(s, new(big.Rat).SetInt64(int64(a.Target)))
		total += int64(a.Target)
	}
	// house = ⌊s·total + 1/2⌋, round half up in exact arithmetic.
	h := new(big.Rat).Add(new(big.Rat).Mul(s, new(big.Rat).SetInt64(total)), big.NewRat(1, 2))
	house := new(big.Int).Quo(h.Num(), h.Denom()).Int64()
	t, err := hamilton(strata, quotas, house, make([]bool, len(alloc)))
	if err != nil {
		return nil, err
	}
	for i := range t {
		out[i] = int(t[i])
	}
	return out, nil
}

// release is the number of cases to release for target completes at the
// expected completion rate r.
func release(target int, r float64) int {
	if target <= 0 {
		return 0
	}
	// The small tolerance keeps 10/0.5 at 20 when the division lands a hair
	// above the whole number.
	return int(math.Ceil(float64(target)/r - 1e-9))
}

// frameChecksum describes the frames a draw read, from the versions kept by
// the frame triggers (frame_versions), without reading the frames.
func frameChecksum(ctx context.Context, db sqlx.QueryerContext, phone, door bool) (string, error) {
	rows, err := db.QueryxContext(ctx, qFrameVersions)
	if err != nil {
		return "", fmt.Errorf("sampler: frame versions: %w", err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var kind, sum string
		var v int64
		if err := rows.Scan(&kind, &v, &sum); err != nil {
			return "", err
		}
		if (kind == "phone" && phone) || (kind == "household" && door) {
			parts = append(parts, fmt.Sprintf("%s:v%d:%s", kind, v, sum))
		}
	}
	return strings.Join(parts, ";"), rows.Err()
}

// Draw allocates the wave's sample over districts, splits it between the
// modes and draws it from the telephone and household frames, releasing the
// drawn units as cases; all in one transaction, so a failed draw leaves
// nothing behind.
func Draw(ctx context.Context, db *sqlx.DB, waveName string, seed int64) (*DrawReport, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qLockWave, waveName); err != nil {
		return nil, err
	}
	w, err := GetWave(ctx, tx, waveName)
	if err != nil {
		return nil, err
	}
	if w.Drawn() {
		return nil, core.Errorf(core.EConflict, "轮次 %q 已经抽样（种子 %d）", "wave %q has already been drawn (seed %d)", w.Name, *w.Draw.Seed)
	}
	design, err := GetDesign(ctx, tx, w.ID)
	if err != nil {
		return nil, err
	}
	// The frames must not change while they are read for the draw.
	if _, err := tx.ExecContext(ctx, qLockPhoneFrame); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, qLockHouseFrame); err != nil {
		return nil, err
	}
	var at time.Time
	if err := tx.GetContext(ctx, &at, qNow); err != nil {
		return nil, err
	}
	s, err := derive(ctx, tx, w, design, seed, at, false)
	if err != nil {
		return nil, err
	}
	if err := s.store(ctx, tx, w.ID, seed); err != nil {
		return nil, err
	}
	return s.report(w.Name, seed), tx.Commit()
}

// Allocations returns a drawn wave's allocation table.
func Allocations(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]AllocationRow, error) {
	var rows []AllocationRow
	err := sqlx.SelectContext(ctx, db, &rows, qListAllocations, waveID)
	return rows, err
}

// plannedCase is one unit a draw releases as a case.
type plannedCase struct {
	Stratum     string // '' for the city-wide telephone stratum
	Mode        string
	Phone       string
	FrameID     int64 // phone_frame.id or household_frame.id
	Ordinal     int64 // position in the frame stratum
	Replicate   int   // 0 for door-to-door cases
	PSU         string
	Prob        float64
	HouseholdID int64
}

// DrawnUnit is one unit selected at one stage of a door-to-door draw.
type DrawnUnit struct {
	Stage       string  `db:"stage"` // street, community or household
	District    string  `db:"district_code"`
	Street      string  `db:"street"`
	Community   string  `db:"community"`
	HouseholdID int64   `db:"household_frame_id"` // household_frame.id; 0 above the household stage
	Size        float64 `db:"size"`
	Prob        float64 `db:"prob"`         // at this stage, given the stages above
	OverallProb float64 `db:"overall_prob"` // product down to this stage
	Certainty   bool    `db:"certainty"`
}

// sample is a derived draw: everything the draw stores, computed from the
// wave, the frames and the seed. Draw stores it; Verify compares it with
// what was stored.
type sample struct {
	algorithm     string
	version       int
	doorAlgorithm string
	doorVersion   int
	checksum      string
	rows          []AllocationRow
	phone         map[string][]plannedCase // by stratum, in frame order
	strata        []string                 // keys of phone in draw order
	replicates    map[string]int           // number of replicates per stratum
	door          []plannedCase
	units         []DrawnUnit
	cityWide      int
	cityExcluded  int
	short         []string
	doorShort     []string
	cityShort     bool
}

// expectedRates are the completion rates a release is sized by: the
// wave's, and a district's own where one is set.
type expectedRates struct {
	wave       float64
	byDistrict map[string]float64
}

func (r expectedRates) of(district string) float64 {
	if x, ok := r.byDistrict[district]; ok {
		return x
	}
	return r.wave
}

func loadExpectedRates(ctx context.Context, tx *sqlx.Tx, w *Wave) (expectedRates, error) {
	r := expectedRates{wave: w.ExpectedRate, byDistrict: map[string]float64{}}
	var rows []struct {
		District string  `db:"district_code"`
		Rate     float64 `db:"expected_rate"`
	}
	if err := tx.SelectContext(ctx, &rows, qDistrictRates, w.ID); err != nil {
		return r, fmt.Errorf("sampler: expected rates: %w", err)
	}
	for _, x := range rows {
		r.byDistrict[x.District] = x.Rate
	}
	return r, nil
}

// derive computes the draw of wave w with the given seed as of time at (the
// draw's time, which fixes the freshness window). With numbers, every drawn
// telephone case has its number and frame row, as verification compares
// them; without, a draw reads the frame only where the freshness rule needs
// the numbers, and its cases are written straight from the frame by ordinal.
func derive(ctx context.Context, tx *sqlx.Tx, w *Wave, d Design, seed int64, at time.Time, numbers bool) (*sample, error) {
	alloc, err := Plan(ctx, tx, w)
	if err != nil {
		return nil, err
	}
	if w.ExpectedRate <= 0 || w.ExpectedRate > 1 {
		return nil, core.Errorf(core.EInvalid, "预期完成率 %v 无效", "the expected completion rate %v is not in (0, 1]", w.ExpectedRate)
	}
	doorTargets, err := SplitByMode(alloc, d.DoorShare)
	if err != nil {
		return nil, err
	}
	rates, err := loadExpectedRates(ctx, tx, w)
	if err != nil {
		return nil, err
	}
	hasPhone, hasDoor := false, false
	for _, m := range w.Modes {
		hasPhone = hasPhone || m == "phone"
		hasDoor = hasDoor || m == "door"
	}
	s := &sample{phone: map[string][]plannedCase{}, replicates: map[string]int{}}
	if hasPhone {
		s.algorithm, s.version = AlgorithmPhoneSRS, AlgorithmVersion
	}
	if hasDoor {
		s.doorAlgorithm, s.doorVersion = AlgorithmDoorPPS, AlgorithmDoorVersion
		if !hasPhone {
			s.algorithm, s.version = AlgorithmDoorPPS, AlgorithmDoorVersion
		}
	}
	if s.checksum, err = frameChecksum(ctx, tx, hasPhone, hasDoor); err != nil {
		return nil, err
	}
	names := map[string]string{}
	ds, err := ListDistricts(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, x := range ds {
		names[x.Code] = x.Name
	}
	var fresh *freshness
	if d.FreshnessMonths > 0 {
		fresh = &freshness{waveID: w.ID, at: at, months: d.FreshnessMonths}
	}
	s.rows = make([]AllocationRow, len(alloc))
	for i, a := range alloc {
		s.rows[i] = AllocationRow{District: a.Code, Name: names[a.Code], Population: a.Population,
			Target: a.Target, DoorTarget: doorTargets[i]}
	}
	if hasPhone {
		if err := s.drawPhone(ctx, tx, alloc, doorTargets, rates, d, seed, fresh, numbers); err != nil {
			return nil, err
		}
	}
	if hasDoor {
		if err := s.drawDoor(ctx, tx, alloc, doorTargets, rates, d, seed, fresh); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// store writes a derived draw: the draw record, allocations, cases,
// replicates and drawn units.
func (s *sample) store(ctx context.Context, tx *sqlx.Tx, waveID, seed int64) error {
	var doorAlg any
	var doorVer any
	if s.doorAlgorithm != "" {
		doorAlg, doorVer = s.doorAlgorithm, s.doorVersion
	}
	if _, err := tx.ExecContext(ctx, qInsertDraw, waveID, s.algorithm, s.version, seed, s.checksum, doorAlg, doorVer, s.cityWide, s.cityExcluded); err != nil {
		return fmt.Errorf("sampler: record draw: %w", err)
	}
	n := len(s.rows)
	codes, pops := make([]string, n), make([]int64, n)
	targets, released, doorTargets, doorReleased, excluded := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range s.rows {
		codes[i], pops[i] = r.District, r.Population
		targets[i], released[i], doorTargets[i] = int64(r.Target), int64(r.Released), int64(r.DoorTarget)
		doorReleased[i], excluded[i] = int64(r.DoorReleased), int64(r.Excluded)
	}
	if _, err := tx.ExecContext(ctx, qInsertAllocation, waveID, pq.StringArray(codes), pq.Int64Array(pops), pq.Int64Array(targets),
		pq.Int64Array(released), pq.Int64Array(doorTargets), pq.Int64Array(doorReleased), pq.Int64Array(excluded)); err != nil {
		return fmt.Errorf("sampler: record allocations: %w", err)
	}
	// All strata in one statement each: a statement per stratum costs a
	// round trip and a plan per district, a noticeable share of a wave.
	var strata, repStrata []string
	var ordinals, reps, repCounts []int64
	var probs []float64
	for _, st := range s.strata {
		cs := s.phone[st]
		if len(cs) == 0 {
			continue
		}
		for _, c := range cs {
			strata, ordinals = append(strata, st), append(ordinals, c.Ordinal)
			reps, probs = append(reps, int64(c.Replicate)), append(probs, c.Prob)
		}
		repStrata, repCounts = append(repStrata, st), append(repCounts, int64(s.replicates[st]))
	}
	if len(ordinals) > 0 {
		if err := releasePhones(ctx, tx, waveID, strata, ordinals, reps, probs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qInsertReplicates, waveID, pq.StringArray(repStrata), pq.Int64Array(repCounts)); err != nil {
			return fmt.Errorf("sampler: replicates: %w", err)
		}
	}
	if err := storeDoor(ctx, tx, waveID, s.door, s.units); err != nil {
		return err
	}
	return nil
}

// releasePhones writes the telephone cases, each found in the frame by its
// stratum and ordinal (parallel arrays, strata in draw order and each
// stratum's ordinals in frame order), so that the numbers go from the frame
// to the cases without a trip through the draw. A stratum whose ordinals
// have a hole, which only a frame changed by hand can have, writes fewer
// cases than it drew, and the draw fails.
func releasePhones(ctx context.Context, tx *sqlx.Tx, waveID int64, strata []string, ordinals, reps []int64, probs []float64) error {
	var written []struct {
		Stratum string `db:"stratum"`
		N       int    `db:"n"`
	}
	if err := tx.SelectContext(ctx, &written, qReleasePhoneCases, waveID, pq.StringArray(strata), pq.Int64Array(ordinals),
		pq.Int64Array(reps), pq.Float64Array(probs)); err != nil {
		return fmt.Errorf("sampler: release telephone cases: %w", err)
	}
	got := make(map[string]int, len(written))
	for _, w := range written {
		got[w.Stratum] = w.N
	}
	for i := 0; i < len(strata); {
		j := i
		for j < len(strata) && strata[j] == strata[i] {
			j++
		}
		if got[strata[i]] != j-i {
			return core.Errorf(core.EConflict, "抽样框分层 %q 的序号不连续（取 %d 行只得到 %d 行），无法抽样",
				"the ordinals of frame stratum %q are not dense (asked for %d rows, found %d); cannot draw", strata[i], j-i, got[strata[i]])
		}
		i = j
	}
	return nil
}

func storeDoor(ctx context.Context, tx *sqlx.Tx, waveID int64, cases []plannedCase, units []DrawnUnit) error {
	// One statement per district keeps statements small for big waves.
	for i := 0; i < len(cases); {
		j := i
		for j < len(cases) && cases[j].Stratum == cases[i].Stratum {
			j++
		}
		ids := make([]int64, 0, j-i)
		psus := make([]string, 0, j-i)
		probs := make([]float64, 0, j-i)
		for _, c := range cases[i:j] {
			ids, psus, probs = append(ids, c.HouseholdID), append(psus, c.PSU), append(probs, c.Prob)
		}
		if _, err := tx.ExecContext(ctx, qReleaseDoorCases, waveID, cases[i].Stratum, pq.Int64Array(ids), pq.StringArray(psus), pq.Float64Array(probs)); err != nil {
			return fmt.Errorf("sampler: release households of %s: %w", cases[i].Stratum, err)
		}
		i = j
	}
	if len(units) == 0 {
		return nil
	}
	n := len(units)
	stage, district, street, community := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	hid := make([]int64, n)
	size, prob, overall := make([]float64, n), make([]float64, n), make([]float64, n)
	cert := make([]bool, n)
	for i, u := range units {
		stage[i], district[i], street[i], community[i] = u.Stage, u.District, u.Street, u.Community
		hid[i], size[i], prob[i], overall[i], cert[i] = u.HouseholdID, u.Size, u.Prob, u.OverallProb, u.Certainty
	}
	if _, err := tx.ExecContext(ctx, qInsertDrawnUnits, waveID, pq.StringArray(stage), pq.StringArray(district),
		pq.StringArray(street), pq.StringArray(community), pq.Int64Array(hid), pq.Float64Array(size),
		pq.Float64Array(prob), pq.Float64Array(overall), pq.BoolArray(cert)); err != nil {
		return fmt.Errorf("sampler: record drawn units: %w", err)
	}
	return nil
}

func (s *sample) report(wave string, seed int64) *DrawReport {
	rep := &DrawReport{Wave: wave, Seed: seed, Algorithm: s.algorithm, Version: s.version,
		DoorAlgorithm: s.doorAlgorithm, DoorVersion: s.doorVersion, FrameChecksum: s.checksum,
		Rows: s.rows, CityWide: s.cityWide, Short: s.short, DoorShort: s.doorShort, CityShort: s.cityShort}
	for _, r := range s.rows {
		rep.Target += r.Target
		rep.Released += r.Released
		rep.DoorTarget += r.DoorTarget
		rep.DoorReleased += r.DoorReleased
		rep.Excluded += r.Excluded
	}
	rep.Released += s.cityWide
	rep.Excluded += s.cityExcluded
	for _, n := range s.replicates {
		rep.Replicates += n
	}
	return rep
}
