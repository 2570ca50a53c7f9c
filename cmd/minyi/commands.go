package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/csvfile"
	"minyi/dialer"
	"minyi/evidence"
	"minyi/export"
	"minyi/sampler"
	"minyi/signing"
	"minyi/sql/pg"
	"minyi/survey"
	"minyi/users"
)

func cmdMigrate(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "migrate", "migrate [--app-role ROLE]   (as the schema's owner: DATABASE_OWNER_URL, else DATABASE_URL)")
	appRole := fs.String("app-role", "", "服务器连接所用的角色:授予其所需权限并检查 / the role the server connects as: grant it what it needs and check it (embedded cluster: "+pg.AppRole+")")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	db, err := cli.OpenOwner()
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := pg.Migrate(db.DB)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(e.Stdout, "数据库结构已是最新(版本 %d)/ schema is up to date (version %d)\n", pg.LatestVersion(), pg.LatestVersion())
	} else {
		fmt.Fprintf(e.Stdout, "已应用迁移 / applied migrations: %v;数据库结构版本 / schema version %d\n", applied, pg.LatestVersion())
	}
	return checkAppRole(e, db, *appRole)
}

// checkAppRole grants the server's role what it needs after a migration
// and reports what is still wrong with it (docs/evidence.md §8).
func checkAppRole(e *cli.Env, db *pg.DB, role string) error {
	if role == "" && db.Cluster != nil {
		role = pg.AppRole
	}
	if role == "" {
		fmt.Fprintln(e.Stdout, "提示:用 --app-role ROLE 授予并检查服务器所用角色的权限(见 README)/ hint: --app-role ROLE grants and checks the privileges of the role the server connects as (see the README)")
		return nil
	}
	if err := pg.GrantApp(db.DB, role); err != nil {
		return err
	}
	problems, err := pg.CheckApp(db.DB, role)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintf(e.Stdout, "服务器角色 %[1]s 的权限正确 / the server's role %[1]s has what it needs and no more\n", role)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(e.Stdout, p)
	}
	return core.Errorf(core.EInvalid, "服务器角色 %s 的权限不对,见上", "the server's role %s is not as it should be: see above", role)
}

func cmdUsers(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "add")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "users add", "users add USERNAME --role admin|supervisor|interviewer|field_interviewer|office [--name NAME] [--password-stdin] [--refusal-converter]")
	role := fs.String("role", "", "角色 / role")
	converter := fs.Bool("refusal-converter", false, "拒访转化员:回拨婉拒的样本 / refusal converter: calls soft refusals back")
	name := fs.String("name", "", "姓名 / display name")
	stdin := fs.Bool("password-stdin", false, "从标准输入读取密码,否则随机生成并打印 / read the password from stdin, else generate and print one")
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return cli.UsageError("需要一个用户名 / needs one USERNAME")
	}
	if err := cli.Need(fs, "role"); err != nil {
		return err
	}
	password := ""
	if *stdin {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return cli.UsageError("无法从标准输入读取密码 / cannot read the password from stdin")
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password = newPassword()
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	created, err := users.Add(ctx, db.DB, pos[0], *name, password, users.Role(*role))
	if err != nil {
		return err
	}
	if !created {
		return core.Errorf(core.EConflict, "用户 %q 已存在", "user %q already exists", pos[0])
	}
	if *converter {
		var id int64
		if err := db.GetContext(ctx, &id, `SELECT id FROM users WHERE username = $1`, pos[0]); err != nil {
			return err
		}
		if _, err := users.SetRefusalConverter(ctx, db.DB, id, true); err != nil {
			return err
		}
	}
	if err := core.AuditNow(ctx, db.DB, core.AuditEntry{Actor: "minyi users add", Action: "user-add", Subject: pos[0],
		Details: map[string]string{"role": *role, "refusal_converter": strconv.FormatBool(*converter)}}); err != nil {
		return err
	}
	if *stdin {
		fmt.Fprintf(e.Stdout, "已添加用户 / added user %s (%s)\n", pos[0], *role)
	} else {
		fmt.Fprintf(e.Stdout, "已添加用户 / added user %s (%s),密码 / password: %s\n", pos[0], *role, password)
	}
	return nil
}

// newPassword makes a password people can read aloud and type.
func newPassword() string {
	b := make([]byte, 9)
	rand.Read(b)
	return strings.NewReplacer("-", "x", "_", "y").Replace(base64.RawURLEncoding.EncodeToString(b))
}

func cmdDistricts(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "import")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "districts import", "districts import FILE [--reason TEXT]   (CSV: code,name,resident_population)")
	reason := fs.String("reason", "", "更改人口的原因,得分发布后必填,记入审计日志 / why populations change: required once scores are published, kept in the audit log")
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
	read, n, err := sampler.ImportDistricts(ctx, db.DB, f, sampler.Upload{Actor: osActor("minyi districts import"), File: f.Name(), Reason: *reason})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "读取 %d 个区县,新增或更新 %d 个 / read %d districts, %d added or changed\n", read, n, read, n)
	return nil
}

func cmdWave(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "create")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "wave create", "wave create NAME [--rate 0.002] [--modes phone,door] [--min 2] [--expected 0.5] [--calling-hours 09:00-21:00] [--calling-days mon-sun] [--max-attempts 6] …")
	rate := fs.Float64("rate", 0.002, "抽样比例 / sampling rate")
	modes := fs.String("modes", "phone", "调查方式 / modes: phone, door or phone,door")
	min := fs.Int("min", 2, "每区县最少完成数 / minimum completes per district")
	expected := fs.Float64("expected", 0.5, "预期完成率 / expected completion rate")
	doorShare := fs.Float64("door-share", -1, "两种方式时入户所占比例(默认 0.5)/ share of door-to-door with both modes (default 0.5)")
	hh := fs.Int("households-per-community", 10, "每个社区抽取的住户数 / households drawn per community")
	comm := fs.Int("communities-per-street", 2, "每个街道抽取的社区数 / communities drawn per street")
	repSize := fs.Int("replicate-size", 0, "样本批次大小(0:每区县一批)/ replicate size (0: one per district)")
	repThreshold := fs.Float64("replicate-threshold", 0.8, "已开放批次结案达到此比例时开放下一批 / open the next replicate when this share of open cases is final")
	freshness := fs.Int("freshness-months", 0, "排除最近 K 个月受访过的对象(0:不排除)/ leave out units interviewed in the last K months (0: off)")
	assessment := fs.Float64("assessment-weight", 0.30, "民调在区县领导班子考核中的权重 / the poll's weight in the leadership assessment")
	districtRates := fs.String("district-rates", "", "各区县预期完成率,例如 500101=0.4,500102=0.6 / per-district expected completion rates")
	def := dialer.DefaultRules
	hours := fs.String("calling-hours", def.HoursText(), "拨打时段(北京时间)/ calling hours, Asia/Shanghai, e.g. 09:00-21:00")
	days := fs.String("calling-days", def.DaysText(), "拨打日,如 mon-fri 或 1-5,7 / calling days, e.g. mon-fri or 1-5,7")
	grace := fs.Int("appointment-grace", def.GraceMinutes, "预约在约定时间后保留给预约访员的分钟数 / minutes an appointment stays with its maker after its time")
	maxAttempts := fs.Int("max-attempts", def.MaxAttempts, "每个样本最多拨打次数 / maximum attempts per case")
	retryBusy := fs.Duration("retry-busy", time.Duration(def.RetryBusy)*time.Minute, "占线后重拨间隔 / delay after a busy line")
	retryNoAnswer := fs.Duration("retry-no-answer", time.Duration(def.RetryNoAnswer)*time.Minute, "无人接听后重拨间隔 / delay after no answer")
	retrySoft := fs.Duration("retry-soft-refusal", time.Duration(def.RetrySoftRefusal)*time.Minute, "婉拒后转化员再访间隔 / delay before a converter calls a soft refusal")
	verifyShare := fs.Float64("verify-share", def.VerifyShare, "每位访员完成访问的回访比例 / share of each interviewer's completes called back to verify")
	quotaSexAge := fs.Bool("quota-by-sex-age", false, "配额再按性别×年龄组 / quotas also by sex × age group")
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	rules := dialer.Rules{GraceMinutes: *grace, MaxAttempts: *maxAttempts, RetryBusy: int(retryBusy.Minutes()),
		RetryNoAnswer: int(retryNoAnswer.Minutes()), RetrySoftRefusal: int(retrySoft.Minutes()), VerifyShare: *verifyShare, QuotaBySexAge: *quotaSexAge}
	if rules.From, rules.To, err = dialer.ParseHours(*hours); err != nil {
		return err
	}
	if rules.Days, err = dialer.ParseDays(*days); err != nil {
		return err
	}
	if err := rules.Check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return cli.UsageError("需要一个轮次名称 / needs one NAME")
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	qid, err := survey.SaveQuestionnaire(ctx, db.DB, survey.Default())
	if err != nil {
		return err
	}
	spec := sampler.WaveSpec{Name: pos[0], Rate: *rate, Modes: strings.Split(*modes, ","),
		MinPerDistrict: *min, ExpectedRate: *expected, QuestionnaireID: qid, AssessmentWeight: *assessment,
		Design: &sampler.Design{HouseholdsPerCommunity: *hh, CommunitiesPerStreet: *comm, ReplicateSize: *repSize,
			ReplicateThreshold: *repThreshold, FreshnessMonths: *freshness}}
	if *doorShare >= 0 {
		spec.DoorShare = doorShare
	}
	if spec.DistrictRates, err = parseDistrictRates(*districtRates); err != nil {
		return err
	}
	w, err := sampler.CreateWave(ctx, db.DB, spec)
	if err != nil {
		return err
	}
	if err := dialer.SetRules(ctx, db.DB, w.ID, rules); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已创建轮次 / created wave %s (rate %g, modes %s, calling %s %s, at most %d attempts)\n",
		w.Name, w.Rate, strings.Join(w.Modes, ","), rules.HoursText(), rules.DaysText(), rules.MaxAttempts)
	return nil
}

func cmdResponses(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "import")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "responses import", "responses import --wave NAME [--allow-weights REASON] FILE")
	wave := fs.String("wave", "", "轮次 / wave")
	allow := fs.String("allow-weights", "", fmt.Sprintf("超出合理范围（文件权重中位数的 1/%[1]d 到 %[1]d 倍）的权重也导入，并写明理由（记入审计日志）/ import weights outside the plausible range (1/%[1]d to %[1]d times the file's median weight) too, for this reason (audited)", survey.WeightRange))
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	if err := cli.Need(fs, "wave"); err != nil {
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
	res, err := survey.ImportResponses(ctx, db.DB, *wave, f, survey.ImportOptions{AllowWeights: *allow, Actor: osActor("minyi responses import"), FileName: filepath.Base(f.Name())})
	if err != nil {
		if ie, ok := err.(*survey.ImportError); ok {
			return fmt.Errorf("文件有 %d 处错误,未导入任何行 / the file has %d problems; nothing was imported:\n%w", ie.Count(), ie.Count(), err)
		}
		return err
	}
	fmt.Fprintf(e.Stdout, "已导入 %d 份答卷，待督导复核 / imported %d interviews into wave %s, to be reviewed (sha256 %s)\n", res.Rows, res.Rows, *wave, res.SHA256)
	if res.Outside > 0 {
		fmt.Fprintf(e.Stdout, "其中 %d 份的权重超出合理范围，已按 --allow-weights 导入并记入审计日志 / %d of them have weights outside the plausible range, imported by --allow-weights and audited\n", res.Outside, res.Outside)
	}
	return nil
}

func cmdScores(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "scores", "scores --wave NAME [--long | --publish [-o FILE] | --check]")
	wave := fs.String("wave", "", "轮次 / wave")
	long := fs.Bool("long", false, "输出长格式 CSV / print the long-form CSV")
	publish := fs.Bool("publish", false, "计算并存档为已发布的得分 / compute and store the scores as published")
	out := fs.String("o", "", "发布时把得分写入此文件并签名(FILE.sig)/ with --publish: write the published scores to FILE, signed (FILE.sig)")
	check := fs.Bool("check", false, "重新计算并与已发布的得分比对 / recompute and compare with the published scores")
	db, _, err := cli.OpenWith(fs, args, "wave")
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case *publish:
		return publishScores(ctx, e, db.DB, *wave, *out)
	case *check:
		// The publication itself first: a CSV rewritten in the database
		// together with its sha256 would otherwise compare as published.
		if problems, err := evidence.PublicationProblems(ctx, db.DB, *wave); err != nil {
			return err
		} else if len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(e.Stdout, p)
			}
			return errors.New("发布的得分在数据库中被改动 / the published scores were changed in the database")
		}
		chk, err := survey.CheckScores(ctx, db.DB, *wave)
		if err != nil {
			return err
		}
		if chk.Identical {
			fmt.Fprintf(e.Stdout, "identical: 重新计算的得分与 %s 发布的完全一致 / the recomputed scores are exactly those published at %s\n",
				chk.Published.PublishedAt.In(core.Shanghai).Format("2006-01-02 15:04"), chk.Published.PublishedAt.In(core.Shanghai).Format("2006-01-02 15:04"))
			return nil
		}
		for _, d := range chk.Differences {
			fmt.Fprintln(e.Stdout, d)
		}
		return errors.New("重新计算的得分与发布的不同 / the recomputed scores differ from those published")
	}
	sc, err := survey.ScoreWaveNamed(ctx, db.DB, *wave)
	if err != nil {
		return err
	}
	live, err := survey.CompareWithPublication(ctx, db.DB, *wave, sc)
	if err != nil {
		return err
	}
	if *long {
		// The CSV alone on standard output; the note beside it.
		sayLive(e.Stderr, live)
		return survey.WriteScoresLong(e.Stdout, sc.Estimates)
	}
	defer sayLive(e.Stdout, live)
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "code\tdistrict\tn\tscore\t95% CI\trank\trank range")
	for _, d := range sc.Districts {
		est := sc.Composite(d.Code)
		row := []string{d.Code, d.Name, "0", "", "", "", ""}
		if est != nil {
			row[2] = fmt.Sprint(est.N)
			if est.HasScore {
				row[3] = fmt.Sprintf("%.2f", est.Score)
			}
			if est.HasSE {
				row[4] = fmt.Sprintf("%.2f–%.2f", est.CILow, est.CIHigh)
			} else if est.HasScore {
				row[4] = "n/a"
			}
		}
		if r := sc.RankOf(d.Code); r != nil {
			row[5], row[6] = fmt.Sprint(r.Rank), fmt.Sprintf("%d–%d", r.RankLow, r.RankHigh)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// exportKinds are the files minyi export writes (the same as the web's).
var exportKinds = export.Kinds

func cmdRates(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "rates", "rates --wave NAME   (AAPOR outcome rates per district and ALL, as CSV)")
	wave := fs.String("wave", "", "轮次 / wave")
	db, _, err := cli.OpenWith(fs, args, "wave")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := export.WaveRates(ctx, db.DB, *wave)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(e.Stdout)
	if err := export.WriteRates(cw, rows); err != nil {
		return err
	}
	cw.Flush()
	fmt.Fprintln(e.Stderr, dialer.EstimateNote)
	return cw.Error()
}

func cmdExport(ctx context.Context, e *cli.Env, args []string) error {
	kind, rest, err := subcommand(args, exportKinds...)
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "export "+kind, "export "+strings.Join(exportKinds, "|")+" --wave NAME [-o FILE] [--encoding utf-8|gb18030] [--header codes|labels] [--min-cell K] [--with-contacts (sample only)]")
	wave := fs.String("wave", "", "轮次 / wave")
	out := fs.String("o", "", "输出文件，默认为 类型-轮次-编码.csv / output file, by default kind-wave-encoding.csv")
	encoding := fs.String("encoding", "utf-8", "编码 / encoding: utf-8 (with BOM) or gb18030")
	header := fs.String("header", "codes", "列名 / column names: codes (代码) or labels (中文标签)")
	minCell := fs.Int("min-cell", survey.MinCell, "访问数少于此数的分组不显示估计值 / breakdowns with fewer interviews than this are suppressed")
	contacts := fs.Bool("with-contacts", false, "样本文件附带电话号码和地址（记入审计日志）/ add telephone numbers and addresses to the sample file (audited)")
	if _, err := cli.Parse(fs, rest); err != nil {
		return err
	}
	if *contacts && kind != "sample" {
		return cli.UsageError("--with-contacts 只能用于 sample / --with-contacts is for the sample file only")
	}
	if err := cli.Need(fs, "wave"); err != nil {
		return err
	}
	if *minCell < 1 {
		return cli.UsageError(fmt.Sprintf("--min-cell 须至少为 1 / --min-cell must be at least 1: %d", *minCell))
	}
	enc, err := csvfile.ParseEncoding(*encoding)
	if err != nil {
		return cli.UsageError(err.Error())
	}
	hdr, ok := export.ParseHeader(*header)
	if !ok {
		return cli.UsageError(fmt.Sprintf("--header 只能是 codes 或 labels / --header must be codes or labels: %s", *header))
	}
	if *out == "" {
		*out = export.FileName(kind, *wave, enc)
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := signer(e, keysDir())
	if err != nil {
		return err
	}
	f, err := export.ToFile(ctx, db.DB, export.Request{Kind: kind, Wave: *wave, Encoding: enc,
		Options: export.Options{MinCell: *minCell, WithContacts: *contacts, Header: hdr}, Actor: "minyi export", Via: "command", Signer: key}, *out)
	if err != nil {
		return err
	}
	rows := f.Rows
	fmt.Fprintf(e.Stdout, "已导出 %d 行 / exported %d rows to %s,签名 / signed in %s\n", rows, rows, *out, *out+signing.SigSuffix)
	return nil
}

func cmdCluster(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "stop")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "cluster stop", "cluster stop [--data DIR]")
	data := fs.String("data", pg.ConfigFromEnv().DataDir, "数据目录 / data directory (MINYI_DATA)")
	if _, err := cli.Parse(fs, rest); err != nil {
		return err
	}
	c, err := pg.AttachCluster(*data)
	if err != nil {
		return err
	}
	if c == nil {
		fmt.Fprintln(e.Stdout, "内置数据库未运行 / the embedded PostgreSQL is not running")
		return nil
	}
	if err := c.ForceStop(); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, "内置数据库已停止 / the embedded PostgreSQL is stopped")
	return nil
}

// parseDistrictRates reads "500101=0.4,500102=0.6".
func parseDistrictRates(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		code, val, ok := strings.Cut(part, "=")
		r, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || err != nil {
			return nil, cli.UsageError(fmt.Sprintf("--district-rates 的 %q 应写成 代码=比例 / %q in --district-rates should be CODE=RATE", part, part))
		}
		out[strings.TrimSpace(code)] = r
	}
	return out, nil
}
