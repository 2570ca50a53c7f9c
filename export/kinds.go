// Package export writes a wave's files for people outside the call centre:
// one writer per kind of file (scores, rates, microdata, …), shared by the
// three ways a file leaves the system — a download from the web, `minyi
// export` to a file, and a scheduled run into the outbox — and every file
// is audited before anyone can read it.
package export

import (
	"context"
	"io"
	"slices"
	"sort"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
	"minyi/users"
)

// Options are the choices of one export.
type Options struct {
	// MinCell is the suppression threshold of breakdowns (see
	// survey.Suppressed); 0 means survey.MinCell.
	MinCell int
	// WithContacts adds each case's telephone number and address to the
	// sample file (`minyi export sample --with-contacts`, audited).
	WithContacts bool
	// Header names the columns by codes (the default) or Chinese labels.
	Header Header
}

// Threshold is the suppression threshold to apply.
func (o Options) Threshold() int {
	if o.MinCell <= 0 {
		return survey.MinCell
	}
	return o.MinCell
}

// writeFunc writes one kind of file of a wave and returns how many data
// rows it wrote.
type writeFunc func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error)

// kind is one file a wave can be exported as, and who may download it from
// the web (the command line is for those who hold the database's keys).
type kind struct {
	readers []users.Role
	write   writeFunc
	// text, for a file that is not a CSV (the SPSS syntax), writes it in
	// UTF-8; Write encodes it.
	text func(ctx context.Context, db *sqlx.DB, wave string, enc csvfile.Encoding, out io.Writer) (int, error)
}

var (
	admins   = []users.Role{users.RoleAdmin}
	managers = []users.Role{users.RoleAdmin, users.RoleSupervisor}
	readers  = []users.Role{users.RoleAdmin, users.RoleSupervisor, users.RoleOffice}
	office   = []users.Role{users.RoleAdmin, users.RoleOffice}
)

// kinds are the files of a wave. A test checks every one of them for
// respondent identity. Dispositions and the sample carry case ids, which
// admins can link to numbers: they are for admins only (and only the
// sample, on request, carries the numbers and addresses themselves);
// paradata names the interviewer of each interview, and the call records
// give each attempt's interviewer and keyed case reference: for
// supervisors.
var kinds = map[string]kind{
	"scores": {office, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		sc, err := survey.ScoreWaveNamed(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return len(sc.Districts) + 1, survey.WriteScoresWide(w, sc.Estimates, sc.Districts, sc.Ranks, sc.AssessmentWeight, sc.Items, opt.Threshold())
	}, nil},
	"scores-long": {office, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		sc, err := survey.ScoreWaveNamed(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return len(sc.Estimates), survey.WriteScoresLongTo(w, sc.Estimates, opt.Threshold())
	}, nil},
	"indicators": {office, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		sc, err := survey.ScoreWaveNamed(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return survey.WriteIndicatorDetail(w, sc, opt.Threshold())
	}, nil},
	"rates": {readers, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		rows, err := WaveRates(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return len(rows), WriteRates(w, rows)
	}, nil},
	"responses": {office, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		return survey.WriteResponses(ctx, db, wave, w)
	}, nil},
	"codebook": {readers, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		return survey.WriteCodebook(ctx, db, wave, w)
	}, nil},
	"value-labels": {readers, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		return writeValueLabels(ctx, db, wave, w)
	}, nil},
	"spss": {office, nil, writeSPSS},
	"paradata": {managers, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		return survey.WriteParadata(ctx, db, wave, w)
	}, nil},
	"calls": {managers, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		return writeCalls(ctx, db, wave, w)
	}, nil},
	"dispositions": {admins, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		wv, err := sampler.GetWave(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		if err := w.Write(dialer.DispositionHeader); err != nil {
			return 0, err
		}
		n := 0
		err = dialer.EachDisposition(ctx, db, wv.ID, func(d dialer.Disposition) error {
			n++
			return w.Write(d.Record())
		})
		return n, err
	}, nil},
	"sample": {admins, func(ctx context.Context, db *sqlx.DB, wave string, w *rowWriter, opt Options) (int, error) {
		wv, err := sampler.GetWave(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		header := sampler.SampleHeader
		if opt.WithContacts {
			header = append(slices.Clip(header), sampler.SampleContactHeader...)
		}
		if err := w.Write(header); err != nil {
			return 0, err
		}
		n := 0
		err = sampler.EachSampledCase(ctx, db, wv.ID, opt.WithContacts, func(c sampler.SampledCase) error {
			n++
			return w.Write(c.Record(opt.WithContacts))
		})
		return n, err
	}, nil},
}

// Kinds lists the kinds of file in a stable order.
var Kinds = func() []string {
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}()

// Known reports whether k names a kind of file.
func Known(k string) bool {
	_, ok := kinds[k]
	return ok
}

// MayDownload reports whether a role may download a kind of file.
func MayDownload(r users.Role, k string) bool {
	for _, x := range kinds[k].readers {
		if x == r {
			return true
		}
	}
	return false
}

// For lists the kinds a role may download.
func For(r users.Role) []string {
	var out []string
	for _, k := range Kinds {
		if MayDownload(r, k) {
			out = append(out, k)
		}
	}
	return out
}

// unknownKind is the error for a kind that does not exist.
func unknownKind(k string) error {
	return core.Errorf(core.ENotFound, "没有 %q 这种导出文件", "there is no export kind %q", k)
}

// WaveRates computes a wave's AAPOR rates by district.
func WaveRates(ctx context.Context, db *sqlx.DB, wave string) ([]dialer.RateRow, error) {
	wv, err := sampler.GetWave(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	return dialer.WaveRates(ctx, db, wv.ID)
}

// WriteRates writes the rates CSV.
func WriteRates(w interface{ Write([]string) error }, rows []dialer.RateRow) error {
	if err := w.Write(dialer.RatesHeader); err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write(r.Record()); err != nil {
			return err
		}
	}
	return nil
}
