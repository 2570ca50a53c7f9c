package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/signing"
	"minyi/survey"
)

// publishScores publishes a wave's scores and signs the publication; with
// out, it writes the published CSV there with its signature beside it, for
// the office to check with minyi verify (docs/evidence.md §5).
func publishScores(ctx context.Context, e *cli.Env, db *sqlx.DB, wave, out string) error {
	key, err := signer(e, keysDir())
	if err != nil {
		return err
	}
	p, err := survey.PublishScores(ctx, db, wave, "minyi scores --publish")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已发布 / published the scores of %s at %s (sha256 %s, audit entry %d)\n", wave, p.PublishedAt.In(core.Shanghai).Format("2006-01-02 15:04:05"), p.SHA256, p.Head.Seq)
	st := signing.Statement{Kind: "publication", Wave: wave, Ref: fmt.Sprintf("publication:%d", p.ID), Chain: p.Head}
	if out == "" {
		// Signed all the same: the head goes among the anchors.
		st.File, st.SHA256, st.Bytes = fmt.Sprintf("publication-%d.csv", p.ID), p.SHA256, int64(len(p.LongCSV))
		return key.Anchor(key.Sign(st))
	}
	if err := os.WriteFile(out, []byte(p.LongCSV), 0o644); err != nil {
		return err
	}
	if _, err := key.SignFile(out, st); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已写入 / wrote %s,签名 / signed in %s\n", out, out+signing.SigSuffix)
	return nil
}

// sayLive says whether the live scores are those last published, and
// which districts differ.
func sayLive(w io.Writer, d *survey.LiveDiff) {
	if d == nil {
		return
	}
	at := d.Published.PublishedAt.In(core.Shanghai).Format("2006-01-02 15:04")
	if len(d.Districts) == 0 {
		fmt.Fprintf(w, "实时得分与 %s 发布的一致 / the live scores are those published at %s\n", at, at)
		return
	}
	list := strings.Join(d.Districts, ", ")
	fmt.Fprintf(w, "实时得分与 %s 发布的不同,涉及区县 / the live scores differ from those published at %s in: %s\n", at, at, list)
}
