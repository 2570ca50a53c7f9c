package telephony

import (
	"context"
	"testing"
	"time"

	"minyi/dialer"
	"minyi/telephony/peers"
)

// The network's answers through SIPp as the carrier, with ann's phone
// (baresip) answering first each time: an unanswered call is coded
// without the interviewer and stored with its code, ring time and who
// hung up; the case moves on by the calling rules; the dispositions and
// the rates count the codes.
func TestNetworkOutcomesAreStored(t *testing.T) {
	f := newField(t)
	c := peers.StartCarrier(t)
	s := startService(t, f, c.URI())
	registerPhone(t, f, s)
	ctx := context.Background()
	for _, tc := range []struct {
		number    string
		code      int
		outcome   string
		aapor     string
		status    string
		hangupBy  string
		minRingMS int64
	}{
		{"13900000486", 486, "busy", "3.12", "pending 3.12", dialer.ByNetwork, 0},
		{"13900000404", 404, "nonworking", "4.31", "final 4.31", dialer.ByNetwork, 0},
		{"13900000480", 480, "unavailable", "3.16", "pending 3.16", dialer.ByNetwork, 0},
		{"13900000603", 603, "network_failure", "3.90", "pending 3.90", dialer.ByNetwork, 0},
		{"13900000999", 487, "no_answer", "3.13", "pending 3.13", dialer.ByMinyi, 4500},
	} {
		t.Run(tc.number, func(t *testing.T) {
			k := f.caseFor(tc.number)
			if _, err := s.Call(ctx, k, f.ann); err != nil {
				t.Fatal(err)
			}
			st := waitState(t, s, k.ID, f.ann, dialer.CallEnded, 60*time.Second)
			if st.SIPCode != tc.code || st.Outcome != tc.outcome || st.AAPOR != tc.aapor || st.HangupBy != tc.hangupBy || st.RingMS < tc.minRingMS || st.TalkMS != 0 {
				t.Errorf("the call as stored: %+v", st.Call)
			}
			as, err := dialer.Attempts(ctx, f.db, k.ID)
			if err != nil || len(as) != 1 || as[0].SIPCode != tc.code || as[0].AAPOR != tc.aapor {
				t.Errorf("attempts: %+v (%v)", as, err)
			}
			var state string
			f.db.Get(&state, `SELECT status || ' ' || coalesce(final_code, reached_code, (SELECT aapor_code FROM attempts WHERE case_id = $1 ORDER BY id DESC LIMIT 1)) FROM cases WHERE id = $1`, k.ID)
			if state != tc.status {
				t.Errorf("the case is %q, want %q", state, tc.status)
			}
		})
	}
	t.Run("answered calls are left to the interviewer", func(t *testing.T) {
		// This wave does not record its calls.
		if err := dialer.SetWaveRecording(ctx, f.db, f.wave, false, 0, 0, "test"); err != nil {
			t.Fatal(err)
		}
		k := f.caseFor("13900000201")
		id, err := s.Call(ctx, k, f.ann)
		if err != nil {
			t.Fatal(err)
		}
		st := waitState(t, s, k.ID, f.ann, dialer.CallEnded, 60*time.Second)
		if st.SIPCode != 200 || st.HangupBy != dialer.ByRespondent || st.TalkMS < 2000 || st.Outcome != "" {
			t.Errorf("the call as stored: %+v", st.Call)
		}
		if as, _ := dialer.Attempts(ctx, f.db, k.ID); len(as) != 0 {
			t.Errorf("an answered call was coded without the interviewer: %+v", as)
		}
		var recorded int
		f.db.Get(&recorded, `SELECT count(*) FROM recordings WHERE call_id = $1`, id)
		if recorded != 0 {
			t.Error("a call of a wave that does not record was recorded")
		}
		if err := dialer.RecordOutcome(ctx, f.db, k.ID, f.ann, "refusal", time.Time{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	codes := map[string]int{}
	err := dialer.EachDisposition(ctx, f.db, f.wave, func(d dialer.Disposition) error { codes[d.Code]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"3.12", "4.31", "3.16", "3.90", "3.13", "2.11"} {
		if codes[code] != 1 {
			t.Errorf("dispositions: %d cases with %s, want 1 (%v)", codes[code], code, codes)
		}
	}
	rows, err := dialer.WaveRates(ctx, f.db, f.wave)
	if err != nil {
		t.Fatal(err)
	}
	all := rows[len(rows)-1].Counts
	if all.R != 1 || all.NE != 1 || all.UH < 4 {
		t.Errorf("rates' counts: %+v, want the refusal in R, the non-working number in NE, the rest unknown", all)
	}
}

// A trunk that does not answer: the call fails within seconds, saying so
// and offering preview dialing; no attempt is used up.
func TestUnreachableTrunkFailsFast(t *testing.T) {
	f := newField(t)
	port := peers.FreePort(t)
	s := startService(t, f, "sip:127.0.0.1:"+itoa(port))
	registerPhone(t, f, s)
	k := f.caseFor("13900000200")
	start := time.Now()
	if _, err := s.Call(context.Background(), k, f.ann); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, k.ID, f.ann, dialer.CallEnded, 30*time.Second)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s to fail", took)
	}
	if st.Problem == nil || st.SIPCode != 0 || st.Outcome != "" {
		t.Errorf("the call: %+v, problem %v", st.Call, st.Problem)
	} else {
		t.Logf("the interviewer is told: %s", st.Problem.ZH)
	}
	if as, _ := dialer.Attempts(context.Background(), f.db, k.ID); len(as) != 0 {
		t.Errorf("an attempt was used up by the trunk's failure: %+v", as)
	}
}
