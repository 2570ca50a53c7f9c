package sampler

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/csvfile"
	"minyi/sql/pg"
)

// Loading a file into an empty telephone frame, the census-scale case.
//
// The general import stages the file and merges it with SQL, which finds
// duplicates against the frame and numbers each stratum on from its
// largest ordinal. Into an empty frame there is nothing to merge with, and
// a census-scale file is tens of millions of rows: there the importer finds
// duplicates itself while reading, hands out ids and ordinals, copies the
// rows straight into phone_frame with the frame's indexes set aside (they
// are rebuilt once, sorted, at the end) and folds the rows' digest into the
// frame checksum exactly as the checksum trigger would have. All of it
// happens in one transaction holding the frame exclusively, so a failed
// load leaves the frame, its indexes and its checksum as they were.

var (
	qImportFrameEmpty      = pg.Q("frames/phone-frame-empty")
	qImportLockDistricts   = pg.Q("frames/lock-district-codes")
	qImportBulkSettings    = pg.Q("frames/bulk-load-settings")
	qImportSuspendIndexes  = pg.Q("frames/suspend-phone-indexes")
	qImportRestoreIndexes  = pg.Q("frames/restore-phone-indexes")
	qImportDisableVersion  = pg.Q("frames/disable-phone-version-trigger")
	qImportEnableVersion   = pg.Q("frames/enable-phone-version-trigger")
	qImportNextPhoneID     = pg.Q("frames/next-phone-id")
	qImportSetPhoneID      = pg.Q("frames/set-phone-id")
	qImportFoldPhoneDigest = pg.Q("frames/fold-phone-version")
	qImportPhoneIDs        = pg.Q("frames/phone-ids")
)

// The steps of a bulk load that ImportOptions.Phase is told about.
const (
	PhasePrepare = "prepare"                 // lock the districts, set the indexes and the foreign key aside
	PhaseCopy    = "copy"                    // read, check and COPY the rows
	PhaseIndexes = "indexes and foreign key" // rebuild the indexes, check the foreign key
	PhaseFinish  = "checksum"                // fold the digest into the frame checksum, list duplicates
	PhaseCommit  = "commit"
)

// copyPhoneFrame is the COPY of a bulk load; a COPY cannot be a named
// query, since preparing it at boot would start it.
const copyPhoneFrame = `COPY phone_frame (id, phone, district_code, ordinal) FROM STDIN`

// copyChunk is how much COPY text is handed to the driver at a time.
const copyChunk = 60 << 10

// copyDataStmt is lib/pq's COPY statement, which takes raw COPY text: far
// cheaper per row than an Exec with values through database/sql.
type copyDataStmt interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// bulkLoadPhones loads a telephone frame file into the empty frame within
// tx, which runs on conn and already holds the frame's import lock.
func bulkLoadPhones(ctx context.Context, conn *sqlx.Conn, tx *sqlx.Tx, r io.Reader, opt ImportOptions) (FrameReport, error) {
	since := time.Now()
	districts, err := knownDistrictCodes(ctx, tx, qImportLockDistricts)
	if err != nil {
		return FrameReport{}, err
	}
	for _, q := range []string{qImportBulkSettings, qImportSuspendIndexes, qImportDisableVersion} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return FrameReport{}, fmt.Errorf("sampler: prepare phone frame load: %w", err)
		}
	}
	var base int64
	if err := tx.GetContext(ctx, &base, qImportNextPhoneID); err != nil {
		return FrameReport{}, fmt.Errorf("sampler: phone frame ids: %w", err)
	}
	opt.phase(PhasePrepare, &since)
	l := newBulkPhones(base)
	var rep FrameReport
	var perr error
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("sampler: the database driver has no COPY")
		}
		st, err := c.Prepare(copyPhoneFrame)
		if err != nil {
			return fmt.Errorf("sampler: copy phones: %w", err)
		}
		defer st.Close()
		cd, ok := st.(copyDataStmt)
		if !ok {
			return errors.New("sampler: the database driver cannot copy raw text")
		}
		l.send = func(chunk string) error {
			_, err := cd.CopyData(ctx, chunk)
			return err
		}
		var aerr error
		rep, perr, aerr = parsePipelined(r, ParseOptions{Encoding: opt.Encoding, Districts: districts}, l.addBatch)
		if aerr != nil {
			return fmt.Errorf("sampler: copy phones: %w", aerr)
		}
		if perr != nil {
			return nil
		}
		if err := l.flush(); err != nil {
			return fmt.Errorf("sampler: copy phones: %w", err)
		}
		// lib/pq ends a COPY with an Exec without values; its COPY
		// statement has no ExecContext.
		//lint:ignore SA1019 the driver's COPY statement offers only Exec
		if _, err := st.Exec(nil); err != nil {
			return fmt.Errorf("sampler: copy phones: %w", err)
		}
		return nil
	})
	if perr != nil {
		return rep, nothingImported(perr)
	}
	if err != nil {
		return rep, err
	}
	rep.Kept -= l.dups
	rep.Fixed -= l.fixedDups
	rep.Duplicates += l.dups
	opt.phase(PhaseCopy, &since)
	for _, q := range []string{qImportRestoreIndexes, qImportEnableVersion} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return rep, fmt.Errorf("sampler: finish phone frame load: %w", err)
		}
	}
	opt.phase(PhaseIndexes, &since)
	if _, err := tx.ExecContext(ctx, qImportFoldPhoneDigest, l.digest.sum()); err != nil {
		return rep, fmt.Errorf("sampler: phone frame checksum: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qImportSetPhoneID, base+l.kept-1); err != nil {
		return rep, fmt.Errorf("sampler: phone frame ids: %w", err)
	}
	dups, err := l.duplicateProblems(ctx, tx)
	if err != nil {
		return rep, err
	}
	rep.mergeProblems(dups)
	opt.phase(PhaseFinish, &since)
	return rep, nil
}

// errPipelineStopped stops the parser when the rows' consumer has failed.
var errPipelineStopped = errors.New("sampler: stopped")

// parsePipelined parses a telephone frame file in a goroutine of its own
// and hands the rows, in batches and in file order, to add in the caller's:
// reading and checking the file and copying the rows each take about half
// of the importer's time, and they can run side by side. perr is the
// parser's error, aerr the first error of add, after which the parser is
// stopped.
func parsePipelined(r io.Reader, opt ParseOptions, add func([]PhoneRow) error) (rep FrameReport, perr, aerr error) {
	const batchRows = 4096
	batches := make(chan []PhoneRow, 8)
	// Batches come back once added and are filled again: tens of millions
	// of rows would otherwise be gigabytes of garbage.
	free := make(chan []PhoneRow, cap(batches)+2)
	stop := make(chan struct{})
	go func() {
		defer close(batches)
		fresh := func() []PhoneRow {
			select {
			case b := <-free:
				return b[:0]
			default:
				return make([]PhoneRow, 0, batchRows)
			}
		}
		batch := fresh()
		send := func() error {
			select {
			case batches <- batch:
				batch = fresh()
				return nil
			case <-stop:
				return errPipelineStopped
			}
		}
		rep, perr = ParsePhoneFrame(r, opt, func(row PhoneRow) error {
			batch = append(batch, row)
			if len(batch) == batchRows {
				return send()
			}
			return nil
		})
		if perr == nil && len(batch) > 0 {
			send()
		}
	}()
	for b := range batches {
		if aerr != nil {
			continue // the parser is stopping; let it finish
		}
		if aerr = add(b); aerr != nil {
			close(stop)
			continue
		}
		select {
		case free <- b:
		default:
		}
	}
	// batches is closed: the parser has returned, and rep and perr are set.
	return rep, perr, aerr
}

// bulkPhones is the state of a bulk load as the rows stream past.
type bulkPhones struct {
	base int64             // id of the first row
	kept int64             // rows copied
	next map[string]*int64 // last ordinal handed out, by stratum
	// The stratum of the previous row and its entry in next: rows of a
	// district usually come together.
	lastDistrict string
	lastNext     *int64
	seen         phoneSet
	lines        lineLog // file line of every copied row, by id
	dups         int
	fixedDups    int
	dupRows      []dupRow // the first MaxStoredProblems duplicates
	digest       frameDigest
	dup          []bool
	buf          []byte
	send         func(string) error
}

type dupRow struct {
	line  int
	phone string
}

func newBulkPhones(base int64) *bulkPhones {
	return &bulkPhones{base: base, next: map[string]*int64{}, seen: newPhoneSet(), digest: frameDigest{block: -1, h: sha256.New()},
		buf: make([]byte, 0, copyChunk+1024)}
}

// addBatch adds a batch of rows in file order. The numbers are looked up
// in the set of those seen before anything else is done with the rows: the
// set is megabytes of bitmaps and each look-up a likely cache miss, which a
// loop of look-ups alone lets the processor overlap, where look-ups between
// the hashing and formatting of each row wait one by one.
func (l *bulkPhones) addBatch(rows []PhoneRow) error {
	dup := l.dup[:0]
	for i := range rows {
		dup = append(dup, l.seen.add(rows[i].Phone))
	}
	l.dup = dup
	for i := range rows {
		if err := l.add(&rows[i], dup[i]); err != nil {
			return err
		}
	}
	return nil
}

func (l *bulkPhones) add(row *PhoneRow, dup bool) error {
	if dup {
		l.dups++
		if row.Fixed {
			l.fixedDups++
		}
		if len(l.dupRows) < MaxStoredProblems {
			l.dupRows = append(l.dupRows, dupRow{row.Line, row.Phone})
		}
		return nil
	}
	id := l.base + l.kept
	l.kept++
	if row.District != l.lastDistrict || l.lastNext == nil {
		n, ok := l.next[row.District]
		if !ok {
			n = new(int64)
			l.next[row.District] = n
		}
		l.lastDistrict, l.lastNext = row.District, n
	}
	*l.lastNext++
	ord := *l.lastNext
	l.lines.add(row.Line)
	// The digits of the id and the ordinal, written once for the digest
	// and the COPY.
	var digits [40]byte
	idText := strconv.AppendInt(digits[:0], id, 10)
	ordText := strconv.AppendInt(digits[len(idText):len(idText)], ord, 10)
	l.digest.add(id, idText, row.District, ordText, row.Phone)
	b := append(l.buf, idText...)
	b = append(b, '\t')
	b = appendCopyText(b, row.Phone)
	b = append(b, '\t')
	if row.District == "" {
		b = append(b, `\N`...)
	} else {
		b = appendCopyText(b, row.District)
	}
	b = append(b, '\t')
	b = append(b, ordText...)
	b = append(b, '\n')
	l.buf = b
	if len(b) >= copyChunk {
		return l.flush()
	}
	return nil
}

// flush hands the buffered rows to the COPY; the driver adds the last
// line break. The driver copies the text before it returns, so the buffer
// is lent to it rather than copied into a string of its own: a census-scale
// frame is a gigabyte of COPY text.
func (l *bulkPhones) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	err := l.send(unsafe.String(&l.buf[0], len(l.buf)-1))
	l.buf = l.buf[:0]
	return err
}

// duplicateProblems reports the first duplicates, each with the line of the
// copy that was kept, found by the id the load gave it.
func (l *bulkPhones) duplicateProblems(ctx context.Context, tx *sqlx.Tx) ([]csvfile.Problem, error) {
	if len(l.dupRows) == 0 {
		return nil, nil
	}
	phones := make([]string, len(l.dupRows))
	for i, d := range l.dupRows {
		phones[i] = d.phone
	}
	var got []struct {
		Phone string `db:"phone"`
		ID    int64  `db:"id"`
	}
	if err := tx.SelectContext(ctx, &got, qImportPhoneIDs, pq.StringArray(phones)); err != nil {
		return nil, fmt.Errorf("sampler: phone duplicates: %w", err)
	}
	ks := make([]int64, len(got))
	for i, g := range got {
		ks[i] = g.ID - l.base
	}
	lines := l.lines.at(ks)
	first := make(map[string]int, len(got))
	for i, g := range got {
		first[g.Phone] = lines[i]
	}
	out := make([]csvfile.Problem, len(l.dupRows))
	for i, d := range l.dupRows {
		out[i] = duplicateProblem(d.line, first[d.phone], false, "号码", "number")
	}
	return out, nil
}

// appendCopyText appends s escaped for COPY's text format.
func appendCopyText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, c)
		}
	}
	return b
}

// phoneSet remembers the numbers of a load. Mobile numbers take a bit each
// in a bitmap per 7-digit block (号段), 1,250 bytes for the block's 10,000
// numbers; a city's frame fills some thousands of blocks, so the set stays
// small however many numbers the file has. Other numbers go in a map.
type phoneSet struct {
	blocks []*[1250]byte // by block number − 1,000,000
	other  map[string]struct{}
}

func newPhoneSet() phoneSet {
	return phoneSet{blocks: make([]*[1250]byte, 1_000_000), other: map[string]struct{}{}}
}

// add adds a number and reports whether it was already there.
func (s *phoneSet) add(p string) bool {
	if block, n, ok := mobileParts(p); ok {
		bits := s.blocks[block]
		if bits == nil {
			bits = new([1250]byte)
			s.blocks[block] = bits
		}
		mask := byte(1) << (n & 7)
		if bits[n>>3]&mask != 0 {
			return true
		}
		bits[n>>3] |= mask
		return false
	}
	if _, ok := s.other[p]; ok {
		return true
	}
	s.other[p] = struct{}{}
	return false
}

// mobileParts splits an 11-digit number starting with 1 into its block
// (less 1,000,000) and its last four digits.
func mobileParts(p string) (block, n int, ok bool) {
	if len(p) != 11 || p[0] != '1' {
		return 0, 0, false
	}
	v := 0
	for i := 1; i < 11; i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v / 10000, v % 10000, true
}

// lineLog records the file line of each copied row, in order, as the
// difference from the previous one: a byte for the usual small step, five
// for a larger one.
type lineLog struct {
	b    []byte
	last int
}

func (l *lineLog) add(line int) {
	d := line - l.last
	l.last = line
	if d >= 0 && d < 255 {
		l.b = append(l.b, byte(d))
		return
	}
	l.b = append(l.b, 255)
	l.b = binary.BigEndian.AppendUint32(l.b, uint32(line))
}

// at returns the lines of the given rows (0 for the first copied row), in
// the order asked, with one pass over the log.
func (l *lineLog) at(rows []int64) []int {
	want := map[int64][]int{}
	for i, k := range rows {
		want[k] = append(want[k], i)
	}
	out := make([]int, len(rows))
	line, k := 0, int64(0)
	for i := 0; i < len(l.b) && len(want) > 0; k++ {
		if l.b[i] == 255 {
			line = int(binary.BigEndian.Uint32(l.b[i+1:]))
			i += 5
		} else {
			line += int(l.b[i])
			i++
		}
		if is, ok := want[k]; ok {
			for _, j := range is {
				out[j] = line
			}
			delete(want, k)
		}
	}
	return out
}

// frameDigest computes, for rows inserted in id order, the digest that the
// phone frame's checksum trigger (phone_frame_version) computes for
// an insert statement: the SHA-256 of the hex SHA-256s of each block of
// 65,536 ids, each over the rows' text joined by line breaks.
type frameDigest struct {
	block  int64
	h      hash.Hash
	rows   int
	blocks []byte // hex digests of the finished blocks
	text   []byte
}

// add adds a row given its id, and its id and ordinal as decimal text.
func (d *frameDigest) add(id int64, idText []byte, district string, ordText []byte, phone string) {
	if b := id >> 16; b != d.block {
		d.finishBlock()
		d.block = b
	}
	t := d.text[:0]
	if d.rows > 0 {
		t = append(t, '\n')
	}
	t = append(t, idText...)
	t = append(t, '|')
	t = append(t, district...)
	t = append(t, '|')
	t = append(t, ordText...)
	t = append(t, '|')
	t = append(t, phone...)
	d.h.Write(t)
	d.text = t
	d.rows++
}

func (d *frameDigest) finishBlock() {
	if d.rows > 0 {
		d.blocks = hex.AppendEncode(d.blocks, d.h.Sum(nil))
	}
	d.h.Reset()
	d.rows = 0
}

// sum is the digest the trigger folds into the checksum.
func (d *frameDigest) sum() string {
	d.finishBlock()
	s := sha256.Sum256(d.blocks)
	return hex.EncodeToString(s[:])
}
