package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sampler"
	"minyi/signing"
	"minyi/survey"
)

// Request is one file to export and who asked for it.
type Request struct {
	Kind     string
	Wave     string
	Encoding csvfile.Encoding
	Options  Options
	// ActorID and Actor say who exports: a signed-in user, or a command or
	// the scheduler by name ("minyi export").
	ActorID int64
	Actor   string
	Via     string // web, command or schedule
	// Signer, when set, signs what is written (docs/evidence.md §5): a
	// file gets FILE.sig beside it, a run its manifest's signature.
	Signer *signing.Key
}

// File is one written file as its receiver can check it.
type File struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Rows   int    `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// audit records the export and returns its entry, which a signature
// names; extra adds what is known of the file.
func (r Request) audit(ctx context.Context, db *sqlx.DB, extra map[string]any) (core.Head, error) {
	d := map[string]any{"encoding": r.Encoding, "min_cell": r.Options.Threshold(), "via": r.Via}
	if r.Options.WithContacts {
		d["with_contacts"] = true
	}
	if r.Options.Header == HeaderLabels {
		d["header"] = string(HeaderLabels)
	}
	for k, v := range extra {
		d[k] = v
	}
	return core.AuditNowHead(context.WithoutCancel(ctx), db, core.AuditEntry{ActorID: r.ActorID, Actor: r.Actor, Action: "export",
		Subject: r.Kind + ":" + r.Wave, Details: d})
}

// seal folds the interviews stored so far into the chain before a signed
// export, so that the head its signature names covers them.
func (r Request) seal(ctx context.Context, db *sqlx.DB) error {
	if r.Signer == nil {
		return nil
	}
	_, err := survey.SealEvidence(context.WithoutCancel(ctx), db, r.Actor)
	return err
}

// statement is what the signature of this request's file says, but the
// file's own name, hash and size.
func (r Request) statement(head core.Head) signing.Statement {
	return signing.Statement{Kind: r.Kind, Wave: r.Wave, Chain: head}
}

// check fails when the kind or the wave does not exist.
func (r Request) check(ctx context.Context, db *sqlx.DB) error {
	if !Known(r.Kind) {
		return unknownKind(r.Kind)
	}
	if r.Options.WithContacts && r.Kind != "sample" {
		return core.Errorf(core.EInvalid, "只有样本文件（sample）可以带联系方式", "only the sample file can carry contacts")
	}
	_, err := sampler.GetWave(ctx, db, r.Wave)
	return err
}

// Begin checks and audits an export that is about to be streamed to a
// reader (a download), before any byte of it leaves, and returns its
// audit entry for the download's signature.
func Begin(ctx context.Context, db *sqlx.DB, r Request) (core.Head, error) {
	if err := r.check(ctx, db); err != nil {
		return core.Head{}, err
	}
	if err := r.seal(ctx, db); err != nil {
		return core.Head{}, err
	}
	return r.audit(ctx, db, nil)
}

// Write writes the file in the request's encoding and returns its data
// rows. Rows go out as they are made, so a failure midway leaves the output
// short.
func Write(ctx context.Context, db *sqlx.DB, r Request, out io.Writer) (int, error) {
	k, ok := kinds[r.Kind]
	if !ok {
		return 0, unknownKind(r.Kind)
	}
	if k.text != nil {
		return writeText(ctx, db, r, k, out)
	}
	w, err := csvfile.NewWriter(out, r.Encoding)
	if err != nil {
		return 0, err
	}
	rw := &rowWriter{Writer: w}
	if r.Options.Header == HeaderLabels {
		if rw.labels, err = labelsFor(ctx, db, r.Wave); err != nil {
			return 0, err
		}
	}
	n, err := k.write(ctx, db, r.Wave, rw, r.Options)
	if err != nil {
		return n, err
	}
	return n, w.Flush()
}

// ToFile writes the file at path. It is written beside path, audited with
// its rows and hash, and only then renamed into place, so that no reader
// ever sees half a file or an unrecorded one.
func ToFile(ctx context.Context, db *sqlx.DB, r Request, path string) (File, error) {
	if err := r.check(ctx, db); err != nil {
		return File{}, err
	}
	if err := r.seal(ctx, db); err != nil {
		return File{}, err
	}
	f := File{File: path, Kind: r.Kind}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".minyi-export-*")
	if err != nil {
		return f, fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeFile(tmp, func(w io.Writer) (int, error) { return Write(ctx, db, r, w) }, &f); err != nil {
		return f, err
	}
	head, err := r.audit(ctx, db, map[string]any{"file": path, "rows": f.Rows, "sha256": f.SHA256})
	if err != nil {
		return f, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return f, err
	}
	if r.Signer != nil {
		if _, err := r.Signer.SignFile(path, r.statement(head)); err != nil {
			return f, fmt.Errorf("export: sign %s: %w", path, err)
		}
	}
	return f, nil
}

// writeFile fills out with body through a SHA-256 and a byte count, syncs
// it to disk, closes it and records rows, size and hash in f.
func writeFile(out *os.File, body func(io.Writer) (int, error), f *File) error {
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(out, h)}
	n, err := body(cw)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	f.Rows, f.Bytes, f.SHA256 = n, cw.n, hex.EncodeToString(h.Sum(nil))
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// FileName is the name a file of a wave goes by, in downloads, the outbox
// and `minyi export` without -o: kind-wave-encoding.csv, so that the UTF-8
// and GB18030 copies of a file are told apart by name (and never overwrite
// each other in a folder). Characters of the wave name that a path cannot
// carry safely become _.
func FileName(kind, wave string, enc csvfile.Encoding) string {
	if kind == "spss" {
		// The syntax goes by the name of the data it reads.
		return "responses-" + unsafePath.ReplaceAllString(wave, "_") + "-" + EncodingTag(enc) + ".sps"
	}
	return kind + "-" + unsafePath.ReplaceAllString(wave, "_") + "-" + EncodingTag(enc) + ".csv"
}

// ContentType is the media type of a kind of file in an encoding.
func ContentType(kind string, enc csvfile.Encoding) string {
	if kind == "spss" {
		return "text/plain; charset=" + string(enc)
	}
	return "text/csv; charset=" + string(enc)
}

// writeText writes a file that is not a CSV in the request's encoding.
func writeText(ctx context.Context, db *sqlx.DB, r Request, k kind, out io.Writer) (int, error) {
	if r.Encoding != csvfile.GB18030 {
		// The byte-order mark tells SPSS (and Notepad) the file is UTF-8.
		if _, err := io.WriteString(out, "\ufeff"); err != nil {
			return 0, err
		}
		return k.text(ctx, db, r.Wave, r.Encoding, out)
	}
	w := transform.NewWriter(out, simplifiedchinese.GB18030.NewEncoder())
	n, err := k.text(ctx, db, r.Wave, r.Encoding, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// EncodingTag is an encoding as a file name states it: utf8 or gb18030.
func EncodingTag(enc csvfile.Encoding) string {
	if enc == csvfile.GB18030 {
		return "gb18030"
	}
	return "utf8"
}
