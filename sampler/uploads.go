package sampler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Districts and margins move every score: each upload is chained in the
// audit log with the file's hash, the totals before and after, what
// changed, and the whole table as it then stands, which verification
// compares with the table (docs/evidence.md §3).

// Audit actions of the uploads.
const (
	DistrictsAction = "districts-upload"
	MarginsAction   = "margins-upload"
)

var qAnyPublication = pg.Q("sampler/any-publication")

// Upload says who uploads a districts or margins file, and why.
type Upload struct {
	ActorID int64
	Actor   string // username, or "minyi <command>"
	File    string // the file's name, for the record
	SHA256  string // of the file's bytes; the Import functions set it
	// Reason is required when district populations change after any wave's
	// scores were published.
	Reason string
}

func (u Upload) actor() string {
	if u.Actor == "" {
		return "minyi"
	}
	return u.Actor
}

// ErrReasonRequired refuses a change of district populations after a
// publication without a reason.
var ErrReasonRequired = core.Errorf(core.EInvalid,
	"已有轮次的得分发布过：更改区县常住人口会改变已发布的得分，须写明原因（命令行 --reason，网页表单的“原因”栏）。未做任何更改。",
	"Scores of a wave have been published: changing district populations changes published scores, so give a reason (--reason on the command line, the Reason field of the form). Nothing was changed.")

// hashing reads r and keeps the SHA-256 of what it read.
type hashing struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func newHashing(r io.Reader) *hashing { return &hashing{r: r, h: sha256.New()} }

func (h *hashing) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// sum reads what the parser left unread, which still belongs to the file,
// and returns the file's hash.
func (h *hashing) sum() (string, error) {
	if _, err := io.Copy(io.Discard, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.h.Sum(nil)), nil
}

// ImportDistricts reads a districts file and saves it as up says, and
// returns how many districts it read and how many changed.
func ImportDistricts(ctx context.Context, db *sqlx.DB, r io.Reader, up Upload) (read, changed int, err error) {
	hr := newHashing(r)
	ds, err := ParseDistricts(hr)
	if err != nil {
		return 0, 0, err
	}
	if up.SHA256, err = hr.sum(); err != nil {
		return 0, 0, err
	}
	changed, err = SaveDistrictsAs(ctx, db, ds, up)
	return len(ds), changed, err
}

// SaveDistricts inserts or updates districts in one transaction, audited
// as uploaded by "minyi", and returns how many rows changed.
func SaveDistricts(ctx context.Context, db *sqlx.DB, ds []District) (int, error) {
	return SaveDistrictsAs(ctx, db, ds, Upload{})
}

// SaveDistrictsAs inserts or updates districts in one transaction with
// their audit entry, and returns how many rows changed. A change of
// population after any publication needs up.Reason.
func SaveDistrictsAs(ctx context.Context, db *sqlx.DB, ds []District, up Upload) (int, error) {
	up.Reason = strings.TrimSpace(up.Reason)
	if len([]rune(up.Reason)) > 1000 {
		return 0, core.Errorf(core.EInvalid, "原因最多 1000 字", "the reason may have at most 1000 characters")
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// The lock first, so that the table read below is the one the entry
	// describes, whoever uploads at the same time.
	if err := core.LockAudit(ctx, tx); err != nil {
		return 0, err
	}
	before, err := ListDistricts(ctx, tx)
	if err != nil {
		return 0, err
	}
	old := make(map[string]District, len(before))
	var oldTotal int64
	for _, d := range before {
		old[d.Code] = d
		oldTotal += d.Population
	}
	type change struct {
		Code          string `json:"code"`
		OldName       string `json:"old_name,omitempty"`
		Name          string `json:"name"`
		OldPopulation *int64 `json:"old_population"` // null for a new district
		Population    int64  `json:"population"`
	}
	var changes []change
	populations := false
	for _, d := range ds {
		o, ok := old[d.Code]
		if ok && o.Name == d.Name && o.Population == d.Population {
			continue
		}
		c := change{Code: d.Code, Name: d.Name, Population: d.Population}
		if ok {
			pop := o.Population
			c.OldName, c.OldPopulation = o.Name, &pop
		}
		populations = populations || !ok || o.Population != d.Population
		changes = append(changes, c)
	}
	if populations && up.Reason == "" {
		var published bool
		if err := tx.GetContext(ctx, &published, qAnyPublication); err != nil {
			return 0, fmt.Errorf("sampler: publications: %w", err)
		}
		if published {
			return 0, ErrReasonRequired
		}
	}
	changed := 0
	for _, d := range ds {
		res, err := tx.ExecContext(ctx, qUpsertDistrict, d.Code, d.Name, d.Population)
		if err != nil {
			return 0, fmt.Errorf("sampler: save district %s: %w", d.Code, err)
		}
		n, _ := res.RowsAffected()
		changed += int(n)
	}
	after, err := ListDistricts(ctx, tx)
	if err != nil {
		return 0, err
	}
	var newTotal int64
	for _, d := range after {
		newTotal += d.Population
	}
	details := map[string]any{"file": up.File, "file_sha256": up.SHA256, "rows": len(ds), "changed": changes,
		"old_total": oldTotal, "new_total": newTotal, "reason": up.Reason, "districts": DistrictsSnapshot(after)}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: up.ActorID, Actor: up.actor(), Action: DistrictsAction,
		Subject: "districts", Details: details}); err != nil {
		return 0, err
	}
	return changed, tx.Commit()
}

// DistrictsSnapshot is the table as an upload's entry records it: code →
// [name, population].
func DistrictsSnapshot(ds []District) map[string][2]any {
	out := make(map[string][2]any, len(ds))
	for _, d := range ds {
		out[d.Code] = [2]any{d.Name, d.Population}
	}
	return out
}

// ImportMargins reads a margins file and saves it as up says, and returns
// how many rows it read and how many changed.
func ImportMargins(ctx context.Context, db *sqlx.DB, r io.Reader, up Upload) (read, changed int, err error) {
	ds, err := ListDistricts(ctx, db)
	if err != nil {
		return 0, 0, err
	}
	hr := newHashing(r)
	ms, err := ParseMargins(hr, DistrictSet(ds))
	if err != nil {
		return 0, 0, err
	}
	if up.SHA256, err = hr.sum(); err != nil {
		return 0, 0, err
	}
	changed, err = SaveMarginsAs(ctx, db, ms, up)
	return len(ms), changed, err
}

// SaveMargins stores margins in one transaction, audited as uploaded by
// "minyi", and returns how many rows changed.
func SaveMargins(ctx context.Context, db *sqlx.DB, ms []Margin) (int, error) {
	return SaveMarginsAs(ctx, db, ms, Upload{})
}

// SaveMarginsAs stores margins in one transaction with their audit entry
// and returns how many rows changed.
func SaveMarginsAs(ctx context.Context, db *sqlx.DB, ms []Margin, up Upload) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := core.LockAudit(ctx, tx); err != nil {
		return 0, err
	}
	before, err := ListMargins(ctx, tx)
	if err != nil {
		return 0, err
	}
	old := make(map[string]int64, len(before))
	for _, m := range before {
		old[MarginKey(m)] = m.Population
	}
	type change struct {
		Key           string `json:"key"`
		OldPopulation *int64 `json:"old_population"`
		Population    int64  `json:"population"`
	}
	var changes []change
	changed := 0
	for _, m := range ms {
		if o, ok := old[MarginKey(m)]; !ok || o != m.Population {
			c := change{Key: MarginKey(m), Population: m.Population}
			if ok {
				c.OldPopulation = &o
			}
			changes = append(changes, c)
		}
		res, err := tx.ExecContext(ctx, qUpsertMargin, m.District, m.Variable, m.Category, m.Population)
		if err != nil {
			return 0, fmt.Errorf("sampler: save margin: %w", err)
		}
		n, _ := res.RowsAffected()
		changed += int(n)
	}
	after, err := ListMargins(ctx, tx)
	if err != nil {
		return 0, err
	}
	details := map[string]any{"file": up.File, "file_sha256": up.SHA256, "rows": len(ms), "changed": changes,
		"old_totals": marginTotals(before), "new_totals": marginTotals(after), "reason": strings.TrimSpace(up.Reason),
		"margins": MarginsSnapshot(after)}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: up.ActorID, Actor: up.actor(), Action: MarginsAction,
		Subject: "margins", Details: details}); err != nil {
		return 0, err
	}
	return changed, tx.Commit()
}

// MarginKey names a margin as the audit log does: district/variable/category.
func MarginKey(m Margin) string {
	return m.District + "/" + m.Variable + "/" + strconv.Itoa(m.Category)
}

// MarginsSnapshot is the table as an upload's entry records it: key →
// population.
func MarginsSnapshot(ms []Margin) map[string]int64 {
	out := make(map[string]int64, len(ms))
	for _, m := range ms {
		out[MarginKey(m)] = m.Population
	}
	return out
}

// marginTotals adds each variable's margins up over all districts: for
// sex, say, the population the margins describe.
func marginTotals(ms []Margin) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		out[m.Variable] += m.Population
	}
	return out
}
