package main

import (
	"flag"
	"net"
	"os"
	"strconv"
	"strings"

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

// sizeFlag is a size in bytes, written as a number with an optional K, M
// or G (powers of 1024): 2G, 500M, 1048576.
func sizeFlag(fs *flag.FlagSet, name string, def int64, usage string) *int64 {
	v := def
	fs.Func(name, usage, func(s string) error {
		n, err := parseSize(s)
		if err != nil {
			return err
		}
		v = n
		return nil
	})
	return &v
}

func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, core.Errorf(core.EInvalid, "大小应为正整数,可带 K、M、G,如 2G", "a size is a positive whole number, optionally with K, M or G, such as 2G")
	}
	return n * mult, nil
}

// cidrFlag collects networks, given as repeated flags or comma-separated;
// a bare address is a network of one.
func cidrFlag(fs *flag.FlagSet, name, usage string) *[]*net.IPNet {
	var nets []*net.IPNet
	fs.Func(name, usage, func(s string) error {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !strings.Contains(part, "/") {
				if ip := net.ParseIP(part); ip != nil {
					bits := 128
					if ip.To4() != nil {
						bits = 32
					}
					part += "/" + strconv.Itoa(bits)
				}
			}
			_, n, err := net.ParseCIDR(part)
			if err != nil {
				return core.Errorf(core.EInvalid, "%q 不是地址段(如 10.0.0.0/8 或 127.0.0.1)", "%q is not a network (such as 10.0.0.0/8 or 127.0.0.1)", part)
			}
			nets = append(nets, n)
		}
		return nil
	})
	return &nets
}
