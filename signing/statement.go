package signing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"minyi/core"
)

// Format names the signature format; it is the first line of what is signed.
const Format = "minyi-signature/1"

// SigSuffix is added to a file's name for its signature.
const SigSuffix = ".sig"

// Statement is what a signature vouches for: this file, by its SHA-256 and
// size, is the kind and wave it says, made when the audit chain stood at
// Chain. Kept as JSON in FILE.sig beside the file.
type Statement struct {
	Format    string    `json:"format"`
	File      string    `json:"file"` // base name
	SHA256    string    `json:"sha256"`
	Bytes     int64     `json:"bytes"`
	Kind      string    `json:"kind"`          // an export kind, publication, manifest or chain-head
	Wave      string    `json:"wave"`          // "" when it has none
	Ref       string    `json:"ref,omitempty"` // e.g. publication:12
	Chain     core.Head `json:"chain"`
	SignedAt  time.Time `json:"signed_at"`
	PublicKey string    `json:"public_key"`
	Signature string    `json:"signature"` // base64 Ed25519 signature of Message
}

// Message is the text signed: one "name: value" line per field, in this
// order, after the format's name (docs/evidence.md §5). Anyone can rebuild
// it from the JSON and check it with any Ed25519 tool.
func (s Statement) Message() []byte {
	return fmt.Appendf(nil, "%s\nfile: %s\nsha256: %s\nbytes: %d\nkind: %s\nwave: %s\nref: %s\nchain-seq: %d\nchain-hash: %s\nsigned-at: %s\npublic-key: %s\n",
		Format, s.File, s.SHA256, s.Bytes, s.Kind, s.Wave, s.Ref, s.Chain.Seq, s.Chain.Hash, s.SignedAt.UTC().Format(time.RFC3339Nano), s.PublicKey)
}

// Sign fills in the format, time, public key and signature.
func (k *Key) Sign(s Statement) Statement {
	s.Format = Format
	if s.SignedAt.IsZero() {
		s.SignedAt = time.Now()
	}
	s.SignedAt = s.SignedAt.UTC().Truncate(time.Second)
	s.PublicKey = k.Public().String()
	s.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, s.Message()))
	return s
}

// HashFile returns a file's SHA-256 and size.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// SignFile signs the file at path as s describes it (its name, hash and
// size are filled in), writes the signature to path.sig and keeps it among
// the anchors.
func (k *Key) SignFile(path string, s Statement) (Statement, error) {
	sum, n, err := HashFile(path)
	if err != nil {
		return Statement{}, err
	}
	s.File, s.SHA256, s.Bytes = filepath.Base(path), sum, n
	s = k.Sign(s)
	if err := WriteSig(path+SigSuffix, s); err != nil {
		return s, err
	}
	return s, k.Anchor(s)
}

// Anchor keeps a signed statement in the anchors log beside the key.
func (k *Key) Anchor(s Statement) error { return AppendAnchor(filepath.Dir(k.Path), s) }

// WriteSig writes a signature file, whole or not at all.
func WriteSig(path string, s Statement) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadSig reads a signature file.
func ReadSig(path string) (Statement, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Statement{}, err
	}
	return ParseSig(b)
}

// ParseSig reads a signature.
func ParseSig(b []byte) (Statement, error) {
	var s Statement
	if err := json.Unmarshal(b, &s); err != nil || s.Format != Format {
		return Statement{}, core.Errorf(core.EInvalid, "不是民意的签名文件（应为 %s）", "not a Minyi signature (want %s)", Format)
	}
	return s, nil
}

// Check checks the signature against its own public key, and that key
// against the trusted ones when any are given.
func (s Statement) Check(trusted []PublicKey) error {
	pub, err := ParsePublicKey(s.PublicKey)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || !ed25519.Verify(ed25519.PublicKey(pub), s.Message(), sig) {
		return core.Errorf(core.EInvalid, "签名无效：签名文件的内容被改动过，或不是用其中的公钥签的",
			"the signature is not valid: the signature file was altered, or not signed with the key it names")
	}
	if len(trusted) > 0 && !slices.ContainsFunc(trusted, func(t PublicKey) bool { return t.String() == pub.String() }) {
		return core.Errorf(core.EInvalid, "签名用的密钥 %s 不是您信任的密钥", "signed with key %s, which is not a key you trust", pub.ID())
	}
	return nil
}

// VerifyFile checks a file against its signature: the signature itself,
// the signing key (against trusted, when given), and the file's SHA-256 and
// size.
func VerifyFile(path, sigPath string, trusted []PublicKey) (Statement, error) {
	s, err := ReadSig(sigPath)
	if err != nil {
		return Statement{}, err
	}
	if err := s.Check(trusted); err != nil {
		return s, err
	}
	sum, n, err := HashFile(path)
	if err != nil {
		return s, err
	}
	if sum != s.SHA256 || n != s.Bytes {
		return s, core.Errorf(core.EInvalid, "文件 %s 与签名不符：签名时 SHA-256 为 %s（%d 字节），现在为 %s（%d 字节），文件被改动过",
			"%s does not match its signature: signed with SHA-256 %s (%d bytes), now %s (%d bytes); the file was changed",
			filepath.Base(path), s.SHA256, s.Bytes, sum, n)
	}
	return s, nil
}
