package sampler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/csvfile"
)

// A GB18030 file whose first Chinese text is beyond the first 64 KiB is
// still detected.
func TestDetectGB18030Late(t *testing.T) {
	var rows strings.Builder
	rows.WriteString("district_code,street,community,household_id,address\n")
	for i := 0; rows.Len() < 100<<10; i++ {
		fmt.Fprintf(&rows, "500101,S1,C1,H%05d,Road %d\n", i, i)
	}
	rows.WriteString("500101,高笋塘街道,白岩社区,LATE,白岩路1号\n")
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String(rows.String())
	var last HouseholdRow
	rep, err := ParseHouseholdFrame(strings.NewReader(gb), ParseOptions{}, func(h HouseholdRow) error { last = h; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Encoding != csvfile.GB18030 || last.Street != "高笋塘街道" || rep.Rejected != 0 {
		t.Errorf("encoding %s, last row %+v, rejected %d", rep.Encoding, last, rep.Rejected)
	}
}

func TestImportStopsOnEmitError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ParsePhoneFrame(strings.NewReader("phone\n13902300001\n"), ParseOptions{}, func(PhoneRow) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

// An unclosed quote would make the CSV reader hold the rest of the file as
// one field; the record limit stops it, naming the line where it started.
func TestParseUnclosedQuote(t *testing.T) {
	var b strings.Builder
	b.WriteString("phone,district_code\n13902300001,500101\n\"13902300002,500101\n")
	for b.Len() < 2*csvfile.MaxLineBytes {
		b.WriteString("13902300003,500101\n")
	}
	_, err := ParsePhoneFrame(strings.NewReader(b.String()), ParseOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "line 3:") || !strings.Contains(err.Error(), "a record starting here") {
		t.Fatalf("unclosed quote: %v", err)
	}
	// Quoted line breaks and escaped quotes in a short record are fine
	// (and the row is rejected for its control character, not the file).
	file := "phone,district_code\n\"139023\n00001\",500101\n\"1390230\"\"0002\",500101\n13902300003,\"500\"\"101\"\n13902300004,500101\n13902300005,500101\n13902300006,500101\n"
	rep, err := ParsePhoneFrame(strings.NewReader(file), ParseOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, rep, map[int]string{2: "control characters", 4: "invalid phone number", 5: ""})
}

// TestParsePhoneFrameLargeFile checks that a file far bigger than the
// parser's buffers streams through with its rows all accounted for.
func TestParsePhoneFrameLargeFile(t *testing.T) {
	const n = 30000
	pr, pw := io.Pipe()
	go func() {
		w := bytes.NewBufferString("phone,district_code\n")
		for i := 0; i < n; i++ {
			w.WriteString("139023")
			w.WriteByte(byte('0' + i/10000%10))
			for d := 1000; d >= 1; d /= 10 {
				w.WriteByte(byte('0' + i/d%10))
			}
			w.WriteString(",500101\n")
			if w.Len() > 32<<10 {
				pw.Write(w.Bytes())
				w.Reset()
			}
		}
		pw.Write(w.Bytes())
		pw.Close()
	}()
	rep, err := ParsePhoneFrame(pr, ParseOptions{}, nil)
	if err != nil || rep.Read != n || rep.Kept != n {
		t.Fatalf("read %d kept %d: %v", rep.Read, rep.Kept, err)
	}
}

// The importer's block cache assumes that whether a plain 11-digit number
// is a valid mobile depends only on its 7-digit block. Check it on every
// 4-digit head 1xxx with random blocks and suffixes.
func TestPhoneBlockCache(t *testing.T) {
	rng := NewRNG(1, "block-cache-test")
	for head := 1000; head <= 1999; head++ {
		for k := 0; k < 3; k++ {
			block := fmt.Sprintf("%d%03d", head, uniformN(rng, 1000))
			var first error
			for i := 0; i < 4; i++ {
				s := fmt.Sprintf("%s%04d", block, uniformN(rng, 10000))
				norm, err := NormalizePhone(s)
				if err == nil && norm != s {
					t.Fatalf("%s normalises to %s", s, norm)
				}
				if i == 0 {
					first = err
				} else if (err == nil) != (first == nil) {
					t.Fatalf("block %s: validity depends on the last 4 digits (%v vs %v)", block, first, err)
				}
			}
		}
	}
	var c blockCache
	for _, s := range []string{"13902300001", "13902300002", "12345678901", "12345678902", "+86 139 0230 0003"} {
		want, werr := NormalizePhone(s)
		got, err := c.phone(s)
		if got != want || (err == nil) != (werr == nil) {
			t.Errorf("%s: cached %q %v, want %q %v", s, got, err, want, werr)
		}
	}
}

// benchPhoneFile is a telephone frame of n valid mobile numbers over a few
// districts, in runs as a census extract has them.
func benchPhoneFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("phone,district_code\n")
	districts := []string{"500101", "500102", "500103", "500104"}
	for i := 0; i < n; i++ {
		b.WriteString("1390")
		s := strconv.Itoa(10000000 + i)
		b.WriteString(s[1:])
		b.WriteByte(',')
		b.WriteString(districts[i*len(districts)/n])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// BenchmarkParsePhoneFrame measures the parser alone, the half of a frame
// import that runs in Go; the whole import is measured against psql's
// \copy by `minyi bench`.
func BenchmarkParsePhoneFrame(b *testing.B) {
	const rows = 200_000
	file := benchPhoneFile(rows)
	opt := ParseOptions{Districts: map[string]bool{"500101": true, "500102": true, "500103": true, "500104": true}}
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := ParsePhoneFrame(bytes.NewReader(file), opt, func(PhoneRow) error { return nil })
		if err != nil || rep.Kept != rows {
			b.Fatalf("kept %d: %v", rep.Kept, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
