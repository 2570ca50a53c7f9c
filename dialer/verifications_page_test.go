package dialer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"minyi/core"
)

// verificationsPageAsBefore is the verification call-back list as it was
// read before it was paged from verification_calls alone: the auditor's
// reference for what the list shows.
const verificationsPageAsBefore = `
SELECT v.id, v.interview_id, v.case_id, u.username AS interviewer, v.status, coalesce(v.result, '') AS result, v.attempts,
       v.next_at, coalesce(vb.username, '') AS verified_by, v.note, v.updated_at, count(*) OVER () AS total
FROM verification_calls v JOIN users u ON u.id = v.interviewer_id LEFT JOIN users vb ON vb.id = v.verified_by
JOIN interviews i ON i.id = v.interview_id
WHERE v.wave_id = $1
  AND ($2::text = '' OR i.district_code = $2)
  AND ($3::bigint = 0 OR v.interviewer_id = $3)
  AND ($4::timestamptz IS NULL OR v.created_at >= $4)
  AND ($5::timestamptz IS NULL OR v.created_at < $5)
  AND ($6::text = '' OR ($6 = 'open' AND v.result IS NULL) OR v.result = $6)
ORDER BY v.status DESC, v.next_at, v.id
LIMIT $7 OFFSET $8`

// TestVerificationListFiltersAndPages checks the supervision page's list
// of verification call-backs, narrowed every way it can be and paged,
// against the list read the way it was before, row for row.
func TestVerificationListFiltersAndPages(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	ann, bob := q.users["ann"], q.users["bob"]
	// 60 interviews in two districts by ann and bob over six days; two in
	// three have a call-back, open or with each result.
	q.exec(`INSERT INTO cases (wave_id, district_code, stratum, replicate, mode, phone, status, attempts)
		SELECT $1::bigint, CASE WHEN g % 2 = 0 THEN $2 ELSE $3 END, $2, 1, 'phone', '1381' || lpad(g::text, 7, '0'), 'final', 1
		FROM generate_series(1, 60) g`, q.wave, districtA, districtB)
	q.exec(`INSERT INTO interviews (wave_id, case_id, questionnaire_id, interviewer_id, district_code, mode, sex, age_group, answers, source, started_at, completed_at)
		SELECT c.wave_id, c.id, $2, CASE WHEN c.id % 3 = 0 THEN $3::bigint ELSE $4::bigint END, c.district_code, 'phone', 1, 1, '{}', 'cati',
		       $5::timestamptz - (c.id % 6) * interval '1 day' - interval '9 minutes', $5::timestamptz - (c.id % 6) * interval '1 day'
		FROM cases c WHERE c.wave_id = $1 AND c.phone LIKE '1381%'`, q.wave, q.qid, ann, bob, now)
	q.exec(`INSERT INTO verification_calls (wave_id, interview_id, case_id, interviewer_id, phone, status, result, attempts, next_at, verified_by, created_at, updated_at)
		SELECT i.wave_id, i.id, i.case_id, i.interviewer_id, '13900000000',
		       CASE WHEN i.id % 5 = 0 THEN 'open' ELSE 'done' END,
		       (ARRAY['confirmed', 'not_confirmed', 'refused', 'unreachable'])[1 + i.id % 4],
		       1, i.completed_at + (i.id % 7) * interval '1 hour', CASE WHEN i.id % 5 = 0 THEN NULL ELSE $2::bigint END,
		       i.completed_at, i.completed_at
		FROM interviews i WHERE i.wave_id = $1 AND i.id % 3 <> 1`, q.wave, bob)
	q.exec(`UPDATE verification_calls SET result = NULL WHERE status = 'open'`)
	day := func(d int) time.Time {
		y, m, dd := now.In(core.Shanghai).AddDate(0, 0, d).Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, core.Shanghai)
	}
	filters := []core.ListFilter{{}, {District: districtA}, {UserID: ann}, {Flag: "open"}, {Flag: "not_confirmed"},
		{From: day(-3), To: day(-1)}, {District: districtB, UserID: bob, Flag: "confirmed"}, {District: "500199"}}
	seen := 0
	for _, f := range filters {
		for _, page := range []struct{ limit, offset int }{{50, 0}, {7, 0}, {7, 14}} {
			f.Limit, f.Offset = page.limit, page.offset
			got, total, err := VerificationsPage(ctx, q.db, q.wave, f)
			if err != nil {
				t.Fatal(err)
			}
			var want []VerificationPageRow
			if err := q.db.Select(&want, verificationsPageAsBefore, q.wave, f.District, f.UserID, f.FromArg(), f.ToArg(), f.Flag, f.LimitArg(), f.Offset); err != nil {
				t.Fatal(err)
			}
			wantTotal := 0
			if len(want) > 0 {
				wantTotal = want[0].Total
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || (len(want) > 0 && total != wantTotal) {
				t.Errorf("filter %+v: the list shows %d of %d\n%v\nwhere it showed %d of %d\n%v", f, len(got), total, got, len(want), wantTotal, want)
			}
			seen += len(got)
		}
	}
	if seen < 100 {
		t.Fatalf("only %d rows listed over all filters: the fixture lists too little to compare", seen)
	}
}
