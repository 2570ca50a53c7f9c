package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/export"
	"minyi/signing"
	"minyi/sql/pg"
)

// keysDir is where the signing key lives: MINYI_KEYS, else keys/ in the
// data directory (MINYI_DATA). Not in the database: whoever controls the
// database must not be able to sign (docs/evidence.md §5).
func keysDir() string {
	if d := os.Getenv("MINYI_KEYS"); d != "" {
		return d
	}
	return filepath.Join(pg.ConfigFromEnv().DataDir, "keys")
}

// signer loads the signing key of dir, making it on first use, and says
// so when it was made.
func signer(e *cli.Env, dir string) (*signing.Key, error) {
	k, created, err := signing.LoadOrCreate(dir)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(e.Stderr, "已生成签名密钥 / made the signing key %s (%s): 请备份,并把公钥交考核办 / back it up, and give the office its public key (minyi keys show)\n",
			k.Path, k.Public().ID())
	}
	return k, nil
}

func cmdKeys(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "show")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "keys show", "keys show [--keys DIR]   (print the public key that checks what this server signs)")
	dir := fs.String("keys", keysDir(), "密钥目录 / keys directory (MINYI_KEYS)")
	if _, err := cli.Parse(fs, rest); err != nil {
		return err
	}
	k, err := signer(e, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "公钥 / public key: %s\n编号 / key id: %s\n私钥 / private key: %s\n", k.Public(), k.Public().ID(), k.Path)
	return nil
}

func cmdVerify(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "verify", "verify FILE [--sig FILE.sig] [--key ed25519:…|KEYFILE]…   (check a signed publication or export offline, no database)")
	sig := fs.String("sig", "", "签名文件,默认 FILE.sig / the signature, FILE.sig by default")
	var keys stringList
	fs.Var(&keys, "key", "信任的公钥或含公钥的文件,可多次 / a trusted public key, or a file holding one; may repeat")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return cli.UsageError("需要一个文件 / needs one FILE")
	}
	file := pos[0]
	if *sig == "" {
		*sig = file + signing.SigSuffix
	}
	var trusted []signing.PublicKey
	for _, k := range keys {
		// A file holding the key: the output of minyi keys show will do.
		if b, err := os.ReadFile(k); err == nil {
			k = string(b)
			if m := keyInText.FindString(k); m != "" {
				k = m
			}
		}
		pk, err := signing.ParsePublicKey(k)
		if err != nil {
			return err
		}
		trusted = append(trusted, pk)
	}
	st, err := signing.VerifyFile(file, *sig, trusted)
	if err != nil {
		return err
	}
	if st.Kind == export.ManifestKind {
		problems, err := export.CheckManifest(filepath.Dir(file))
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(e.Stdout, p)
			}
			return core.Errorf(core.EInvalid, "导出目录与签名的清单不符", "the run's files do not match its signed manifest")
		}
	}
	pub, _ := signing.ParsePublicKey(st.PublicKey)
	fmt.Fprintf(e.Stdout, "签名有效 / signature valid: %s\n  类型 / kind: %s  轮次 / wave: %s %s\n  SHA-256: %s (%d bytes)\n  审计链 / audit chain: entry %d, %s\n  签名时间 / signed at: %s\n  密钥 / key: %s (%s)\n",
		st.File, st.Kind, st.Wave, st.Ref, st.SHA256, st.Bytes, st.Chain.Seq, st.Chain.Hash,
		st.SignedAt.In(core.Shanghai).Format("2006-01-02 15:04:05"), pub.ID(), st.PublicKey)
	if len(trusted) == 0 {
		fmt.Fprintf(e.Stdout, "注意:未用 --key 指定信任的公钥,请核对上面的密钥编号 %s 与服务器交给您的公钥一致 / note: no --key was given; check that key id %s is the one the server's operator gave you\n", pub.ID(), pub.ID())
	}
	return nil
}

var keyInText = regexp.MustCompile(`ed25519:[A-Za-z0-9+/=]+`)

// stringList is a flag that may repeat.
type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// osActor names a command and the system user who ran it, for the audit log.
func osActor(command string) string {
	if u, err := user.Current(); err == nil {
		return command + " (" + u.Username + ")"
	}
	return command
}
