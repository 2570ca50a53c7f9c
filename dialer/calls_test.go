package dialer

import (
	"context"
	"testing"
	"time"
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
