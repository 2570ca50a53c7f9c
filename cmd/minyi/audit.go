package main

import (
	"context"
	"errors"
	"fmt"

	"minyi/cmd/internal/cli"
	"minyi/evidence"
	"minyi/signing"
)

func cmdAudit(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "verify")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "audit verify", "audit verify [--anchor FILE.sig]… [--keys DIR]   (recompute the audit chain and check the evidence it records)")
	var sigs stringList
	fs.Var(&sigs, "anchor", "签名文件:审计链须仍含其中签名的那一条,可多次 / a signature whose chain entry the log must still hold; may repeat")
	dir := fs.String("keys", keysDir(), "密钥目录,其中 anchors.jsonl 记有服务器签过的链头 / keys directory, whose anchors.jsonl holds the chain heads the server signed")
	if _, err := cli.Parse(fs, rest); err != nil {
		return err
	}
	anchors, err := readAnchors(*dir, sigs)
	if err != nil {
		return err
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := evidence.Verify(ctx, db.DB, anchors)
	if err != nil {
		return err
	}
	if len(rep.Problems) == 0 {
		fmt.Fprintf(e.Stdout, "审计日志完好:%d 条,哈希链无断裂;%d 份访问、%d 个区县、%d 条普查边际、%d 次发布与记录一致;%d 个签名链头 / the audit log is intact: %d entries, hash chain unbroken; %d interviews, %d districts, %d margins and %d publications match what it records; %d signed heads hold\n",
			rep.Entries, rep.Interviews, rep.Districts, rep.Margins, rep.Published, rep.Anchors,
			rep.Entries, rep.Interviews, rep.Districts, rep.Margins, rep.Published, rep.Anchors)
		if rep.Pending > 0 {
			fmt.Fprintf(e.Stdout, "另有 %d 条访问证据尚未封存进审计链(服务器每分钟封存一次)/ %d evidence rows are not sealed into the chain yet (servers seal every minute)\n", rep.Pending, rep.Pending)
		}
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(e.Stdout, p)
	}
	return errors.New("审计日志或其记录的证据被改动 / the audit log, or the evidence it records, has been tampered with")
}

// readAnchors gathers the signed chain heads: those the server kept in dir
// and those of the signature files given.
func readAnchors(dir string, sigs []string) ([]evidence.Anchor, error) {
	kept, err := signing.ReadAnchors(dir)
	if err != nil {
		return nil, err
	}
	var out []evidence.Anchor
	for _, s := range kept {
		out = append(out, evidence.Anchor{Head: s.Chain, SignedAt: s.SignedAt, What: signing.AnchorsFile})
	}
	for _, p := range sigs {
		s, err := signing.ReadSig(p)
		if err == nil {
			err = s.Check(nil)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, evidence.Anchor{Head: s.Chain, SignedAt: s.SignedAt, What: p})
	}
	return out, nil
}
