package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"minyi/core"
)

// TestKeyIsMadeOnceAndKeptPrivate: the key is made on first use, readable
// by its owner alone, the same on every later load, and refused when
// others could read it.
func TestKeyIsMadeOnceAndKeptPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("first use: %v %v", created, err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o700, k.Path: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v, want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
	again, created, err := LoadOrCreate(dir)
	if err != nil || created || again.Public().String() != k.Public().String() {
		t.Fatalf("second use made another key: %v %v", created, err)
	}
	os.Chmod(k.Path, 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key others may read was loaded: %v", err)
	}
}

// TestSignatureCoversEveryField: the signature holds for the file as
// signed, and fails when the file, or any field of the statement, or the
// key, is changed.
func TestSignatureCoversEveryField(t *testing.T) {
	k, _, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "scores-w.csv")
	os.WriteFile(file, []byte("district,score\n500101,62.31\n"), 0o644)
	st, err := k.SignFile(file, Statement{Kind: "scores", Wave: "w", Chain: core.Head{Seq: 12, Hash: "ab"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyFile(file, file+SigSuffix, []PublicKey{k.Public()}); err != nil {
		t.Fatalf("as signed: %v", err)
	}
	// The message is the documented lines, and any Ed25519 tool checks it.
	sig, _ := base64.StdEncoding.DecodeString(st.Signature)
	if !strings.HasPrefix(string(st.Message()), "minyi-signature/1\nfile: scores-w.csv\nsha256: ") || !ed25519.Verify(ed25519.PublicKey(k.Public()), st.Message(), sig) {
		t.Fatalf("message:\n%s", st.Message())
	}
	for name, change := range map[string]func(*Statement){
		"wave":  func(s *Statement) { s.Wave = "w2" },
		"kind":  func(s *Statement) { s.Kind = "indicators" },
		"chain": func(s *Statement) { s.Chain.Seq = 13 },
		"time":  func(s *Statement) { s.SignedAt = s.SignedAt.Add(1) },
	} {
		s := st
		change(&s)
		if err := s.Check(nil); err == nil {
			t.Errorf("a statement with its %s changed still checks", name)
		}
	}
	os.WriteFile(file, []byte("district,score\n500101,92.31\n"), 0o644)
	if _, err := VerifyFile(file, file+SigSuffix, nil); err == nil || !strings.Contains(err.Error(), "the file was changed") {
		t.Fatalf("a changed file: %v", err)
	}
	other, _, _ := LoadOrCreate(t.TempDir())
	if err := st.Check([]PublicKey{other.Public()}); err == nil {
		t.Fatal("a signature by a key not trusted checks")
	}
	anchors, err := ReadAnchors(filepath.Dir(k.Path))
	if err != nil || len(anchors) != 1 || anchors[0].Chain.Seq != 12 {
		t.Fatalf("anchors: %v %v", anchors, err)
	}
}
