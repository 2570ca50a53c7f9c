package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/door"
	"minyi/sampler"
	"minyi/survey"
	"minyi/users"
)

// Door-to-door fieldwork: supervisors assign communities to field
// interviewers; a field interviewer works a list of households on a phone,
// records each visit, and interviews at the door with the questionnaire
// form the telephone interviewers use.

func init() {
	notices["assigned"] = core.Text{ZH: "已分配。", EN: "Assigned."}
	notices["visitsset"] = core.Text{ZH: "每户最多来访次数已更新。", EN: "The visits per household are updated."}
	notices["visit"] = core.Text{ZH: "来访结果已记录。", EN: "The visit is recorded."}
	notices["fieldcallback"] = core.Text{ZH: "访问在满意度题目之前中断，这一户待再访。", EN: "Interview broken off before the satisfaction questions; the household is to be visited again."}
	notices["visitfinal"] = core.Text{ZH: "来访结果已记录，这一户已结束。", EN: "The visit is recorded; this household is finished."}
}

// workHome is where an interviewer goes back to after a case: the call
// page, or the field list.
func workHome(c echo.Context) string {
	u := currentUser(c)
	switch {
	case u != nil && u.Role == users.RoleField:
		return "/field"
	case u != nil && u.Role == users.RoleSupervisor:
		// A supervisor works only the call-backs they take.
		return "/callbacks"
	}
	return "/calls"
}

// CasePage is the page of the interview's case, where a break-off is
// recorded: the household's page for a door-to-door case.
func (d interviewData) CasePage() string {
	id := strconv.FormatInt(d.Case.ID, 10)
	if d.Case.Mode == "door" {
		return "/field/cases/" + id
	}
	return "/cases/" + id
}

type fieldAssignData struct {
	Wave *sampler.Wave
	// District filters the communities shown ("" for all); Districts are
	// those of the wave's door-to-door sample, for the filter.
	District     string
	Districts    []sampler.District
	Communities  []door.Community
	Interviewers []door.Interviewer
	MaxVisits    int
	Households   int
	Unassigned   int
	// Sheets are the field interviewers with communities in the wave, for
	// the links to their visit sheets.
	Sheets []door.Interviewer
}

// fieldAssignments lists a wave's door-to-door communities with their
// households and interviewers, for assigning them.
func (s *Server) fieldAssignments(c echo.Context) error {
	return s.showFieldAssignments(c, http.StatusOK, nil)
}

func (s *Server) showFieldAssignments(c echo.Context, status int, errMsg *core.Text) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	d := fieldAssignData{Wave: w, District: c.QueryParam("district")}
	if d.District == "" {
		d.District = c.FormValue("district")
	}
	all, err := door.Communities(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	// A city's sample has thousands of communities: supervisors assign them
	// a district at a time.
	for _, cm := range all {
		if n := len(d.Districts); n == 0 || d.Districts[n-1].Code != cm.District {
			d.Districts = append(d.Districts, sampler.District{Code: cm.District, Name: cm.DistrictName})
		}
		if d.District == "" || cm.District == d.District {
			d.Communities = append(d.Communities, cm)
		}
	}
	if d.Interviewers, err = door.Interviewers(ctx, s.db); err != nil {
		return err
	}
	if d.MaxVisits, err = door.MaxVisits(ctx, s.db, w.ID); err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, cm := range d.Communities {
		d.Households += cm.Households
		if cm.InterviewerID == nil {
			d.Unassigned += cm.Households
		} else if !seen[*cm.InterviewerID] {
			seen[*cm.InterviewerID] = true
			d.Sheets = append(d.Sheets, door.Interviewer{ID: *cm.InterviewerID, Username: cm.Interviewer})
		}
	}
	return s.renderView(c, status, "field_assign", &view{
		Title: core.Text{ZH: "入户分配 · " + w.Name, EN: "Door-to-door assignment · " + w.Name}, Err: errMsg, Data: d,
	})
}

// communityValue is a community as one form value: its district, street
// and community separated by tabs, which names in the frame do not hold.
func communityValue(k door.CommunityKey) string {
	return k.District + "\t" + k.Street + "\t" + k.Community
}

// assignField assigns the chosen communities to a field interviewer.
func (s *Server) assignField(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	var keys []door.CommunityKey
	for _, v := range form["community"] {
		p := strings.Split(v, "\t")
		if len(p) != 3 {
			return core.Errorf(core.EInvalid, "社区参数不正确", "the community is not valid")
		}
		keys = append(keys, door.CommunityKey{District: p[0], Street: p[1], Community: p[2]})
	}
	interviewer, _ := strconv.ParseInt(form.Get("interviewer"), 10, 64)
	u := currentUser(c)
	_, err = door.AssignCommunities(ctx, s.db, w.ID, door.Assignment{WaveName: w.Name, Communities: keys, InterviewerID: interviewer, ByID: u.ID, By: u.Username})
	var de *core.Error
	if errors.As(err, &de) && de.Code == core.EInvalid {
		return s.showFieldAssignments(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/waves/"+url.PathEscape(w.Name)+"/field?district="+url.QueryEscape(form.Get("district"))+"&msg=assigned")
}

// setMaxVisits sets K, the visits per household, of a wave.
func (s *Server) setMaxVisits(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	k, err := strconv.Atoi(strings.TrimSpace(c.FormValue("max_visits")))
	if err != nil {
		k = 0
	}
	err = door.SetMaxVisits(ctx, s.db, w.ID, k)
	var de *core.Error
	if errors.As(err, &de) && de.Code == core.EInvalid {
		return s.showFieldAssignments(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/waves/"+url.PathEscape(w.Name)+"/field?msg=visitsset")
}

// fieldGroup is one community of a field interviewer's list.
type fieldGroup struct {
	Key          door.CommunityKey
	DistrictName string
	WaveName     string
	Households   []door.Household
	Open         int
}

// fieldList is a field interviewer's home: their households, community by
// community, each with its address, status, visits and the suggested time
// of the next visit.
func (s *Server) fieldList(c echo.Context) error {
	hs, err := door.AssignedHouseholds(c.Request().Context(), s.db, currentUser(c).ID, s.opt.Now())
	if err != nil {
		return err
	}
	var gs []fieldGroup
	open := 0
	for _, h := range hs {
		if len(gs) == 0 || gs[len(gs)-1].Key != h.Key() || gs[len(gs)-1].WaveName != h.WaveName {
			gs = append(gs, fieldGroup{Key: h.Key(), DistrictName: h.DistrictName, WaveName: h.WaveName})
		}
		g := &gs[len(gs)-1]
		g.Households = append(g.Households, h)
		if !h.Done() {
			g.Open++
			open++
		}
	}
	return s.render(c, http.StatusOK, "field_list", core.Text{ZH: "入户访问", EN: "Door-to-door visits"}, map[string]any{"Groups": gs, "Open": open})
}

// assignedCase loads the household of the URL only for the field
// interviewer it is assigned to; anyone else gets 404.
func (s *Server) assignedCase(c echo.Context) (*door.Household, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	return door.AssignedHousehold(c.Request().Context(), s.db, id, currentUser(c).ID, s.opt.Now())
}

type fieldCaseData struct {
	H        *door.Household
	Outcomes []dialer.Outcome
	Draft    *dialer.Draft
	Rule     dialer.BreakOffRule
}

func (s *Server) fieldCase(c echo.Context) error {
	return s.showFieldCase(c, http.StatusOK, nil)
}

func (s *Server) showFieldCase(c echo.Context, status int, errMsg *core.Text) error {
	h, err := s.assignedCase(c)
	if err != nil {
		return err
	}
	draft, err := dialer.GetDraft(c.Request().Context(), s.db, h.CaseID)
	if err != nil && core.ErrorCode(err) != core.ENotFound {
		return err
	}
	return s.renderView(c, status, "field_case", &view{
		Title: core.Text{ZH: "入户 " + h.Address, EN: "Household " + h.Address}, Err: errMsg,
		Data: fieldCaseData{H: h, Outcomes: dialer.FieldOutcomes, Draft: draft, Rule: dialer.PartialRule},
	})
}

// recordVisit records a visit's outcome; a visit the rules refuse shows
// the household again with the reason and when to come back.
func (s *Server) recordVisit(c echo.Context) error {
	h, err := s.assignedCase(c)
	if err != nil {
		return err
	}
	res, err := door.RecordVisit(c.Request().Context(), s.db, h.CaseID, currentUser(c).ID, c.FormValue("outcome"), c.FormValue("occupied") != "", s.opt.Now())
	var de *core.Error
	if errors.As(err, &de) && (de.Code == core.EInvalid || de.Code == core.EConflict) {
		status := http.StatusUnprocessableEntity
		if de.Code == core.EConflict {
			status = http.StatusConflict
		}
		return s.showFieldCase(c, status, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	msg := "visit"
	if res.Final {
		msg = "visitfinal"
	}
	return c.Redirect(http.StatusSeeOther, "/field?msg="+msg+"#h"+strconv.FormatInt(h.CaseID, 10))
}

// startFieldInterview opens the questionnaire for a household at the door.
func (s *Server) startFieldInterview(c echo.Context) error {
	h, err := s.assignedCase(c)
	if err != nil {
		return err
	}
	if err := door.StartInterview(c.Request().Context(), s.db, h.CaseID, currentUser(c).ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(h.CaseID, 10)+"/interview")
}

// fieldBreakOff ends an interview at the door that the respondent broke
// off, by the same rule as on the telephone.
func (s *Server) fieldBreakOff(c echo.Context) error {
	ctx := c.Request().Context()
	h, err := s.assignedCase(c)
	if err != nil {
		return err
	}
	user := currentUser(c)
	// The break-off is recorded on a held case; the hold may have run out
	// since the questionnaire was opened.
	if err := door.StartInterview(ctx, s.db, h.CaseID, user.ID); err != nil {
		return err
	}
	districts, err := s.districtSet(ctx)
	if err != nil {
		return err
	}
	res, err := door.BreakOff(ctx, s.db, h.CaseID, user.ID, s.partialRule(), districts, func(lc dialer.LockedCase) (*survey.Questionnaire, error) {
		return s.questionnaireOf(ctx, &dialer.Case{QuestionnaireID: lc.QuestionnaireID})
	}, s.opt.Now())
	if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
		return s.showFieldCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	switch res.Code {
	case dialer.CodePartial:
		return c.Redirect(http.StatusSeeOther, "/field?msg=partial")
	case dialer.CodeBreakOff:
		return c.Redirect(http.StatusSeeOther, "/field?msg=breakoff")
	}
	return c.Redirect(http.StatusSeeOther, "/field?msg=fieldcallback")
}

// sheetCommunity is one community of a visit sheet.
type sheetCommunity struct {
	DistrictName, Street, Community, WaveName string
	Households                                []door.SheetHousehold
}

type visitSheet struct {
	Interviewer string
	Printed     time.Time
	Communities []sheetCommunity
	// Visits are the columns for writing each visit down, K of the wave.
	Visits []int
}

// fieldSheet is the signed-in field interviewer's visit sheet, to print
// and take into the field: each unfinished household with the number to
// write on its paper form.
func (s *Server) fieldSheet(c echo.Context) error {
	u := currentUser(c)
	return s.showSheet(c, u.ID, u.Username, 0)
}

// interviewerSheet is a field interviewer's visit sheet in a wave, for an
// admin to print for them (supervisors do not see addresses, §8).
func (s *Server) interviewerSheet(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("user"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	fis, err := door.Interviewers(ctx, s.db)
	if err != nil {
		return err
	}
	for _, fi := range fis {
		if fi.ID == id {
			return s.showSheet(c, id, fi.Username, w.ID)
		}
	}
	return echo.NewHTTPError(http.StatusNotFound)
}

func (s *Server) showSheet(c echo.Context, userID int64, name string, waveID int64) error {
	hs, err := door.VisitSheet(c.Request().Context(), s.db, userID, waveID)
	if err != nil {
		return err
	}
	d := visitSheet{Interviewer: name, Printed: s.opt.Now()}
	k := 0
	for _, h := range hs {
		n := len(d.Communities)
		if n == 0 || d.Communities[n-1].WaveName != h.WaveName || d.Communities[n-1].Community != h.Community ||
			d.Communities[n-1].Street != h.Street || d.Communities[n-1].DistrictName != h.DistrictName {
			d.Communities = append(d.Communities, sheetCommunity{DistrictName: h.DistrictName, Street: h.Street, Community: h.Community, WaveName: h.WaveName})
		}
		d.Communities[len(d.Communities)-1].Households = append(d.Communities[len(d.Communities)-1].Households, h)
		k = max(k, h.MaxVisits)
	}
	for i := 1; i <= k; i++ {
		d.Visits = append(d.Visits, i)
	}
	return s.render(c, http.StatusOK, "visit_sheet", core.Text{ZH: "走访单 · " + name, EN: "Visit sheet · " + name}, d)
}
