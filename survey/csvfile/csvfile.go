// Package csvfile is the former home of minyi/csvfile. It forwards the
// export writer to it for the export and scheduling code that still
// imports this path while that code is being moved to packages of its own.
//
// Deprecated: import minyi/csvfile.
package csvfile

import base "minyi/csvfile"

type (
	Encoding = base.Encoding
	Writer   = base.Writer
)

const (
	UTF8    = base.UTF8
	GB18030 = base.GB18030
)

var (
	NewWriter     = base.NewWriter
	ParseEncoding = base.ParseEncoding
)
