// Command minyi-bench measures Minyi and puts load on it: the benchmarks,
// each beside a baseline run on the same database in the same run, and
// simulated interviewers for demos, training and load. It is a binary of
// its own so that the product, minyi, carries none of this code.
package main

import (
	"context"
	"errors"

	"minyi/cmd/internal/cli"
)

func main() { cli.Main("minyi-bench", run) }

// run takes "simulate …" for the simulated interviewers; any other command
// line is the benchmarks' flags, as `minyi bench` took them.
func run(ctx context.Context, e *cli.Env, args []string) error {
	cmd := cmdBench
	switch {
	case len(args) > 0 && args[0] == "simulate":
		cmd, args = cmdSimulate, args[1:]
	case len(args) > 0 && args[0] == browserClientsCmd:
		cmd, args = cmdBrowserClients, args[1:]
	case len(args) > 0 && args[0] == "help":
		args = []string{"--help"}
	}
	err := cmd(ctx, e, args)
	if errors.Is(err, cli.ErrHelp) {
		return nil
	}
	return err
}
