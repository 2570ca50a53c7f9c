package survey

import (
	"bytes"
	"testing"
)

// FuzzParseQuestionnaire feeds the definition parser arbitrary bytes: it
// must never panic, must either accept or list problems, and whatever it
// accepts must survive its own stored form and validate any answers
// without panicking.
func FuzzParseQuestionnaire(f *testing.F) {
	f.Add(Default().Canonical())
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"questions":[{"id":"a","show_if":{"not":{"all":[{"question":"a","in":[1,"x"]}]}}}]}`))
	f.Add([]byte(`{"name":"t","version":1,"title":{"zh":"t"},"introduction":{"zh":"i"},"closing":{"zh":"c"},"points":{"1":100,"2":0},"dont_know":[9],
"questions":[{"id":"district","section":"screener","type":"district","text":{"zh":"d"}},
{"id":"q01","section":"indicator","type":"single","text":{"zh":"q"},"indicator":{"zh":"i"},"options":[{"code":1,"label":{"zh":"a"}},{"code":2,"label":{"zh":"b"}},{"code":9,"label":{"zh":"r"}}]},
{"id":"m","section":"other","type":"multiple","text":{"zh":"m"},"min":1,"max":2,"exclusive":[3],"options":[{"code":1,"label":{"zh":"a"}},{"code":3,"label":{"zh":"b"}}],"show_if":{"question":"q01","in":[1]}},
{"id":"n","section":"other","type":"number","text":{"zh":"n"},"min":-1.5,"max":1e3,"decimals":2,"show_if":{"any":[{"question":"m","in":[3]},{"not":{"question":"district","in":["500101"]}}]}},
{"id":"d","section":"other","type":"date","text":{"zh":"d"},"min":"2000-01-01","show_if":{"question":"n","min":0}},
{"id":"t","section":"other","type":"text","text":{"zh":"t"},"max_length":3,"optional":true,"show_if":{"question":"d","max":"2030-01-01"}}]}`))
	f.Add([]byte("{\"name\": 1,\n\"version\": \"x\"}"))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseQuestionnaire(b)
		if err != nil {
			de, ok := AsDefinitionError(err)
			if !ok || len(de.Problems) == 0 {
				t.Fatalf("rejected without problems: %v", err)
			}
			return
		}
		stored := q.Canonical()
		q2, err := ParseQuestionnaire(stored)
		if err != nil {
			t.Fatalf("stored form rejected: %v\n%s", err, stored)
		}
		if !bytes.Equal(q2.Canonical(), stored) {
			t.Fatalf("stored form not stable")
		}
		a := Answers{}
		for i, qu := range q.Questions {
			vals := []string{"1", "1,3", "2.5", "2024-01-01", "abc", "500101", ""}
			a[qu.ID] = vals[i%len(vals)]
		}
		q.Validate(a, map[string]bool{"500101": true})
		for _, qu := range q.Questions {
			q.Shown(qu.ID, a)
			if qu.ShowIf != nil {
				qu.ShowIf.Describe()
			}
		}
	})
}
