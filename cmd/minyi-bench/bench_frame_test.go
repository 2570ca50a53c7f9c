package main

import (
	"bytes"
	"os"
	"testing"

	"minyi/cmd/minyi/data"
	"minyi/sampler"
)

func TestSelectBenches(t *testing.T) {
	all, err := selectBenches("")
	if err != nil || len(all) != len(benchNames) {
		t.Fatalf("empty --only: %v, %v", all, err)
	}
	sel, err := selectBenches("frame-import-phone, sample-draw-memory")
	if err != nil {
		t.Fatal(err)
	}
	if !sel[benchImportName] || !sel[benchDrawName] || sel[benchSubmitName] {
		t.Errorf("selected %v", sel)
	}
	if _, err := selectBenches("frame-import"); err == nil {
		t.Error("an unknown name was accepted")
	}
}

// The generated frame must import whole: every number valid, none repeated,
// one per resident at the scale.
func TestBenchFrameFile(t *testing.T) {
	ds, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		t.Fatal(err)
	}
	name, n, err := benchFrameFile(ds, 0.001)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(name)
	var want int64
	for _, d := range ds {
		want += int64(float64(d.Population)*0.001 + 0.5)
	}
	if n != want {
		t.Errorf("%d rows, want %d", n, want)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	rep, err := sampler.ParsePhoneFrame(f, sampler.ParseOptions{}, func(r sampler.PhoneRow) error {
		if seen[r.Phone] {
			t.Errorf("line %d repeats %s", r.Line, r.Phone)
		}
		seen[r.Phone] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int64(rep.Kept) != n || rep.Rejected != 0 || rep.Fixed != 0 {
		t.Errorf("kept %d of %d, rejected %d, fixed %d", rep.Kept, n, rep.Rejected, rep.Fixed)
	}
}
