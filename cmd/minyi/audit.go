package main

import (
	"context"
	"errors"
	"fmt"

	"minyi/cmd/internal/cli"
	"minyi/core"
)

func cmdAudit(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "verify")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "audit verify", "audit verify   (recompute the audit log's hash chain)")
	if _, err := cli.Parse(fs, rest); err != nil {
		return err
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := core.VerifyAudit(ctx, db.DB)
	if err != nil {
		return err
	}
	if len(rep.Problems) == 0 {
		fmt.Fprintf(e.Stdout, "审计日志完好:%d 条,哈希链无断裂 / the audit log is intact: %d entries, hash chain unbroken\n", rep.Entries, rep.Entries)
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(e.Stdout, p)
	}
	return errors.New("审计日志被改动 / the audit log has been tampered with")
}
