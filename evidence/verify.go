// Package evidence checks the evidence the audit chain records against the
// database as it is: every interview, the districts and margins, every
// publication, and the chain itself against the heads signed outside it
// (docs/evidence.md §7). It names what was changed, inserted or deleted
// behind the application's back.
package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/survey"
)

var (
	qEntries   = pg.Q("evidence/entries")
	qEntryHash = pg.Q("evidence/entry-hash")
)

// BaselineAction is the entry migration 0104 wrote for a database that
// held data before evidence was recorded.
const BaselineAction = "evidence-baseline"

// Anchor is a chain head signed and kept outside the database: the audit
// log must still hold that entry with that hash.
type Anchor struct {
	Head     core.Head
	SignedAt time.Time
	What     string // where it came from, for the report: a file, the anchors log
}

// Report is the outcome of a verification.
type Report struct {
	Entries    int // audit entries
	Interviews int // interviews checked
	Sealed     int // evidence rows sealed into the chain
	Pending    int // evidence rows not sealed yet (checked all the same)
	Anchors    int // signed heads checked
	Districts  int
	Margins    int
	Published  int      // publications checked
	Problems   []string // "中文 / English", one per finding; none when all holds
}

func (r *Report) add(zh, en string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(zh, args...)+" / "+fmt.Sprintf(en, args...))
}

// Verify checks the chain, then each kind of evidence against it. It
// reads the database only.
func Verify(ctx context.Context, db *sqlx.DB, anchors []Anchor) (*Report, error) {
	chain, err := core.VerifyAudit(ctx, db)
	if err != nil {
		return nil, err
	}
	rep := &Report{Entries: chain.Entries, Problems: chain.Problems}
	rec, err := readRecords(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := checkAnchors(ctx, db, anchors, rep); err != nil {
		return nil, err
	}
	if err := checkInterviews(ctx, db, rec, rep); err != nil {
		return nil, err
	}
	if err := checkDistricts(ctx, db, rec, rep); err != nil {
		return nil, err
	}
	if err := checkMargins(ctx, db, rec, rep); err != nil {
		return nil, err
	}
	if err := checkPublications(ctx, db, rec, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// records is what the chain says the evidence is.
type records struct {
	sealed    map[int64]sealedItem // evidence row id → as sealed
	changes   map[changeKey]int64  // interview changes with their hash → entry
	baseMaxID int64                // evidence rows up to this one came with the baseline
	districts *snapshot[[2]any]
	margins   *snapshot[int64]
	pubs      map[int64]pubRecord
}

type sealedItem struct {
	interview int64
	version   int
	hash      string
	seq       int64
}

type changeKey struct {
	interview int64
	version   int
	hash      string
}

type snapshot[T any] struct {
	seq  int64
	rows map[string]T
}

type pubRecord struct {
	seq           int64
	wave          string
	sha256        string
	weightsSHA256 string
}

// readRecords reads the evidence entries of the chain, oldest first, so
// that later ones replace earlier ones.
func readRecords(ctx context.Context, db sqlx.QueryerContext) (*records, error) {
	return readRecordsOf(ctx, db, survey.SealAction, "interview-change", sampler.DistrictsAction, sampler.MarginsAction, survey.PublishAction, BaselineAction)
}

// readRecordsOf reads the entries of the actions given.
func readRecordsOf(ctx context.Context, db sqlx.QueryerContext, actions ...string) (*records, error) {
	rows, err := db.QueryxContext(ctx, qEntries, pq.StringArray(actions))
	if err != nil {
		return nil, fmt.Errorf("evidence: entries: %w", err)
	}
	defer rows.Close()
	rec := &records{sealed: map[int64]sealedItem{}, changes: map[changeKey]int64{}, pubs: map[int64]pubRecord{}}
	for rows.Next() {
		var e struct {
			Seq     int64  `db:"seq"`
			Action  string `db:"action"`
			Subject string `db:"subject"`
			Details []byte `db:"details"`
		}
		if err := rows.StructScan(&e); err != nil {
			return nil, err
		}
		if err := rec.add(e.Seq, e.Action, e.Subject, e.Details); err != nil {
			return nil, fmt.Errorf("evidence: entry %d: %w", e.Seq, err)
		}
	}
	return rec, rows.Err()
}

func (rec *records) add(seq int64, action, subject string, details []byte) error {
	switch action {
	case survey.SealAction:
		var d struct {
			Items [][4]json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(details, &d); err != nil {
			return err
		}
		for _, it := range d.Items {
			var id, interview int64
			var item sealedItem
			if err := unmarshalAll(it[:], &id, &interview, &item.version, &item.hash); err != nil {
				return err
			}
			item.interview, item.seq = interview, seq
			rec.sealed[id] = item
		}
	case "interview-change":
		// Entries written before evidence was recorded carry no hash.
		var d struct {
			Version int    `json:"version"`
			Hash    string `json:"hash"`
		}
		if err := json.Unmarshal(details, &d); err != nil {
			return err
		}
		id, err := strconv.ParseInt(strings.TrimPrefix(subject, "interview:"), 10, 64)
		if d.Hash == "" || err != nil {
			return nil
		}
		rec.changes[changeKey{id, d.Version, d.Hash}] = seq
	case sampler.DistrictsAction, sampler.MarginsAction, BaselineAction:
		var d struct {
			Districts     map[string][2]any        `json:"districts"`
			Margins       map[string]int64         `json:"margins"`
			Publications  map[string]pubRecordJSON `json:"publications"`
			EvidenceMaxID int64                    `json:"evidence_max_id"`
		}
		if err := json.Unmarshal(details, &d); err != nil {
			return err
		}
		if action != sampler.MarginsAction && d.Districts != nil {
			rec.districts = &snapshot[[2]any]{seq, d.Districts}
		}
		if action != sampler.DistrictsAction && d.Margins != nil {
			rec.margins = &snapshot[int64]{seq, d.Margins}
		}
		if action == BaselineAction {
			rec.baseMaxID = d.EvidenceMaxID
			for id, p := range d.Publications {
				n, err := strconv.ParseInt(id, 10, 64)
				if err != nil {
					return err
				}
				rec.pubs[n] = pubRecord{seq: seq, wave: p.Wave, sha256: p.SHA256, weightsSHA256: p.WeightsSHA256}
			}
		}
	case survey.PublishAction:
		// Entries written before evidence was recorded carry no
		// publication id; the baseline covers those publications.
		var d struct {
			Publication   int64  `json:"publication"`
			Wave          string `json:"wave"`
			SHA256        string `json:"sha256"`
			WeightsSHA256 string `json:"weights_sha256"`
		}
		if err := json.Unmarshal(details, &d); err != nil {
			return err
		}
		if d.Publication > 0 {
			rec.pubs[d.Publication] = pubRecord{seq: seq, wave: d.Wave, sha256: d.SHA256, weightsSHA256: d.WeightsSHA256}
		}
	}
	return nil
}

type pubRecordJSON struct {
	Wave          string `json:"wave"`
	SHA256        string `json:"sha256"`
	WeightsSHA256 string `json:"weights_sha256"`
}

func unmarshalAll(raw []json.RawMessage, dst ...any) error {
	for i, d := range dst {
		if err := json.Unmarshal(raw[i], d); err != nil {
			return err
		}
	}
	return nil
}
