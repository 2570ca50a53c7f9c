package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/signing"
)

// ManifestName is the file of a run's directory that lists the others.
const ManifestName = "manifest.csv"

// ManifestKind is the kind a manifest's signature names.
const ManifestKind = "manifest"

// ManifestHeader is the manifest's header: every file with its data rows,
// size and SHA-256, so that the receiver can check what arrived.
var ManifestHeader = []string{"file", "rows", "bytes", "sha256"}

var unsafePath = regexp.MustCompile(`[^\p{L}\p{N}_.-]`)

// RunDir is where the files of a run at a time go: outbox/<wave>/<yyyymmdd-hhmm>,
// the time in Beijing time. Characters of the wave name that a path cannot
// carry safely become _.
func RunDir(outbox, wave string, at time.Time) string {
	w := unsafePath.ReplaceAllString(wave, "_")
	if strings.Trim(w, ".") == "" {
		w = "_" + w
	}
	return filepath.Join(outbox, w, at.In(core.Shanghai).Format("20060102-1504"))
}

// ToDir writes the files of one run, all of one wave, and their manifest
// into dir. They are written into a hidden directory beside it, audited,
// and then renamed to dir, so that the office never picks up half a run or
// a file that is not on record. dir must not exist yet.
func ToDir(ctx context.Context, db *sqlx.DB, reqs []Request, dir string, details map[string]any) ([]File, error) {
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("目录 %s 已存在 / directory %s already exists", dir, dir)
	}
	reqs = withCompanions(reqs)
	for _, r := range reqs {
		if err := r.check(ctx, db); err != nil {
			return nil, err
		}
	}
	if len(reqs) > 0 {
		if err := reqs[0].seal(ctx, db); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+"-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // gone after the rename; otherwise the debris of a failed run
	var files []File
	for _, r := range reqs {
		f := File{File: FileName(r.Kind, r.Wave, r.Encoding), Kind: r.Kind}
		if err := create(filepath.Join(tmp, f.File), func(w io.Writer) (int, error) { return Write(ctx, db, r, w) }, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", f.File, err)
		}
		files = append(files, f)
	}
	m := File{File: ManifestName}
	if err := create(filepath.Join(tmp, ManifestName), func(w io.Writer) (int, error) {
		cw, err := csvfile.NewWriter(w, csvfile.UTF8)
		if err != nil {
			return 0, err
		}
		cw.Write(ManifestHeader)
		for _, f := range files {
			cw.Write([]string{f.File, strconv.Itoa(f.Rows), strconv.FormatInt(f.Bytes, 10), f.SHA256})
		}
		return len(files), cw.Flush()
	}, &m); err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	var head core.Head
	for i, f := range files {
		d := map[string]any{"file": filepath.Join(dir, f.File), "rows": f.Rows, "sha256": f.SHA256}
		for k, v := range details {
			d[k] = v
		}
		if head, err = reqs[i].audit(ctx, db, d); err != nil {
			return nil, err
		}
	}
	// The manifest's signature covers every file by its hash, and names
	// the audit entry of the run's last file.
	if len(reqs) > 0 && reqs[0].Signer != nil {
		st := signing.Statement{Kind: ManifestKind, Wave: reqs[0].Wave, Chain: head}
		if _, err := reqs[0].Signer.SignFile(filepath.Join(tmp, ManifestName), st); err != nil {
			return nil, fmt.Errorf("export: sign the manifest: %w", err)
		}
		if err := syncDir(tmp); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	syncDir(filepath.Dir(dir))
	return files, nil
}

// withCompanions adds to each responses file its value labels and the SPSS
// syntax that reads it, in the same encoding, unless the run has them.
func withCompanions(reqs []Request) []Request {
	has := map[string]bool{}
	for _, r := range reqs {
		has[FileName(r.Kind, r.Wave, r.Encoding)] = true
	}
	out := slices.Clone(reqs)
	for _, r := range reqs {
		if r.Kind != "responses" {
			continue
		}
		for _, k := range []string{"value-labels", "spss"} {
			c := r
			c.Kind = k
			if name := FileName(k, r.Wave, r.Encoding); !has[name] {
				has[name] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// create makes a new file name and fills it (see writeFile).
func create(name string, body func(io.Writer) (int, error), f *File) error {
	out, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return writeFile(out, body, f)
}

// syncDir makes a directory's entries durable, so that a crash after a
// rename cannot lose a file the manifest lists.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
