// Package csvfile writes the CSV files people take from the system to a
// spreadsheet.
package csvfile

import (
	"fmt"
	"strings"
)

// Encoding is the character encoding of a file.
type Encoding string

const (
	// UTF8 is written preceded by a byte-order mark, without which Excel
	// reads the file in the system code page and garbles Chinese text.
	UTF8 Encoding = "utf-8"
	// GB18030 is written without a byte-order mark, for Excel versions and
	// tools that only read the Chinese national encoding.
	GB18030 Encoding = "gb18030"
)

// bom is the UTF-8 byte-order mark that Excel writes and needs.
const bom = "\xEF\xBB\xBF"

// ParseEncoding reads the name of an encoding to write in, as given on a
// command line or in a query string. Case and surrounding spaces are
// ignored, "utf8" is accepted for "utf-8", and the empty string means the
// default, UTF-8.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "utf-8", "utf8":
		return UTF8, nil
	case "gb18030":
		return GB18030, nil
	}
	return "", fmt.Errorf("不支持的编码 / unsupported encoding: %q", s)
}
