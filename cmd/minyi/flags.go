package main

import (
	"os"

	"errors"
	"flag"
	"fmt"
	"strings"

	"minyi/core"
	"minyi/sql/pg"
)

// newFlags makes a flag set that prints its help in both languages and
// reports bad flags as usage errors instead of exiting.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "用法 / usage: minyi %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the positional arguments, so that
// "import FILE --wave X" and "import --wave X FILE" both work.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

var errHelp = errors.New("help")

func need(fs *flag.FlagSet, what ...string) error {
	var missing []string
	for _, w := range what {
		if f := fs.Lookup(w); f != nil && f.Value.String() == "" {
			missing = append(missing, "--"+w)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return usageError{"缺少参数 / missing: " + strings.Join(missing, ", ")}
	}
	return nil
}

// oneFile opens the one FILE argument of a command. A file that cannot be
// opened is the user's input error (exit 2), not the program's.
func oneFile(fs *flag.FlagSet, pos []string) (*os.File, error) {
	if len(pos) != 1 {
		fs.Usage()
		return nil, usageError{"需要一个文件 / needs one FILE"}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return nil, &core.Error{Code: core.EInvalid, ZH: "无法打开文件", EN: "cannot open the file", Err: err}
	}
	return f, nil
}

// openWith parses a command's flags, checks the required ones and opens
// the database; the caller closes it.
func openWith(e *env, fs *flag.FlagSet, args []string, required ...string) (*pg.DB, []string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := need(fs, required...); err != nil {
		return nil, nil, err
	}
	db, err := openDB(e, true)
	return db, pos, err
}
