package sampler

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
)

// rddStream keeps random-digit dialing apart from the draw and synthetic
// streams that may use the same seed.
const rddStream = "rdd"

// GenerateRDD adds count random-digit-dialing numbers to the city-wide
// stratum of the telephone frame: a 7-digit mobile prefix (号段) plus 4
// random digits, never a number already in the frame or already used in any
// wave's cases. The numbers are a uniform random sample without replacement
// of the unused numbers of the blocks, deterministic for the seed, the set
// of prefixes and the numbers already used; they are appended in the order
// drawn. It is an error if the blocks have fewer than count unused numbers.
func GenerateRDD(ctx context.Context, db *sqlx.DB, prefixes []string, count int, seed int64) (FrameReport, error) {
	started := time.Now()
	rep, err := generateRDD(ctx, db, prefixes, count, seed)
	opt := ImportOptions{FileName: fmt.Sprintf("rdd: %d prefixes, seed %d", len(prefixes), seed)}
	return rep, recordImport(ctx, db, "rdd", opt, started, &rep, err)
}

func generateRDD(ctx context.Context, db *sqlx.DB, prefixes []string, count int, seed int64) (FrameReport, error) {
	var rep FrameReport
	blocks, err := checkMobilePrefixes(prefixes)
	if err != nil {
		return rep, err
	}
	capacity := int64(len(blocks)) * 10000
	if count <= 0 {
		return rep, core.Errorf(core.EInvalid, "号码数须为正整数：%d", "the count must be a positive integer: %d", count)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback()
	// Locking before reading the used numbers keeps another import from
	// adding one of them in between.
	if err := preparePhoneStaging(ctx, tx); err != nil {
		return rep, err
	}
	var used []string
	if err := tx.SelectContext(ctx, &used, qImportUsedInBlocks, pq.StringArray(blocks)); err != nil {
		return rep, fmt.Errorf("sampler: used numbers: %w", err)
	}
	if free := capacity - int64(len(used)); int64(count) > free {
		return rep, core.Errorf(core.EInvalid, "%d 个号段只剩 %d 个未用号码，不够 %d 个",
			"the %d prefixes have only %d unused numbers, fewer than %d", len(blocks), free, count)
	}
	// Used numbers are kept as positions in the blocks; their number is
	// bounded by the blocks' capacity, not by the frame.
	taken := make(map[int64]bool, len(used))
	index := make(map[string]int64, len(blocks))
	for i, b := range blocks {
		index[b] = int64(i)
	}
	for _, p := range used {
		if i, ok := index[p[:7]]; ok && len(p) == 11 {
			if n, err := strconv.ParseInt(p[7:], 10, 64); err == nil {
				taken[i*10000+n] = true
			}
		}
	}
	st, err := openPhoneCopy(ctx, tx)
	if err != nil {
		return rep, err
	}
	rng := NewRNG(seed, rddStream)
	// A partial Fisher–Yates shuffle of all positions that stores only the
	// positions it has touched (as in SyntheticPhones), skipping used
	// numbers: the kept ones are a uniform sample of the unused numbers.
	moved := map[int64]int64{}
	at := func(i int64) int64 {
		if v, ok := moved[i]; ok {
			return v
		}
		return i
	}
	for i := int64(0); rep.Kept < count && i < capacity; i++ {
		j := i + int64(uniformN(rng, uint64(capacity-i)))
		vi, vj := at(i), at(j)
		moved[j] = vi
		delete(moved, i)
		if taken[vj] {
			continue
		}
		rep.Read++
		rep.Kept++
		row := PhoneRow{Line: rep.Kept, Phone: fmt.Sprintf("%s%04d", blocks[vj/10000], vj%10000)}
		if err := copyPhone(ctx, st, row); err != nil {
			st.st.Close()
			return rep, err
		}
	}
	if err := mergePhones(ctx, tx, st, &rep); err != nil {
		return rep, err
	}
	if rep.Kept != count {
		return rep, fmt.Errorf("sampler: rdd added %d numbers, want %d", rep.Kept, count)
	}
	return rep, tx.Commit()
}

// checkMobilePrefixes validates 7-digit mobile blocks and returns them
// sorted, so that the generated numbers depend on the set of blocks, not on
// the order in which they were listed.
func checkMobilePrefixes(prefixes []string) ([]string, error) {
	if len(prefixes) == 0 {
		return nil, core.Errorf(core.EInvalid, "没有号段", "no mobile prefixes given")
	}
	blocks := make([]string, 0, len(prefixes))
	seen := map[string]bool{}
	for _, p := range prefixes {
		p = strings.TrimSpace(p)
		if len(p) != 7 || strings.Trim(p, "0123456789") != "" {
			return nil, core.Errorf(core.EInvalid, "号段须为 7 位数字：%q", "a mobile prefix must be 7 digits: %q", p)
		}
		// A mobile normalises to itself; a landline block would gain or
		// lose its leading 0, and only mobiles start with 1.
		for _, suffix := range []string{"0000", "9999"} {
			if n, err := NormalizePhone(p + suffix); err != nil || n != p+suffix || p[0] != '1' {
				return nil, core.Errorf(core.EInvalid, "%s 不是有效的中国手机号段", "%s is not a valid Chinese mobile prefix", p)
			}
		}
		if seen[p] {
			return nil, core.Errorf(core.EInvalid, "号段重复：%s", "duplicate mobile prefix: %s", p)
		}
		seen[p] = true
		blocks = append(blocks, p)
	}
	slices.Sort(blocks)
	return blocks, nil
}
