package sampler

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func isCNMobile(t *testing.T, s string) bool {
	t.Helper()
	n, err := phonenumbers.Parse(s, "CN")
	if err != nil {
		return false
	}
	typ := phonenumbers.GetNumberType(n)
	return phonenumbers.IsValidNumber(n) && n.GetCountryCode() == 86 &&
		(typ == phonenumbers.MOBILE || typ == phonenumbers.FIXED_LINE_OR_MOBILE)
}

// Every block must be a mobile range that libphonenumber places in
// Chongqing; this catches typing errors in the list and ranges that get
// reassigned in a later release of the metadata.
func TestChongqingMobilePrefixes(t *testing.T) {
	if n := len(ChongqingMobilePrefixes); n < 30 || n > 60 {
		t.Errorf("%d blocks; expected about 40", n)
	}
	seen := map[string]bool{}
	for _, p := range ChongqingMobilePrefixes {
		if seen[p] {
			t.Errorf("block %s listed twice", p)
		}
		seen[p] = true
		for _, suffix := range []string{"0000", "5678", "9999"} {
			s := p + suffix
			if !isCNMobile(t, s) {
				t.Errorf("%s is not a valid Chinese mobile number", s)
				continue
			}
			n, _ := phonenumbers.Parse(s, "CN")
			place, err := phonenumbers.GetGeocodingForNumber(n, "zh")
			if err != nil {
				t.Fatal(err)
			}
			if place != "重庆市" {
				t.Errorf("block %s is in %q, not 重庆市", p, place)
			}
		}
	}
}

func TestSyntheticPhones(t *testing.T) {
	const count = 5000
	a, err := SyntheticPhones(11, count)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != count {
		t.Fatalf("%d numbers, want %d", len(a), count)
	}
	blocks := map[string]bool{}
	for _, p := range ChongqingMobilePrefixes {
		blocks[p] = true
	}
	seen := map[string]bool{}
	for _, s := range a {
		if len(s) != 11 {
			t.Fatalf("%q is not 11 digits", s)
		}
		if !blocks[s[:7]] {
			t.Fatalf("%q is not in a listed block", s)
		}
		if seen[s] {
			t.Fatalf("%q generated twice", s)
		}
		seen[s] = true
		if !isCNMobile(t, s) {
			t.Fatalf("%q is not a valid Chinese mobile number", s)
		}
	}

	b, err := SyntheticPhones(11, count)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different numbers")
	}
	c, err := SyntheticPhones(12, count)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same numbers")
	}
	// A shorter request is the start of a longer one, so a frame can be
	// grown without changing the numbers already handed out.
	d, err := SyntheticPhones(11, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, a[:100]) {
		t.Error("the first 100 of 5000 differ from a draw of 100")
	}
}

// The blocks must be used evenly: χ² over the blocks, p = 0.001.
func TestSyntheticPhonesSpread(t *testing.T) {
	const count = 20000
	nums, err := SyntheticPhones(3, count)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, p := range ChongqingMobilePrefixes {
		index[p] = i
	}
	counts := make([]int, len(ChongqingMobilePrefixes))
	for _, s := range nums {
		counts[index[s[:7]]]++
	}
	if len(counts) != 40 {
		t.Fatalf("the critical value below is for 40 blocks, the list has %d: update it", len(counts))
	}
	if x := chiSquare(counts, float64(count)/40); x > 72.05 { // df 39
		t.Errorf("χ² over blocks = %.2f > 72.05: %v", x, counts)
	}
}

func TestSyntheticPhonesCapacity(t *testing.T) {
	capacity := len(ChongqingMobilePrefixes) * 10000
	all, err := SyntheticPhones(1, capacity)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, capacity)
	for _, s := range all {
		if seen[s] {
			t.Fatalf("%q generated twice", s)
		}
		seen[s] = true
	}
	if len(seen) != capacity {
		t.Fatalf("%d distinct numbers, want %d", len(seen), capacity)
	}
	for _, n := range []int{capacity + 1, -1} {
		if _, err := SyntheticPhones(1, n); err == nil {
			t.Errorf("count %d: no error", n)
		} else if !isBilingual(err.Error()) {
			t.Errorf("error %q is not in Chinese and English", err)
		}
	}
	if got, err := SyntheticPhones(1, 0); err != nil || len(got) != 0 {
		t.Errorf("count 0 gave %v, %v", got, err)
	}
}

func TestSyntheticPhonesBadList(t *testing.T) {
	saved := ChongqingMobilePrefixes
	t.Cleanup(func() { ChongqingMobilePrefixes = saved })
	for _, list := range [][]string{
		{"1390830", "139083"},
		{"1390830", "139083x"},
		{"1390830", "1390830"},
	} {
		ChongqingMobilePrefixes = list
		if _, err := SyntheticPhones(1, 1); err == nil {
			t.Errorf("list %v accepted", list)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+86 139 0230 1234":    "13902301234",
		"13902301234":          "13902301234",
		"139-0230-1234":        "13902301234",
		"0086 139 0230 1234":   "13902301234",
		"+8613902301234":       "13902301234",
		"１３９０２３０１２３４":          "13902301234", // full-width digits, as typed with a Chinese IME
		"023-6361 2345":        "02363612345",
		"(023)63612345":        "02363612345",
		"（023）63612345":        "02363612345",
		"+86 23 6361 2345":     "02363612345",
		"010-9023-0123":        "01090230123",
		"+86 10 9023 0123":     "01090230123",
		" 023 6361 2345 ":      "02363612345",
		"+86 (0)23 6361 2345 ": "02363612345",
	} {
		got, err := NormalizePhone(in)
		if err != nil {
			t.Errorf("NormalizePhone(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizePhoneRejects(t *testing.T) {
	for _, in := range []string{
		"12345",
		"abc",
		"",
		"1090230123",          // Beijing 010 without its 0: a typing error, not a number
		"1390230123",          // one digit short
		"139023012345",        // one digit too many
		"1390230ABCD",         // letters would be read as a keypad word
		"139 0230 1234 转 56",  // extension
		"13902301234 ext. 56", // extension
		"+1 650 253 0000",     // valid, but not Chinese
		"+852 2123 4567",      // Hong Kong has its own country code
		"400-810-8888",        // shared-cost service, not a household line
		"+86 400 810 8888",    // the same, written internationally
		"+86 800 810 8888",    // toll-free service
		"95555",               // bank service short number
		"023-1234",            // too short for a Chongqing landline
	} {
		got, err := NormalizePhone(in)
		if err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want an error", in, got)
			continue
		}
		if want := fmt.Sprintf("无效的电话号码 / invalid phone number: %q", in); err.Error() != want {
			t.Errorf("NormalizePhone(%q) error %q, want %q", in, err, want)
		}
	}
}
