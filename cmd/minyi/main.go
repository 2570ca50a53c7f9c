// Command minyi is the whole product: the web server, the embedded
// database, and the operator's subcommands. It only wires; the rules live in
// the domain packages. The benchmarks and the simulated interviewers are
// another binary, minyi-bench, so that none of their code ships here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"minyi/cmd/internal/cli"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *cli.Env, args []string) error
}

var commands = []command{
	{"serve", "运行网页服务 / run the web server", cmdServe},
	{"demo", "用示范数据运行 / run with demo data on :8080", cmdDemo},
	{"migrate", "升级数据库结构 / apply schema migrations", cmdMigrate},
	{"users", "用户管理:users add / manage users: users add", cmdUsers},
	{"districts", "区县:districts import FILE / import districts", cmdDistricts},
	{"margins", "普查边际:margins import FILE / import census margins", cmdMargins},
	{"wave", "轮次:wave create NAME / create a wave", cmdWave},
	{"frame", "抽样框:frame import|rdd / import a frame or generate numbers", cmdFrame},
	{"sample", "抽样:sample draw|verify|replicates --wave NAME / draw, verify and release a sample", cmdSample},
	{"questionnaire", "问卷:questionnaire check FILE / check a questionnaire definition", cmdQuestionnaire},
	{"responses", "导入答卷:responses import --wave NAME FILE / import responses", cmdResponses},
	{"scores", "得分:scores --wave NAME [--long] / print scores", cmdScores},
	{"rates", "应答率:rates --wave NAME / AAPOR outcome rates", cmdRates},
	{"export", "导出:export scores|scores-long|responses|codebook|rates|dispositions --wave NAME -o FILE / export CSV", cmdExport},
	{"audit", "审计:audit verify / verify the audit log and the evidence it records", cmdAudit},
	{"sip", "电话线路:sip test-call --to NUMBER / place a test call through the SIP trunk", cmdSip},
	{"keys", "签名密钥:keys show / print the public key that checks signed files", cmdKeys},
	{"verify", "核对签名文件:verify FILE / check a signed publication or export offline", cmdVerify},
	{"backup", "备份:backup FILE / back up the database", cmdBackup},
	{"restore", "恢复:restore FILE / restore a backup", cmdRestore},
	{"cluster", "内置数据库:cluster stop / stop the embedded PostgreSQL", cmdCluster},
}

func main() { cli.Main("minyi", run) }

func run(ctx context.Context, e *cli.Env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.Stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, cli.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(e.Stderr)
	return cli.UsageError(fmt.Sprintf("未知命令 %q / unknown command %q", args[0], args[0]))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "minyi — 民调采集系统 / survey and telephone-polling system")
	fmt.Fprintln(w, "\n用法 / usage: minyi COMMAND [flags]   (minyi COMMAND --help)")
	fmt.Fprintln(w, "\n数据库 / database: DATABASE_URL, 或内置 PostgreSQL 于 MINYI_DATA(默认 ./var) / or the embedded cluster in MINYI_DATA (default ./var)")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

// subcommand splits "users add ..." style arguments.
func subcommand(args []string, valid ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, cli.UsageError("需要子命令 / needs a subcommand: " + strings.Join(valid, ", "))
	}
	for _, v := range valid {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, cli.UsageError(fmt.Sprintf("未知子命令 %q,可用:%s / unknown subcommand %q; valid: %s", args[0], strings.Join(valid, ", "), args[0], strings.Join(valid, ", ")))
}
