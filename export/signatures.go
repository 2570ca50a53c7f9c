package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/signing"
	"minyi/sql/pg"
)

var (
	qSaveDownloadSig = pg.Q("export/save-download-signature")
	qGetDownloadSig  = pg.Q("export/get-download-signature")
)

// Hasher counts and hashes what a download writes, for its signature.
type Hasher struct {
	w io.Writer
	h hash.Hash
	n int64
}

// NewHasher passes writes on to w.
func NewHasher(w io.Writer) *Hasher { return &Hasher{w: w, h: sha256.New()} }

func (d *Hasher) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// SignDownload signs a download once its last byte has been written, and
// keeps the signature for the user to fetch with the page's second link.
func SignDownload(ctx context.Context, db *sqlx.DB, r Request, head core.Head, file string, d *Hasher) error {
	if r.Signer == nil {
		return nil
	}
	st := r.statement(head)
	st.File, st.SHA256, st.Bytes = file, hex.EncodeToString(d.h.Sum(nil)), d.n
	st = r.Signer.Sign(st)
	if err := r.Signer.Anchor(st); err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(context.WithoutCancel(ctx), qSaveDownloadSig, r.ActorID, r.Kind, r.Wave, string(b)); err != nil {
		return fmt.Errorf("export: keep the download's signature: %w", err)
	}
	return nil
}

// DownloadSignature returns, as a signature file, the signature of the
// copy of a file the user last downloaded, and the name that file was
// downloaded under.
func DownloadSignature(ctx context.Context, db sqlx.QueryerContext, userID int64, kind, wave string) ([]byte, string, error) {
	var b []byte
	err := sqlx.GetContext(ctx, db, &b, qGetDownloadSig, userID, kind, wave)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", core.Errorf(core.ENotFound, "您还没有下载过这个文件：请先下载，再取它的签名", "you have not downloaded this file yet: download it first, then its signature")
	}
	if err != nil {
		return nil, "", fmt.Errorf("export: download signature: %w", err)
	}
	st, err := signing.ParseSig(b)
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, "", err
	}
	return out.Bytes(), st.File, nil
}

// CheckManifest checks that every file a run's manifest lists is in dir
// with the size and SHA-256 the manifest gives; it returns what does not
// match, in both languages. The manifest itself is checked against its
// signature first (signing.VerifyFile).
func CheckManifest(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) == 0 || len(rows[0]) < len(ManifestHeader) {
		return nil, core.Errorf(core.EInvalid, "%s 不是导出清单", "%s is not a run's manifest", ManifestName)
	}
	var problems []string
	for _, row := range rows[1:] {
		name, size, sum := row[0], row[2], row[3]
		// Only names the run itself writes: a manifest must not send the
		// check outside its directory.
		if name != filepath.Base(name) || name == "." || name == ".." {
			problems = append(problems, fmt.Sprintf("清单中的文件名 %q 不合法 / the manifest names %q, which is not a file of the run", name, name))
			continue
		}
		got, n, err := signing.HashFile(filepath.Join(dir, name))
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("缺少文件 %s / %s is missing", name, name))
		case got != sum || strconv.FormatInt(n, 10) != size:
			problems = append(problems, fmt.Sprintf("%[1]s 与清单不符（清单 %[2]s 字节、SHA-256 %[3]s，现在 %[4]d 字节、%[5]s），文件被改动过 / %[1]s does not match the manifest (listed %[2]s bytes, SHA-256 %[3]s; now %[4]d bytes, %[5]s): the file was changed",
				name, size, sum, n, got))
		}
	}
	return problems, nil
}
