package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/dialer"
	"minyi/schedule"
	"minyi/sql/pg"
	"minyi/telephony"
	"minyi/web"
)

func cmdServe(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "serve", "serve [--addr HOST:PORT] [--partial-share 0.5] [--outbox DIR] [--debug-addr 127.0.0.1:PORT] [--max-upload 2G] [--trusted-proxy CIDR]…")
	addr := fs.String("addr", ":8080", "监听地址 / listen address")
	outbox := fs.String("outbox", defaultOutbox(), "定时导出写入的目录 / directory scheduled exports are written into")
	secure := fs.Bool("secure-cookies", false, "Cookie 总加 Secure 标志(不需要:经 TLS 或可信代理的 https 请求自动加)/ always set Secure on cookies (not needed: set on requests over TLS or via a trusted proxy's https)")
	maxUpload := sizeFlag(fs, "max-upload", web.DefaultMaxUpload, "上传文件(抽样框、区县、边际)的大小上限,如 500M、2G / the largest upload (frames, districts, margins), e.g. 500M, 2G")
	proxies := cidrFlag(fs, "trusted-proxy", "可信反向代理的地址段(可重复或用逗号分隔),只信任它们的 X-Forwarded-For 和 X-Forwarded-Proto / a trusted reverse proxy's network (repeat or comma-separate); only theirs X-Forwarded-For and X-Forwarded-Proto are believed")
	share := fs.Float64("partial-share", dialer.PartialRule.MinShare,
		"中断访问计为部分完成(AAPOR 1.2)所需已答指标题的比例 / share of the indicator questions asked that a break-off needs to count as a partial interview (AAPOR 1.2)")
	debugAddr := fs.String("debug-addr", "", "在此本机地址提供运行时剖析 / serve runtime profiles (/debug/pprof/, /debug/runtime) on this local address")
	sip := sipFlags(fs)
	keys := fs.String("keys", keysDir(), "签名密钥目录(首次启动时生成)/ directory of the signing key, made at first start (MINYI_KEYS)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	sipConfig := sip()
	if err := sipConfig.Check(); err != nil {
		return err
	}
	if !(*share > 0 && *share <= 1) {
		return core.Errorf(core.EInvalid, "--partial-share 须在 0 和 1 之间(不含 0)", "--partial-share must be above 0 and at most 1")
	}
	if *debugAddr != "" {
		a, err := startDebug(ctx, *debugAddr)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "剖析 / debug profiles on http://%s/debug/pprof/\n", a)
	}
	key, err := signer(e, *keys)
	if err != nil {
		return err
	}
	db, err := cli.OpenDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	opt := web.Options{SecureCookies: *secure, PartialRule: dialer.BreakOffRule{MinShare: *share},
		MaxUpload: *maxUpload, TrustedProxies: *proxies, Signer: key}
	if sipConfig.Enabled() {
		if err := pg.CheckQueries(db.DB); err != nil {
			return err
		}
		tctx, stop := context.WithCancel(ctx)
		defer stop()
		phone, err := telephony.Start(tctx, db.DB, sipConfig, nil)
		if err != nil {
			return err
		}
		// The calls under way end before the database goes.
		defer phone.Wait()
		defer stop()
		opt.Dialer, opt.Telephony = phone, phone
		fmt.Fprintf(e.Stdout, "电话线路 / SIP trunk %s, SIP on %s\n", sipConfig.Trunk, sipConfig.Listen)
	}
	return serve(ctx, e, db, *addr, opt, *outbox)
}

// defaultOutbox is outbox/ in the data directory (MINYI_DATA).
func defaultOutbox() string { return filepath.Join(pg.ConfigFromEnv().DataDir, "outbox") }

// jobsDir is where background jobs keep their files: jobs/ in the data
// directory, so that a server started after a crash finds and removes them.
func jobsDir() string { return filepath.Join(pg.ConfigFromEnv().DataDir, "jobs") }

func serve(ctx context.Context, e *cli.Env, db *pg.DB, addr string, opt web.Options, outbox string) error {
	if err := pg.CheckQueries(db.DB); err != nil {
		return err
	}
	// With DATABASE_URL the operator chose the role; one that can rewrite
	// the audit log is worth a word every time the server starts.
	if why, err := pg.Privileged(db.DB); err != nil {
		return err
	} else if why != "" {
		fmt.Fprintf(e.Stderr, "警告 / warning: %s;服务器应以只能追加审计日志的角色连接(见 README)/ the server should connect as a role that can only append to the audit log (see the README)\n", why)
	}
	if opt.Signer != nil {
		fmt.Fprintf(e.Stdout, "签名公钥 / signing key %s (minyi keys show)\n", opt.Signer.Public().ID())
	}
	// Every server runs the schedulers and seals interview evidence; each
	// scheduled run happens once. Their work, and the jobs started from
	// pages, stop with ctx.
	work, err := schedule.Start(ctx, db.DB, outbox, jobsDir(), opt.Signer, nil)
	if err != nil {
		return err
	}
	opt.Jobs = work.Jobs
	srv, err := web.New(db.DB, opt)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("无法监听 %s / cannot listen on %s: %w", addr, addr, err)
	}
	fmt.Fprintf(e.Stdout, "民意已启动 / Minyi is serving on http://%s  (Ctrl-C 停止 / to stop)\n", displayAddr(ln.Addr()))
	// The pool's connections are opened and readied while the server
	// already answers, so that the evening's first burst finds them ready.
	go func() {
		err := pg.WarmPool(ctx, db.DB, pg.WarmConnections(), func(ctx context.Context, tx *sqlx.Tx) error {
			return dialer.WarmNextTask(ctx, db.DB, tx)
		})
		if err != nil && ctx.Err() == nil {
			slog.Warn("warming the database connections", "err", err)
		}
	}()
	err = srv.Serve(ctx, ln)
	// Scheduled runs and jobs see ctx end with the requests; give them as
	// long as the requests to stop before the database goes.
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if werr := work.Wait(wctx); werr != nil {
		fmt.Fprintln(e.Stderr, "后台任务未能及时停止 / background work did not stop in time:", werr)
	}
	fmt.Fprintln(e.Stdout, "已停止 / stopped")
	return err
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	return s
}
