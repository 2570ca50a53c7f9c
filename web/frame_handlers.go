package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sampler"
	"minyi/schedule"
)

type framesData struct {
	Phone      map[string]int64
	PhoneTotal int64
	Households []sampler.HouseholdStratum
	Names      map[string]string
	Imports    []sampler.FrameImport
}

// frames shows the frames' sizes per stratum and the latest imports.
func (s *Server) frames(c echo.Context) error {
	ctx := c.Request().Context()
	d := framesData{Names: map[string]string{}}
	var err error
	if d.Phone, err = sampler.FrameSizes(ctx, s.db); err != nil {
		return err
	}
	for _, n := range d.Phone {
		d.PhoneTotal += n
	}
	if d.Households, err = sampler.HouseholdFrameSizes(ctx, s.db); err != nil {
		return err
	}
	if d.Imports, err = sampler.ListFrameImports(ctx, s.db, 30); err != nil {
		return err
	}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return err
	}
	for _, x := range ds {
		d.Names[x.Code] = x.Name
	}
	return s.render(c, http.StatusOK, "frames", core.Text{ZH: "抽样框", EN: "Sampling frames"}, d)
}

func (s *Server) frameImport(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	f, err := sampler.GetFrameImport(c.Request().Context(), s.db, id)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "frame_import", core.Text{ZH: "导入报告 #" + c.Param("id"), EN: "Import report #" + c.Param("id")}, f)
}

// uploadFrame imports an uploaded frame file as a background job: a census
// frame has millions of rows. The upload is kept in the job's directory
// until the job has read it.
func (s *Server) uploadFrame(c echo.Context) error {
	kind := c.FormValue("kind")
	if kind != "phone" && kind != "household" {
		return core.Errorf(core.EInvalid, "请选择抽样框类型（电话或住户）", "choose the kind of frame (telephone or household)")
	}
	enc, err := csvfile.ParseReadEncoding(c.FormValue("encoding"))
	if err != nil {
		return err
	}
	// The file streams from the request into the job's directory, its
	// limit enforced as it arrives.
	src, name, err := uploaded(c)
	if err != nil {
		return err
	}
	defer src.Close()
	user := currentUser(c).ID
	spec := schedule.JobSpec{Kind: "frame-" + kind, Subject: name, UserID: user, Input: src}
	id, err := s.opt.Jobs.Start(c.Request().Context(), spec, func(ctx context.Context, run *schedule.Run) (string, error) {
		f, err := os.Open(run.Input)
		if err != nil {
			return "", err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", err
		}
		r := &countingReader{r: f, total: st.Size(), progress: run.Progress}
		opt := sampler.ImportOptions{Encoding: enc, FileName: name, CreatedBy: &user}
		var rep sampler.FrameReport
		if kind == "phone" {
			rep, err = sampler.ImportPhoneFrame(ctx, s.db, r, opt)
		} else {
			rep, err = sampler.ImportHouseholdFrame(ctx, s.db, r, opt)
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("读取 %d 行：导入 %d（规范化 %d），拒绝 %d，重复 %d / read %d rows: %d kept (%d fixed), %d rejected, %d duplicates",
			rep.Read, rep.Kept, rep.Fixed, rep.Rejected, rep.Duplicates, rep.Read, rep.Kept, rep.Fixed, rep.Rejected, rep.Duplicates), nil
	})
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/jobs/"+strconv.FormatInt(id, 10))
}

// countingReader reports how much of a file has been read.
type countingReader struct {
	r        io.Reader
	n, total int64
	progress schedule.Progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.progress(c.n, c.total, "")
	return n, err
}
