package signing

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// AnchorsFile is the log, beside the key, of every chain head the server
// signed. The audit chain lives in the database, where whoever holds it
// could rewrite it from some entry on, or cut its end off, and recompute
// every hash after; a signed head kept outside says what the chain was
// (docs/evidence.md §6).
const AnchorsFile = "anchors.jsonl"

// AppendAnchor adds a signed statement to the anchors of dir.
func AppendAnchor(dir string, s Statement) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, AnchorsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("signing: anchors: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadAnchors reads the anchors of dir whose signatures hold; none when
// there is no file. A line that does not parse or whose signature fails
// is an error: someone edited the file.
func ReadAnchors(dir string) ([]Statement, error) {
	f, err := os.Open(filepath.Join(dir, AnchorsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Statement
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s, err := ParseSig(sc.Bytes())
		if err == nil {
			err = s.Check(nil)
		}
		if err != nil {
			return out, fmt.Errorf("%s 第 %d 行 / line %d of %s: %w", AnchorsFile, line, line, AnchorsFile, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}
