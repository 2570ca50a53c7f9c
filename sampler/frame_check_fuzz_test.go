package sampler

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/csvfile"
)

// The frame parsers read files from outside; whatever the bytes, they must
// not panic, must account for every data row, and must hand on only rows
// that PostgreSQL accepts (valid UTF-8, no NUL) in the normal form.

var fuzzEncodings = []csvfile.Encoding{csvfile.Auto, csvfile.UTF8, csvfile.GB18030}

func toGB18030(s string) string {
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func phoneSeeds() []string {
	return []string{
		"phone,district_code\n13902300001,500101\n+86 139-0230-0002,\n023-6361 2345,500102\n",
		"\uFEFFphone\r\n13902300001\r\n",
		"phone\n",
		"",
		"13902300001\n",
		"phone,notes\n1,2\n",
		"phone,district_code\n,\n12345,500101\n1390230000a,x\n\"13902300001\",\"500101\"\n",
		"phone\n\"unterminated\n13902300001\n",
		"phone\n13\"9\n",
		"phone,district_code\n13902300001,500101,extra\n13902300002\n",
		"phone\n1390230\xff001\n",
		"phone,district_code\n13902300001," + toGB18030("万州") + "\n",
		"phone\n" + strings.Repeat("9", 200) + "\n",
		"PK\x03\x04",
		"\xFF\xFEp\x00",
		"phone\n\x0013902300001\n",
		"phone\n\"139\n02300001\"\n",
	}
}

func householdSeeds() []string {
	return []string{
		householdsUTF8,
		"\uFEFF" + householdsUTF8,
		toGB18030(householdsUTF8),
		"district_code,street,community,household_id,address\n500101,a,b,c,d\n",
		"household_id,address,community,street,district_code,community_size\n1,a,b,c,500101,0\n2,a,b,c,500101,-1\n3,a,b,c,500101,x\n",
		"district_code,street,community,household_id,address,street_size\n500101,s,c,1,a,5\n500101,s,c,2,a,6\n500101,s,c,1,a,5\n",
		"district_code,street,community,household_id,address\n,,,,\n",
		"district_code,street,community,household_id,address\n500101,\"a\nb\",c,1,d\n",
		"district_code,street\n",
	}
}

func FuzzParsePhoneFrame(f *testing.F) {
	for _, s := range phoneSeeds() {
		for i := range fuzzEncodings {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, enc uint8) {
		opt := ParseOptions{Encoding: fuzzEncodings[int(enc)%len(fuzzEncodings)], Districts: map[string]bool{"500101": true, "500102": true}}
		emitted, fixed, lastLine := 0, 0, 0
		rep, err := ParsePhoneFrame(bytes.NewReader(data), opt, func(r PhoneRow) error {
			emitted++
			if r.Fixed {
				fixed++
			}
			if r.Line <= lastLine || r.Line < 2 {
				t.Errorf("row on line %d after line %d", r.Line, lastLine)
			}
			lastLine = r.Line
			if n, err := NormalizePhone(r.Phone); err != nil || n != r.Phone {
				t.Errorf("line %d: emitted %q, which is not in normal form", r.Line, r.Phone)
			}
			if r.District != "" && !opt.Districts[r.District] {
				t.Errorf("line %d: emitted unknown district %q", r.Line, r.District)
			}
			return nil
		})
		checkParsedReport(t, rep, err, emitted)
		if fixed != rep.Fixed {
			t.Errorf("fixed %d, report says %d", fixed, rep.Fixed)
		}
	})
}

func FuzzParseHouseholdFrame(f *testing.F) {
	for _, s := range householdSeeds() {
		for i := range fuzzEncodings {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, enc uint8) {
		opt := ParseOptions{Encoding: fuzzEncodings[int(enc)%len(fuzzEncodings)]}
		emitted := 0
		rep, err := ParseHouseholdFrame(bytes.NewReader(data), opt, func(h HouseholdRow) error {
			emitted++
			for _, v := range []string{h.District, h.Street, h.Community, h.HouseholdID, h.Address} {
				if v == "" || v != strings.TrimSpace(v) || !storableText(v) {
					t.Errorf("line %d: emitted value %q", h.Line, v)
				}
			}
			if h.StreetSize < 0 || h.CommunitySize < 0 {
				t.Errorf("line %d: negative size", h.Line)
			}
			return nil
		})
		checkParsedReport(t, rep, err, emitted)
	})
}

func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

func checkParsedReport(t *testing.T, rep FrameReport, err error, emitted int) {
	t.Helper()
	if rep.Kept+rep.Rejected+rep.Duplicates != rep.Read {
		t.Errorf("kept %d + rejected %d + duplicates %d != read %d", rep.Kept, rep.Rejected, rep.Duplicates, rep.Read)
	}
	if rep.Kept != emitted {
		t.Errorf("kept %d but %d rows emitted", rep.Kept, emitted)
	}
	if len(rep.Problems) > MaxStoredProblems || len(rep.Problems) > rep.Rejected+rep.Duplicates {
		t.Errorf("%d problems for %d rejected rows", len(rep.Problems), rep.Rejected)
	}
	for _, p := range rep.Problems {
		if p.Line < 2 || !utf8.ValidString(p.Reason()) || !strings.Contains(p.Reason(), " / ") {
			t.Errorf("problem %+v", p)
		}
	}
	if err == nil && (rep.Kept == 0 || 2*rep.Rejected > rep.Read) {
		t.Errorf("accepted a file with %d kept and %d of %d rejected", rep.Kept, rep.Rejected, rep.Read)
	}
	if err != nil && !utf8.ValidString(err.Error()) {
		t.Errorf("error message is not valid UTF-8: %q", err)
	}
}
