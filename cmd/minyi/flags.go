package main

import (
	"flag"
	"os"

	"minyi/cmd/internal/cli"
	"minyi/core"
)

// oneFile opens the one FILE argument of a command. A file that cannot be
// opened is the user's input error (exit 2), not the program's.
func oneFile(fs *flag.FlagSet, pos []string) (*os.File, error) {
	if len(pos) != 1 {
		fs.Usage()
		return nil, cli.UsageError("需要一个文件 / needs one FILE")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return nil, &core.Error{Code: core.EInvalid, ZH: "无法打开文件", EN: "cannot open the file", Err: err}
	}
	return f, nil
}
