package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"minyi/cmd/internal/cli"
	"minyi/csvfile"
	"minyi/sampler"
)

// maxPrintedProblems keeps the terminal readable; the full list (up to
// sampler.MaxStoredProblems) is stored with the import for the admin pages.
const maxPrintedProblems = 50

func cmdFrame(ctx context.Context, e *cli.Env, args []string) error {
	sub, rest, err := subcommand(args, "import", "rdd")
	if err != nil {
		return err
	}
	if sub == "rdd" {
		return cmdFrameRDD(ctx, e, rest)
	}
	return cmdFrameImport(ctx, e, rest)
}

func cmdFrameImport(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "frame import", "frame import --kind phone|household [--encoding auto|utf-8|gb18030] FILE\n"+
		"  phone:     CSV phone[,district_code]\n"+
		"  household: CSV district_code,street,community,household_id,address[,street_size,community_size]")
	kind := fs.String("kind", "", "抽样框类型 / frame kind: phone or household")
	encoding := fs.String("encoding", "auto", "文件编码 / file encoding: auto, utf-8 or gb18030")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if err := cli.Need(fs, "kind"); err != nil {
		return err
	}
	if *kind != "phone" && *kind != "household" {
		fs.Usage()
		return cli.UsageError(fmt.Sprintf("--kind 须为 phone 或 household:%q / --kind must be phone or household: %q", *kind, *kind))
	}
	enc, err := csvfile.ParseReadEncoding(*encoding)
	if err != nil {
		return cli.UsageError(err.Error())
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
	opt := sampler.ImportOptions{Encoding: enc, FileName: filepath.Base(pos[0])}
	var rep sampler.FrameReport
	if *kind == "phone" {
		rep, err = sampler.ImportPhoneFrame(ctx, db.DB, f, opt)
	} else {
		rep, err = sampler.ImportHouseholdFrame(ctx, db.DB, f, opt)
	}
	printFrameReport(e, rep, err == nil)
	return err
}

// printFrameReport prints the counts and the first problems. A failed
// import prints what was found so far, so that the file can be fixed in
// one go.
func printFrameReport(e *cli.Env, rep sampler.FrameReport, imported bool) {
	if rep.Encoding != "" {
		fmt.Fprintf(e.Stdout, "编码 / encoding: %s\n", rep.Encoding)
	}
	if imported {
		fmt.Fprintf(e.Stdout, "读取 %d 行:导入 %d(其中修正 %d),拒绝 %d,重复 %d / read %d rows: kept %d (fixed %d), rejected %d, duplicates %d\n",
			rep.Read, rep.Kept, rep.Fixed, rep.Rejected, rep.Duplicates, rep.Read, rep.Kept, rep.Fixed, rep.Rejected, rep.Duplicates)
	} else {
		fmt.Fprintf(e.Stdout, "读取 %d 行,拒绝 %d 行;未导入任何行 / read %d rows, rejected %d; nothing was imported\n",
			rep.Read, rep.Rejected, rep.Read, rep.Rejected)
	}
	shown := min(len(rep.Problems), maxPrintedProblems)
	for _, p := range rep.Problems[:shown] {
		fmt.Fprintf(e.Stdout, "第 %d 行 / line %d: %s\n", p.Line, p.Line, p.Reason())
	}
	if more := rep.Rejected + rep.Duplicates - shown; more > 0 && imported {
		fmt.Fprintf(e.Stdout, "……另有 %d 个问题未列出 / … and %d more problems\n", more, more)
	} else if more := len(rep.Problems) - shown; more > 0 {
		fmt.Fprintf(e.Stdout, "……另有 %d 个问题未列出 / … and %d more problems\n", more, more)
	}
}

func cmdFrameRDD(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "frame rdd", "frame rdd --count N --seed S [--prefixes 1390230,1390231]")
	count := fs.Int("count", 0, "生成号码数 / how many numbers to generate")
	seed := fs.Int64("seed", 0, "随机种子(正整数)/ random seed (positive integer)")
	prefixes := fs.String("prefixes", "", "7 位手机号段,逗号分隔,默认重庆号段 / 7-digit mobile prefixes, comma-separated (default: Chongqing's)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *count <= 0 {
		fs.Usage()
		return cli.UsageError("--count 必须是正整数 / --count must be a positive integer")
	}
	if *seed <= 0 {
		fs.Usage()
		return cli.UsageError("--seed 必须是正整数 / --seed must be a positive integer")
	}
	blocks := sampler.ChongqingMobilePrefixes
	if strings.TrimSpace(*prefixes) != "" {
		blocks = strings.Split(*prefixes, ",")
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := sampler.GenerateRDD(ctx, db.DB, blocks, *count, *seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已生成 %d 个号码(%d 个号段,种子 %d),加入全市层 / generated %d numbers (%d prefixes, seed %d) into the city-wide stratum\n",
		rep.Kept, len(blocks), *seed, rep.Kept, len(blocks), *seed)
	return nil
}
