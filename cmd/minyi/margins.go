package main

import (
	"context"
	"fmt"

	"minyi/cmd/internal/cli"
	"minyi/sampler"
)

func cmdMargins(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "import")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "margins import", "margins import FILE   (CSV: district_code,variable,category,population)")
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	f, err := oneFile(fs, pos)
	if err != nil {
		return err
	}
	defer f.Close()
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	read, n, err := sampler.ImportMargins(ctx, db.DB, f, sampler.Upload{Actor: osActor("minyi margins import"), File: f.Name()})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "读取 %d 行,新增或更新 %d 行 / read %d rows, %d added or changed\n", read, n, read, n)
	return nil
}
