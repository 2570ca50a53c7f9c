package sampler

import (
	"bytes"
	"strconv"
	"testing"
)

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
