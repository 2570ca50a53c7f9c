package main

import (
	"context"
	"fmt"
	"os"

	"minyi/sampler"
)

func cmdMargins(ctx context.Context, e *env, args []string) error {
	_, rest, err := subcommand(args, "import")
	if err != nil {
		return err
	}
	fs := newFlags(e, "margins import", "margins import FILE   (CSV: district_code,variable,category,population)")
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{"需要一个文件 / needs one FILE"}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	db, err := openDB(e, true)
	if err != nil {
		return err
	}
	defer db.Close()
	ds, err := sampler.ListDistricts(ctx, db.DB)
	if err != nil {
		return err
	}
	ms, err := sampler.ParseMargins(f, sampler.DistrictSet(ds))
	if err != nil {
		return err
	}
	n, err := sampler.SaveMargins(ctx, db.DB, ms)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "读取 %d 行,新增或更新 %d 行 / read %d rows, %d added or changed\n", len(ms), n, len(ms), n)
	return nil
}
