package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
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
// one per resident at the scale; its rows file, the baseline's, holds the
// same rows with the ids and ordinals the frame gives them.
func TestBenchFrameFile(t *testing.T) {
	ds, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		t.Fatal(err)
	}
	name, rowsName, n, err := benchFrameFile(ds, 0.001, true)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(name)
	defer os.Remove(rowsName)
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
	rows, err := os.ReadFile(rowsName)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(rows), "\n"), "\n")
	seen := map[string]bool{}
	ordinals := map[string]int{}
	rep, err := sampler.ParsePhoneFrame(f, sampler.ParseOptions{}, func(r sampler.PhoneRow) error {
		if seen[r.Phone] {
			t.Errorf("line %d repeats %s", r.Line, r.Phone)
		}
		seen[r.Phone] = true
		i := r.Line - 2
		ordinals[r.District]++
		if want := fmt.Sprintf("%d\t%s\t%s\t%d", i+1, r.Phone, r.District, ordinals[r.District]); i >= len(lines) || lines[i] != want {
			t.Fatalf("rows file line %d is not %q", i+1, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(lines)) != n {
		t.Errorf("rows file of %d lines, want %d", len(lines), n)
	}
	if int64(rep.Kept) != n || rep.Rejected != 0 || rep.Fixed != 0 {
		t.Errorf("kept %d of %d, rejected %d, fixed %d", rep.Kept, n, rep.Rejected, rep.Fixed)
	}
}
