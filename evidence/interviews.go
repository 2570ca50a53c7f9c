package evidence

import (
	"context"
	"sort"

	"github.com/jmoiron/sqlx"

	"minyi/survey"
)

// expected is what an interview's content must hash to: its newest
// recorded version, and where that was recorded (an entry of the chain, or
// 0 for an evidence row not sealed yet).
type expected struct {
	version int
	hash    string
	seq     int64
	seen    bool
}

// checkInterviews compares the evidence rows with their seals, and every
// interview with its newest recorded version.
func checkInterviews(ctx context.Context, db *sqlx.DB, rec *records, rep *Report) error {
	want := map[int64]*expected{}
	note := func(interview int64, version int, hash string, seq int64) {
		e := want[interview]
		// A sealed or chained record beats a row of the table that says
		// the same version: the chain is what an intruder cannot rewrite.
		if e == nil || version > e.version || version == e.version && seq > 0 && e.seq == 0 {
			want[interview] = &expected{version: version, hash: hash, seq: seq}
		}
	}
	for _, it := range rec.sealed {
		note(it.interview, it.version, it.hash, it.seq)
	}
	for k, seq := range rec.changes {
		note(k.interview, k.version, k.hash, seq)
	}
	inTable := map[int64]bool{}
	err := survey.EachEvidenceRow(ctx, db, func(r survey.EvidenceRow) error {
		inTable[r.ID] = true
		s, sealed := rec.sealed[r.ID]
		switch {
		case sealed && (s.interview != r.InterviewID || s.version != r.Version || s.hash != r.Hash):
			rep.add("访问 %d 的证据行（第 %d 行）在第 %d 条封存之后被改动", "the evidence of interview %d (row %d) was changed after entry %d sealed it",
				s.interview, r.ID, s.seq)
		case sealed:
			rep.Sealed++
		default:
			rep.Pending++
			note(r.InterviewID, r.Version, r.Hash, 0)
		}
		// A later version is written only by a change on review, which the
		// chain records with the same hash.
		if r.Version > 1 && r.ID > rec.baseMaxID && rec.changes[changeKey{r.InterviewID, r.Version, r.Hash}] == 0 {
			rep.add("访问 %d 的第 %d 版证据（第 %d 行）没有对应的修改记录：是绕过系统写入的", "the evidence of version %[2]d of interview %[1]d (row %[3]d) has no recorded change: it was written behind the application's back",
				r.InterviewID, r.Version, r.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var deleted []int64
	for id := range rec.sealed {
		if !inTable[id] {
			deleted = append(deleted, id)
		}
	}
	sort.Slice(deleted, func(i, j int) bool { return deleted[i] < deleted[j] })
	for _, id := range deleted {
		s := rec.sealed[id]
		rep.add("访问 %d 的证据行（第 %d 行，第 %d 条封存）被删除", "the evidence of interview %d (row %d, sealed by entry %d) was deleted", s.interview, id, s.seq)
	}
	err = survey.EachInterviewHash(ctx, db, func(h survey.InterviewHash) error {
		rep.Interviews++
		e := want[h.ID]
		switch {
		case e == nil:
			rep.add("访问 %d 不在证据中：是直接插入数据库的", "interview %d is not in the evidence: it was inserted directly into the database", h.ID)
			return nil
		case e.hash != h.Hash && e.seq > 0:
			rep.add("访问 %[1]d 在数据库中被直接改动：内容与第 %[2]d 条记录的第 %[3]d 版不符", "interview %[1]d was changed directly in the database: it no longer matches version %[3]d recorded by entry %[2]d",
				h.ID, e.seq, e.version)
		case e.hash != h.Hash:
			rep.add("访问 %d 在数据库中被直接改动：内容与其第 %d 版的证据（尚未封存）不符", "interview %d was changed directly in the database: it no longer matches the evidence of its version %d (not sealed yet)",
				h.ID, e.version)
		}
		e.seen = true
		return nil
	})
	if err != nil {
		return err
	}
	var gone []int64
	for id, e := range want {
		if !e.seen {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	for _, id := range gone {
		rep.add("访问 %d 已从数据库中删除（证据记录了第 %d 版）", "interview %d was deleted from the database (its evidence records version %d)", id, want[id].version)
	}
	return nil
}
