package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/csvfile"
	"minyi/export"
	"minyi/survey"
	"minyi/users"
)

// download sends one export of a wave as a file, if the user's role may
// have that kind; every download is audited before the file leaves.
func (s *Server) download(c echo.Context) error {
	return s.sendExport(c, c.Param("kind"), c.Param("wave"))
}

func (s *Server) sendExport(c echo.Context, kind, wave string) error {
	if !export.Known(kind) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	if !export.MayDownload(u.Role, kind) {
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
	if opt.Header, err = exportHeader(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	req := export.Request{Kind: kind, Wave: wave, Encoding: enc, Options: opt, ActorID: u.ID, Actor: u.Username, Via: "web", Signer: s.opt.Signer}
	head, err := export.Begin(ctx, s.db, req)
	if err != nil {
		return err
	}
	name := export.FileName(kind, wave, enc)
	h := c.Response().Header()
	h.Set("Content-Type", export.ContentType(kind, enc))
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	// Rows stream to the client as they are written; a failure midway
	// cuts the file short, which the client sees as an incomplete download.
	// Once it is whole, its signature is kept for the page's second link.
	out := export.NewHasher(c.Response())
	if _, err := export.Write(ctx, s.db, req, out); err != nil {
		s.opt.Logger.Error("export failed midway", "kind", kind, "wave", wave, "err", err)
		return nil
	}
	if err := export.SignDownload(ctx, s.db, req, head, name, out); err != nil {
		s.opt.Logger.Error("export signature", "kind", kind, "wave", wave, "err", err)
	}
	return nil
}

// downloadChosen sends the file chosen in the scores page's download
// form: its kind, encoding and column names.
func (s *Server) downloadChosen(c echo.Context) error {
	return s.sendExport(c, c.QueryParam("kind"), c.Param("wave"))
}

// exportHeader reads how a download names its columns (header=labels or
// codes): by default in the page's language, Chinese labels in Chinese
// and codes in English.
func exportHeader(c echo.Context) (export.Header, error) {
	v := c.QueryParam("header")
	if v == "" {
		if lang(c) == "zh" {
			return export.HeaderLabels, nil
		}
		return export.HeaderCodes, nil
	}
	h, ok := export.ParseHeader(v)
	if !ok {
		return "", core.Errorf(core.EInvalid, "列名只能是 labels（中文）或 codes（代码）", "column names must be labels (Chinese) or codes")
	}
	return h, nil
}

// downloadSignature sends the signature of the copy of a file the user
// last downloaded, for the office to check it with minyi verify.
func (s *Server) downloadSignature(c echo.Context) error {
	kind, wave := c.Param("kind"), c.Param("wave")
	u := currentUser(c)
	if !export.Known(kind) || !export.MayDownload(u.Role, kind) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	b, file, err := export.DownloadSignature(c.Request().Context(), s.db, u.ID, kind, wave)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(file+".sig"))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json", b)
}

// exportOptions reads the suppression threshold of a download (min_cell).
// Anyone may raise it; only admins may lower it below the default, since a
// smaller cell protects respondents less.
func exportOptions(c echo.Context, u *users.User) (export.Options, error) {
	v := c.QueryParam("min_cell")
	if v == "" {
		return export.Options{MinCell: survey.MinCell}, nil
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 || k > 1000000 {
		return export.Options{}, core.Errorf(core.EInvalid, "最小单元格须为 1 以上的整数", "min_cell must be a whole number of at least 1")
	}
	if k < survey.MinCell && u.Role != users.RoleAdmin {
		return export.Options{}, core.Errorf(core.EInvalid, "只有管理员可以把最小单元格设为小于 %d", "only admins may set min_cell below %d", survey.MinCell)
	}
	return export.Options{MinCell: k}, nil
}
