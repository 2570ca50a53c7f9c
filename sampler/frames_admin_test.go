package sampler

import (
	"encoding/json"
	"testing"

	"minyi/core"
	"minyi/csvfile"
)

// Reports stored before problems kept their Chinese and English apart
// still show as they did.
func TestFrameImportProblemsOldAndNew(t *testing.T) {
	now, err := json.Marshal([]csvfile.Problem{{Line: 5, Column: "phone", Message: core.Text{ZH: "电话号码为空", EN: "the phone number is empty"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{string(now), `[{"line":5,"reason":"电话号码为空 / the phone number is empty"}]`} {
		ps := (&FrameImport{RawProbs: json.RawMessage(raw)}).Problems()
		if len(ps) != 1 || ps[0].Line != 5 || ps[0].Reason() != "电话号码为空 / the phone number is empty" {
			t.Errorf("%s: %+v", raw, ps)
		}
	}
}
