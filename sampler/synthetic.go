package sampler

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// ChongqingMobilePrefixes lists 7-digit mobile number blocks (号段) assigned
// to Chongqing. Random-digit dialing appends 4 random digits to a block
// (docs/statistics.md §3). Every block is a valid mobile range whose location in
// libphonenumber's geocoding data is 重庆市; the test checks both, so a block
// that stops qualifying after a library update is caught.
//
// Blocks are spread over the three operators, roughly in proportion to their
// subscriber shares, so that a synthetic frame does not reach only one
// carrier's customers.
var ChongqingMobilePrefixes = []string{
	// China Telecom
	"1330825", "1330830", "1331020", "1531000", "1770230",
	"1772300", "1800230", "1810230", "1890830", "1898300",
	// China Mobile
	"1350030", "1350830", "1360830", "1361760", "1380830",
	"1388300", "1390830", "1398300", "1500230", "1502300",
	"1510230", "1511180", "1520230", "1570230", "1580230",
	"1580360", "1590230", "1592250", "1870230", "1871620",
	// China Unicom
	"1300230", "1300830", "1310100", "1320600", "1550230",
	"1560830", "1760230", "1850230", "1860230", "1862300",
}

// syntheticPhonesStream keeps the synthetic-number stream apart from the
// per-district draw streams that use the same seed.
const syntheticPhonesStream = "synthetic-phones"

// SyntheticPhones returns count distinct valid Chinese mobile numbers (11
// digits, no +86) built as prefix + 4 random digits, deterministic for the
// seed, in the order generated.
//
// The numbers are a uniform random sample without replacement of all
// prefix+suffix combinations, in random order, so any leading part of the
// result is itself a random sample.
func SyntheticPhones(seed int64, count int) ([]string, error) {
	prefixes := ChongqingMobilePrefixes
	seen := make(map[string]bool, len(prefixes))
	for _, p := range prefixes {
		if len(p) != 7 || strings.Trim(p, "0123456789") != "" || p[0] != '1' {
			return nil, fmt.Errorf("号段格式错误 / malformed mobile prefix: %q", p)
		}
		if seen[p] {
			// A repeated block would make the numbers repeat too.
			return nil, fmt.Errorf("号段重复 / duplicate mobile prefix: %q", p)
		}
		seen[p] = true
	}
	capacity := int64(len(prefixes)) * 10000
	if count < 0 || int64(count) > capacity {
		return nil, fmt.Errorf("号码数须在 0 到 %d 之间 / count must be between 0 and %d: %d", capacity, capacity, count)
	}
	rng := NewRNG(seed, syntheticPhonesStream)
	// A partial Fisher–Yates shuffle of 0..capacity−1 that stores only the
	// positions it has touched: O(count) time and memory, and the output
	// keeps the random order in which numbers were drawn.
	moved := make(map[int64]int64, count)
	at := func(i int64) int64 {
		if v, ok := moved[i]; ok {
			return v
		}
		return i
	}
	out := make([]string, count)
	for i := int64(0); i < int64(count); i++ {
		j := i + int64(uniformN(rng, uint64(capacity-i)))
		vi, vj := at(i), at(j)
		moved[j] = vi
		delete(moved, i) // position i is final and never read again
		out[i] = fmt.Sprintf("%s%04d", prefixes[vj/10000], vj%10000)
	}
	return out, nil
}

// NormalizePhone parses a Chinese mobile or landline number in common written
// forms ("+86 139 0230 1234", "13902301234", "023-6361 2345",
// "(023)63612345") with github.com/nyaruka/phonenumbers (region "CN"),
// checks it is valid (IsValidNumber) and returns the national significant
// number digits for mobiles (11 digits) and "0"+area code+number for
// landlines (e.g. "02363612345"), or a bilingual error
// "无效的电话号码 / invalid phone number: %q".
//
// Beyond what the library checks, the following are rejected because the
// result would not be the number that was meant, or could not be dialled as
// a survey call:
//   - any letter: the library would otherwise turn letters into digits as on
//     a keypad, and text such as an extension note would be dropped silently;
//   - numbers outside China and special services (toll-free, premium, VoIP…);
//   - extensions;
//   - a landline written without its leading 0 and without +86: "1090230123"
//     is only valid read as Beijing 010-90230123, and in China a landline
//     written without the 0 is a typing error far more often than that.
func NormalizePhone(s string) (string, error) {
	invalid := fmt.Errorf("无效的电话号码 / invalid phone number: %q", s)
	for _, r := range s {
		if unicode.IsLetter(r) {
			return "", invalid
		}
	}
	num, err := phonenumbers.ParseAndKeepRawInput(s, "CN")
	if err != nil {
		return "", invalid
	}
	if num.GetCountryCode() != 86 || num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return "", invalid
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	mobile := false
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE:
		mobile = true
	case phonenumbers.FIXED_LINE:
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		// Chinese mobiles are the only 11-digit numbers starting with 1.
		mobile = len(nsn) == 11 && nsn[0] == '1'
	default:
		return "", invalid
	}
	if mobile {
		if len(nsn) != 11 {
			return "", invalid
		}
		return nsn, nil
	}
	if num.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_DEFAULT_COUNTRY &&
		!strings.HasPrefix(phonenumbers.NormalizeDigitsOnly(s), "0") {
		return "", invalid
	}
	return "0" + nsn, nil
}
