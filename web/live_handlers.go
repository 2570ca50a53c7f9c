package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
)

// live is the supervisors' live view of a wave; a small script refreshes
// its numbers from liveJSON without reloading the page.
func (s *Server) live(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	l, err := dialer.LiveView(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	return s.renderView(c, http.StatusOK, "live", &view{
		Title: survey.Text{ZH: "实时进度 · " + w.Name, EN: "Live progress · " + w.Name},
		Data:  map[string]any{"Wave": w.Name, "Live": l, "Every": refreshEvery(c.QueryParam("every"))},
	})
}

func (s *Server) liveJSON(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	l, err := dialer.LiveView(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, l)
}

// refreshEvery is the live view's refresh interval in seconds: 10 unless
// the address asks for another between 1 and 60.
func refreshEvery(q string) int {
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > 60 {
		return 10
	}
	return n
}
