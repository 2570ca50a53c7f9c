// Package door works a wave's door-to-door sample: its communities are
// assigned to field interviewers, and each household is visited up to the
// wave's K times, on different days and at different times of day, until a
// visit settles it or the interview is done at the door.
package door

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
	"minyi/dialer"
	"minyi/sql/pg"
	"minyi/survey"
)

var (
	qFieldCommunities    = pg.Q("door/communities")
	qFieldInterviewers   = pg.Q("door/interviewers")
	qFieldCheck          = pg.Q("door/check-interviewer")
	qFieldHouseholds     = pg.Q("door/households")
	qFieldHousehold      = pg.Q("door/household")
	qFieldVisits         = pg.Q("door/visits")
	qFieldStart          = pg.Q("door/start-interview")
	qFieldSetMaxVisits   = pg.Q("door/set-max-visits")
	qFieldMaxVisits      = pg.Q("door/max-visits")
	qFieldCloseExhausted = pg.Q("door/close-exhausted")
	qFieldUpsertAssign   = pg.Q("door/upsert-assignment")
	qFieldAssignCases    = pg.Q("door/assign-cases")
	qFieldLockCase       = pg.Q("door/lock-case")
	qFieldRecordVisit    = pg.Q("door/record-visit")
	fieldLeaseInterval   = fmt.Sprintf("%d seconds", int(Lease.Seconds()))
	errNotYourHousehold  = core.Errorf(core.ENotFound, "没有这一户，或它没有分配给您", "no such household, or it is not assigned to you")
)

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
		return nil, fmt.Errorf("door: communities: %w", err)
	}
	return out, nil
}

// Interviewer is an active user with the field interviewer role.
type Interviewer struct {
	ID          int64  `db:"id"`
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
}

// Interviewers lists the active field interviewers.
func Interviewers(ctx context.Context, db sqlx.QueryerContext) ([]Interviewer, error) {
	var out []Interviewer
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
// finished households stay with whoever finished them. Each household of
// theirs gets a paper form number for them (see paper.go). It returns the
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
			return 0, fmt.Errorf("door: assign: %w", err)
		}
		res, err := tx.ExecContext(ctx, qFieldAssignCases, waveID, k.District, k.Street, k.Community, a.InterviewerID)
		if err != nil {
			return 0, fmt.Errorf("door: assign cases: %w", err)
		}
		n, _ := res.RowsAffected()
		moved += int(n)
	}
	// The households get the numbers their paper forms are keyed under,
	// printed on the interviewer's visit sheet.
	issued, err := issueFormNumbers(ctx, tx, waveID, a.InterviewerID, a.ByID)
	if err != nil {
		return 0, err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: a.ByID, Actor: a.By, Action: "field-assign", Subject: a.WaveName,
		Details: map[string]any{"interviewer_id": a.InterviewerID, "communities": a.Communities, "moved": moved, "form_numbers_issued": issued}}); err != nil {
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
	// FormNumber is the number to write on a paper form for the household
	// (AssignedHousehold only).
	FormNumber string `db:"form_number"`
	// History is the visits so far, oldest first; Next the suggested
	// window for the next one (unfinished households only).
	History []dialer.Attempt
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
	case dialer.CodeComplete:
		return core.Text{ZH: "已完成访问", EN: "Interviewed"}
	case dialer.CodePartial:
		return core.Text{ZH: "部分完成", EN: "Partial interview"}
	case dialer.CodeBreakOff:
		return core.Text{ZH: "访问中断", EN: "Broke off"}
	case "2.11":
		return core.Text{ZH: "拒访", EN: "Refused"}
	case dialer.CodeNoOneHome, dialer.CodeNoOneHomeOccupied:
		return core.Text{ZH: "多次无人在家", EN: "Never found home"}
	case dialer.CodeVacant:
		return core.Text{ZH: "空置房", EN: "Vacant"}
	case dialer.CodeScreenOut:
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
		if a.Outcome == dialer.OutcomeNoOneHome {
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
		return nil, fmt.Errorf("door: households: %w", err)
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
		dialer.Attempt
	}
	if err := sqlx.SelectContext(ctx, db, &visits, qFieldVisits, userID, pq.Int64Array(ids)); err != nil {
		return nil, fmt.Errorf("door: visits: %w", err)
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
		return nil, fmt.Errorf("door: household: %w", err)
	}
	var err error
	if h.History, err = dialer.Attempts(ctx, db, caseID); err != nil {
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
	o, ok := dialer.FieldOutcomeByCode(code)
	if !ok {
		return VisitResult{}, core.Errorf(core.EInvalid, "请选择一个来访结果", "choose a visit outcome")
	}
	if o.Code == dialer.OutcomeNoOneHome && occupied {
		o.AAPOR = dialer.CodeNoOneHomeOccupied
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
		return VisitResult{}, fmt.Errorf("door: lock household: %w", err)
	}
	if lc.Status == "final" {
		return VisitResult{}, core.Errorf(core.EConflict, "这一户已经结束，不需要再访", "this household is finished and needs no more visits")
	}
	history, err := dialer.Attempts(ctx, tx, caseID)
	if err != nil {
		return VisitResult{}, err
	}
	if o.Code == dialer.OutcomeNoOneHome {
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
		final = exhaustedCode(append(history, dialer.Attempt{Outcome: o.Code, AAPOR: o.AAPOR}))
		res.Code = final
	}
	if _, err := tx.ExecContext(ctx, qFieldRecordVisit, caseID, userID, o.Code, o.AAPOR, res.Final, now, status, nullIfEmpty(final)); err != nil {
		return VisitResult{}, fmt.Errorf("door: record visit: %w", err)
	}
	return res, tx.Commit()
}

// sameTimeAgain refuses a no-one-home visit in the same part of the same
// day as an earlier one, suggesting when to come back instead.
func sameTimeAgain(history []dialer.Attempt, now time.Time) error {
	var times []time.Time
	for _, a := range history {
		if a.Outcome == dialer.OutcomeNoOneHome {
			times = append(times, a.CreatedAt)
		}
	}
	for _, t := range times {
		if dialer.DayOf(t).Equal(dialer.DayOf(now)) && dialer.DayPartOf(t) == dialer.DayPartOf(now) {
			part, next, at := dialer.DayPartOf(now).Name(), NextVisit(times, now).Label(), t.In(core.Shanghai).Format("15:04")
			return &core.Error{Code: core.EInvalid,
				ZH: fmt.Sprintf("今天%s已有一次无人在家的来访（%s）：同一时段再敲门不算新的一次来访。请换一天、换一个时段再来，建议 %s。", part.ZH, at, next.ZH),
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
func exhaustedCode(visits []dialer.Attempt) string {
	code := dialer.CodeNoOneHome
	for _, a := range visits {
		switch {
		case strings.HasPrefix(a.AAPOR, "2.1"):
			return a.AAPOR
		case a.AAPOR == dialer.CodeNoOneHomeOccupied:
			code = dialer.CodeNoOneHomeOccupied
		}
	}
	return code
}

// StartInterview lets the interviewer at the door of an assigned,
// unfinished household open its questionnaire: the household is held for
// Lease, as a telephone case is held for its call.
func StartInterview(ctx context.Context, db *sqlx.DB, caseID, userID int64) error {
	var id int64
	if err := db.GetContext(ctx, &id, qFieldStart, caseID, userID, fieldLeaseInterval); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有这一户，或它没有分配给您，或已经结束", "no such household, or it is not assigned to you, or it is finished")
		}
		return fmt.Errorf("door: start interview: %w", err)
	}
	return nil
}

// BreakOff records a break-off at the door as dialer.BreakOff does on the
// telephone; a break-off before the indicators leaves the household to be
// visited again, unless that was its K-th visit, which ends it as a
// break-off (2.12).
func BreakOff(ctx context.Context, db *sqlx.DB, caseID, userID int64, rule dialer.BreakOffRule, districts map[string]bool,
	questionnaire func(dialer.LockedCase) (*survey.Questionnaire, error), now time.Time) (dialer.BreakOffResult, error) {
	res, err := dialer.BreakOff(ctx, db, caseID, userID, rule, districts, questionnaire, now)
	if err != nil || res.Code != "" {
		return res, err
	}
	r, err := db.ExecContext(ctx, qFieldCloseExhausted, caseID, dialer.CodeBreakOff)
	if err != nil {
		return res, fmt.Errorf("door: close household: %w", err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		res.Code = dialer.CodeBreakOff
	}
	return res, nil
}

// Lease is how long a field interviewer holds a household once the
// questionnaire is opened at the door: a visit with an interview can take
// an hour or more, and no one else is waiting for a door-to-door case.
const Lease = 4 * time.Hour

// DefaultMaxVisits is K, the visits per household, unless the wave sets
// another.
const DefaultMaxVisits = 4

// visitsEnd is the hour after which no one is visited (Beijing time).
const visitsEnd = 21

// Window is a suggested time for a visit: a day (midnight, dialer.Shanghai) and a
// part of it.
type Window struct {
	Day  time.Time
	Part dialer.DayPart
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

// NextVisit suggests when to visit a household again after visits that
// found no one home (their times, oldest first): the day after the last
// one, at a part of the day not yet tried (the next one after the last
// visit's part, in the order morning, afternoon, evening), and never
// before now (after 21:00, before tomorrow morning). With no such visit
// yet it suggests now.
func NextVisit(noOneHome []time.Time, now time.Time) Window {
	if now.In(core.Shanghai).Hour() >= visitsEnd {
		// Too late to knock tonight: from tomorrow morning.
		now = dialer.DayOf(now).AddDate(0, 0, 1)
	}
	today := dialer.DayOf(now)
	if len(noOneHome) == 0 {
		return Window{Day: today, Part: dialer.DayPartOf(now)}
	}
	tried := map[dialer.DayPart]bool{}
	for _, t := range noOneHome {
		tried[dialer.DayPartOf(t)] = true
	}
	last := noOneHome[len(noOneHome)-1]
	lastPart := dialer.DayPartOf(last)
	part := (lastPart + 1) % 3
	for i := dialer.DayPart(1); i <= 3; i++ {
		if p := (lastPart + i) % 3; !tried[p] {
			part = p
			break
		}
	}
	day := dialer.DayOf(last).AddDate(0, 0, 1)
	if day.Before(today) || (day.Equal(today) && part < dialer.DayPartOf(now)) {
		day = today
		if part < dialer.DayPartOf(now) {
			day = today.AddDate(0, 0, 1)
		}
	}
	return Window{Day: day, Part: part}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
