package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
	"minyi/users"
)

func init() {
	notices["approved"] = core.Text{ZH: "已批量通过所选访问，每份都已记入审计日志。", EN: "The interviews are approved; each is recorded in the audit log."}
}

// reviewFlagNames name the reasons an interview waits for review.
var reviewFlagNames = map[string]core.Text{
	"too_short":        {ZH: "过短", EN: "too short"},
	"straight_lined":   {ZH: "直线作答", EN: "straight-lined"},
	"not_confirmed":    {ZH: "回访未确认", EN: "not confirmed on call-back"},
	"no_answered_call": {ZH: "无接通的通话", EN: "no answered call"},
	"imported":         {ZH: "文件导入", EN: "imported from a file"},
	"corrected":        {ZH: "访员已修改", EN: "corrected by the interviewer"},
}

// interviewerRoles are who collect interviews.
var interviewerRoles = []users.Role{users.RoleInterview, users.RoleField}

// reviewQueue is the wave's list of interviews to review.
func (s *Server) reviewQueue(w *sampler.Wave) dialer.ReviewQueue {
	_, placesCalls := s.opt.Dialer.(dialer.Switch)
	return dialer.ReviewQueue{WaveID: w.ID, MinLength: MinInterviewLength, PlacesCalls: placesCalls}
}

// reviewSpec is the filters of a wave's review lists: to review (flags are
// the reasons) or the decisions taken (flags are the statuses).
func (s *Server) reviewSpec(ctx context.Context, w *sampler.Wave, reviewed bool) (listSpec, error) {
	ds, err := s.districtOptions(ctx)
	if err != nil {
		return listSpec{}, err
	}
	us, err := s.userOptions(ctx, interviewerRoles...)
	if err != nil {
		return listSpec{}, err
	}
	spec := listSpec{Districts: ds, Users: us, UserLabel: core.Text{ZH: "访员", EN: "Interviewer"}, Dates: true}
	if reviewed {
		spec.Flags = flagOptions(survey.ReviewedStatuses(), survey.ReviewLabels)
		spec.FlagLabel = core.Text{ZH: "状态", EN: "Status"}
		spec.DateLabel = core.Text{ZH: "复核日期", EN: "Reviewed"}
		spec.Keep = url.Values{"list": {"reviewed"}}
		return spec, nil
	}
	flags := dialer.ReviewFlags
	if !s.reviewQueue(w).PlacesCalls {
		flags = without(flags, "no_answered_call")
	}
	spec.Flags = flagOptions(flags, reviewFlagNames)
	spec.FlagLabel = core.Text{ZH: "原因", EN: "Why"}
	spec.DateLabel = core.Text{ZH: "完成日期", EN: "Completed"}
	return spec, nil
}

func without(xs []string, x string) []string {
	var out []string
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// reviews lists a wave's interviews to review (flagged, or corrected after
// being sent back), or with ?list=reviewed the decisions already taken, a
// page at a time, narrowed by district, interviewer, reason or status, and
// dates.
func (s *Server) reviews(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	tab := c.QueryParam("list")
	if tab != "" && tab != "reviewed" {
		return core.Errorf(core.EInvalid, "没有这个列表：%q", "no such list: %q", tab)
	}
	spec, err := s.reviewSpec(ctx, w, tab == "reviewed")
	if err != nil {
		return err
	}
	p, err := parseList(c, spec)
	if err != nil {
		return err
	}
	data := map[string]any{"Wave": w.Name, "List": p, "Tab": tab, "MinLength": int(MinInterviewLength.Seconds())}
	if tab == "reviewed" {
		rows, total, err := survey.ReviewedPage(ctx, s.db, w.ID, p.Filter)
		if err != nil {
			return err
		}
		p.counted(total)
		data["Reviewed"] = rows
	} else {
		rows, counts, err := s.reviewQueue(w).Page(ctx, s.db, p.Filter)
		if err != nil {
			return err
		}
		p.counted(counts.Total)
		data["Flagged"], data["Counts"] = rows, counts
	}
	return s.render(c, http.StatusOK, "reviews", core.Text{ZH: "访问复核 · " + w.Name, EN: "Review · " + w.Name}, data)
}

// approvalSet is what a bulk approval covers: the interviews to review
// under the filters, up to the highest id shown when it was confirmed.
type approvalSet struct {
	Wave   string
	List   *listPage
	IDs    []int64
	Counts dialer.FlagCounts
	Digest string
	Err    *core.Text
}

// approvalSetOf lists every interview to review under the page's filters,
// up to upTo when given.
func (s *Server) approvalSetOf(c echo.Context, w *sampler.Wave, upTo int64) (*approvalSet, error) {
	ctx := c.Request().Context()
	spec, err := s.reviewSpec(ctx, w, false)
	if err != nil {
		return nil, err
	}
	p, err := parseList(c, spec)
	if err != nil {
		return nil, err
	}
	f := p.Filter
	f.Limit, f.Offset, f.UpTo = 0, 0, upTo
	rows, counts, err := s.reviewQueue(w).Page(ctx, s.db, f)
	if err != nil {
		return nil, err
	}
	set := &approvalSet{Wave: w.Name, List: p, Counts: counts}
	h := sha256.New()
	for _, r := range rows {
		set.IDs = append(set.IDs, r.ID)
		h.Write([]byte(strconv.FormatInt(r.ID, 10) + ","))
	}
	set.Digest = hex.EncodeToString(h.Sum(nil)[:16])
	return set, nil
}

// approveConfirm shows how many interviews a bulk approval of the review
// list's filtered set would approve, for the supervisor to confirm.
func (s *Server) approveConfirm(c echo.Context) error {
	w, err := sampler.GetWave(c.Request().Context(), s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	set, err := s.approvalSetOf(c, w, 0)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "approve_confirm", core.Text{ZH: "批量通过 · " + w.Name, EN: "Approve together · " + w.Name}, set)
}

// approveAll approves, in one transaction, exactly the set the supervisor
// confirmed: the interviews to review under the filters (in the URL) up
// to the highest id the confirmation showed, whose ids must still hash to
// what it showed. A set that changed in between is refused, and the
// confirmation shown again with the list as it is now.
func (s *Server) approveAll(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	upTo, err := strconv.ParseInt(c.FormValue("upto"), 10, 64)
	count, cerr := strconv.Atoi(c.FormValue("count"))
	if err != nil || cerr != nil || upTo <= 0 || count <= 0 {
		return core.Errorf(core.EInvalid, "确认表单不完整，请从复核列表重新进入批量通过", "the confirmation form is incomplete: start the approval again from the review list")
	}
	set, err := s.approvalSetOf(c, w, upTo)
	if err != nil {
		return err
	}
	if len(set.IDs) != count || set.Digest != c.FormValue("digest") {
		return s.staleApproval(c, w)
	}
	u := currentUser(c)
	err = survey.ApproveAll(ctx, s.db, w.ID, w.Name, set.IDs, survey.Editor{ID: u.ID, Username: u.Username},
		map[string]any{"filters": set.List.FilterQuery(), "up_to": upTo, "digest": set.Digest})
	if err == survey.ErrApprovalStale {
		return s.staleApproval(c, w)
	}
	if err != nil {
		return err
	}
	q := set.List.Query()
	q.Set("msg", "approved")
	return c.Redirect(http.StatusSeeOther, "/waves/"+url.PathEscape(w.Name)+"/reviews?"+q.Encode())
}

// staleApproval refuses a bulk approval whose set changed since it was
// confirmed, showing the confirmation again as the list is now.
func (s *Server) staleApproval(c echo.Context, w *sampler.Wave) error {
	fresh, err := s.approvalSetOf(c, w, 0)
	if err != nil {
		return err
	}
	fresh.Err = &core.Text{ZH: survey.ErrApprovalStale.ZH, EN: survey.ErrApprovalStale.EN}
	return s.render(c, http.StatusConflict, "approve_confirm", core.Text{ZH: "批量通过 · " + w.Name, EN: "Approve together · " + w.Name}, fresh)
}
