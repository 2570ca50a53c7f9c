package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/survey"
)

// maxDefinitionUpload bounds an uploaded definition: real ones are a few
// tens of kilobytes, and the whole file is parsed in memory.
const maxDefinitionUpload = 4 << 20

type questionnairesData struct {
	Versions []survey.QuestionnaireInfo
	Problems []survey.DefinitionProblem // of a rejected upload
	FileName string
}

func (s *Server) questionnaireList(c echo.Context) error {
	return s.showQuestionnaires(c, http.StatusOK, nil, questionnairesData{})
}

func (s *Server) showQuestionnaires(c echo.Context, status int, errMsg *core.Text, d questionnairesData) error {
	vs, err := survey.ListQuestionnaires(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	d.Versions = vs
	return s.renderView(c, status, "questionnaires", &view{Title: core.Text{ZH: "问卷", EN: "Questionnaires"}, Err: errMsg, Data: d})
}

// uploadQuestionnaire checks and stores an uploaded definition. Nothing is
// stored unless the whole definition is valid; a bad one comes back with
// every problem listed.
func (s *Server) uploadQuestionnaire(c echo.Context) error {
	f, name, err := uploaded(c)
	if err != nil {
		msg := core.Text{ZH: "请选择要上传的问卷定义文件（JSON）", EN: "choose a questionnaire definition file (JSON) to upload"}
		return s.showQuestionnaires(c, http.StatusUnprocessableEntity, &msg, questionnairesData{})
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDefinitionUpload+1))
	if err != nil {
		return err
	}
	d := questionnairesData{FileName: name}
	if len(b) > maxDefinitionUpload {
		msg := core.Text{ZH: fmt.Sprintf("文件超过 %d MB", maxDefinitionUpload>>20), EN: fmt.Sprintf("the file is larger than %d MB", maxDefinitionUpload>>20)}
		return s.showQuestionnaires(c, http.StatusUnprocessableEntity, &msg, d)
	}
	q, err := survey.ParseQuestionnaire(b)
	if de, ok := survey.AsDefinitionError(err); ok {
		d.Problems = de.Problems
		n := strconv.Itoa(len(de.Problems))
		msg := core.Text{ZH: "问卷定义有 " + n + " 处错误，未保存任何内容；请改正下列各处后重新上传。",
			EN: "The definition has " + n + " problems and nothing was stored; fix each one listed below and upload it again."}
		return s.showQuestionnaires(c, http.StatusUnprocessableEntity, &msg, d)
	}
	if err != nil {
		return err
	}
	res, err := survey.UploadQuestionnaire(c.Request().Context(), s.db, q, currentUser(c).ID)
	var de *core.Error
	if errors.As(err, &de) && de.Code == core.EConflict {
		return s.showQuestionnaires(c, http.StatusConflict, &core.Text{ZH: de.ZH, EN: de.EN}, d)
	}
	if err != nil {
		return err
	}
	outcome := "stored"
	if !res.Created {
		outcome = "unchanged"
	}
	return c.Redirect(http.StatusSeeOther, "/questionnaires/"+strconv.FormatInt(res.Questionnaire.ID, 10)+"?upload="+outcome)
}

// storedQuestionnaire loads the version of the URL; versions never change,
// so the parsed one is shared with the interview pages' cache.
func (s *Server) storedQuestionnaire(c echo.Context) (*survey.Questionnaire, survey.QuestionnaireInfo, error) {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, survey.QuestionnaireInfo{}, echo.NewHTTPError(http.StatusNotFound)
	}
	info, err := survey.GetQuestionnaireInfo(ctx, s.db, id)
	if err != nil {
		return nil, info, err
	}
	if q, ok := s.questionnaires.Load(id); ok {
		return q.(*survey.Questionnaire), info, nil
	}
	q, err := survey.GetQuestionnaire(ctx, s.db, id)
	if err != nil {
		return nil, info, err
	}
	s.questionnaires.Store(id, q)
	return q, info, nil
}

type questionnaireData struct {
	Q    *survey.Questionnaire
	Info survey.QuestionnaireInfo
}

// questionnairePreview shows a version read-only, every text in both
// languages, so that wording and translation are checked before fieldwork.
func (s *Server) questionnairePreview(c echo.Context) error {
	q, info, err := s.storedQuestionnaire(c)
	if err != nil {
		return err
	}
	v := &view{Title: core.Text{ZH: fmt.Sprintf("问卷预览：%s 第 %d 版", q.Name, q.Version), EN: fmt.Sprintf("Questionnaire preview: %s version %d", q.Name, q.Version)}, Data: questionnaireData{Q: q, Info: info}}
	switch c.QueryParam("upload") {
	case "stored":
		v.Msg = &core.Text{ZH: fmt.Sprintf("已保存为 %s 第 %d 版。", q.Name, q.Version), EN: fmt.Sprintf("Stored as %s version %d.", q.Name, q.Version)}
	case "unchanged":
		v.Msg = &core.Text{ZH: fmt.Sprintf("与已有的 %s 第 %d 版相同，未保存新版本。", q.Name, q.Version), EN: fmt.Sprintf("Identical to the stored %s version %d; no new version was stored.", q.Name, q.Version)}
	}
	return s.renderView(c, http.StatusOK, "questionnaire", v)
}

// questionnaireDefinition downloads a version in the stored form, ready to
// edit and upload as the next version.
func (s *Server) questionnaireDefinition(c echo.Context) error {
	q, _, err := s.storedQuestionnaire(c)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-v%d.json", q.Name, q.Version) // names are checked to be plain ASCII
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json; charset=utf-8", q.Canonical())
}
