package export

import (
	"context"

	"github.com/jmoiron/sqlx"

	"minyi/csvfile"
	"minyi/survey"
)

// Header says how a file's columns are named: by their codes (snake_case
// and the question ids, what programs downstream read) or by Chinese
// labels (for people opening the file in a spreadsheet).
type Header string

const (
	// HeaderCodes names columns by their codes; the default of the
	// command line and of scheduled exports, so nothing downstream breaks.
	HeaderCodes Header = "codes"
	// HeaderLabels names columns in Chinese: 区县代码, 性别, and a
	// question by its indicator's short name, else its text.
	HeaderLabels Header = "labels"
)

// ParseHeader reads a header choice; empty is codes.
func ParseHeader(s string) (Header, bool) {
	switch Header(s) {
	case "", HeaderCodes:
		return HeaderCodes, true
	case HeaderLabels:
		return HeaderLabels, true
	}
	return "", false
}

// columnLabels are the Chinese labels of the export columns that are not
// questions. AAPOR's names (I, P, RR1, …) stay as they are: they are the
// standard's, in Chinese reports too.
var columnLabels = map[string]string{
	"interview_id": "访问编号", "interview_ref": "访问编号", "case_id": "样本编号", "case_ref": "样本编号",
	"district_code": "区县代码", "district_name": "区县", "mode": "访问方式", "weight": "权重",
	"sex": "性别", "age_group": "年龄组", "urban": "城乡", "psu": "初级抽样单元",
	"item": "指标", "item_zh": "指标（中文）", "item_en": "指标（英文）",
	"n": "样本量", "n_valid": "有效样本量", "score": "得分", "se": "标准误",
	"ci_low": "置信区间下限", "ci_high": "置信区间上限",
	"rank": "排名", "rank_low": "排名区间下限", "rank_high": "排名区间上限", "assessment_points": "考核分",
	"satisfaction_rate": "满意率", "dont_know_rate": "不知道率", survey.SuppressedColumn: "已隐去",
	"question_id": "题目编号", "section": "部分", "type": "题型", "text_zh": "题目（中文）", "text_en": "题目（英文）",
	"code": "代码", "label_zh": "标签（中文）", "label_en": "标签（英文）", "points": "分值",
	"interviewer": "访员", "interviewer_id": "访员编号", "started_at": "开始时间", "completed_at": "完成时间",
	"interview_seconds": "访问时长（秒）", "device": "设备", "question_seconds": "答题时长（秒）", "answer_changes": "改答次数",
	"attempts": "拨打次数", "final_code": "最终结果代码", "attempted_at": "拨打时间", "outcome": "拨打结果",
	"aapor_code": "AAPOR 代码", "final": "是否最终", "sip_code": "SIP 代码", "ring_seconds": "振铃时长（秒）",
	"talk_seconds": "通话时长（秒）", "hangup_by": "挂断方",
	"stratum": "层", "inclusion_prob": "入样概率", "replicate": "批次", "phone": "电话号码", "address": "地址",
	"variable": "变量", "variable_label": "变量标签", "value": "值", "value_label": "值标签",
	"composite": "综合得分",
}

// QuestionLabel is a question's column label in Chinese: its indicator's
// short name, or else its text.
func QuestionLabel(q survey.Question) string {
	if q.Indicator != nil && q.Indicator.ZH != "" {
		return q.Indicator.ZH
	}
	return q.Text.ZH
}

// labelsFor returns the column labels of a wave's files: the fixed ones
// and those of its questionnaire's questions.
func labelsFor(ctx context.Context, db *sqlx.DB, wave string) (map[string]string, error) {
	_, q, err := survey.WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(columnLabels)+len(q.Questions))
	for k, v := range columnLabels {
		m[k] = v
	}
	for _, qu := range q.Questions {
		m[qu.ID] = QuestionLabel(qu)
	}
	return m, nil
}

// rowWriter is the writer a kind of file writes to: the CSV writer, with
// the first record (the header) renamed when labels are asked for.
type rowWriter struct {
	*csvfile.Writer
	labels map[string]string // nil: codes
	wrote  bool
}

// Write writes a record, naming the header's columns by label if asked.
func (w *rowWriter) Write(rec []string) error {
	if !w.wrote {
		w.wrote = true
		if w.labels != nil {
			named := make([]string, len(rec))
			for i, c := range rec {
				if l, ok := w.labels[c]; ok {
					named[i] = l
				} else {
					named[i] = c
				}
			}
			rec = named
		}
	}
	return w.Writer.Write(rec)
}
