package survey

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pgtest"
)

func TestUploadVersions(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	upload := func(q *Questionnaire) UploadResult {
		t.Helper()
		res, err := UploadQuestionnaire(ctx, db, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	d := Default()
	first := upload(d)
	if !first.Created || first.Questionnaire.Version != 2 || first.Questionnaire.ID == 0 {
		t.Fatalf("first upload: %+v", first)
	}
	// The same again, even with different formatting: a no-op.
	again, err := ParseQuestionnaire(d.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if res := upload(again); res.Created || res.Questionnaire.ID != first.Questionnaire.ID {
		t.Fatalf("identical re-upload: %+v", res)
	}
	// Without a version and unchanged: the newest version, nothing stored.
	nov := *d
	nov.Version = 0
	if res := upload(&nov); res.Created || res.Questionnaire.Version != 2 {
		t.Fatalf("unchanged upload without version: %+v", res)
	}
	// Changed content under the same version: refused.
	changed := *d
	changed.Points = map[string]float64{"1": 100, "2": 75, "3": 50, "4": 25, "5": 0}
	if _, err := UploadQuestionnaire(ctx, db, &changed, 0); core.ErrorCode(err) != core.EConflict || !strings.Contains(err.Error(), "new version") {
		t.Fatalf("changed version 2: %v", err)
	}
	// Changed without a version: the next number, with its own score map.
	changed.Version = 0
	res := upload(&changed)
	if !res.Created || res.Questionnaire.Version != 3 {
		t.Fatalf("new version: %+v", res)
	}
	v3, err := GetQuestionnaire(ctx, db, res.Questionnaire.ID)
	if err != nil || v3.Points["5"] != 0 || v3.Points["2"] != 75 {
		t.Fatalf("stored v3: %v %+v", err, v3)
	}
	v2, err := GetQuestionnaire(ctx, db, first.Questionnaire.ID)
	if err != nil || v2.Points["2"] != 80 {
		t.Fatalf("v2 changed: %v", err)
	}
	// A version with interviews says it is frozen.
	var wave int64
	if err := db.Get(&wave, `INSERT INTO waves (name, questionnaire_id) VALUES ('w', $1) RETURNING id`, first.Questionnaire.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO districts (code, name, population) VALUES ('500101', 'x', 1000)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, answers, source) VALUES ($1, $2, '500101', 'phone', '{}', 'import')`, wave, first.Questionnaire.ID); err != nil {
		t.Fatal(err)
	}
	changed.Version = 2
	if _, err := UploadQuestionnaire(ctx, db, &changed, 0); core.ErrorCode(err) != core.EConflict || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("frozen version: %v", err)
	}
	infos, err := ListQuestionnaires(ctx, db)
	if err != nil || len(infos) != 2 || infos[0].Version != 3 || infos[1].Interviews != 1 || !infos[1].Frozen() || infos[1].Waves != 1 {
		t.Fatalf("list: %v %+v", err, infos)
	}
	info, err := GetQuestionnaireInfo(ctx, db, first.Questionnaire.ID)
	if err != nil || info.Title().ZH == "" {
		t.Fatalf("info: %v %+v", err, info)
	}
	if _, err := GetQuestionnaireInfo(ctx, db, 999); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("missing: %v", err)
	}
	// The version the program ships and stores with SaveQuestionnaire is the
	// same row.
	id, err := SaveQuestionnaire(ctx, db, Default())
	if err != nil || id != first.Questionnaire.ID {
		t.Fatalf("SaveQuestionnaire: %d %v", id, err)
	}
}
