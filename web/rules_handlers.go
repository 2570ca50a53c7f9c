package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/users"
)

// saveRules stores a wave's calling rules from the form on the wave page.
func (s *Server) saveRules(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	r, err := rulesFromForm(c)
	if err == nil {
		err = dialer.SetRules(ctx, s.db, w.ID, r)
	}
	if err != nil {
		return err
	}
	s.forgetCallingWave()
	u := currentUser(c)
	if err := core.AuditNow(ctx, s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "calling-rules", Subject: w.Name,
		Details: map[string]any{"hours": r.HoursText(), "days": r.DaysText(), "max_attempts": r.MaxAttempts, "grace": r.GraceMinutes,
			"retry_busy": r.RetryBusy, "retry_no_answer": r.RetryNoAnswer, "retry_soft_refusal": r.RetrySoftRefusal,
			"verify_share": r.VerifyShare, "quota_by_sex_age": r.QuotaBySexAge}}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/waves/"+url.PathEscape(w.Name)+"?msg=rules")
}

// rulesFromForm reads the calling rules form; every field is required.
func rulesFromForm(c echo.Context) (dialer.Rules, error) {
	var r dialer.Rules
	var err error
	if r.From, r.To, err = dialer.ParseHours(c.FormValue("hours")); err != nil {
		return r, err
	}
	if r.Days, err = dialer.ParseDays(c.FormValue("days")); err != nil {
		return r, err
	}
	ints := []struct {
		field string
		dst   *int
		label core.Text
	}{
		{"grace", &r.GraceMinutes, core.Text{ZH: "预约保留时间", EN: "appointment grace"}},
		{"max_attempts", &r.MaxAttempts, core.Text{ZH: "最多拨打次数", EN: "maximum attempts"}},
	}
	for _, f := range ints {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue(f.field)))
		if err != nil {
			return r, &core.Error{Code: core.EInvalid, ZH: f.label.ZH + " 应为整数", EN: f.label.EN + " must be a whole number"}
		}
		*f.dst = n
	}
	if err := delaysFromForm(c.FormValue, &r); err != nil {
		return r, err
	}
	share, err := strconv.ParseFloat(strings.TrimSpace(c.FormValue("verify_share")), 64)
	if err != nil {
		return r, core.Errorf(core.EInvalid, "回访比例应为 0 到 1 之间的小数", "the verification share is a fraction between 0 and 1")
	}
	r.VerifyShare = share
	r.QuotaBySexAge = c.FormValue("quota_by_sex_age") != ""
	return r, r.Check()
}

// setConverter marks or unmarks a user as a refusal converter.
func (s *Server) setConverter(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	on := c.FormValue("converter") == "1"
	name, err := users.SetRefusalConverter(ctx, s.db, id, on)
	if err != nil {
		return err
	}
	u := currentUser(c)
	if err := core.AuditNow(ctx, s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "refusal-converter", Subject: name,
		Details: map[string]bool{"converter": on}}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/users?msg=converter")
}
