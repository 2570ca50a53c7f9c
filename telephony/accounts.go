package telephony

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Account is an interviewer's SIP phone account.
type Account struct {
	UserID   int64  `db:"user_id"`
	SIPUser  string `db:"sip_user"`
	Secret   string `db:"secret"`
	PhoneURI string `db:"phone_uri"` // call this URI instead of a registered phone
}

var (
	qAccountOfUser  = pg.Q("telephony/account-of-user")
	qAccountBySIP   = pg.Q("telephony/account-by-sip-user")
	qCreateAccount  = pg.Q("telephony/create-account")
	qSetPhoneURI    = pg.Q("telephony/set-phone-uri")
	secretAlphabet  = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	errNoSuchPerson = core.Errorf(core.ENotFound, "只有访员有话机账号", "only interviewers have phone accounts")
)

// AccountOf returns an interviewer's phone account, made on first use
// (sip user "iv<id>", a random secret), so that every interviewer finds
// theirs on their phone page.
func AccountOf(ctx context.Context, db *sqlx.DB, userID int64) (*Account, error) {
	var a Account
	err := db.GetContext(ctx, &a, qAccountOfUser, userID)
	if err == nil {
		return &a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("telephony: account: %w", err)
	}
	b := make([]byte, 15)
	rand.Read(b)
	res, err := db.ExecContext(ctx, qCreateAccount, userID, "iv"+strconv.FormatInt(userID, 10), secretAlphabet.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("telephony: create account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if err := db.GetContext(ctx, &a, qAccountOfUser, userID); err != nil {
			return nil, errNoSuchPerson
		}
		return &a, nil
	}
	if err := db.GetContext(ctx, &a, qAccountOfUser, userID); err != nil {
		return nil, fmt.Errorf("telephony: account: %w", err)
	}
	return &a, nil
}

// accountBySIPUser finds the account a phone registers with.
func accountBySIPUser(ctx context.Context, db sqlx.QueryerContext, sipUser string) (*Account, error) {
	var a Account
	if err := sqlx.GetContext(ctx, db, &a, qAccountBySIP, sipUser); err != nil {
		return nil, err
	}
	return &a, nil
}

// SetPhoneURI sets the SIP URI an interviewer's phone is called at
// instead of registering (a desk phone on a PBX), or clears it; audited.
func SetPhoneURI(ctx context.Context, db *sqlx.DB, userID int64, uri string, actorID int64, actor string) error {
	uri = strings.TrimSpace(uri)
	if uri != "" {
		var u sip.Uri
		if !strings.HasPrefix(uri, "sip:") || sip.ParseUri(uri, &u) != nil || u.Host == "" {
			return core.Errorf(core.EInvalid, "话机地址 %q 不是 SIP URI（如 sip:8001@pbx.example.com）", "the phone address %q is not a SIP URI (such as sip:8001@pbx.example.com)", uri)
		}
	}
	if _, err := AccountOf(ctx, db, userID); err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qSetPhoneURI, userID, uri); err != nil {
		return err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: actorID, Actor: actor, Action: "phone-uri",
		Subject: "user:" + strconv.FormatInt(userID, 10), Details: map[string]string{"phone_uri": uri}}); err != nil {
		return err
	}
	return tx.Commit()
}
