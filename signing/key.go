// Package signing holds the server's Ed25519 key and the detached
// signatures of the files it hands out: publications, exports and the
// manifests of scheduled runs. A signature names the file by its SHA-256
// and the audit chain's head when it was made, so that the office can
// check a file offline and the chain can be checked against it later
// (docs/evidence.md §5).
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"minyi/core"
)

// KeyFile is the private key's file in the keys directory.
const KeyFile = "signing.key"

// Key is the server's signing key.
type Key struct {
	priv ed25519.PrivateKey
	Path string // where it is kept
}

// PublicKey is a key that checks signatures, written "ed25519:" and the
// key in base64.
type PublicKey ed25519.PublicKey

const publicPrefix = "ed25519:"

func (p PublicKey) String() string { return publicPrefix + base64.StdEncoding.EncodeToString(p) }

// ID is a short name of the key to compare by eye: the first 16 hex
// digits of its SHA-256.
func (p PublicKey) ID() string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:8])
}

// ParsePublicKey reads a key as String writes it.
func ParsePublicKey(s string) (PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), publicPrefix)
	b, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(b) != ed25519.PublicKeySize {
		return nil, core.Errorf(core.EInvalid, "公钥 %q 的格式不对，应为“ed25519:”加 Base64", "public key %q is not ed25519: followed by base64", s)
	}
	return PublicKey(b), nil
}

// Public returns the key that checks this key's signatures.
func (k *Key) Public() PublicKey { return PublicKey(k.priv.Public().(ed25519.PublicKey)) }

// LoadOrCreate loads the key of dir, making one on first use: the private
// key file readable by its owner alone (0600) in a directory only its
// owner may enter (0700). created says a new key was made.
func LoadOrCreate(dir string) (k *Key, created bool, err error) {
	k, err = Load(dir)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("signing: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("signing: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, false, err
	}
	path := filepath.Join(dir, KeyFile)
	// O_EXCL: two processes starting at once do not overwrite each other's
	// key; the loser loads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		k, err := Load(dir)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("signing: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("signing: write %s: %w", path, werr)
	}
	return &Key{priv: priv, Path: path}, true, nil
}

// Load loads the key of dir; os.ErrNotExist when there is none. A key file
// others may read is refused: whoever reads it can sign as the server.
func Load(dir string) (*Key, error) {
	path := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, core.Errorf(core.EInvalid, "签名私钥 %s 的权限为 %v，其他用户可读；请执行 chmod 600 %s",
			"the signing key %s has mode %v, readable by others: run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing: %s holds no private key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing: %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing: %s is not an Ed25519 key", path)
	}
	return &Key{priv: priv, Path: path}, nil
}
