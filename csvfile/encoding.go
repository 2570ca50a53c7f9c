// Package csvfile reads and writes the CSV files people exchange with the
// system through spreadsheets: imports (districts, margins, frames,
// responses) and exports. Such files come in UTF-8, with or without
// Excel's byte-order mark, or in the Chinese national encoding GB18030
// (of which GBK is a part).
package csvfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"minyi/core"
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
	// Auto, for reading only, tells UTF-8 from GB18030 by the text.
	Auto Encoding = "auto"
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

// ParseReadEncoding reads the name of the encoding of a file to read:
// "auto" (or empty), "utf-8" (or "utf8"), "gb18030" (or "gbk", which
// GB18030 contains).
func ParseReadEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "gb18030", "gbk":
		return GB18030, nil
	}
	return "", core.Errorf(core.EInvalid, "不支持的编码 %q（可用 auto、utf-8、gb18030）",
		"unsupported encoding %q (use auto, utf-8 or gb18030)", s)
}

// sniffBytes is how much of a file is looked at to tell what it holds, and
// how much text to tell UTF-8 from GB18030.
const sniffBytes = 64 << 10

// autoDecoder reads UTF-8 until the first non-ASCII byte and there decides,
// from what follows, between UTF-8 and GB18030: text that is not valid
// UTF-8 but decodes cleanly as GB18030 is GB18030. Up to that byte both
// encodings agree (ASCII), so deciding late loses nothing, and it finds a
// GB18030 file whose first Chinese text is far down the file.
type autoDecoder struct {
	br  *bufio.Reader
	out io.Reader
	enc Encoding
}

func (a *autoDecoder) encoding() Encoding {
	if a.enc == "" {
		return UTF8
	}
	return a.enc
}

func (a *autoDecoder) Read(p []byte) (int, error) {
	if a.out != nil {
		return a.out.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if a.br.Buffered() == 0 {
		if _, err := a.br.Peek(1); err != nil {
			return 0, err
		}
	}
	b, _ := a.br.Peek(min(a.br.Buffered(), len(p)))
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i > 0 {
		n := copy(p, b[:i])
		a.br.Discard(n)
		return n, nil
	}
	window, err := a.br.Peek(sniffBytes)
	atEOF := err != nil && !errors.Is(err, bufio.ErrBufferFull)
	a.enc = detectEncoding(window, atEOF)
	if a.enc == GB18030 {
		a.out = transform.NewReader(a.br, simplifiedchinese.GB18030.NewDecoder())
	} else {
		a.out = a.br
	}
	return a.out.Read(p)
}

// detectEncoding chooses UTF-8 unless the text is invalid UTF-8 and decodes
// as GB18030 without a replacement character. A window cut inside a
// character is judged without that character.
func detectEncoding(window []byte, atEOF bool) Encoding {
	w := window
	if !atEOF {
		// Drop a character cut by the end of the window.
		for k := 1; k <= utf8.UTFMax && k <= len(w); k++ {
			if utf8.RuneStart(w[len(w)-k]) {
				if !utf8.FullRune(w[len(w)-k:]) {
					w = w[:len(w)-k]
				}
				break
			}
		}
	}
	if utf8.Valid(w) {
		return UTF8
	}
	dst := make([]byte, 3*len(window)+utf8.UTFMax)
	n, _, err := simplifiedchinese.GB18030.NewDecoder().Transform(dst, window, atEOF)
	if (err == nil || errors.Is(err, transform.ErrShortSrc)) && !bytes.ContainsRune(dst[:n], utf8.RuneError) {
		return GB18030
	}
	return UTF8
}
