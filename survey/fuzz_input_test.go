package survey

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseResponses feeds arbitrary files to the responses importer's
// parser: it must never panic, and either return rows that are all valid or
// an error, never both.
func FuzzParseResponses(f *testing.F) {
	items := []string{"q01", "q02"}
	f.Add([]byte("interview_id,district_code,mode,weight,sex,age_group,q01,q02\na,500101,phone,1,1,2,1,8\n"))
	f.Add([]byte("\ufeffinterview_id,district_code,mode,weight,sex,age_group,q01,q02,psu\n\"x\ny\",500101,door,,2,5,9,3,c1\n"))
	f.Add([]byte("interview_id,district_code\n,,,\n"))
	f.Add([]byte("\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseWhole(bytes.NewReader(data), items, map[string]bool{"500101": true})
		if err != nil && rows != nil {
			t.Fatal("rows returned with an error")
		}
		for _, r := range rows {
			if r.District != "500101" || (r.Mode != "phone" && r.Mode != "door") || len(r.Codes) != len(items) {
				t.Fatalf("invalid row accepted: %+v", r)
			}
		}
	})
}

// FuzzValidateAnswers submits arbitrary answers to the default
// questionnaire: validation must never panic, and what it accepts must be
// answers it offered.
func FuzzValidateAnswers(f *testing.F) {
	q := Default()
	districts := map[string]bool{"500101": true}
	f.Add("1", "1", "500101", "3", "8", "1", "2")
	f.Add("2", "", "", "", "", "", "")
	f.Add("1", "1", "999", "7", "x", "\x00", "１")
	f.Fuzz(func(t *testing.T, s1, s2, district, q01, q02, sex, age string) {
		a := Answers{"s1": s1, "s2": s2, "district": district, "q01": q01, "q02": q02, "sex": sex, "age_group": age}
		for _, id := range q.IndicatorIDs()[2:] {
			a[id] = "3"
		}
		a["urban"] = "1"
		v := q.Validate(a, districts)
		if v.Eligible && len(v.Errors) == 0 {
			for _, id := range []string{"q01", "q02"} {
				if c := strings.TrimSpace(a[id]); !map[string]bool{"1": true, "2": true, "3": true, "4": true, "5": true, "8": true, "9": true}[c] {
					t.Fatalf("accepted %s = %q", id, c)
				}
			}
			if a["district"] != "500101" {
				t.Fatalf("accepted district %q", a["district"])
			}
		}
	})
}
