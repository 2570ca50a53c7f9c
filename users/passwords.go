package users

import (
	"crypto/rand"
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"

	"minyi/core"
)

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 10

// commonPasswords is the 10,000 most common passwords, most common first:
// the first 10,000 entries of the "passwords" frequency list of zxcvbn
// 4.4.2 (npm package zxcvbn, lib/frequency_lists.js; MIT licence, see
// common-passwords-LICENSE.txt), which it took from Mark Burnett's corpus
// of 10 million passwords. All are lower case.
//
//go:embed common-passwords.txt
var commonPasswords string

var (
	commonOnce sync.Once
	commonSet  map[string]bool
)

// IsCommonPassword reports whether a password is on the list of the most
// common ones, in any mix of upper and lower case.
func IsCommonPassword(password string) bool {
	commonOnce.Do(func() {
		commonSet = make(map[string]bool, 10000)
		for _, p := range strings.Split(commonPasswords, "\n") {
			if p != "" {
				commonSet[p] = true
			}
		}
	})
	return commonSet[strings.ToLower(password)]
}

// CheckPassword says why a password may not be used for an account, or
// nil: it is too short, is the username, or is one of the passwords an
// attacker tries first.
func CheckPassword(username, password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return core.Errorf(core.EInvalid, "密码至少需要 %d 个字符", "the password needs at least %d characters", MinPasswordLength)
	}
	if strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(username)) {
		return core.Errorf(core.EInvalid, "密码不能与用户名相同", "the password may not be the username")
	}
	if IsCommonPassword(password) || IsCommonPassword(strings.TrimSpace(password)) {
		return core.Errorf(core.EInvalid, "这个密码是最常见的一万个密码之一，很容易被猜中，请换一个", "this password is one of the 10,000 most common ones and easily guessed; choose another")
	}
	return nil
}

// TemporaryPassword makes a password for an admin to hand over (a new
// account, a reset): 12 letters and digits in groups of four, without the
// ones easily misread (0/O, 1/l/I), to be replaced at the first sign-in.
func TemporaryPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	var s strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		// 256 is a multiple of 32: no letter is likelier than another.
		s.WriteByte(alphabet[int(x)%len(alphabet)])
	}
	return s.String()
}
