package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
	"minyi/survey/csvfile"
	"minyi/users"
)

// Exporter writes one kind of CSV file of a wave and returns how many rows
// it wrote. Roles are who may download it from the web (the command line is
// for those with the database's keys).
type Exporter struct {
	Roles []users.Role
	Write ExportFunc
}

// ExportFunc writes one export of a wave.
type ExportFunc = survey.ExportFunc

// Exporters are the CSV files of a wave, by kind, for minyi export and the
// download pages. A test checks every one of them for respondent identity.
// Dispositions carry case ids, which admins can link to numbers: they are
// for admins only.
var Exporters = map[string]Exporter{
	"scores": {Roles: export, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		sc, err := survey.ScoreWaveNamed(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return len(sc.Districts) + 1, survey.WriteScoresWide(w, sc.Estimates, sc.Districts, sc.Ranks, sc.AssessmentWeight, sc.Items, opt.Threshold())
	}},
	"scores-long": {Roles: export, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		sc, err := survey.ScoreWaveNamed(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return len(sc.Estimates), survey.WriteScoresLongTo(w, sc.Estimates, opt.Threshold())
	}},
	"indicators": {Roles: export, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		sc, err := survey.ScoreWaveNamed(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return survey.WriteIndicatorDetail(w, sc, opt.Threshold())
	}},
	"rates": {Roles: readers, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		rows, err := WaveRates(ctx, db, wave)
		if err != nil {
			return 0, err
		}
		return len(rows), WriteRates(w, rows)
	}},
	"responses": {Roles: export, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		return survey.WriteResponses(ctx, db, wave, w)
	}},
	"codebook": {Roles: readers, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		return survey.WriteCodebook(ctx, db, wave, w)
	}},
	// Paradata names the interviewer of each interview: for supervisors.
	"paradata": {Roles: managers, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
		return survey.WriteParadata(ctx, db, wave, w)
	}},
	"dispositions": {Roles: admin, Write: func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt survey.ExportOptions) (int, error) {
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
	}},
}

// ExportKinds lists the exporters in a stable order.
var ExportKinds = func() []string {
	var ks []string
	for k := range Exporters {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}()

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

// ExportsFor lists the kinds a role may download.
func ExportsFor(r users.Role) []string {
	var out []string
	for _, k := range ExportKinds {
		if hasRole(Exporters[k].Roles, r) {
			out = append(out, k)
		}
	}
	return out
}

// download sends one export of a wave as a file, if the user's role may
// have that kind; every download is audited before the file leaves.
func (s *Server) download(c echo.Context) error {
	return s.sendExport(c, c.Param("kind"), c.Param("wave"))
}

func (s *Server) sendExport(c echo.Context, kind, wave string) error {
	ex, ok := Exporters[kind]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	if !hasRole(ex.Roles, u.Role) {
		return s.errorPage(c, http.StatusForbidden, core.Text{ZH: "您的角色无权下载此文件", EN: "your role may not download this file"})
	}
	enc, err := csvfile.ParseEncoding(c.QueryParam("encoding"))
	if err != nil {
		return core.Errorf(core.EInvalid, "编码只能是 utf-8 或 gb18030", "encoding must be utf-8 or gb18030")
	}
	opt, err := exportOptions(c, u)
	if err != nil {
		return err
	}
	if _, err := sampler.GetWave(c.Request().Context(), s.db, wave); err != nil {
		return err
	}
	if err := core.AuditNow(c.Request().Context(), s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "export",
		Subject: kind + ":" + wave, Details: map[string]any{"encoding": enc, "via": "web", "min_cell": opt.Threshold()}}); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset="+string(enc))
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(kind+"-"+wave+".csv"))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w, err := csvfile.NewWriter(c.Response(), enc)
	if err != nil {
		return err
	}
	// Rows stream to the client as they are written; a failure midway
	// cuts the file short, which the client sees as an incomplete download.
	if _, err := ex.Write(c.Request().Context(), s.db, wave, w, opt); err != nil {
		s.opt.Logger.Error("export failed midway", "kind", kind, "wave", wave, "err", err)
		return nil
	}
	return w.Flush()
}

// exportOptions reads the suppression threshold of a download (min_cell).
// Anyone may raise it; only admins may lower it below the default, since a
// smaller cell protects respondents less.
func exportOptions(c echo.Context, u *users.User) (survey.ExportOptions, error) {
	v := c.QueryParam("min_cell")
	if v == "" {
		return survey.ExportOptions{MinCell: survey.MinCell}, nil
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 || k > 1000000 {
		return survey.ExportOptions{}, core.Errorf(core.EInvalid, "最小单元格须为 1 以上的整数", "min_cell must be a whole number of at least 1")
	}
	if k < survey.MinCell && u.Role != users.RoleAdmin {
		return survey.ExportOptions{}, core.Errorf(core.EInvalid, "只有管理员可以把最小单元格设为小于 %d", "only admins may set min_cell below %d", survey.MinCell)
	}
	return survey.ExportOptions{MinCell: k}, nil
}
