package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/survey"
	"minyi/users"
	"minyi/web"
)

// DemoWave is the wave the demo draws.
const DemoWave = "demo-2026"

// demoAccounts are the accounts the demo creates, one per role (two
// interviewers, so that two browsers can call side by side).
var demoAccounts = []struct {
	user, name string
	role       users.Role
}{
	{"admin", "项目经理", users.RoleAdmin},
	{"supervisor", "督导", users.RoleSupervisor},
	{"interviewer1", "访员一", users.RoleInterview},
	{"interviewer2", "访员二", users.RoleInterview},
	{"field1", "入户访员一", users.RoleField},
	{"office", "考核办", users.RoleOffice},
}

func cmdDemo(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "demo", "demo [--addr HOST:PORT] [--no-serve]")
	addr := fs.String("addr", ":8080", "监听地址 / listen address")
	noServe := fs.Bool("no-serve", false, "只准备数据,不启动服务 / prepare the data and exit")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	// The schema's owner migrates and loads; the server runs as the
	// application's role, as minyi serve does.
	owner, err := cli.OpenOwner()
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := prepareDemo(ctx, e, owner); err != nil {
		return err
	}
	if err := checkAppRole(e, owner, ""); err != nil {
		return err
	}
	if *noServe {
		return nil
	}
	key, err := signer(e, keysDir())
	if err != nil {
		return err
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	return serve(ctx, e, db, *addr, web.Options{Signer: key}, defaultOutbox())
}

// prepareDemo migrates and loads the demo data. Every step checks what is
// there first, so running it twice duplicates nothing.
func prepareDemo(ctx context.Context, e *cli.Env, db *pg.DB) error {
	out := e.Stdout
	if _, err := pg.Migrate(db.DB); err != nil {
		return err
	}
	if err := oldBoundaries(ctx, db); err != nil {
		return err
	}
	ds, margins, err := demoCensus()
	if err != nil {
		return err
	}
	census := sampler.Upload{Actor: "minyi demo", File: demoDistrictsFile}
	if _, err := sampler.SaveDistrictsAs(ctx, db.DB, ds, census); err != nil {
		return err
	}
	if _, err := sampler.SaveMarginsAs(ctx, db.DB, margins, census); err != nil {
		return err
	}
	var total int64
	for _, d := range ds {
		total += d.Population
	}
	fmt.Fprintf(out, "区县 / districts: %d 个（2016 年起的区划），常住人口 %d（2010 年人口普查），普查边际：性别 / %d (boundaries since 2016), resident population %d (2010 census), census margins: sex\n", len(ds), total, len(ds), total)

	qid, err := survey.SaveQuestionnaire(ctx, db.DB, survey.Default())
	if err != nil {
		return err
	}

	sizes, err := sampler.FrameSizes(ctx, db.DB)
	if err != nil {
		return err
	}
	if len(sizes) == 0 {
		n, err := demoFrame(ctx, db, ds)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "电话抽样框 / telephone frame: %d 个合成手机号 / synthetic mobile numbers\n", n)
	} else {
		var n int64
		for _, v := range sizes {
			n += v
		}
		fmt.Fprintf(out, "电话抽样框已存在 / telephone frame already loaded: %d\n", n)
	}

	w, err := sampler.GetWave(ctx, db.DB, DemoWave)
	if core.ErrorCode(err) == core.ENotFound {
		w, err = sampler.CreateWave(ctx, db.DB, sampler.WaveSpec{Name: DemoWave, Rate: 0.002, MinPerDistrict: 2, ExpectedRate: 0.5, QuestionnaireID: qid})
		if err == nil {
			// A demonstration is shown at any hour: its wave calls around
			// the clock (a real wave keeps 09:00–21:00 unless told otherwise).
			err = dialer.SetRules(ctx, db.DB, w.ID, dialer.AllDay())
		}
	}
	if err != nil {
		return err
	}
	if !w.Drawn() {
		n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
		rep, err := sampler.Draw(ctx, db.DB, DemoWave, n.Int64()+1)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "抽样 / drew wave %s at 2‰: 目标完成 / target %d, 发放 / released %d, 种子 / seed %d\n", DemoWave, rep.Target, rep.Released, rep.Seed)
	} else {
		fmt.Fprintf(out, "轮次已抽样 / wave %s already drawn, 种子 / seed %d\n", DemoWave, *w.Draw.Seed)
	}
	// The demo's interviewers (the default group) call the demo wave unless
	// a supervisor already chose another.
	tws, err := dialer.TeamWaves(ctx, db.DB)
	if err != nil {
		return err
	}
	chosen := false
	for _, tw := range tws {
		chosen = chosen || tw.Team == ""
	}
	if !chosen {
		if err := dialer.SetTeamWave(ctx, db.DB, 0, "minyi demo", "", DemoWave); err != nil {
			return err
		}
	}

	n, added, err := importDemoInterviews(ctx, db, ds)
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(out, "录入合成访问 / keyed in synthetic interviews: %d\n", n)
	} else {
		fmt.Fprintf(out, "合成访问已录入 / synthetic interviews already keyed in: %d\n", n)
	}
	sc, err := survey.ScoreWaveNamed(ctx, db.DB, DemoWave)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, demoWeighting(sc.Weighting))

	fmt.Fprintln(out, "\n示范账号(每次运行重新生成密码)/ demo accounts (fresh passwords on every run):")
	for _, a := range demoAccounts {
		pw := newPassword()
		if err := users.Ensure(ctx, db.DB, a.user, a.name, pw, a.role); err != nil {
			return err
		}
		if err := core.AuditNow(ctx, db.DB, core.AuditEntry{Actor: "minyi demo", Action: "user-password-set", Subject: a.user, Details: map[string]string{"role": string(a.role)}}); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-13s %-18s 密码 / password: %s\n", a.user, users.RoleLabel(a.role).ZH+" / "+users.RoleLabel(a.role).EN, pw)
	}
	fmt.Fprintln(out)
	return nil
}

// demoFrame makes a synthetic telephone frame: valid mobile numbers on
// Chongqing's number blocks, three per completed interview wanted, each with
// a district hint.
func demoFrame(ctx context.Context, db *pg.DB, ds []sampler.District) (int, error) {
	strata := make([]sampler.Stratum, len(ds))
	for i, d := range ds {
		strata[i] = sampler.Stratum{Code: d.Code, Population: d.Population}
	}
	alloc, err := sampler.Allocate(strata, 0.002, 2)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, a := range alloc {
		total += 3 * a.Target
	}
	phones, err := sampler.SyntheticPhones(20101101, total)
	if err != nil {
		return 0, err
	}
	entries := make([]sampler.PhoneEntry, 0, total)
	i := 0
	for _, a := range alloc {
		for k := 0; k < 3*a.Target; k++ {
			entries = append(entries, sampler.PhoneEntry{Phone: phones[i], District: a.Code})
			i++
		}
	}
	rep, err := sampler.AddPhones(ctx, db.DB, entries)
	return rep.Added, err
}
