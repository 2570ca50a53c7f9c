package pg

import (
	"strings"
	"testing"
)

// A migration added out of order (below the highest applied one) is still
// missing, and said to be.
func TestCheckAppliedFindsAGap(t *testing.T) {
	ms := []Migration{{Version: 100, Name: "baseline"}, {Version: 101, Name: "a"}, {Version: 102, Name: "b"}}
	err := checkApplied(map[int]bool{100: true, 102: true}, 102, ms)
	if err == nil || !strings.Contains(err.Error(), "lacks migration 0101") || !strings.Contains(err.Error(), "缺少迁移 0101") {
		t.Fatalf("a gap at 0101: %v", err)
	}
	if err := checkApplied(map[int]bool{100: true, 101: true, 102: true}, 102, ms); err != nil {
		t.Fatalf("every migration applied: %v", err)
	}
}

// The old rows of a converted database do not count as missing or unknown.
func TestCheckAppliedAcceptsAConvertedDatabase(t *testing.T) {
	done := map[int]bool{BaselineVersion: true}
	for _, v := range legacyVersions {
		done[v] = true
	}
	if err := checkApplied(done, BaselineVersion, []Migration{{Version: BaselineVersion, Name: "baseline"}}); err != nil {
		t.Fatal(err)
	}
}

func TestOnlyACompleteLegacyDatabaseIsConverted(t *testing.T) {
	all := map[int]bool{}
	for _, v := range legacyVersions {
		all[v] = true
	}
	if !needsConversion(all) || checkLegacy(all) != nil {
		t.Error("a database with every old migration should be converted")
	}
	if needsConversion(map[int]bool{}) || checkLegacy(map[int]bool{}) != nil {
		t.Error("an empty database should get the baseline as it is")
	}
	converted := map[int]bool{BaselineVersion: true, 61: true}
	if needsConversion(converted) || checkLegacy(converted) != nil {
		t.Error("a converted database should not be converted again")
	}
	delete(all, 61)
	err := checkLegacy(all)
	if err == nil || !strings.Contains(err.Error(), "lacking 0061") || !strings.HasPrefix(err.Error(), "数据库结构停在旧迁移的版本 60") {
		t.Errorf("a database without 0061: %v", err)
	}
}
