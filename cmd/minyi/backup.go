package main

import (
	"context"
	"fmt"

	"minyi/cmd/internal/cli"
	"minyi/sql/pg"
)

func cmdBackup(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "backup", "backup FILE   (pg_dump custom format of the whole database)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return cli.UsageError("需要一个文件 / needs one FILE")
	}
	if err := pg.Backup(ctx, pg.ConfigFromEnv(), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已备份到 / backed up to %s\n", pos[0])
	return nil
}

func cmdRestore(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "restore", "restore FILE   (replaces the database with a backup; stop the servers first)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return cli.UsageError("需要一个文件 / needs one FILE")
	}
	cfg := pg.ConfigFromEnv()
	if err := pg.Restore(ctx, cfg, pos[0]); err != nil {
		return err
	}
	db, err := cli.OpenDB(false)
	if err != nil {
		return err
	}
	defer db.Close()
	v, _ := pg.SchemaVersion(db.DB)
	fmt.Fprintf(e.Stdout, "已从 %s 恢复(数据库结构版本 %d)/ restored from %s (schema version %d)\n", pos[0], v, pos[0], v)
	if v < pg.LatestVersion() {
		fmt.Fprintln(e.Stdout, "备份来自旧版本:请运行 minyi migrate / the backup is from an older version: run minyi migrate")
	}
	return nil
}
