package survey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qInsertPublication = pg.Q("survey/insert-publication")
	qLatestPublication = pg.Q("survey/latest-publication")
	qScoreWaves        = pg.Q("survey/score-waves")
	qInsertWeights     = pg.Q("survey/insert-published-weights")
	qWeightsHash       = pg.Q("survey/publication-weights-hash")
	qPublications      = pg.Q("survey/publications-evidence")
)

// Publication is scores as published to the assessment office.
type Publication struct {
	ID          int64     `db:"id"`
	PublishedAt time.Time `db:"published_at"`
	PublishedBy string    `db:"published_by"`
	LongCSV     string    `db:"long_csv"`
	SHA256      string    `db:"sha256"`
	// Head is the audit entry that recorded the publication, for its
	// signature; set by PublishScores only.
	Head core.Head `db:"-"`
}

// PublishAction is the audit action of a publication; its details carry
// the publication's id, wave and the hashes of its CSV and weights.
const PublishAction = "publish-scores"

func longCSV(sc *WaveScores) (string, error) {
	var b bytes.Buffer
	if err := WriteScoresLong(&b, sc.Estimates); err != nil {
		return "", err
	}
	return b.String(), nil
}

// PublishScores computes a wave's scores and stores them as published,
// with every interview's final weight and an audit entry, in one
// transaction.
func PublishScores(ctx context.Context, db *sqlx.DB, wave, actor string) (*Publication, error) {
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	sc, err := ScoreWave(ctx, db, waveID, q)
	if err != nil {
		return nil, err
	}
	text, err := longCSV(sc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(text))
	p := &Publication{PublishedBy: actor, LongCSV: text, SHA256: hex.EncodeToString(sum[:])}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// The interviews it counts are sealed into the chain before the
	// publication's own entry, which its signature names.
	if _, err := sealIn(ctx, tx, actor); err != nil {
		return nil, err
	}
	if err := tx.QueryRowxContext(ctx, qInsertPublication, waveID, q.ID, actor, text, p.SHA256).Scan(&p.ID, &p.PublishedAt); err != nil {
		return nil, fmt.Errorf("survey: publish: %w", err)
	}
	cells, err := exportWeights(ctx, tx, waveID)
	if err != nil {
		return nil, err
	}
	var ds, sex, age, urban, weight []string
	for _, c := range cells {
		if c.Computed > 0 {
			ds, sex, age, urban = append(ds, c.District), append(sex, c.Sex), append(age, c.AgeGroup), append(urban, c.Urban)
			weight = append(weight, strconv.FormatFloat(c.Weight, 'g', -1, 64))
		}
	}
	if _, err := tx.ExecContext(ctx, qInsertWeights, p.ID, waveID, pq.StringArray(ds), pq.StringArray(sex), pq.StringArray(age), pq.StringArray(urban), pq.StringArray(weight)); err != nil {
		return nil, fmt.Errorf("survey: publish weights: %w", err)
	}
	var weights string
	if err := tx.GetContext(ctx, &weights, qWeightsHash, p.ID); err != nil {
		return nil, fmt.Errorf("survey: publish weights: %w", err)
	}
	if p.Head, err = core.AuditHead(ctx, tx, core.AuditEntry{Actor: actor, Action: PublishAction, Subject: wave,
		Details: map[string]any{"publication": p.ID, "wave": wave, "sha256": p.SHA256, "weights_sha256": weights}}); err != nil {
		return nil, err
	}
	return p, tx.Commit()
}

// ScoredWave is one wave on the scores index.
type ScoredWave struct {
	Name        string       `db:"name"`
	Interviews  int          `db:"interviews"`   // that count in its scores
	PublishedAt sql.NullTime `db:"published_at"` // last publication; not valid if never published
}

// ScoreWaves lists every wave, newest first, with its interviews and last
// publication.
func ScoreWaves(ctx context.Context, db sqlx.QueryerContext) ([]ScoredWave, error) {
	var out []ScoredWave
	if err := sqlx.SelectContext(ctx, db, &out, qScoreWaves); err != nil {
		return nil, fmt.Errorf("survey: score waves: %w", err)
	}
	return out, nil
}

// LatestPublication returns a wave's last publication, or nil.
func LatestPublication(ctx context.Context, db sqlx.QueryerContext, waveID int64) (*Publication, error) {
	var p Publication
	err := sqlx.GetContext(ctx, db, &p, qLatestPublication, waveID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &p, err
}

// ScoreCheck compares a fresh computation with the published scores.
type ScoreCheck struct {
	Published   *Publication
	Identical   bool
	Differences []string // "published: …" / "now:       …" line pairs
}

// CheckScores recomputes a wave's scores from the stored interviews, with
// the score map of their questionnaire version, and compares them line by
// line with what was last published.
func CheckScores(ctx context.Context, db sqlx.QueryerContext, wave string) (*ScoreCheck, error) {
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	pub, err := LatestPublication(ctx, db, waveID)
	if err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, core.Errorf(core.ENotFound, "轮次 %q 的得分还没有发布", "the scores of wave %q have not been published", wave)
	}
	sc, err := ScoreWave(ctx, db, waveID, q)
	if err != nil {
		return nil, err
	}
	now, err := longCSV(sc)
	if err != nil {
		return nil, err
	}
	chk := &ScoreCheck{Published: pub, Identical: now == pub.LongCSV}
	if !chk.Identical {
		old, cur := strings.Split(pub.LongCSV, "\n"), strings.Split(now, "\n")
		for i := 0; i < max(len(old), len(cur)); i++ {
			var o, c string
			if i < len(old) {
				o = old[i]
			}
			if i < len(cur) {
				c = cur[i]
			}
			if o != c {
				chk.Differences = append(chk.Differences, "published: "+o, "now:       "+c)
			}
		}
	}
	return chk, nil
}

// StoredPublication is a publication as the database holds it now, with
// the hashes of its CSV and weights recomputed, for verification.
type StoredPublication struct {
	ID            int64     `db:"id"`
	Wave          string    `db:"wave"`
	PublishedAt   time.Time `db:"published_at"`
	StoredSHA256  string    `db:"stored_sha256"` // the sha256 column
	SHA256        string    `db:"sha256"`        // of long_csv as stored
	WeightsSHA256 string    `db:"weights_sha256"`
}

// StoredPublications lists every publication, oldest first.
func StoredPublications(ctx context.Context, db sqlx.QueryerContext) ([]StoredPublication, error) {
	var out []StoredPublication
	if err := sqlx.SelectContext(ctx, db, &out, qPublications); err != nil {
		return nil, fmt.Errorf("survey: publications: %w", err)
	}
	return out, nil
}

// LiveDiff says how a wave's live scores differ from its latest
// publication.
type LiveDiff struct {
	Published *Publication
	// Districts are the codes (AllDistricts for the city) whose lines of
	// the long table differ, in the order of the table; none when the live
	// scores are those published.
	Districts []string
}

// CompareWithPublication compares a wave's scores computed now, sc, with
// its latest publication, district by district; nil when the wave was
// never published.
func CompareWithPublication(ctx context.Context, db sqlx.QueryerContext, wave string, sc *WaveScores) (*LiveDiff, error) {
	waveID, _, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	pub, err := LatestPublication(ctx, db, waveID)
	if err != nil || pub == nil {
		return nil, err
	}
	now, err := longCSV(sc)
	if err != nil {
		return nil, err
	}
	d := &LiveDiff{Published: pub}
	if now == pub.LongCSV {
		return d, nil
	}
	old, cur := linesByDistrict(pub.LongCSV), linesByDistrict(now)
	seen := map[string]bool{}
	for _, lines := range [][]districtLines{cur, old} {
		for _, dl := range lines {
			if seen[dl.code] {
				continue
			}
			seen[dl.code] = true
			if linesOf(old, dl.code) != linesOf(cur, dl.code) {
				d.Districts = append(d.Districts, dl.code)
			}
		}
	}
	return d, nil
}

type districtLines struct{ code, text string }

// linesByDistrict groups the rows of a long table (header first, the
// district in the first column) by district, in the order they come.
func linesByDistrict(text string) []districtLines {
	var out []districtLines
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if i == 0 {
			continue
		}
		code, _, _ := strings.Cut(line, ",")
		if n := len(out); n > 0 && out[n-1].code == code {
			out[n-1].text += "\n" + line
			continue
		}
		out = append(out, districtLines{code, line})
	}
	return out
}

func linesOf(ls []districtLines, code string) string {
	for _, l := range ls {
		if l.code == code {
			return l.text
		}
	}
	return ""
}
