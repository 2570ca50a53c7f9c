package survey

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

// Paradata is how an interview was filled in: the device, the time spent on
// each question and every change of an answer given before. Start, end and
// interviewer are stored on the interview itself. The form's script gathers
// it and sends it with each draft write and with the saved interview; a
// browser without the script still leaves start, end and device.
type Paradata struct {
	Device     string           `json:"device"`
	UserAgent  string           `json:"user_agent,omitempty"`
	QuestionMS map[string]int64 `json:"question_ms"`
	Changes    []AnswerChange   `json:"changes"`
}

// AnswerChange is an answer replaced by another: the question, the answer
// before and after, and when (milliseconds since the interview started).
type AnswerChange struct {
	Question string `json:"q"`
	From     string `json:"from"`
	To       string `json:"to"`
	AtMS     int64  `json:"t"`
}

// Limits on what a page may send: enough for hours of interviewing, small
// enough that a hostile page cannot fill the database.
const (
	maxParadataChanges = 2000
	maxParadataText    = 200
	maxQuestionMS      = int64(24 * time.Hour / time.Millisecond)
)

// ParseParadata reads paradata sent by a page and keeps only what is
// plausible for the questionnaire: known questions, times within a day,
// answers no longer than the question allows. Bad input gives empty
// paradata, never an error: paradata must not stop an interview from
// being saved.
func ParseParadata(raw []byte, q *Questionnaire) *Paradata {
	p := &Paradata{QuestionMS: map[string]int64{}}
	if len(raw) == 0 || len(raw) > 1<<20 {
		return p
	}
	var in Paradata
	if err := json.Unmarshal(raw, &in); err != nil {
		return p
	}
	p.Device = clip(in.Device, maxParadataText)
	for id, ms := range in.QuestionMS {
		if qu := q.Question(id); qu != nil && ms > 0 {
			p.QuestionMS[id] = min(ms, maxQuestionMS)
		}
	}
	for _, c := range in.Changes {
		qu := q.Question(c.Question)
		if qu == nil || c.AtMS < 0 || len(p.Changes) >= maxParadataChanges {
			continue
		}
		n := 4 * qu.MaxLen()
		p.Changes = append(p.Changes, AnswerChange{Question: c.Question, From: clip(c.From, n), To: clip(c.To, n), AtMS: min(c.AtMS, maxQuestionMS)})
	}
	return p
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// JSON is the paradata as the draft stores it.
func (p *Paradata) JSON() string {
	if p == nil {
		return "{}"
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// DeviceClass says what kind of device a browser's User-Agent is: phone,
// tablet or computer.
func DeviceClass(userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.Contains(ua, "ipad") || strings.Contains(ua, "tablet") || (strings.Contains(ua, "android") && !strings.Contains(ua, "mobile")):
		return "tablet"
	case strings.Contains(ua, "mobi") || strings.Contains(ua, "iphone"):
		return "phone"
	}
	return "computer"
}

var (
	qInsertParadata = pg.Q("survey/insert-paradata")
	qGetParadata    = pg.Q("survey/get-paradata")
	qWaveParadata   = pg.Q("survey/wave-paradata")
)

// SaveParadata stores an interview's paradata in the caller's transaction.
func SaveParadata(ctx context.Context, tx *sqlx.Tx, interviewID int64, p *Paradata, userAgent string) error {
	if p == nil {
		p = &Paradata{}
	}
	device := DeviceClass(userAgent)
	if p.Device != "" {
		device += " " + p.Device
	}
	qms, _ := json.Marshal(orEmpty(p.QuestionMS))
	changes := p.Changes
	if changes == nil {
		changes = []AnswerChange{}
	}
	ch, _ := json.Marshal(changes)
	if _, err := tx.ExecContext(ctx, qInsertParadata, interviewID, clip(device, maxParadataText), clip(userAgent, 400), string(qms), string(ch)); err != nil {
		return fmt.Errorf("survey: save paradata: %w", err)
	}
	return nil
}

func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// GetParadata loads an interview's paradata; empty when none was stored
// (an imported interview).
func GetParadata(ctx context.Context, db sqlx.QueryerContext, interviewID int64) (*Paradata, error) {
	var row struct {
		Device    string `db:"device"`
		UserAgent string `db:"user_agent"`
		QMS       []byte `db:"question_ms"`
		Changes   []byte `db:"changes"`
	}
	p := &Paradata{QuestionMS: map[string]int64{}}
	if err := sqlx.GetContext(ctx, db, &row, qGetParadata, interviewID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, nil
		}
		return nil, fmt.Errorf("survey: paradata: %w", err)
	}
	p.Device, p.UserAgent = row.Device, row.UserAgent
	if err := json.Unmarshal(row.QMS, &p.QuestionMS); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(row.Changes, &p.Changes); err != nil {
		return nil, err
	}
	return p, nil
}

// ParadataHeader is the paradata CSV's header: one row per interview and
// question asked, apart from the answers. interview_ref is the interview's
// database id, which people with the database can link to answers and
// which says nothing about the respondent.
var ParadataHeader = []string{"interview_ref", "interviewer", "mode", "started_at", "completed_at", "interview_seconds", "device",
	"question_id", "question_seconds", "answer_changes"}

// WriteParadata writes a wave's paradata, streamed row by row.
func WriteParadata(ctx context.Context, db sqlx.QueryerContext, wave string, w interface{ Write([]string) error }) (int, error) {
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	rows, err := db.QueryxContext(ctx, qWaveParadata, waveID)
	if err != nil {
		return 0, fmt.Errorf("survey: paradata: %w", err)
	}
	defer rows.Close()
	if err := w.Write(ParadataHeader); err != nil {
		return 0, err
	}
	order := map[string]int{}
	for i, qu := range q.Questions {
		order[qu.ID] = i
	}
	n := 0
	for rows.Next() {
		var (
			id                  int64
			interviewer, mode   string
			device              string
			started             *time.Time
			completed           time.Time
			rawTimes, rawChange []byte
		)
		if err := rows.Scan(&id, &interviewer, &mode, &started, &completed, &device, &rawTimes, &rawChange); err != nil {
			return n, err
		}
		times := map[string]int64{}
		var changes []AnswerChange
		_ = json.Unmarshal(rawTimes, &times)
		_ = json.Unmarshal(rawChange, &changes)
		perQ := map[string]int{}
		for _, c := range changes {
			perQ[c.Question]++
		}
		ids := make([]string, 0, len(times))
		for k := range times {
			ids = append(ids, k)
		}
		for k := range perQ {
			if _, ok := times[k]; !ok {
				ids = append(ids, k)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return order[ids[i]] < order[ids[j]] })
		st, secs := "", ""
		if started != nil {
			st = started.UTC().Format(time.RFC3339)
			secs = strconv.FormatFloat(completed.Sub(*started).Seconds(), 'f', 0, 64)
		}
		base := []string{strconv.FormatInt(id, 10), interviewer, mode, st, completed.UTC().Format(time.RFC3339), secs, device}
		if len(ids) == 0 {
			if err := w.Write(append(base, "", "", "")); err != nil {
				return n, err
			}
			n++
			continue
		}
		for _, qid := range ids {
			rec := append(append([]string(nil), base...), qid, strconv.FormatFloat(float64(times[qid])/1000, 'f', 1, 64), strconv.Itoa(perQ[qid]))
			if err := w.Write(rec); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, rows.Err()
}
