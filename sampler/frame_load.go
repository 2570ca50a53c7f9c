package sampler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pg"
)

// Loading checked frame rows into the frame: staged with COPY and merged
// with SQL, which finds duplicates in the file and against the frame; the
// report of every import is recorded. An empty telephone frame is loaded
// the fast way (frame_bulkload.go).

// ImportOptions describe one import for its record in frame_imports.
type ImportOptions struct {
	Encoding  csvfile.Encoding // csvfile.Auto (or ""), csvfile.UTF8 or csvfile.GB18030
	FileName  string
	CreatedBy *int64 // the admin who imported, if known
	// Phase, when set, is told how long each step of a bulk load into the
	// empty telephone frame took (see bulkLoadPhones), so that a benchmark
	// can say where the time goes.
	Phase func(step string, took time.Duration)
}

// phase reports a step of an import that started at *since, and starts the
// next.
func (o ImportOptions) phase(step string, since *time.Time) {
	if o.Phase != nil {
		o.Phase(step, time.Since(*since))
	}
	*since = time.Now()
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
	qImportAudit               = pg.Q("frames/import-audit")
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
		since := time.Now()
		err = tx.Commit()
		opt.phase(PhaseCommit, &since)
		return rep, err
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
	st, err := tx.PreparexContext(ctx, `COPY frame_phone_rows (line, phone, district_code, fixed, ordinal) FROM STDIN`)
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
		return csvfile.Problem{Line: line, Message: core.Text{ZH: "重复：" + zh + "已在抽样框中", EN: "duplicate: the " + en + " is already in the frame"}}
	}
	return csvfile.Problem{Line: line, Message: core.Text{ZH: fmt.Sprintf("重复：与第 %d 行相同", first), EN: fmt.Sprintf("duplicate of line %d", first)}}
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
	st, err := tx.PreparexContext(ctx, `COPY frame_household_rows (line, district_code, street, community,
		household_id, address, street_size, community_size) FROM STDIN`)
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
					ZH: fmt.Sprintf("%s 为 %d，与抽样框中已有的 %d 不一致", name, *given[i], *stored[i]),
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
		return rep, nothingImported(core.Errorf(core.EInvalid, "%d 行中有 %d 行被拒绝，超过一半",
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
	if err == nil {
		err = auditImport(ctx, db, kind, opt, rep)
	}
	if err != nil {
		return fmt.Errorf("sampler: record frame import (the frame itself was imported): %w", err)
	}
	return nil
}

// auditImport chains an import with who made it, its counts and the
// frame's checksum after it, which covers every row of the frame
// (docs/evidence.md §4).
func auditImport(ctx context.Context, db *sqlx.DB, kind string, opt ImportOptions, rep *FrameReport) error {
	var e struct {
		Actor    string `db:"actor"`
		Version  int64  `db:"version"`
		Checksum string `db:"checksum"`
	}
	frame := kind
	if kind == "rdd" {
		frame = "phone" // random-digit numbers go into the telephone frame
	}
	if err := db.GetContext(ctx, &e, qImportAudit, frame, opt.CreatedBy); err != nil {
		return err
	}
	var id int64
	if opt.CreatedBy != nil {
		id = *opt.CreatedBy
	}
	return core.AuditNow(ctx, db, core.AuditEntry{ActorID: id, Actor: e.Actor, Action: "frame-import", Subject: kind,
		Details: map[string]any{"file": opt.FileName, "read": rep.Read, "kept": rep.Kept, "fixed": rep.Fixed, "rejected": rep.Rejected,
			"duplicates": rep.Duplicates, "frame_version": e.Version, "frame_checksum": e.Checksum}})
}
