package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/sampler"
)

func cmdSample(ctx context.Context, e *cli.Env, args []string) error {
	sub, rest, err := subcommand(args, "draw", "verify", "replicates")
	if err != nil {
		return err
	}
	switch sub {
	case "draw":
		return cmdSampleDraw(ctx, e, rest)
	case "verify":
		return cmdSampleVerify(ctx, e, rest)
	case "replicates":
		return cmdSampleReplicates(ctx, e, rest)
	}
	return cli.UsageError(fmt.Sprintf("未知子命令 %q(可用 draw、verify、replicates)/ unknown subcommand %q (draw, verify, replicates)", sub, sub))
}

func cmdSampleDraw(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "sample draw", "sample draw --wave NAME --seed N")
	wave := fs.String("wave", "", "轮次 / wave")
	seed := fs.Int64("seed", 0, "随机种子(正整数)/ random seed (positive integer)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := cli.Need(fs, "wave"); err != nil {
		return err
	}
	if *seed <= 0 {
		return cli.UsageError("--seed 必须是正整数 / --seed must be a positive integer")
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := core.AuditNow(ctx, db.DB, core.AuditEntry{Actor: "minyi sample draw", Action: "draw", Subject: *wave, Details: map[string]int64{"seed": *seed}}); err != nil {
		return err
	}
	rep, err := sampler.Draw(ctx, db.DB, *wave, *seed)
	if err != nil {
		return err
	}
	printDraw(e, rep)
	return nil
}

func printDraw(e *cli.Env, rep *sampler.DrawReport) {
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "code\tdistrict\tpopulation\ttarget\tdoor target\treleased\tdoor released\texcluded\t")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.District, r.Name, r.Population, r.Target, r.DoorTarget,
			r.Released, r.DoorReleased, r.Excluded)
	}
	if rep.CityWide > 0 {
		fmt.Fprintf(tw, "CITY\t全市 city-wide\t\t\t\t%d\t\t\t\n", rep.CityWide)
	}
	fmt.Fprintf(tw, "ALL\t\t\t%d\t%d\t%d\t%d\t%d\t\n", rep.Target, rep.DoorTarget, rep.Released, rep.DoorReleased, rep.Excluded)
	tw.Flush()
	alg := fmt.Sprintf("%s v%d", rep.Algorithm, rep.Version)
	if rep.DoorAlgorithm != "" && rep.DoorAlgorithm != rep.Algorithm {
		alg += fmt.Sprintf(" + %s v%d", rep.DoorAlgorithm, rep.DoorVersion)
	}
	fmt.Fprintf(e.Stdout, "轮次 / wave %s: 种子 / seed %d, 算法 / algorithm %s, 抽样框校验和 / frame checksum %s\n",
		rep.Wave, rep.Seed, alg, rep.FrameChecksum)
	fmt.Fprintf(e.Stdout, "样本批次 / replicates: %d; 因近期受访而排除 / left out as recently interviewed: %d\n", rep.Replicates, rep.Excluded)
	if len(rep.Short) > 0 {
		fmt.Fprintf(e.Stdout, "注意:以下区县电话抽样框不足,已全部发放 / note: telephone frame smaller than the release in: %s\n", strings.Join(rep.Short, ", "))
	}
	if rep.CityShort {
		fmt.Fprintln(e.Stdout, "注意:全市号码分层不足,已全部发放 / note: the city-wide stratum is smaller than its release; all of it was released")
	}
	if len(rep.DoorShort) > 0 {
		fmt.Fprintf(e.Stdout, "注意:以下区县住户抽样框不足 / note: household frame could not supply the release in: %s\n", strings.Join(rep.DoorShort, ", "))
	}
}

// maxShownDifferences keeps the output of a badly changed draw readable;
// the count of the rest is printed.
const maxShownDifferences = 200

func cmdSampleVerify(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "sample verify", "sample verify --wave NAME")
	wave := fs.String("wave", "", "轮次 / wave")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := cli.Need(fs, "wave"); err != nil {
		return err
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := sampler.Verify(ctx, db.DB, *wave)
	if err != nil {
		return err
	}
	if rep.Identical() {
		fmt.Fprintln(e.Stdout, "identical")
		return nil
	}
	for i, d := range rep.Differences {
		if i == maxShownDifferences {
			fmt.Fprintf(e.Stdout, "…… 另有 %d 处 / … and %d more\n", len(rep.Differences)-i, len(rep.Differences)-i)
			break
		}
		fmt.Fprintln(e.Stdout, d)
	}
	// EConflict maps to exit status 1: the stored sample and the frame
	// disagree, which is not a usage mistake.
	return core.Errorf(core.EConflict, "复核发现 %d 处差异(缺少 %d,多出 %d,改变 %d)",
		"verification found %d differences (%d missing, %d extra, %d changed cases)",
		len(rep.Differences), rep.Missing, rep.Extra, rep.Changed)
}

func cmdSampleReplicates(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "sample replicates", "sample replicates --wave NAME [--open-next [--threshold 0.8] | --open DISTRICT]")
	wave := fs.String("wave", "", "轮次 / wave")
	next := fs.Bool("open-next", false, "按完成比例开放下一批 / open the next replicates that are due")
	threshold := fs.Float64("threshold", 0, "开放阈值(默认取轮次设置)/ opening threshold (default: the wave's setting)")
	open := fs.String("open", "", "手动开放该区县的下一批(全市分层用 CITY)/ open the next replicate of this district by hand (CITY for the city-wide stratum)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := cli.Need(fs, "wave"); err != nil {
		return err
	}
	if *next && *open != "" {
		return cli.UsageError("--open-next 与 --open 只能选一个 / use either --open-next or --open")
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case *next:
		rs, err := sampler.OpenNextReplicates(ctx, db.DB, *wave, *threshold)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "已开放 %d 个样本批次 / opened %d replicates\n", len(rs), len(rs))
	case *open != "":
		d := *open
		if d == "CITY" {
			d = ""
		}
		r, err := sampler.OpenReplicate(ctx, db.DB, *wave, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "已开放 / opened replicate %d of %s\n", r.Number, *open)
	}
	rs, err := sampler.Replicates(ctx, db.DB, *wave)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "district\treplicate\tcases\tfinal\topened\t")
	for _, r := range rs {
		d := r.District
		if d == "" {
			d = "CITY"
		}
		opened := "-"
		if r.Open() {
			opened = r.OpenedAt.Format("2006-01-02 15:04") + " " + r.OpenedBy
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", d, r.Number, r.Cases, r.Final, opened)
	}
	return tw.Flush()
}
