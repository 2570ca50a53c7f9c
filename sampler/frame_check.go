package sampler

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"minyi/core"
	"minyi/csvfile"
)

// Reading and checking frame files: each row of a telephone or household
// frame file is checked on its own, and valid rows handed on one at a
// time; the importers (frame_load.go) find duplicates in the database.

// MaxStoredProblems is how many problems a frame import's report keeps and
// stores, as every import lists (csvfile.MaxProblems); the counts stay
// exact beyond it, and the report says how many more there are.
const MaxStoredProblems = csvfile.MaxProblems

// FrameReport says what a frame import did with each data row (the header
// is not counted): Kept + Rejected + Duplicates == Read. Fixed counts the
// kept rows whose number had to be normalised. Problems lists rejected and
// duplicate rows in line order, at most MaxStoredProblems of them.
type FrameReport struct {
	Read, Kept, Fixed, Rejected, Duplicates int
	Problems                                []csvfile.Problem
	Encoding                                csvfile.Encoding // the encoding the file was read in
}

// mergeProblems adds problems found after parsing, keeping the first
// MaxStoredProblems by line.
func (r *FrameReport) mergeProblems(more []csvfile.Problem) {
	r.Problems = append(r.Problems, more...)
	slices.SortStableFunc(r.Problems, func(a, b csvfile.Problem) int { return a.Line - b.Line })
	if len(r.Problems) > MaxStoredProblems {
		r.Problems = r.Problems[:MaxStoredProblems]
	}
}

// ParseOptions control how a frame file is read.
type ParseOptions struct {
	Encoding  csvfile.Encoding // csvfile.Auto (or ""), csvfile.UTF8 or csvfile.GB18030
	Districts map[string]bool  // known district codes; nil accepts any code
}

// PhoneRow is one valid row of a telephone frame file.
type PhoneRow struct {
	Line     int
	Phone    string // normalised (NormalizePhone)
	District string // "" for the city-wide stratum
	Fixed    bool   // the number as written differed from its normal form
}

// HouseholdRow is one valid row of a household frame file. A size of 0
// means the file did not give it.
type HouseholdRow struct {
	Line                                     int
	District, Street, Community, HouseholdID string
	Address                                  string
	StreetSize, CommunitySize                int64
}

// The columns of the frame files. A column that is not known refuses the
// file rather than being dropped, since it usually means a misspelt or
// shifted header.
var (
	phoneColumns = csvfile.Columns{Required: []string{"phone"}, Optional: []string{"district_code"},
		Others: csvfile.RefuseOthers, Chinese: map[string]string{"phone": "电话号码", "district_code": "区县代码"}}
	householdColumns = csvfile.Columns{Required: []string{"district_code", "street", "community", "household_id", "address"},
		Optional: []string{"street_size", "community_size"}, Others: csvfile.RefuseOthers,
		Chinese: map[string]string{"district_code": "区县代码", "street": "街道", "community": "社区", "household_id": "住户编号",
			"address": "地址", "street_size": "街道规模", "community_size": "社区规模"}}
)

// openFrame opens a frame file and reads its header.
func openFrame(r io.Reader, enc csvfile.Encoding, cols csvfile.Columns, rep *FrameReport) (*csvfile.Reader, error) {
	f, err := csvfile.NewReader(r, csvfile.Options{Encoding: enc, Kind: core.Text{ZH: "抽样框", EN: "a frame"},
		MaxProblems: MaxStoredProblems, NoControl: true, EncodingHint: true})
	if err != nil {
		return nil, err
	}
	rep.Encoding = f.Encoding()
	if err := f.ReadHeader(cols); err != nil {
		return nil, err
	}
	return f, nil
}

// tally copies the reader's counts and problems into the report.
func (r *FrameReport) tally(f *csvfile.Reader) {
	r.Read, r.Rejected = f.Rows(), f.Refused()
	r.Problems = f.Problems().List()
	r.Encoding = f.Encoding()
}

// ParsePhoneFrame reads a telephone frame CSV (header "phone" or
// "phone,district_code"), calls emit for every valid row in file order and
// reports the rest. Only the current row is held in memory.
//
// It returns a fatal error, after which nothing from the file may be kept,
// when the file cannot be read, is not CSV text, has a wrong header, has a
// line longer than csvfile.MaxLineBytes, has no valid row, or has more than
// half of its rows rejected; and any error of emit. Repeated numbers are
// not detected here (that needs the whole file): the importer finds them in
// the database, so Duplicates is 0 in the parser's report.
func ParsePhoneFrame(r io.Reader, opt ParseOptions, emit func(PhoneRow) error) (FrameReport, error) {
	var rep FrameReport
	f, err := openFrame(r, opt.Encoding, phoneColumns, &rep)
	if err != nil {
		return rep, err
	}
	var normalize blockCache
	var lastDistrict string // the last known district code seen
	iPhone, iDistrict := f.Index("phone"), f.Index("district_code")
	for {
		rec, err := f.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep.tally(f)
			return rep, err
		}
		line := rec.Line
		raw := rec.Fields[iPhone]
		phone := strings.TrimSpace(raw)
		if phone == "" {
			f.Reject(line, "phone", "电话号码为空", "the phone number is empty")
			continue
		}
		norm, nerr := normalize.phone(phone)
		if nerr != nil {
			f.Reject(line, "phone", "无效的电话号码 %s（须为中国大陆手机或固定电话号码）", "invalid phone number %s (must be a mainland China mobile or landline number)", csvfile.Quote(phone))
			continue
		}
		row := PhoneRow{Line: line, Phone: norm, Fixed: norm != raw}
		if iDistrict >= 0 {
			row.District = strings.TrimSpace(rec.Fields[iDistrict])
			// Rows of a district usually come together: the last code
			// checked saves a lookup.
			if row.District != "" && opt.Districts != nil && row.District != lastDistrict {
				if !opt.Districts[row.District] {
					f.Reject(line, "district_code", "未知的区县代码 %s", "unknown district code %s", csvfile.Quote(row.District))
					continue
				}
				lastDistrict = row.District
			}
		}
		rep.Kept++
		if row.Fixed {
			rep.Fixed++
		}
		if emit != nil {
			if err := emit(row); err != nil {
				rep.tally(f)
				return rep, err
			}
		}
	}
	rep.tally(f)
	return rep, rep.finish()
}

// ParseHouseholdFrame reads a household frame CSV (header
// "district_code,street,community,household_id,address" and optionally
// "street_size" and "community_size", in any order), calls emit for every
// valid row in file order and reports the rest; fatal errors as for
// ParsePhoneFrame. Sizes must be positive integers and the same on every
// row of a street or community; to check that, the first size seen for each
// street and community is remembered, so memory grows with the number of
// clusters, never with the number of households.
func ParseHouseholdFrame(r io.Reader, opt ParseOptions, emit func(HouseholdRow) error) (FrameReport, error) {
	var rep FrameReport
	f, err := openFrame(r, opt.Encoding, householdColumns, &rep)
	if err != nil {
		return rep, err
	}
	type seenSize struct {
		size int64
		line int
	}
	streetSizes := map[string]seenSize{}
	communitySizes := map[string]seenSize{}
	for {
		rec, err := f.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep.tally(f)
			return rep, err
		}
		line := rec.Line
		row := HouseholdRow{Line: line, District: rec.Get("district_code"), Street: rec.Get("street"), Community: rec.Get("community"),
			HouseholdID: rec.Get("household_id"), Address: rec.Get("address")}
		var empty []string
		for _, name := range householdColumns.Required {
			if rec.Get(name) == "" {
				empty = append(empty, name)
			}
		}
		if len(empty) > 0 {
			f.Reject(line, empty[0], "缺少必填项 %s", "missing required value(s): %s", strings.Join(empty, ", "))
			continue
		}
		if opt.Districts != nil && !opt.Districts[row.District] {
			f.Reject(line, "district_code", "未知的区县代码 %s", "unknown district code %s", csvfile.Quote(row.District))
			continue
		}
		bad := false
		for _, s := range []struct {
			name string
			dst  *int64
		}{{"street_size", &row.StreetSize}, {"community_size", &row.CommunitySize}} {
			v := rec.Get(s.name)
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				f.Reject(line, s.name, "%s 为 %s，须为正整数", "%s is %s; it must be a positive integer", s.name, csvfile.Quote(v))
				bad = true
				break
			}
			*s.dst = n
		}
		if bad {
			continue
		}
		streetKey := row.District + "\x00" + row.Street
		communityKey := streetKey + "\x00" + row.Community
		if s, ok := streetSizes[streetKey]; ok && row.StreetSize > 0 && s.size != row.StreetSize {
			f.Reject(line, "street_size", "街道 %s 的 street_size 为 %d，与第 %d 行的 %d 不一致", "street_size %[2]d of street %[1]s differs from %[4]d on line %[3]d",
				csvfile.Quote(row.Street), row.StreetSize, s.line, s.size)
			continue
		}
		if s, ok := communitySizes[communityKey]; ok && row.CommunitySize > 0 && s.size != row.CommunitySize {
			f.Reject(line, "community_size", "社区 %s 的 community_size 为 %d，与第 %d 行的 %d 不一致", "community_size %[2]d of community %[1]s differs from %[4]d on line %[3]d",
				csvfile.Quote(row.Community), row.CommunitySize, s.line, s.size)
			continue
		}
		if _, ok := streetSizes[streetKey]; !ok && row.StreetSize > 0 {
			streetSizes[streetKey] = seenSize{row.StreetSize, line}
		}
		if _, ok := communitySizes[communityKey]; !ok && row.CommunitySize > 0 {
			communitySizes[communityKey] = seenSize{row.CommunitySize, line}
		}
		rep.Kept++
		if emit != nil {
			if err := emit(row); err != nil {
				rep.tally(f)
				return rep, err
			}
		}
	}
	rep.tally(f)
	return rep, rep.finish()
}

// blockCache remembers NormalizePhone's verdict on numbers written as plain
// 11 digits by their 7-digit block (号段): parsing with phonenumbers costs
// tens of microseconds, which would dominate the import of a census-scale
// frame, while China's mobile numbering plan, and so the library's
// validity patterns, are set by block. TestPhoneBlockCache checks that
// assumption against the library. The verdicts are kept in a table indexed
// by block, a byte for each of the million blocks 1000000–1999999, which is
// cheaper to consult per row than a map.
type blockCache struct {
	verdict []int8 // by block − 1,000,000: 0 not yet known, 1 valid, −1 not
}

func (c *blockCache) phone(s string) (string, error) {
	if len(s) > 64 {
		// No way of writing a number is this long; do not let the parser
		// spend time on it.
		return "", fmt.Errorf("无效的电话号码 / invalid phone number: %.20q…", s)
	}
	block, _, ok := mobileParts(s)
	if !ok {
		return NormalizePhone(s)
	}
	if c.verdict == nil {
		c.verdict = make([]int8, 1_000_000)
	}
	switch c.verdict[block] {
	case 1:
		return s, nil
	case -1:
		return "", fmt.Errorf("无效的电话号码 / invalid phone number: %q", s)
	}
	norm, err := NormalizePhone(s)
	switch {
	case err != nil:
		c.verdict[block] = -1
	case norm == s:
		c.verdict[block] = 1
	}
	return norm, err
}

// finish applies the whole-file rules: a file that yields nothing, or whose
// rows are mostly wrong (a shifted column, the wrong kind of file), is
// refused whole rather than imported in part.
func (r *FrameReport) finish() error {
	switch {
	case r.Read == 0:
		return core.Errorf(core.EInvalid, "文件只有表头，没有数据行", "the file has a header but no data rows")
	case r.Kept == 0:
		return core.Errorf(core.EInvalid, "%d 行全部被拒绝，没有可导入的行", "all %d rows were rejected; nothing is importable", r.Read)
	case 2*r.Rejected > r.Read:
		return core.Errorf(core.EInvalid, "%d 行中有 %d 行被拒绝，超过一半", "%[2]d of %[1]d rows were rejected, more than half", r.Read, r.Rejected)
	}
	return nil
}
