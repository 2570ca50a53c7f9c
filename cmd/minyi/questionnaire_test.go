package main

import (
	"strings"
	"testing"

	"minyi/cmd/internal/cli"
	"minyi/survey"
)

func TestQuestionnaireCheck(t *testing.T) {
	good := writeFile(t, "default.json", string(survey.Default().Canonical()))
	out := mustRun(t, "", "questionnaire", "check", good)
	for _, want := range []string{"ok\n", "default", "questions: 19", "q01 q02", "1=100"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	bad := strings.Replace(string(survey.Default().Canonical()), `"type": "district"`, `"type": "map"`, 1)
	bad = strings.Replace(bad, `"code": 9,`, `"code": 8,`, 1)
	out, err := minyi(t, "", "questionnaire", "check", writeFile(t, "bad.json", bad))
	if err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("bad definition: err %v (exit %d), want exit 2", err, cli.ExitCode(err))
	}
	for _, want := range []string{`questions[2].type: 未知的题型 "map"`, "questions[3].options[6].code: 重复的代码 8", `needs a question with id "district"`} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if _, err := minyi(t, "", "questionnaire", "check"); err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("no file: %v", err)
	}
}
