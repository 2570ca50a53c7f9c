package sampler

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestUploadsAndImportsAreChained: a districts upload records the file's
// hash, the totals and the whole table; a frame import who made it, its
// counts and the frame's checksum after it.
func TestUploadsAndImportsAreChained(t *testing.T) {
	db := frameDB(t)
	file := "code,name,resident_population\n500101,万州区,1500\n"
	read, changed, err := ImportDistricts(fctx, db, strings.NewReader(file), Upload{Actor: "zhao", File: "d.csv"})
	if err != nil || read != 1 || changed != 1 {
		t.Fatalf("import: %d %d %v", read, changed, err)
	}
	var d struct {
		SHA      string `db:"sha"`
		Old, New int64
		Table    string `db:"table"`
	}
	if err := db.QueryRow(`SELECT details->>'file_sha256', (details->>'old_total')::bigint, (details->>'new_total')::bigint, details->>'districts'
		FROM audit_log WHERE action = $1 AND actor = 'zhao'`, DistrictsAction).Scan(&d.SHA, &d.Old, &d.New, &d.Table); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(file))
	if d.SHA != hex.EncodeToString(sum[:]) || d.Old != 3000 || d.New != 3500 ||
		d.Table != `{"500101": ["万州区", 1500], "500102": ["涪陵区", 2000]}` {
		t.Fatalf("the upload's entry: %+v", d)
	}
	if _, err := loadPhones(t, db, "phone,district_code\n13902300001,500101\n13902300002,500102\n", ""); err != nil {
		t.Fatal(err)
	}
	var recorded, checksum string
	if err := db.QueryRow(`SELECT a.details->>'frame_checksum', f.checksum FROM audit_log a, frame_versions f
		WHERE a.action = 'frame-import' AND a.subject = 'phone' AND (a.details->>'kept')::int = 2 AND f.kind = 'phone'`).Scan(&recorded, &checksum); err != nil {
		t.Fatal(err)
	}
	if recorded != checksum {
		t.Fatalf("the import's entry names the checksum %s, the frame has %s", recorded, checksum)
	}
}
