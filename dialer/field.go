package dialer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
	"minyi/survey"
)

// Door-to-door fieldwork: a wave's door-to-door households are assigned to
// field interviewers community by community; each household is visited up
// to the wave's max_visits times, on different days and at different times
// of day, until a visit settles it.

var (
	qFieldCommunities    = pg.Q("field/communities")
	qFieldInterviewers   = pg.Q("field/interviewers")
	qFieldCheck          = pg.Q("field/check-interviewer")
	qFieldHouseholds     = pg.Q("field/households")
	qFieldHousehold      = pg.Q("field/household")
	qFieldVisits         = pg.Q("field/visits")
	qFieldStart          = pg.Q("field/start-interview")
	qFieldSetMaxVisits   = pg.Q("field/set-max-visits")
	qFieldMaxVisits      = pg.Q("field/max-visits")
	qFieldCloseExhausted = pg.Q("field/close-exhausted")
	qFieldUpsertAssign   = pg.Q("field/upsert-assignment")
	qFieldAssignCases    = pg.Q("field/assign-cases")
	qFieldLockCase       = pg.Q("field/lock-case")
	qFieldRecordVisit    = pg.Q("field/record-visit")
	fieldLeaseInterval   = fmt.Sprintf("%d seconds", int(FieldLease.Seconds()))
	errNotYourHousehold  = core.Errorf(core.ENotFound, "没有这一户,或它没有分配给您", "no such household, or it is not assigned to you")
)

// FieldLease is how long a field interviewer holds a household once the
// questionnaire is opened at the door: a visit with an interview can take
// an hour or more, and no one else is waiting for a door-to-door case.
const FieldLease = 4 * time.Hour

// Door-to-door dispositions (AAPOR, in-person household surveys).
const (
	// CodeNoOneHome: a listed housing unit where no one was ever found
	// home and nothing shows whether anyone lives there (3.21, housing
	// unit, no screener completed).
	CodeNoOneHome = "3.21"
	// CodeNoOneHomeOccupied: no one home, but the household is known to
	// live there (a neighbour confirms, signs of living): a non-contact.
	CodeNoOneHomeOccupied = "2.22"
	// CodeVacant: a vacant housing unit.
	CodeVacant = "4.61"
	// DefaultMaxVisits is K, the visits per household, unless the wave
	// sets another.
	DefaultMaxVisits = 4
	outcomeNoOneHome = "no_one_home"
)

// FieldOutcomes are what a field interviewer records after a visit, in the
// order shown. "interview" is not among them: it opens the questionnaire,
// and the household is completed when the interview is saved.
var FieldOutcomes = []Outcome{
	{Code: outcomeNoOneHome, Label: core.Text{ZH: "无人在家", EN: "No one home"}, AAPOR: CodeNoOneHome},
	{Code: "refusal", Label: core.Text{ZH: "拒访", EN: "Refused"}, AAPOR: "2.11", Final: true},
	{Code: "vacant", Label: core.Text{ZH: "空置房(无人居住)", EN: "Vacant (no one lives here)"}, AAPOR: CodeVacant, Final: true},
	{Code: "not_eligible", Label: core.Text{ZH: "不符合条件(无合格受访者)", EN: "Not eligible (no eligible resident)"}, AAPOR: "4.70", Final: true},
}

// FieldOutcomeByCode finds a visit outcome, ok=false for an unknown code.
func FieldOutcomeByCode(code string) (Outcome, bool) {
	for _, o := range FieldOutcomes {
		if o.Code == code {
			return o, true
		}
	}
	return Outcome{}, false
}

// VisitLabel names a recorded visit's outcome for people; an unknown one
// is shown as recorded.
func VisitLabel(outcome string) core.Text {
	if o, ok := FieldOutcomeByCode(outcome); ok {
		return o.Label
	}
	switch outcome {
	case outcomeComplete:
		return core.Text{ZH: "完成访问", EN: "Interviewed"}
	case outcomeScreened:
		return core.Text{ZH: "甄别不符合条件", EN: "Screened out"}
	case outcomeBreakOffPartial:
		return core.Text{ZH: "中断(部分完成)", EN: "Broke off (partial)"}
	case outcomeBreakOff:
		return core.Text{ZH: "中断", EN: "Broke off"}
	case outcomeBreakOffCallback:
		return core.Text{ZH: "中断,待再访", EN: "Broke off, visit again"}
	}
	return core.Text{ZH: outcome, EN: outcome}
}

// Label names the attempt's outcome for people.
func (a Attempt) Label() core.Text { return VisitLabel(a.Outcome) }

// DayPart is a part of the day for visits: people at home in the morning
// are often not those at home in the evening, so the visits to a household
// are spread over them.
type DayPart int

const (
	Morning   DayPart = iota // before 12:00
	Afternoon                // 12:00–18:00
	Evening                  // from 18:00
)

var dayParts = [...]struct {
	label core.Text
	hours string
}{
	{core.Text{ZH: "上午", EN: "morning"}, "9:00–12:00"},
	{core.Text{ZH: "下午", EN: "afternoon"}, "12:00–18:00"},
	{core.Text{ZH: "晚上", EN: "evening"}, "18:00–21:00"},
}

// visitsEnd is the hour after which no one is visited (Shanghai time).
const visitsEnd = 21

// DayPartOf is the day part of t in Shanghai time.
func DayPartOf(t time.Time) DayPart {
	switch h := t.In(core.Shanghai).Hour(); {
	case h < 12:
		return Morning
	case h < 18:
		return Afternoon
	}
	return Evening
}

// Label names the day part with its hours.
func (p DayPart) Label() core.Text {
	d := dayParts[p]
	return core.Text{ZH: d.label.ZH + " " + d.hours, EN: d.label.EN + " " + d.hours}
}

// Window is a suggested time for a visit: a day (midnight, Shanghai) and a
// part of it.
type Window struct {
	Day  time.Time
	Part DayPart
}

var weekdays = [...]string{"日", "一", "二", "三", "四", "五", "六"}

// Label is the window for people, e.g. "11月28日 周六 晚上 18:00–21:00".
func (w Window) Label() core.Text {
	p := w.Part.Label()
	return core.Text{
		ZH: fmt.Sprintf("%d月%d日 周%s %s", int(w.Day.Month()), w.Day.Day(), weekdays[w.Day.Weekday()], p.ZH),
		EN: w.Day.Format("Mon 2 Jan") + ", " + p.EN,
	}
}

func dayOf(t time.Time) time.Time {
	t = t.In(core.Shanghai)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, core.Shanghai)
}

// NextVisit suggests when to visit a household again after visits that
// found no one home (their times, oldest first): the day after the last
// one, at a part of the day not yet tried (the next one after the last
// visit's part, in the order morning, afternoon, evening), and never
// before now (after 21:00, before tomorrow morning). With no such visit
// yet it suggests now.
func NextVisit(noOneHome []time.Time, now time.Time) Window {
	if now.In(core.Shanghai).Hour() >= visitsEnd {
		// Too late to knock tonight: from tomorrow morning.
		now = dayOf(now).AddDate(0, 0, 1)
	}
	today := dayOf(now)
	if len(noOneHome) == 0 {
		return Window{Day: today, Part: DayPartOf(now)}
	}
	tried := map[DayPart]bool{}
	for _, t := range noOneHome {
		tried[DayPartOf(t)] = true
	}
	last := noOneHome[len(noOneHome)-1]
	lastPart := DayPartOf(last)
	part := (lastPart + 1) % 3
	for i := DayPart(1); i <= 3; i++ {
		if p := (lastPart + i) % 3; !tried[p] {
			part = p
			break
		}
	}
	day := dayOf(last).AddDate(0, 0, 1)
	if day.Before(today) || (day.Equal(today) && part < DayPartOf(now)) {
		day = today
		if part < DayPartOf(now) {
			day = today.AddDate(0, 0, 1)
		}
	}
	return Window{Day: day, Part: part}
}

// CommunityKey names a community of the household frame.
type CommunityKey struct {
	District  string `db:"district_code"`
	Street    string `db:"street"`
	Community string `db:"community"`
}

// Community is one community of a wave's door-to-door sample.
type Community struct {
	CommunityKey
	DistrictName  string `db:"district_name"`
	Households    int    `db:"households"`
	Final         int    `db:"final"`
	Completes     int    `db:"completes"`
	InterviewerID *int64 `db:"interviewer_id"`
	Interviewer   string `db:"interviewer"`
}

// Communities lists a wave's door-to-door communities and who works them.
func Communities(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]Community, error) {
	var out []Community
	if err := sqlx.SelectContext(ctx, db, &out, qFieldCommunities, waveID); err != nil {
		return nil, fmt.Errorf("dialer: communities: %w", err)
	}
	return out, nil
}

// FieldInterviewer is an active user with the field interviewer role.
type FieldInterviewer struct {
	ID          int64  `db:"id"`
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
}

// FieldInterviewers lists the active field interviewers.
func FieldInterviewers(ctx context.Context, db sqlx.QueryerContext) ([]FieldInterviewer, error) {
	var out []FieldInterviewer
	err := sqlx.SelectContext(ctx, db, &out, qFieldInterviewers)
	return out, err
}

// Assignment is a supervisor's assignment of communities to a field
// interviewer.
type Assignment struct {
	WaveID, WaveName string
	Communities      []CommunityKey
	InterviewerID    int64
	ByID             int64  // the supervisor
	By               string // their username, for the audit log
}

// AssignCommunities gives communities of a wave's door-to-door sample to a
// field interviewer and moves their unfinished households to them;
// finished households stay with whoever finished them. It returns the
// number of households moved. The assignment is audited in the same
// transaction.
func AssignCommunities(ctx context.Context, db *sqlx.DB, waveID int64, a Assignment) (int, error) {
	if len(a.Communities) == 0 {
		return 0, core.Errorf(core.EInvalid, "请至少选择一个社区", "choose at least one community")
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.GetContext(ctx, &id, qFieldCheck, a.InterviewerID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, core.Errorf(core.EInvalid, "请选择一位在职的入户访员", "choose an active field interviewer")
		}
		return 0, err
	}
	moved := 0
	for _, k := range a.Communities {
		if err := tx.GetContext(ctx, &id, qFieldUpsertAssign, waveID, k.District, k.Street, k.Community, a.InterviewerID, a.ByID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, core.Errorf(core.EInvalid, "本轮入户样本中没有社区 %s", "the wave's door-to-door sample has no community %s", k.District+"/"+k.Street+"/"+k.Community)
			}
			return 0, fmt.Errorf("dialer: assign: %w", err)
		}
		res, err := tx.ExecContext(ctx, qFieldAssignCases, waveID, k.District, k.Street, k.Community, a.InterviewerID)
		if err != nil {
			return 0, fmt.Errorf("dialer: assign cases: %w", err)
		}
		n, _ := res.RowsAffected()
		moved += int(n)
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: a.ByID, Actor: a.By, Action: "field-assign", Subject: a.WaveName,
		Details: map[string]any{"interviewer_id": a.InterviewerID, "communities": a.Communities, "moved": moved}}); err != nil {
		return 0, err
	}
	return moved, tx.Commit()
}

// SetMaxVisits sets K, the visits per household, of a wave.
func SetMaxVisits(ctx context.Context, db *sqlx.DB, waveID int64, k int) error {
	if k < 1 || k > 12 {
		return core.Errorf(core.EInvalid, "每户最多来访次数须在 1 到 12 之间", "the visits per household must be between 1 and 12")
	}
	_, err := db.ExecContext(ctx, qFieldSetMaxVisits, waveID, k)
	return err
}

// MaxVisits is K, the visits per household, of a wave.
func MaxVisits(ctx context.Context, db sqlx.QueryerContext, waveID int64) (int, error) {
	var k int
	err := sqlx.GetContext(ctx, db, &k, qFieldMaxVisits, waveID)
	return k, err
}

// Household is a door-to-door case as its field interviewer sees it.
type Household struct {
	CaseID       int64  `db:"case_id"`
	WaveID       int64  `db:"wave_id"`
	WaveName     string `db:"wave_name"`
	MaxVisits    int    `db:"max_visits"`
	District     string `db:"district_code"`
	DistrictName string `db:"district_name"`
	Street       string `db:"street"`
	Community    string `db:"community"`
	HouseholdID  string `db:"household_id"`
	Address      string `db:"address"`
	Status       string `db:"status"`
	FinalCode    string `db:"final_code"`
	Visits       int    `db:"attempts"`
	InInterview  bool   `db:"in_interview"`
	// History is the visits so far, oldest first; Next the suggested
	// window for the next one (unfinished households only).
	History []Attempt
	Next    Window
}

// Done reports whether the household needs no more visits.
func (h *Household) Done() bool { return h.Status == "final" }

// StatusLabel says where the household stands, for its interviewer.
func (h *Household) StatusLabel() core.Text {
	switch {
	case h.Status == "fresh":
		return core.Text{ZH: "未访", EN: "Not visited yet"}
	case !h.Done():
		return core.Text{ZH: "待再访", EN: "To visit again"}
	}
	switch h.FinalCode {
	case CodeComplete:
		return core.Text{ZH: "已完成访问", EN: "Interviewed"}
	case CodePartial:
		return core.Text{ZH: "部分完成", EN: "Partial interview"}
	case CodeBreakOff:
		return core.Text{ZH: "访问中断", EN: "Broke off"}
	case "2.11":
		return core.Text{ZH: "拒访", EN: "Refused"}
	case CodeNoOneHome, CodeNoOneHomeOccupied:
		return core.Text{ZH: "多次无人在家", EN: "Never found home"}
	case CodeVacant:
		return core.Text{ZH: "空置房", EN: "Vacant"}
	case CodeScreenOut:
		return core.Text{ZH: "不符合条件", EN: "Not eligible"}
	}
	return core.Text{ZH: "已结束 " + h.FinalCode, EN: "Finished " + h.FinalCode}
}

// Key is the household's community.
func (h *Household) Key() CommunityKey {
	return CommunityKey{District: h.District, Street: h.Street, Community: h.Community}
}

func (h *Household) suggest(now time.Time) {
	var times []time.Time
	for _, a := range h.History {
		if a.Outcome == outcomeNoOneHome {
			times = append(times, a.CreatedAt)
		}
	}
	h.Next = NextVisit(times, now)
}

// AssignedHouseholds lists a field interviewer's households in the waves
// where some are still to be worked, community by community in listing
// order, each with its visits and the suggested window for the next.
func AssignedHouseholds(ctx context.Context, db sqlx.QueryerContext, userID int64, now time.Time) ([]Household, error) {
	var hs []Household
	if err := sqlx.SelectContext(ctx, db, &hs, qFieldHouseholds, userID); err != nil {
		return nil, fmt.Errorf("dialer: households: %w", err)
	}
	if len(hs) == 0 {
		return nil, nil
	}
	waves := map[int64]bool{}
	var ids []int64
	byCase := map[int64]*Household{}
	for i := range hs {
		byCase[hs[i].CaseID] = &hs[i]
		if !waves[hs[i].WaveID] {
			waves[hs[i].WaveID] = true
			ids = append(ids, hs[i].WaveID)
		}
	}
	var visits []struct {
		CaseID int64 `db:"case_id"`
		Attempt
	}
	if err := sqlx.SelectContext(ctx, db, &visits, qFieldVisits, userID, pq.Int64Array(ids)); err != nil {
		return nil, fmt.Errorf("dialer: visits: %w", err)
	}
	for _, v := range visits {
		if h := byCase[v.CaseID]; h != nil {
			h.History = append(h.History, v.Attempt)
		}
	}
	for i := range hs {
		hs[i].suggest(now)
	}
	return hs, nil
}

// AssignedHousehold loads one household for its field interviewer; for
// anyone else it does not exist, so that case ids cannot be probed.
func AssignedHousehold(ctx context.Context, db sqlx.QueryerContext, caseID, userID int64, now time.Time) (*Household, error) {
	var h Household
	if err := sqlx.GetContext(ctx, db, &h, qFieldHousehold, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotYourHousehold
		}
		return nil, fmt.Errorf("dialer: household: %w", err)
	}
	var err error
	if h.History, err = Attempts(ctx, db, caseID); err != nil {
		return nil, err
	}
	h.suggest(now)
	return &h, nil
}

// VisitResult is what a recorded visit did to the household.
type VisitResult struct {
	Final bool
	Code  string // the visit's disposition, or the household's final one
}

// RecordVisit records a visit's outcome on a household assigned to the
// interviewer, at now. A visit that finds no one home in the same part of
// the same day as an earlier such visit is refused: knocking again an hour
// later is not a new visit, and K visits must try different times to reach
// people who are out at some. occupied says the household is known to live
// there (a neighbour confirms, signs of living), which makes a household
// never found home a non-contact (2.22) rather than one of unknown
// eligibility (3.21). After the wave's K-th visit without an interview the
// household ends with its final disposition.
func RecordVisit(ctx context.Context, db *sqlx.DB, caseID, userID int64, code string, occupied bool, now time.Time) (VisitResult, error) {
	o, ok := FieldOutcomeByCode(code)
	if !ok {
		return VisitResult{}, core.Errorf(core.EInvalid, "请选择一个来访结果", "choose a visit outcome")
	}
	if o.Code == outcomeNoOneHome && occupied {
		o.AAPOR = CodeNoOneHomeOccupied
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return VisitResult{}, err
	}
	defer tx.Rollback()
	var lc struct {
		ID        int64  `db:"id"`
		Status    string `db:"status"`
		Attempts  int    `db:"attempts"`
		MaxVisits int    `db:"max_visits"`
	}
	if err := tx.GetContext(ctx, &lc, qFieldLockCase, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return VisitResult{}, errNotYourHousehold
		}
		return VisitResult{}, fmt.Errorf("dialer: lock household: %w", err)
	}
	if lc.Status == "final" {
		return VisitResult{}, core.Errorf(core.EConflict, "这一户已经结束,不需要再访", "this household is finished and needs no more visits")
	}
	history, err := Attempts(ctx, tx, caseID)
	if err != nil {
		return VisitResult{}, err
	}
	if o.Code == outcomeNoOneHome {
		if err := sameTimeAgain(history, now); err != nil {
			return VisitResult{}, err
		}
	}
	res := VisitResult{Code: o.AAPOR}
	status, final := "pending", ""
	max := lc.MaxVisits
	if max <= 0 {
		max = DefaultMaxVisits
	}
	switch {
	case o.Final:
		status, final, res.Final = "final", o.AAPOR, true
	case lc.Attempts+1 >= max:
		status, res.Final = "final", true
		final = exhaustedCode(append(history, Attempt{Outcome: o.Code, AAPOR: o.AAPOR}))
		res.Code = final
	}
	if _, err := tx.ExecContext(ctx, qFieldRecordVisit, caseID, userID, o.Code, o.AAPOR, res.Final, now, status, nullStr(final)); err != nil {
		return VisitResult{}, fmt.Errorf("dialer: record visit: %w", err)
	}
	return res, tx.Commit()
}

// sameTimeAgain refuses a no-one-home visit in the same part of the same
// day as an earlier one, suggesting when to come back instead.
func sameTimeAgain(history []Attempt, now time.Time) error {
	var times []time.Time
	for _, a := range history {
		if a.Outcome == outcomeNoOneHome {
			times = append(times, a.CreatedAt)
		}
	}
	for _, t := range times {
		if dayOf(t).Equal(dayOf(now)) && DayPartOf(t) == DayPartOf(now) {
			part, next, at := dayParts[DayPartOf(now)].label, NextVisit(times, now).Label(), t.In(core.Shanghai).Format("15:04")
			return &core.Error{Code: core.EInvalid,
				ZH: fmt.Sprintf("今天%s已有一次无人在家的来访(%s):同一时段再敲门不算新的一次来访。请换一天、换一个时段再来,建议 %s。", part.ZH, at, next.ZH),
				EN: fmt.Sprintf("No one was home at an earlier visit this %s (%s): knocking again in the same part of the same day is not a new visit. Come back on another day at another time; suggested: %s.", part.EN, at, next.EN)}
		}
	}
	return nil
}

// exhaustedCode is the final disposition of a household whose visits ran
// out without an interview: what the visits learned of it, the most
// informative first. A respondent who was reached and broke off or put the
// interviewer off (2.1x) is a refusal; a household known to live there but
// never found home is a non-contact (2.22); one never found home with
// nothing to show anyone lives there is of unknown eligibility (3.21).
func exhaustedCode(visits []Attempt) string {
	code := CodeNoOneHome
	for _, a := range visits {
		switch {
		case strings.HasPrefix(a.AAPOR, "2.1"):
			return a.AAPOR
		case a.AAPOR == CodeNoOneHomeOccupied:
			code = CodeNoOneHomeOccupied
		}
	}
	return code
}

// StartFieldInterview lets the interviewer at the door of an assigned,
// unfinished household open its questionnaire: the household is held for
// FieldLease, as a telephone case is held for its call.
func StartFieldInterview(ctx context.Context, db *sqlx.DB, caseID, userID int64) error {
	var id int64
	if err := db.GetContext(ctx, &id, qFieldStart, caseID, userID, fieldLeaseInterval); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有这一户,或它没有分配给您,或已经结束", "no such household, or it is not assigned to you, or it is finished")
		}
		return fmt.Errorf("dialer: start interview: %w", err)
	}
	return nil
}

// FieldBreakOff records a break-off at the door as BreakOff does on the
// telephone; a break-off before the indicators leaves the household to be
// visited again, unless that was its K-th visit, which ends it as a
// break-off (2.12).
func FieldBreakOff(ctx context.Context, db *sqlx.DB, caseID, userID int64, rule BreakOffRule, districts map[string]bool,
	questionnaire func(LockedCase) (*survey.Questionnaire, error), now time.Time) (BreakOffResult, error) {
	res, err := BreakOff(ctx, db, caseID, userID, rule, districts, questionnaire, now)
	if err != nil || res.Code != "" {
		return res, err
	}
	r, err := db.ExecContext(ctx, qFieldCloseExhausted, caseID, CodeBreakOff)
	if err != nil {
		return res, fmt.Errorf("dialer: close household: %w", err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		res.Code = CodeBreakOff
	}
	return res, nil
}

// InterviewSource is how an interview on the case was collected: by
// telephone (cati) or face to face at the door (capi).
func (lc LockedCase) InterviewSource() string {
	if lc.Mode == "door" {
		return "capi"
	}
	return "cati"
}
