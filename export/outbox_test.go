package export

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunDirIsSafe(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC) // 11:04 in core.Shanghai
	if d := RunDir("/o", "../../etc", at); d != filepath.Join("/o", ".._.._etc", "20260102-1104") {
		t.Fatalf("%s", d)
	}
	if d := RunDir("/o", "..", at); !strings.HasPrefix(d, "/o/_") {
		t.Fatalf("%s", d)
	}
}
