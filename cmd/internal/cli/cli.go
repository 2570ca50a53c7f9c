// Package cli is what the two commands, minyi and minyi-bench, share: how a
// subcommand reads its flags, reports bad usage and opens the database.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"minyi/core"
	"minyi/sql/pg"
)

// Env is what every subcommand gets: its program's name for usage lines,
// and where to print and read.
type Env struct {
	Prog           string
	Stdout, Stderr io.Writer
	Stdin          io.Reader
}

// Main runs a program's command line on the process's streams, with a
// context that Ctrl-C and SIGTERM cancel, and exits with its error's status.
func Main(prog string, run func(ctx context.Context, e *Env, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &Env{Prog: prog, Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, prog+":", err)
		os.Exit(ExitCode(err))
	}
}

// UsageError is a command line the program cannot run: exit status 2.
type UsageError string

func (u UsageError) Error() string { return string(u) }

// ErrHelp is returned by Parse when --help was asked for and printed.
var ErrHelp = errors.New("help")

// ExitCode: 2 for bad usage or input, 1 for anything else.
func ExitCode(err error) int {
	var ue UsageError
	if errors.As(err, &ue) || core.ErrorCode(err) == core.EInvalid {
		return 2
	}
	return 1
}

// NewFlags makes a flag set that prints its help in both languages and
// reports bad flags as usage errors instead of exiting.
func NewFlags(e *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "用法 / usage: %s %s\n", e.Prog, usage)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses flags anywhere among the positional arguments, so that
// "import FILE --wave X" and "import --wave X FILE" both work.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ErrHelp
			}
			return nil, UsageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// Need reports the named flags left empty, after printing the usage.
func Need(fs *flag.FlagSet, what ...string) error {
	var missing []string
	for _, w := range what {
		if f := fs.Lookup(w); f != nil && f.Value.String() == "" {
			missing = append(missing, "--"+w)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return UsageError("缺少参数 / missing: " + strings.Join(missing, ", "))
	}
	return nil
}

// OpenDB opens the configured database (starting the embedded cluster if
// needed) and checks that its schema is current.
func OpenDB(checkSchema bool) (*pg.DB, error) {
	db, err := pg.Open(pg.ConfigFromEnv())
	if err != nil {
		return nil, err
	}
	if checkSchema {
		if err := pg.CheckSchema(db.DB); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// OpenOwner opens the configured database as the schema's owner, for
// migrations: in the embedded cluster its owner role, with a URL
// DATABASE_OWNER_URL if set, else DATABASE_URL.
func OpenOwner() (*pg.DB, error) { return pg.Open(pg.ConfigFromEnv().AsOwner()) }

// OpenWith parses a command's flags, checks the required ones and opens
// the database; the caller closes it.
func OpenWith(fs *flag.FlagSet, args []string, required ...string) (*pg.DB, []string, error) {
	pos, err := Parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := Need(fs, required...); err != nil {
		return nil, nil, err
	}
	db, err := OpenDB(true)
	return db, pos, err
}

// RuntimeStats is the reply of minyi serve's /debug/runtime, which the soak
// benchmark reads from another process: the live heap right after a
// collection, so that garbage waiting to be collected does not count, and
// the goroutines.
type RuntimeStats struct {
	HeapAlloc   uint64 `json:"heap_alloc"`
	HeapObjects uint64 `json:"heap_objects"`
	Sys         uint64 `json:"sys"`
	Goroutines  int    `json:"goroutines"`
}
