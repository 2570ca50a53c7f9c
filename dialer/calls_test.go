package dialer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"minyi/core"
)

// With Minyi placing the calls, an interview whose case never had an
// answered call is flagged for review: it was never talked through
// Minyi. One on a case whose call was answered is not; with preview
// dialing (no calls at all) neither is.
func TestInterviewWithoutAnsweredCallIsFlagged(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	typed := q.nextCase("ann")
	if _, err := q.complete("ann", typed, districtA, 1, 2); err != nil {
		t.Fatal(err)
	}
	talked := q.nextCase("ann")
	id, err := StartCall(ctx, q.db, talked, q.users["ann"])
	if err != nil {
		t.Fatal(err)
	}
	if err := CallAnswered(ctx, q.db, id); err != nil {
		t.Fatal(err)
	}
	if _, coded, err := EndCall(ctx, q.db, CallEnd{ID: id, SIPCode: StatusAnswered, RingMS: 4000, TalkMS: 300000, HangupBy: ByRespondent, Dialled: true}, time.Now()); err != nil || coded {
		t.Fatalf("an answered call was coded by the network (%v)", err)
	}
	if _, err := q.complete("ann", talked, districtA, 2, 3); err != nil {
		t.Fatal(err)
	}
	var typedIV, talkedIV int64
	q.db.Get(&typedIV, `SELECT id FROM interviews WHERE case_id = $1`, typed)
	q.db.Get(&talkedIV, `SELECT id FROM interviews WHERE case_id = $1`, talked)
	flagged, err := FlaggedInterviews(ctx, q.db, q.wave, 0, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(flagged) != 1 || flagged[0].ID != typedIV || !flagged[0].NoAnsweredCall {
		t.Errorf("flagged: %+v, want interview %d (no answered call) only, not %d", flagged, typedIV, talkedIV)
	}
	// The interview's attempt codes the answered call.
	as, _ := Attempts(ctx, q.db, talked)
	if len(as) != 1 || as[0].SIPCode != 200 || as[0].TalkMS != 300000 {
		t.Errorf("the completing attempt: %+v", as)
	}
	if flagged, _ := FlaggedInterviews(ctx, q.db, q.wave, 0, nil, false); len(flagged) != 0 {
		t.Errorf("with preview dialing: %+v flagged", flagged)
	}
}

// A call is placed only on a case its interviewer holds.
func TestCallOnlyOnAHeldCase(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	k := q.nextCase("ann")
	if _, err := StartCall(ctx, q.db, k, q.users["bob"]); err == nil {
		t.Error("bob placed a call on ann's case")
	}
}

// Recordings past their retention are deleted, each deletion audited with
// the recording's hash; the row stays, and playback says it is gone.
// Recordings still in their retention stay.
func TestRecordingsAreDeletedAfterTheirRetention(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	dir := t.TempDir()
	record := func(days int) (int64, string) {
		k := q.nextCase("ann")
		id, err := StartCall(ctx, q.db, k, q.users["ann"])
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("call-%d.opus", id))
		if err := os.WriteFile(path, []byte("OggS recording"), 0o600); err != nil {
			t.Fatal(err)
		}
		q.exec(`UPDATE waves SET recording_retention_days = $2 WHERE id = $1`, q.wave, days)
		if err := StartRecording(ctx, q.db, id, path, "opus", days, 0); err != nil {
			t.Fatal(err)
		}
		if err := FinishRecording(ctx, q.db, id, 14, 1, "abc123"); err != nil {
			t.Fatal(err)
		}
		return id, path
	}
	oldCall, oldPath := record(30)
	_, newPath := record(180)
	n, err := DeleteExpiredRecordings(ctx, q.db, time.Now().Add(31*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d (%v), want the one past its 30 days", n, err)
	}
	if _, err := os.Stat(oldPath); !os.IsNotExist(err) {
		t.Error("the expired recording's file is still there")
	}
	if _, err := os.Stat(newPath); err != nil {
		t.Errorf("the recording within its retention is gone: %v", err)
	}
	var old Recording
	q.db.Get(&old.ID, `SELECT id FROM recordings WHERE call_id = $1`, oldCall)
	if _, _, err := OpenRecording(ctx, q.db, old.ID, q.users["ann"], "sup", true); core.ErrorCode(err) != core.ENotFound {
		t.Errorf("playing a deleted recording: %v", err)
	}
	var audited int
	q.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'recording-delete' AND details ->> 'sha256' = 'abc123'
		AND subject = 'recording:' || $1`, old.ID)
	if audited != 1 {
		t.Errorf("the deletion is audited %d times, want once", audited)
	}
	if n, _ := DeleteExpiredRecordings(ctx, q.db, time.Now().Add(31*24*time.Hour)); n != 0 {
		t.Errorf("a second run deleted %d more", n)
	}
}
