package sampler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pg"
)

// MaxStoredProblems is how many problems a frame import's report keeps and
// stores; the counts stay exact beyond it.
const MaxStoredProblems = 1000

// FrameReport says what a frame import did with each data row (the header
// is not counted): Kept + Rejected + Duplicates == Read. Fixed counts the
// kept rows whose number had to be normalised. Problems lists rejected and
// duplicate rows in line order, at most MaxStoredProblems of them.
type FrameReport struct {
	Read, Kept, Fixed, Rejected, Duplicates int
	Problems                                []csvfile.Problem
	Encoding                                csvfile.Encoding // the encoding the file was read in
}

// mergeProblems adds problems found after parsing, keeping the first
// MaxStoredProblems by line.
func (r *FrameReport) mergeProblems(more []csvfile.Problem) {
	r.Problems = append(r.Problems, more...)
	slices.SortStableFunc(r.Problems, func(a, b csvfile.Problem) int { return a.Line - b.Line })
	if len(r.Problems) > MaxStoredProblems {
		r.Problems = r.Problems[:MaxStoredProblems]
	}
}

// ParseOptions control how a frame file is read.
type ParseOptions struct {
	Encoding  csvfile.Encoding // csvfile.Auto (or ""), csvfile.UTF8 or csvfile.GB18030
	Districts map[string]bool  // known district codes; nil accepts any code
}

// PhoneRow is one valid row of a telephone frame file.
type PhoneRow struct {
	Line     int
	Phone    string // normalised (NormalizePhone)
	District string // "" for the city-wide stratum
	Fixed    bool   // the number as written differed from its normal form
}

// HouseholdRow is one valid row of a household frame file. A size of 0
// means the file did not give it.
type HouseholdRow struct {
	Line                                     int
	District, Street, Community, HouseholdID string
	Address                                  string
	StreetSize, CommunitySize                int64
}

// The columns of the frame files. A column that is not known refuses the
// file rather than being dropped, since it usually means a misspelt or
// shifted header.
var (
	phoneColumns = csvfile.Columns{Required: []string{"phone"}, Optional: []string{"district_code"},
		Others: csvfile.RefuseOthers}
	householdColumns = csvfile.Columns{Required: []string{"district_code", "street", "community", "household_id", "address"},
		Optional: []string{"street_size", "community_size"}, Others: csvfile.RefuseOthers}
)

// openFrame opens a frame file and reads its header.
func openFrame(r io.Reader, enc csvfile.Encoding, cols csvfile.Columns, rep *FrameReport) (*csvfile.Reader, error) {
	f, err := csvfile.NewReader(r, csvfile.Options{Encoding: enc, Kind: core.Text{ZH: "抽样框", EN: "a frame"},
		MaxProblems: MaxStoredProblems, NoControl: true, EncodingHint: true})
	if err != nil {
		return nil, err
	}
	rep.Encoding = f.Encoding()
	if err := f.ReadHeader(cols); err != nil {
		return nil, err
	}
	return f, nil
}

// tally copies the reader's counts and problems into the report.
func (r *FrameReport) tally(f *csvfile.Reader) {
	r.Read, r.Rejected = f.Rows(), f.Refused()
	r.Problems = f.Problems().List()
	r.Encoding = f.Encoding()
}

// ParsePhoneFrame reads a telephone frame CSV (header "phone" or
// "phone,district_code"), calls emit for every valid row in file order and
// reports the rest. Only the current row is held in memory.
//
// It returns a fatal error, after which nothing from the file may be kept,
// when the file cannot be read, is not CSV text, has a wrong header, has a
// line longer than csvfile.MaxLineBytes, has no valid row, or has more than
// half of its rows rejected; and any error of emit. Repeated numbers are
// not detected here (that needs the whole file): the importer finds them in
// the database, so Duplicates is 0 in the parser's report.
func ParsePhoneFrame(r io.Reader, opt ParseOptions, emit func(PhoneRow) error) (FrameReport, error) {
	var rep FrameReport
	f, err := openFrame(r, opt.Encoding, phoneColumns, &rep)
	if err != nil {
		return rep, err
	}
	var normalize blockCache
	var lastDistrict string // the last known district code seen
	iPhone, iDistrict := f.Index("phone"), f.Index("district_code")
	for {
		rec, err := f.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep.tally(f)
			return rep, err
		}
		line := rec.Line
		raw := rec.Fields[iPhone]
		phone := strings.TrimSpace(raw)
		if phone == "" {
			f.Reject(line, "phone", "电话号码为空", "the phone number is empty")
			continue
		}
		norm, nerr := normalize.phone(phone)
		if nerr != nil {
			f.Reject(line, "phone", "无效的电话号码 %s(须为中国大陆手机或固定电话号码)", "invalid phone number %s (must be a mainland China mobile or landline number)", csvfile.Quote(phone))
			continue
		}
		row := PhoneRow{Line: line, Phone: norm, Fixed: norm != raw}
		if iDistrict >= 0 {
			row.District = strings.TrimSpace(rec.Fields[iDistrict])
			// Rows of a district usually come together: the last code
			// checked saves a lookup.
			if row.District != "" && opt.Districts != nil && row.District != lastDistrict {
				if !opt.Districts[row.District] {
					f.Reject(line, "district_code", "未知的区县代码 %s", "unknown district code %s", csvfile.Quote(row.District))
					continue
				}
				lastDistrict = row.District
			}
		}
		rep.Kept++
		if row.Fixed {
			rep.Fixed++
		}
		if emit != nil {
			if err := emit(row); err != nil {
				rep.tally(f)
				return rep, err
			}
		}
	}
	rep.tally(f)
	return rep, rep.finish()
}

// ParseHouseholdFrame reads a household frame CSV (header
// "district_code,street,community,household_id,address" and optionally
// "street_size" and "community_size", in any order), calls emit for every
// valid row in file order and reports the rest; fatal errors as for
// ParsePhoneFrame. Sizes must be positive integers and the same on every
// row of a street or community; to check that, the first size seen for each
// street and community is remembered, so memory grows with the number of
// clusters, never with the number of households.
func ParseHouseholdFrame(r io.Reader, opt ParseOptions, emit func(HouseholdRow) error) (FrameReport, error) {
	var rep FrameReport
	f, err := openFrame(r, opt.Encoding, householdColumns, &rep)
	if err != nil {
		return rep, err
	}
	type seenSize struct {
		size int64
		line int
	}
	streetSizes := map[string]seenSize{}
	communitySizes := map[string]seenSize{}
	for {
		rec, err := f.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep.tally(f)
			return rep, err
		}
		line := rec.Line
		row := HouseholdRow{Line: line, District: rec.Get("district_code"), Street: rec.Get("street"), Community: rec.Get("community"),
			HouseholdID: rec.Get("household_id"), Address: rec.Get("address")}
		var empty []string
		for _, name := range householdColumns.Required {
			if rec.Get(name) == "" {
				empty = append(empty, name)
			}
		}
		if len(empty) > 0 {
			f.Reject(line, empty[0], "缺少必填项 %s", "missing required value(s): %s", strings.Join(empty, ", "))
			continue
		}
		if opt.Districts != nil && !opt.Districts[row.District] {
			f.Reject(line, "district_code", "未知的区县代码 %s", "unknown district code %s", csvfile.Quote(row.District))
			continue
		}
		bad := false
		for _, s := range []struct {
			name string
			dst  *int64
		}{{"street_size", &row.StreetSize}, {"community_size", &row.CommunitySize}} {
			v := rec.Get(s.name)
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				f.Reject(line, s.name, "%s 为 %s,须为正整数", "%s is %s; it must be a positive integer", s.name, csvfile.Quote(v))
				bad = true
				break
			}
			*s.dst = n
		}
		if bad {
			continue
		}
		streetKey := row.District + "\x00" + row.Street
		communityKey := streetKey + "\x00" + row.Community
		if s, ok := streetSizes[streetKey]; ok && row.StreetSize > 0 && s.size != row.StreetSize {
			f.Reject(line, "street_size", "街道 %s 的 street_size 为 %d,与第 %d 行的 %d 不一致", "street_size %[2]d of street %[1]s differs from %[4]d on line %[3]d",
				csvfile.Quote(row.Street), row.StreetSize, s.line, s.size)
			continue
		}
		if s, ok := communitySizes[communityKey]; ok && row.CommunitySize > 0 && s.size != row.CommunitySize {
			f.Reject(line, "community_size", "社区 %s 的 community_size 为 %d,与第 %d 行的 %d 不一致", "community_size %[2]d of community %[1]s differs from %[4]d on line %[3]d",
				csvfile.Quote(row.Community), row.CommunitySize, s.line, s.size)
			continue
		}
		if _, ok := streetSizes[streetKey]; !ok && row.StreetSize > 0 {
			streetSizes[streetKey] = seenSize{row.StreetSize, line}
		}
		if _, ok := communitySizes[communityKey]; !ok && row.CommunitySize > 0 {
			communitySizes[communityKey] = seenSize{row.CommunitySize, line}
		}
		rep.Kept++
		if emit != nil {
			if err := emit(row); err != nil {
				rep.tally(f)
				return rep, err
			}
		}
	}
	rep.tally(f)
	return rep, rep.finish()
}

// blockCache remembers NormalizePhone's verdict on numbers written as plain
// 11 digits by their 7-digit block (号段): parsing with phonenumbers costs
// tens of microseconds, which would dominate the import of a census-scale
// frame, while China's mobile numbering plan, and so the library's
// validity patterns, are set by block. TestPhoneBlockCache checks that
// assumption against the library. The verdicts are kept in a table indexed
// by block, a byte for each of the million blocks 1000000–1999999, which is
// cheaper to consult per row than a map.
type blockCache struct {
	verdict []int8 // by block − 1,000,000: 0 not yet known, 1 valid, −1 not
}

func (c *blockCache) phone(s string) (string, error) {
	if len(s) > 64 {
		// No way of writing a number is this long; do not let the parser
		// spend time on it.
		return "", fmt.Errorf("无效的电话号码 / invalid phone number: %.20q…", s)
	}
	block, _, ok := mobileParts(s)
	if !ok {
		return NormalizePhone(s)
	}
	if c.verdict == nil {
		c.verdict = make([]int8, 1_000_000)
	}
	switch c.verdict[block] {
	case 1:
		return s, nil
	case -1:
		return "", fmt.Errorf("无效的电话号码 / invalid phone number: %q", s)
	}
	norm, err := NormalizePhone(s)
	switch {
	case err != nil:
		c.verdict[block] = -1
	case norm == s:
		c.verdict[block] = 1
	}
	return norm, err
}

// finish applies the whole-file rules: a file that yields nothing, or whose
// rows are mostly wrong (a shifted column, the wrong kind of file), is
// refused whole rather than imported in part.
func (r *FrameReport) finish() error {
	switch {
	case r.Read == 0:
		return core.Errorf(core.EInvalid, "文件只有表头,没有数据行", "the file has a header but no data rows")
	case r.Kept == 0:
		return core.Errorf(core.EInvalid, "%d 行全部被拒绝,没有可导入的行", "all %d rows were rejected; nothing is importable", r.Read)
	case 2*r.Rejected > r.Read:
		return core.Errorf(core.EInvalid, "%d 行中有 %d 行被拒绝,超过一半", "%[2]d of %[1]d rows were rejected, more than half", r.Read, r.Rejected)
	}
	return nil
}

// ImportOptions describe one import for its record in frame_imports.
type ImportOptions struct {
	Encoding  csvfile.Encoding // csvfile.Auto (or ""), csvfile.UTF8 or csvfile.GB18030
	FileName  string
	CreatedBy *int64 // the admin who imported, if known
}

var (
	qImportDistrictCodes       = pg.Q("frames/district-codes")
	qImportLockPhones          = pg.Q("frames/lock-phone-frame")
	qImportPhoneStaging        = pg.Q("frames/create-phone-staging")
	qImportWorkMem             = pg.Q("frames/import-work-mem")
	qImportPhoneDuplicates     = pg.Q("frames/phone-duplicates")
	qImportMergePhones         = pg.Q("frames/merge-phones")
	qImportPhoneBases          = pg.Q("frames/phone-stratum-bases")
	qImportCountFixed          = pg.Q("frames/count-fixed-phones")
	qImportInsertNumbered      = pg.Q("frames/insert-numbered-phones")
	qImportSavepoint           = pg.Q("frames/savepoint")
	qImportRollbackSavepoint   = pg.Q("frames/rollback-savepoint")
	qImportUsedInBlocks        = pg.Q("frames/used-phones-in-blocks")
	qImportLockHouseholds      = pg.Q("frames/lock-household-frame")
	qImportHouseholdStaging    = pg.Q("frames/create-household-staging")
	qImportMarkRepeats         = pg.Q("frames/mark-household-repeats")
	qImportMarkInFrame         = pg.Q("frames/mark-households-in-frame")
	qImportMarkConflicts       = pg.Q("frames/mark-household-size-conflicts")
	qImportHouseholdDuplicates = pg.Q("frames/household-duplicates")
	qImportHouseholdDupCount   = pg.Q("frames/household-duplicate-count")
	qImportMergeHouseholds     = pg.Q("frames/merge-households")
	qImportRecord              = pg.Q("frames/insert-import")
)

// ImportPhoneFrame imports a telephone frame CSV (see ParsePhoneFrame) in
// one transaction: valid rows are streamed with COPY into a temporary table
// and then merged into phone_frame, where numbers repeated in the file or
// already in the frame are counted as duplicates and each stratum's
// ordinals stay dense. On a fatal error nothing is imported; the report,
// as far as it got, is returned with the error either way and is recorded
// in frame_imports.
func ImportPhoneFrame(ctx context.Context, db *sqlx.DB, r io.Reader, opt ImportOptions) (FrameReport, error) {
	started := time.Now()
	rep, err := importPhones(ctx, db, r, opt)
	return rep, recordImport(ctx, db, "phone", opt, started, &rep, err)
}

func importPhones(ctx context.Context, db *sqlx.DB, r io.Reader, opt ImportOptions) (FrameReport, error) {
	districts, err := knownDistrictCodes(ctx, db, qImportDistrictCodes)
	if err != nil {
		return FrameReport{}, err
	}
	// One connection for the transaction and the raw COPY of a bulk load.
	conn, err := db.Connx(ctx)
	if err != nil {
		return FrameReport{}, err
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return FrameReport{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qImportLockPhones); err != nil {
		return FrameReport{}, fmt.Errorf("sampler: lock phone frame: %w", err)
	}
	var empty bool
	if err := tx.GetContext(ctx, &empty, qImportFrameEmpty); err != nil {
		return FrameReport{}, fmt.Errorf("sampler: phone frame: %w", err)
	}
	if empty {
		rep, err := bulkLoadPhones(ctx, conn, tx, r, opt)
		if err != nil {
			return rep, err
		}
		return rep, tx.Commit()
	}
	if err := preparePhoneStaging(ctx, tx); err != nil {
		return FrameReport{}, err
	}
	st, err := openPhoneCopy(ctx, tx)
	if err != nil {
		return FrameReport{}, err
	}
	rep, perr := ParsePhoneFrame(r, ParseOptions{Encoding: opt.Encoding, Districts: districts}, func(row PhoneRow) error {
		return copyPhone(ctx, st, row)
	})
	if perr != nil {
		st.st.Close()
		return rep, nothingImported(perr)
	}
	if err := mergePhones(ctx, tx, st, &rep); err != nil {
		return rep, err
	}
	return rep, tx.Commit()
}

// preparePhoneStaging locks the frame and makes the staging table. The lock
// serialises appends, or two imports would hand out the same ordinals.
func preparePhoneStaging(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, qImportLockPhones); err != nil {
		return fmt.Errorf("sampler: lock phone frame: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qImportWorkMem); err != nil {
		return fmt.Errorf("sampler: import settings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qImportPhoneStaging); err != nil {
		return fmt.Errorf("sampler: phone staging table: %w", err)
	}
	return nil
}

// phoneCopy is the COPY of an import into the staging table. Each row gets
// the ordinal it will have if the file holds no duplicate: the next one of
// its stratum after those already in the frame (read under the import's
// lock).
type phoneCopy struct {
	st   *sqlx.Stmt
	next map[string]int64 // last ordinal handed out, by stratum
}

// openPhoneCopy starts the COPY into the staging table; until it ends, the
// transaction can run nothing else.
func openPhoneCopy(ctx context.Context, tx *sqlx.Tx) (*phoneCopy, error) {
	var bases []struct {
		Stratum string `db:"stratum"`
		N       int64  `db:"n"`
	}
	if err := tx.SelectContext(ctx, &bases, qImportPhoneBases); err != nil {
		return nil, fmt.Errorf("sampler: phone frame strata: %w", err)
	}
	c := &phoneCopy{next: make(map[string]int64, len(bases))}
	for _, b := range bases {
		c.next[b.Stratum] = b.N
	}
	st, err := tx.PreparexContext(ctx, pq.CopyIn("frame_phone_rows", "line", "phone", "district_code", "fixed", "ordinal"))
	if err != nil {
		return nil, fmt.Errorf("sampler: copy phones: %w", err)
	}
	c.st = st
	return c, nil
}

func copyPhone(ctx context.Context, c *phoneCopy, row PhoneRow) error {
	var d any
	if row.District != "" {
		d = row.District
	}
	c.next[row.District]++
	if _, err := c.st.ExecContext(ctx, row.Line, row.Phone, d, row.Fixed, c.next[row.District]); err != nil {
		return fmt.Errorf("sampler: copy phones: %w", err)
	}
	return nil
}

// mergePhones ends the COPY and appends the new numbers to the frame.
//
// Most files repeat no number, in themselves or against the frame, and then
// the ordinals given at COPY time are the frame's: the rows go in as they
// are, and the frame's unique index on the number is the duplicate check.
// When that index refuses a row, the attempt is undone and the staged rows
// are merged the long way, which lists every duplicate and renumbers the
// rest.
func mergePhones(ctx context.Context, tx *sqlx.Tx, c *phoneCopy, rep *FrameReport) error {
	_, err := c.st.ExecContext(ctx)
	c.st.Close()
	if err != nil {
		return fmt.Errorf("sampler: copy phones: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qImportSavepoint); err != nil {
		return fmt.Errorf("sampler: add to phone frame: %w", err)
	}
	res, err := tx.ExecContext(ctx, qImportInsertNumbered)
	if err == nil {
		added, _ := res.RowsAffected()
		if int(added) != rep.Kept {
			return fmt.Errorf("sampler: add to phone frame: %d rows added, %d staged", added, rep.Kept)
		}
		return nil
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23505" {
		return fmt.Errorf("sampler: add to phone frame: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qImportRollbackSavepoint); err != nil {
		return fmt.Errorf("sampler: add to phone frame: %w", err)
	}
	return mergePhonesWithDuplicates(ctx, tx, rep)
}

// mergePhonesWithDuplicates lists the duplicates among the staged rows and
// appends the rest, numbered on from each stratum's largest ordinal.
func mergePhonesWithDuplicates(ctx context.Context, tx *sqlx.Tx, rep *FrameReport) error {
	rows, err := tx.QueryContext(ctx, qImportPhoneDuplicates, MaxStoredProblems)
	if err != nil {
		return fmt.Errorf("sampler: phone duplicates: %w", err)
	}
	var dups []csvfile.Problem
	for rows.Next() {
		var line, first int
		var inFrame bool
		if err := rows.Scan(&line, &first, &inFrame); err != nil {
			rows.Close()
			return err
		}
		dups = append(dups, duplicateProblem(line, first, inFrame, "号码", "number"))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sampler: phone duplicates: %w", err)
	}
	var fixed int
	if rep.Fixed > 0 {
		if err := tx.GetContext(ctx, &fixed, qImportCountFixed); err != nil {
			return fmt.Errorf("sampler: count normalised numbers: %w", err)
		}
	}
	var bases []struct {
		Stratum string `db:"stratum"`
		N       int64  `db:"n"`
	}
	if err := tx.SelectContext(ctx, &bases, qImportPhoneBases); err != nil {
		return fmt.Errorf("sampler: phone frame strata: %w", err)
	}
	strata, ns := make([]string, len(bases)), make([]int64, len(bases))
	for i, b := range bases {
		strata[i], ns[i] = b.Stratum, b.N
	}
	var added int
	if err := tx.GetContext(ctx, &added, qImportMergePhones, pq.StringArray(strata), pq.Int64Array(ns)); err != nil {
		return fmt.Errorf("sampler: add to phone frame: %w", err)
	}
	rep.Duplicates += rep.Kept - added
	rep.Kept, rep.Fixed = added, fixed
	rep.mergeProblems(dups)
	return nil
}

func duplicateProblem(line, first int, inFrame bool, zh, en string) csvfile.Problem {
	if inFrame && (first == 0 || first == line) {
		return csvfile.Problem{Line: line, Message: core.Text{ZH: "重复:" + zh + "已在抽样框中", EN: "duplicate: the " + en + " is already in the frame"}}
	}
	return csvfile.Problem{Line: line, Message: core.Text{ZH: fmt.Sprintf("重复:与第 %d 行相同", first), EN: fmt.Sprintf("duplicate of line %d", first)}}
}

// ImportHouseholdFrame imports a household frame CSV (see
// ParseHouseholdFrame) like ImportPhoneFrame: a household id repeated in a
// district, in the file or against the frame, is a duplicate; a row whose
// sizes contradict those stored for its street or community is rejected;
// each community's ordinals stay dense.
func ImportHouseholdFrame(ctx context.Context, db *sqlx.DB, r io.Reader, opt ImportOptions) (FrameReport, error) {
	started := time.Now()
	rep, err := importHouseholds(ctx, db, r, opt)
	return rep, recordImport(ctx, db, "household", opt, started, &rep, err)
}

func importHouseholds(ctx context.Context, db *sqlx.DB, r io.Reader, opt ImportOptions) (FrameReport, error) {
	districts, err := knownDistrictCodes(ctx, db, qImportDistrictCodes)
	if err != nil {
		return FrameReport{}, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return FrameReport{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qImportLockHouseholds); err != nil {
		return FrameReport{}, fmt.Errorf("sampler: lock household frame: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qImportHouseholdStaging); err != nil {
		return FrameReport{}, fmt.Errorf("sampler: household staging table: %w", err)
	}
	st, err := tx.PreparexContext(ctx, pq.CopyIn("frame_household_rows", "line", "district_code", "street", "community",
		"household_id", "address", "street_size", "community_size"))
	if err != nil {
		return FrameReport{}, fmt.Errorf("sampler: copy households: %w", err)
	}
	size := func(n int64) any {
		if n > 0 {
			return n
		}
		return nil
	}
	rep, perr := ParseHouseholdFrame(r, ParseOptions{Encoding: opt.Encoding, Districts: districts}, func(h HouseholdRow) error {
		_, err := st.ExecContext(ctx, h.Line, h.District, h.Street, h.Community, h.HouseholdID, h.Address,
			size(h.StreetSize), size(h.CommunitySize))
		if err != nil {
			return fmt.Errorf("sampler: copy households: %w", err)
		}
		return nil
	})
	if perr != nil {
		st.Close()
		return rep, nothingImported(perr)
	}
	_, err = st.ExecContext(ctx)
	st.Close()
	if err != nil {
		return rep, fmt.Errorf("sampler: copy households: %w", err)
	}
	for _, q := range []string{qImportMarkRepeats, qImportMarkInFrame} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return rep, fmt.Errorf("sampler: household duplicates: %w", err)
		}
	}
	var more []csvfile.Problem
	conflicts := 0
	rows, err := tx.QueryContext(ctx, qImportMarkConflicts)
	if err != nil {
		return rep, fmt.Errorf("sampler: household sizes: %w", err)
	}
	for rows.Next() {
		var line int
		var given, stored [2]*int64
		if err := rows.Scan(&line, &given[0], &stored[0], &given[1], &stored[1]); err != nil {
			rows.Close()
			return rep, err
		}
		conflicts++
		if len(more) >= MaxStoredProblems {
			continue
		}
		for i, name := range []string{"street_size", "community_size"} {
			if given[i] != nil && stored[i] != nil && *given[i] != *stored[i] {
				more = append(more, csvfile.Problem{Line: line, Column: name, Message: core.Text{
					ZH: fmt.Sprintf("%s 为 %d,与抽样框中已有的 %d 不一致", name, *given[i], *stored[i]),
					EN: fmt.Sprintf("%s %d differs from %d already in the frame", name, *given[i], *stored[i])}})
				break
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("sampler: household sizes: %w", err)
	}
	var dupCount int
	if err := tx.GetContext(ctx, &dupCount, qImportHouseholdDupCount); err != nil {
		return rep, fmt.Errorf("sampler: household duplicates: %w", err)
	}
	rows, err = tx.QueryContext(ctx, qImportHouseholdDuplicates, MaxStoredProblems)
	if err != nil {
		return rep, fmt.Errorf("sampler: household duplicates: %w", err)
	}
	for rows.Next() {
		var line, first int
		var inFrame bool
		if err := rows.Scan(&line, &first, &inFrame); err != nil {
			rows.Close()
			return rep, err
		}
		more = append(more, duplicateProblem(line, first, inFrame, "户编号", "household id"))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("sampler: household duplicates: %w", err)
	}
	res, err := tx.ExecContext(ctx, qImportMergeHouseholds)
	if err != nil {
		return rep, fmt.Errorf("sampler: add to household frame: %w", err)
	}
	added, _ := res.RowsAffected()
	rep.Kept = int(added)
	rep.Rejected += conflicts
	rep.Duplicates += dupCount
	rep.mergeProblems(more)
	if 2*rep.Rejected > rep.Read {
		return rep, nothingImported(core.Errorf(core.EInvalid, "%d 行中有 %d 行被拒绝,超过一半",
			"%[2]d of %[1]d rows were rejected, more than half", rep.Read, rep.Rejected))
	}
	return rep, tx.Commit()
}

// nothingImported says, in front of a fatal error, that the import was
// rolled back; a bad file stays a user error and anything else internal.
func nothingImported(err error) error {
	code := core.EInternal
	if core.ErrorCode(err) == core.EInvalid {
		code = core.EInvalid
	}
	return &core.Error{Code: code, ZH: "未导入任何行", EN: "nothing was imported", Err: err}
}

func knownDistrictCodes(ctx context.Context, db sqlx.QueryerContext, query string) (map[string]bool, error) {
	var codes []string
	if err := sqlx.SelectContext(ctx, db, &codes, query); err != nil {
		return nil, fmt.Errorf("sampler: district codes: %w", err)
	}
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m, nil
}

// recordImport stores the report in frame_imports, also for a failed
// import so that admins see why a file was refused, and returns the
// import's error (or the recording's, when only that failed).
func recordImport(ctx context.Context, db *sqlx.DB, kind string, opt ImportOptions, started time.Time, rep *FrameReport, ierr error) error {
	status, errText := "ok", any(nil)
	if ierr != nil {
		status, errText = "failed", ierr.Error()
	}
	problems := rep.Problems
	if problems == nil {
		problems = []csvfile.Problem{}
	}
	pj, err := json.Marshal(problems)
	if err == nil {
		_, err = db.ExecContext(ctx, qImportRecord, kind, opt.FileName, rep.Encoding, status, errText, started,
			rep.Read, rep.Kept, rep.Fixed, rep.Rejected, rep.Duplicates, string(pj), opt.CreatedBy)
	}
	if ierr != nil {
		return ierr
	}
	if err != nil {
		return fmt.Errorf("sampler: record frame import (the frame itself was imported): %w", err)
	}
	return nil
}

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
		return rep, core.Errorf(core.EInvalid, "号码数须为正整数:%d", "the count must be a positive integer: %d", count)
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
		return rep, core.Errorf(core.EInvalid, "%d 个号段只剩 %d 个未用号码,不够 %d 个",
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
			return nil, core.Errorf(core.EInvalid, "号段须为 7 位数字:%q", "a mobile prefix must be 7 digits: %q", p)
		}
		// A mobile normalises to itself; a landline block would gain or
		// lose its leading 0, and only mobiles start with 1.
		for _, suffix := range []string{"0000", "9999"} {
			if n, err := NormalizePhone(p + suffix); err != nil || n != p+suffix || p[0] != '1' {
				return nil, core.Errorf(core.EInvalid, "%s 不是有效的中国手机号段", "%s is not a valid Chinese mobile prefix", p)
			}
		}
		if seen[p] {
			return nil, core.Errorf(core.EInvalid, "号段重复:%s", "duplicate mobile prefix: %s", p)
		}
		seen[p] = true
		blocks = append(blocks, p)
	}
	slices.Sort(blocks)
	return blocks, nil
}
