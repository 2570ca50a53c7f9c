package users

import (
	"strings"
	"testing"
	"time"
)

func TestCommonPasswordList(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(commonPasswords), "\n")
	if len(lines) != 10000 || lines[0] != "123456" || lines[1] != "password" {
		t.Fatalf("the list has %d entries starting %q", len(lines), lines[:2])
	}
	for _, p := range []string{"password", "Dragon", "QWERTYUIOP", "1234567890"} {
		if !IsCommonPassword(p) {
			t.Errorf("%q is not found on the list", p)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, why := range map[string]string{
		"short":           "at least 10",
		"张三的密码":           "at least 10", // five characters, fifteen bytes
		"ZHANG.san1":      "username",
		"1234567890":      "most common",
		"qwertyuiop":      "most common",
		" 1234567890 ":    "most common",
		"passwordpass":    "",
		"重庆的山城夜景真是好看啊":    "",
		"rain on jialing": "",
	} {
		err := CheckPassword("zhang.san1", pw)
		if why == "" && err != nil || why != "" && (err == nil || !strings.Contains(err.Error(), why)) {
			t.Errorf("CheckPassword(%q) = %v, want %q", pw, err, why)
		}
	}
	for i := 0; i < 100; i++ {
		if p := TemporaryPassword(); CheckPassword("someone", p) != nil || len(p) != 14 {
			t.Fatalf("temporary password %q breaks the rules", p)
		}
	}
}

// TestBackOffDoublesToItsCap: the waits after the free failures.
func TestBackOffDoublesToItsCap(t *testing.T) {
	l := Limit{Free: 5, Base: 30 * time.Second, Cap: 15 * time.Minute}
	want := []time.Duration{0, 0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := l.wait(i + 1); got != w {
			t.Errorf("after %d failures: wait %v, want %v", i+1, got, w)
		}
	}
	if got := l.wait(1 << 20); got != l.Cap {
		t.Errorf("after a million failures: wait %v", got)
	}
}
