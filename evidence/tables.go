package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sampler"
	"minyi/survey"
)

// checkDistricts compares the districts with the table the last upload
// recorded.
func checkDistricts(ctx context.Context, db *sqlx.DB, rec *records, rep *Report) error {
	ds, err := sampler.ListDistricts(ctx, db)
	if err != nil {
		return err
	}
	rep.Districts = len(ds)
	var want map[string][2]any
	var seq int64
	if rec.districts != nil {
		want, seq = rec.districts.rows, rec.districts.seq
	}
	for _, d := range ds {
		w, ok := want[d.Code]
		if !ok {
			rep.add("区县 %s（%s）不在任何上传记录中：是直接插入数据库的", "district %s (%s) is in no recorded upload: it was inserted directly into the database", d.Code, d.Name)
			continue
		}
		name, _ := w[0].(string)
		pop, _ := w[1].(float64) // numbers come out of JSON as float64; populations are far below 2^53
		if name != d.Name {
			rep.add("区县 %[1]s 的名称被直接改动：第 %[2]d 条记录为 %[3]q，现在为 %[4]q", "the name of district %[1]s was changed directly: %[3]q as recorded by entry %[2]d, now %[4]q",
				d.Code, seq, name, d.Name)
		}
		if int64(pop) != d.Population {
			rep.add("区县 %[1]s（%[2]s）的常住人口被直接改动：第 %[3]d 条记录为 %[4]d，现在为 %[5]d", "the population of district %[1]s (%[2]s) was changed directly: %[4]d as recorded by entry %[3]d, now %[5]d",
				d.Code, d.Name, seq, int64(pop), d.Population)
		}
		delete(want, d.Code)
	}
	for _, code := range sortedKeys(want) {
		rep.add("区县 %s 已从数据库中删除（第 %d 条记录有它）", "district %s was deleted from the database (entry %d records it)", code, seq)
	}
	return nil
}

// checkMargins compares the census margins with the table the last upload
// recorded.
func checkMargins(ctx context.Context, db *sqlx.DB, rec *records, rep *Report) error {
	ms, err := sampler.ListMargins(ctx, db)
	if err != nil {
		return err
	}
	rep.Margins = len(ms)
	var want map[string]int64
	var seq int64
	if rec.margins != nil {
		want, seq = rec.margins.rows, rec.margins.seq
	}
	for _, m := range ms {
		key := sampler.MarginKey(m)
		w, ok := want[key]
		switch {
		case !ok:
			rep.add("普查边际 %s 不在任何上传记录中：是直接插入数据库的", "census margin %s is in no recorded upload: it was inserted directly into the database", key)
			continue
		case w != m.Population:
			rep.add("普查边际 %[1]s 被直接改动：第 %[2]d 条记录为 %[3]d，现在为 %[4]d", "census margin %[1]s was changed directly: %[3]d as recorded by entry %[2]d, now %[4]d",
				key, seq, w, m.Population)
		}
		delete(want, key)
	}
	for _, key := range sortedKeys(want) {
		rep.add("普查边际 %s 已从数据库中删除（第 %d 条记录有它）", "census margin %s was deleted from the database (entry %d records it)", key, seq)
	}
	return nil
}

// checkPublications compares every publication's CSV and weights with the
// hashes its entry recorded.
func checkPublications(ctx context.Context, db *sqlx.DB, rec *records, rep *Report) error {
	ps, err := survey.StoredPublications(ctx, db)
	if err != nil {
		return err
	}
	rep.Published = len(ps)
	comparePublications(ps, rec, rep)
	return nil
}

func comparePublications(ps []survey.StoredPublication, rec *records, rep *Report) {
	for _, p := range ps {
		r, ok := rec.pubs[p.ID]
		if !ok {
			rep.add("轮次 %s 的发布 %d 不在审计日志中：是直接插入数据库的", "publication %[2]d of wave %[1]s is not in the audit log: it was inserted directly into the database", p.Wave, p.ID)
			continue
		}
		delete(rec.pubs, p.ID)
		if p.SHA256 != r.sha256 || p.StoredSHA256 != r.sha256 {
			rep.add("轮次 %[1]s 的发布 %[2]d 被改动：其得分 CSV 与第 %[3]d 条记录的 SHA-256 不符", "publication %[2]d of wave %[1]s was changed: its scores CSV no longer matches the SHA-256 recorded by entry %[3]d",
				p.Wave, p.ID, r.seq)
		}
		if r.weightsSHA256 != "" && p.WeightsSHA256 != r.weightsSHA256 {
			rep.add("轮次 %[1]s 的发布 %[2]d 的权数被改动：与第 %[3]d 条记录的 SHA-256 不符", "the weights of publication %[2]d of wave %[1]s were changed: they no longer match the SHA-256 recorded by entry %[3]d",
				p.Wave, p.ID, r.seq)
		}
	}
	ids := make([]int64, 0, len(rec.pubs))
	for id := range rec.pubs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		r := rec.pubs[id]
		rep.add("轮次 %[1]s 的发布 %[2]d 已从数据库中删除（第 %[3]d 条记录了它）", "publication %[2]d of wave %[1]s was deleted from the database (entry %[3]d records it)", r.wave, id, r.seq)
	}
}

// checkAnchors checks that the chain still holds every signed head: an
// entry rewritten, together with everything after it, still breaks here,
// and so does an end cut off.
func checkAnchors(ctx context.Context, db sqlx.QueryerContext, anchors []Anchor, rep *Report) error {
	for _, a := range anchors {
		rep.Anchors++
		var hash string
		err := sqlx.GetContext(ctx, db, &hash, qEntryHash, a.Head.Seq)
		at := a.SignedAt.In(core.Shanghai).Format("2006-01-02 15:04")
		switch {
		case errors.Is(err, sql.ErrNoRows):
			rep.add("审计日志被截断：%[2]s 于 %[3]s 签名的第 %[1]d 条已不存在", "the audit log was cut short: entry %[1]d, signed in %[2]s at %[3]s, is gone",
				a.Head.Seq, a.What, at)
		case err != nil:
			return fmt.Errorf("evidence: anchor: %w", err)
		case hash != a.Head.Hash:
			rep.add("审计日志被重写：第 %[1]d 条与 %[2]s 于 %[3]s 签名的哈希不符", "the audit log was rewritten: entry %[1]d no longer has the hash signed in %[2]s at %[3]s",
				a.Head.Seq, a.What, at)
		}
	}
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PublicationProblems checks the publications of one wave against the
// chain, as minyi scores --check does before it compares the scores.
func PublicationProblems(ctx context.Context, db *sqlx.DB, wave string) ([]string, error) {
	rec, err := readRecordsOf(ctx, db, survey.PublishAction, BaselineAction)
	if err != nil {
		return nil, err
	}
	for id, p := range rec.pubs {
		if p.wave != wave {
			delete(rec.pubs, id)
		}
	}
	all, err := survey.StoredPublications(ctx, db)
	if err != nil {
		return nil, err
	}
	var rep Report
	var mine []survey.StoredPublication
	for _, p := range all {
		if p.Wave == wave {
			mine = append(mine, p)
		}
	}
	comparePublications(mine, rec, &rep)
	return rep.Problems, nil
}
