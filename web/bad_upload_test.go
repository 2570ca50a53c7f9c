package web

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/csvfile/csvtest"
	"minyi/sampler"
)

// uploadStream posts a file as a browser form does, its content read from
// file as it is sent, so that a test can upload gigabytes made on the fly.
func (c *client) uploadStream(path string, fields map[string]string, file io.Reader) *http.Response {
	c.t.Helper()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		w.WriteField("csrf", c.csrf)
		for k, v := range fields {
			w.WriteField(k, v)
		}
		fw, err := w.CreateFormFile("file", "upload.csv")
		if err == nil {
			_, err = io.Copy(fw, file)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", c.fx.srv.URL+path, pr)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// TestBadReferenceFilesGiveShortPages uploads 20 MB districts and margins
// files of bad rows with long cells, the files that once rendered a 402 MB
// error page: the page lists the first problems, each cut short, and says
// how many more there are. A districts file saved by a Chinese Excel, in
// GB18030 with the Chinese column names, is read.
func TestBadReferenceFilesGiveShortPages(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	long := strings.Repeat("九", 2000)
	for _, tc := range []struct{ path, header, line string }{
		{"/districts", "code,name,resident_population", "D%d,区县,%s\n"},
		{"/margins", "district_code,variable,category,population", "500101,sex,1,%[2]s%[1]d\n"},
	} {
		f := csvtest.File(tc.header, 20<<20, func(i int, b []byte) []byte { return fmt.Appendf(b, tc.line, i, long) })
		res := c.uploadStream(tc.path, nil, f)
		page := readAll(res)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: a bad file gave %d", tc.path, res.StatusCode)
		}
		more := fmt.Sprintf("另有 %d 处", f.Lines()-100)
		t.Logf("%s: a 20 MB bad file of %d rows gave a page of %d bytes", tc.path, f.Lines(), len(page))
		if len(page) > 128<<10 || !strings.Contains(page, more) || strings.Count(page, "第 ") < 100 {
			t.Errorf("%s: a 20 MB bad file of %d rows gave a page of %d bytes (want under 128 KiB, 100 problems and %q)", tc.path, f.Lines(), len(page), more)
		}
	}

	gb, err := simplifiedchinese.GB18030.NewEncoder().String("代码,名称,常住人口\n500101,万州区,1563050\n500199,新区,12345\n")
	if err != nil {
		t.Fatal(err)
	}
	res, page := c.upload("/districts", gb)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a GB18030 districts file headed in Chinese: %d\n%s", res.StatusCode, page)
	}
	ds, err := sampler.ListDistricts(t.Context(), fx.db)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range ds {
		found = found || d.Code == "500199" && d.Name == "新区" && d.Population == 12345
	}
	if !found {
		t.Error("the district of the GB18030 file is not stored")
	}
}

// TestBadFrameUploadHoldsBoundedMemory uploads a 2 GB telephone frame of
// bad rows, made as it is sent, through the web: the upload is streamed into
// the import job's directory and the job reads it. While the upload arrives,
// and while the job imports it, the server's heap stays within 64 MiB of
// idle; the job fails with a short message and
// the import's report keeps its first problems.
func TestBadFrameUploadHoldsBoundedMemory(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	filler := strings.Repeat("x", 1000)
	f := csvtest.File("phone,district_code", 2_000_000_000, func(i int, b []byte) []byte {
		return fmt.Appendf(b, "139%08d%s,500101\n", i, filler)
	})
	var res *http.Response
	idleUp, peakUp := csvtest.Heap(func() { res = c.uploadStream("/frames", map[string]string{"kind": "phone", "encoding": "auto"}, f) })
	res.Body.Close()
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("upload: %d %s", res.StatusCode, loc)
	}
	var page string
	idle, peak := csvtest.Heap(func() {
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if page = c.get(loc); !strings.Contains(page, `http-equiv="refresh"`) {
				return
			}
		}
		t.Fatal("the import job did not finish")
	})
	t.Logf("telephone frame over the web: %d lines of a 2 GB file; upload heap idle %.1f MiB, peak %.1f MiB (%.1f above); import job heap idle %.1f MiB, peak %.1f MiB (%.1f above)",
		f.Lines(), csvtest.MiB(idleUp), csvtest.MiB(peakUp), csvtest.MiB(peakUp-idleUp), csvtest.MiB(idle), csvtest.MiB(peak), csvtest.MiB(peak-idle))
	if peakUp > idleUp+64<<20 {
		t.Errorf("receiving a 2 GB upload took %.1f MiB above idle, more than 64", csvtest.MiB(peakUp-idleUp))
	}
	if peak > idle+64<<20 {
		t.Errorf("the import job of a 2 GB bad file took %.1f MiB above idle, more than 64", csvtest.MiB(peak-idle))
	}
	if !strings.Contains(page, `id="job-failed"`) || len(page) > 64<<10 {
		t.Errorf("job page of %d bytes:\n%.2000s", len(page), page)
	}
	var rep struct {
		Rejected int `db:"rejected"`
		Problems int `db:"problems"`
	}
	if err := fx.db.Get(&rep, `SELECT rejected, jsonb_array_length(problems) AS problems FROM frame_imports ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if rep.Rejected != f.Lines() || rep.Problems != sampler.MaxStoredProblems {
		t.Errorf("the import report: %d rejected of %d, %d problems kept", rep.Rejected, f.Lines(), rep.Problems)
	}
}
