package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"minyi/sql/pg"

	"github.com/jmoiron/sqlx"
)

// StartSession stores a new session and returns the cookie token. Only the
// token's hash is stored.
func StartSession(ctx context.Context, db *sqlx.DB, userID int64) (string, error) {
	token := NewToken()
	sum := sha256.Sum256([]byte(token))
	_, err := db.ExecContext(ctx, qInsertSession, sum[:], userID, NewToken(), time.Now().Add(SessionLifetime))
	if err != nil {
		return "", fmt.Errorf("users: create session: %w", err)
	}
	db.ExecContext(ctx, qExpireSessions)
	return token, nil
}

func SessionUser(ctx context.Context, db *sqlx.DB, token string) (*User, error) {
	sum := sha256.Sum256([]byte(token))
	st, err := pg.Stmt(ctx, db, "users/session-user")
	if err != nil {
		return nil, err
	}
	var u User
	if err := st.GetContext(ctx, &u, sum[:]); err != nil {
		return nil, err
	}
	return &u, nil
}

// SessionFor signs a user in without a password (for tools that act for
// users they created, such as the load simulator) and returns the session
// cookie value and its CSRF token.
func SessionFor(ctx context.Context, db *sqlx.DB, userID int64) (token, csrf string, err error) {
	token, err = StartSession(ctx, db, userID)
	if err != nil {
		return "", "", err
	}
	u, err := SessionUser(ctx, db, token)
	if err != nil {
		return "", "", err
	}
	return token, u.CSRF, nil
}

// EndSession signs a session out.
func EndSession(ctx context.Context, db *sqlx.DB, token string) {
	sum := sha256.Sum256([]byte(token))
	db.ExecContext(ctx, qDeleteSession, sum[:])
}

// NewToken returns a random URL-safe token of 256 bits, for session cookies
// and form tokens.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
