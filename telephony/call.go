package telephony

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"minyi/core"
	"minyi/dialer"
	"minyi/media"
)

// liveCall is a call under way, as this server knows it.
type liveCall struct {
	id, caseID, userID int64
	hangup             chan struct{}
	hangupOnce         sync.Once

	mu         sync.Mutex
	state      string
	startedAt  time.Time
	answeredAt time.Time
	problem    *core.Text
	tap        *media.Tap
	recording  bool
	legs       [2]media.Leg // the interviewer's and the respondent's, once bridged
}

// seconds is how long a call in state has rung, or been talked once
// answered; lc.mu is held.
func (lc *liveCall) seconds(state string) float64 {
	switch state {
	case dialer.CallRinging:
		return time.Since(lc.startedAt).Seconds()
	case dialer.CallTalking:
		return time.Since(lc.answeredAt).Seconds()
	}
	return 0
}

func (lc *liveCall) set(f func(*liveCall)) {
	lc.mu.Lock()
	f(lc)
	lc.mu.Unlock()
}

// Errors a call can meet before it is placed or on its way.
var (
	errBusyLines = core.Errorf(core.EConflict, "所有线路都在使用中，请稍后再拨", "all lines are in use; call again in a moment")
	errInCall    = core.Errorf(core.EConflict, "您已有一个通话在进行中", "you already have a call under way")
	errRingTime  = errors.New("ring timeout")
	errHungUp    = errors.New("hung up")
	// UnreachableAfter is how long the trunk has to answer an INVITE at
	// all (100 Trying, 180 Ringing…) before it is taken to be down.
	UnreachableAfter = 5 * time.Second
)

// problemNoPhone says that the interviewer's phone cannot be reached.
var problemNoPhone = core.Text{ZH: "您的话机没有注册到民意，也没有设置话机地址：请在“我的话机”页按说明设置话机，或点号码用预览方式拨打。",
	EN: "Your phone is not registered to Minyi and has no address set: set it up as your phone page says, or click the number to dial it yourself."}

// Call places a call on a case the interviewer holds: their phone rings
// first; when they answer, the respondent is called through the trunk;
// when the respondent answers, the two are bridged (and recorded, if the
// wave records). It returns the call's id once it is under way.
func (s *Service) Call(ctx context.Context, c *dialer.Case, userID int64) (int64, error) {
	s.mu.Lock()
	if lc := s.byUser[userID]; lc != nil && s.byID[lc.id] != nil {
		s.mu.Unlock()
		return 0, errInCall
	}
	s.mu.Unlock()
	acct, err := AccountOf(ctx, s.db, userID)
	if err != nil {
		return 0, err
	}
	var phone sip.Uri
	_, inBrowser := s.browser(userID)
	if inBrowser {
		// The browser phone is there: it is not rung, the interviewer has
		// just pressed 拨打 on it.
	} else if acct.PhoneURI != "" {
		if err := sip.ParseUri(acct.PhoneURI, &phone); err != nil {
			return 0, core.Errorf(core.EInvalid, "话机地址 %q 无效", "the phone address %q is not valid", acct.PhoneURI)
		}
	} else if u, ok := s.reg.phone(acct.SIPUser); ok {
		phone = u
	} else {
		return 0, &core.Error{Code: core.EInvalid, ZH: problemNoPhone.ZH, EN: problemNoPhone.EN}
	}
	number := digits(c.Phone)
	if number == "" {
		return 0, core.Errorf(core.EInvalid, "这个样本没有可拨打的号码", "this case has no number to call")
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return 0, errBusyLines
	}
	id, err := dialer.StartCall(ctx, s.db, c.ID, userID)
	if err != nil {
		<-s.slots
		return 0, err
	}
	record, days, err := dialer.RecordingPolicy(ctx, s.db, c.ID)
	if err != nil {
		<-s.slots
		return 0, err
	}
	lc := &liveCall{id: id, caseID: c.ID, userID: userID, hangup: make(chan struct{}), state: dialer.CallRinging, startedAt: time.Now()}
	s.mu.Lock()
	s.byUser[userID], s.byID[id] = lc, lc
	s.mu.Unlock()
	if !inBrowser {
		s.addPeer(phone, 1)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		if inBrowser {
			s.run(lc, nil, number, record, days)
		} else {
			defer s.addPeer(phone, -1)
			s.run(lc, &phone, number, record, days)
		}
		s.mu.Lock()
		delete(s.byID, id)
		s.mu.Unlock()
	}()
	return id, nil
}

// Hangup ends the interviewer's call on a case: hangs up both legs of an
// answered call, or cancels one still ringing.
func (s *Service) Hangup(_ context.Context, caseID, userID int64) error {
	s.mu.Lock()
	lc := s.byUser[userID]
	s.mu.Unlock()
	if lc == nil || lc.caseID != caseID {
		return core.Errorf(core.ENotFound, "没有进行中的通话", "no call under way")
	}
	lc.hangupOnce.Do(func() { close(lc.hangup) })
	return nil
}

// Consent stores the respondent's answer to the recording consent prompt,
// given by the interviewer on their answered call on a case. A refusal
// stops the recording: what was recorded up to the answer (the prompt and
// the refusal itself) is kept, hashed and audited, as the record of it.
func (s *Service) Consent(ctx context.Context, caseID, userID int64, username string, yes bool) error {
	s.mu.Lock()
	lc := s.byUser[userID]
	s.mu.Unlock()
	if lc == nil || lc.caseID != caseID {
		return core.Errorf(core.ENotFound, "没有进行中的通话", "no call under way")
	}
	if err := dialer.SetConsent(ctx, s.db, lc.id, userID, username, yes); err != nil {
		return err
	}
	if yes {
		return nil
	}
	lc.mu.Lock()
	tap := lc.tap
	lc.recording = false
	lc.mu.Unlock()
	if tap == nil {
		return nil
	}
	info, recorded, err := tap.StopRecording()
	if err != nil {
		s.log.Error("sip: recording failed", "call", lc.id, "err", err)
	}
	if recorded {
		return dialer.FinishRecording(ctx, s.db, lc.id, info.Bytes, info.Seconds, info.SHA256)
	}
	return nil
}

// Status is the interviewer's latest call on a case: as stored, with the
// state and time of a call under way as this server sees them.
func (s *Service) Status(ctx context.Context, caseID, userID int64) (dialer.CallStatus, error) {
	s.mu.Lock()
	lc := s.byUser[userID]
	s.mu.Unlock()
	var c *dialer.Call
	var err error
	if lc != nil && lc.caseID == caseID {
		c, err = dialer.GetCall(ctx, s.db, lc.id)
	} else {
		c, err = dialer.LatestCall(ctx, s.db, caseID, userID)
	}
	if err != nil {
		return dialer.CallStatus{}, err
	}
	st := dialer.CallStatus{Call: *c}
	if lc != nil && lc.id == c.ID {
		lc.mu.Lock()
		if c.State != dialer.CallEnded {
			st.State = lc.state
		}
		st.Problem = lc.problem
		st.Recording = lc.recording && c.State != dialer.CallEnded
		st.Seconds = lc.seconds(st.State)
		lc.mu.Unlock()
	}
	if st.State == dialer.CallEnded {
		st.Seconds = float64(c.TalkMS) / 1000
	}
	return st, nil
}

// run is a call's life: ring the interviewer (at phone; nil: their
// browser phone, which is not rung), ring the respondent, bridge, and
// store how it ended.
func (s *Service) run(lc *liveCall, phone *sip.Uri, number string, record bool, days int) {
	ctx := s.ctx
	end := dialer.CallEnd{ID: lc.id}
	store := context.WithoutCancel(ctx)
	finish := func() {
		sctx, cancel := context.WithTimeout(store, 30*time.Second)
		defer cancel()
		if _, _, err := dialer.EndCall(sctx, s.db, end, time.Now()); err != nil {
			s.log.Error("sip: storing the end of a call failed", "call", lc.id, "err", err)
		}
		lc.set(func(lc *liveCall) { lc.state = dialer.CallEnded })
	}

	// The interviewer's phone first: only when they are there is the
	// respondent called.
	var a interviewerLeg
	if phone == nil {
		a = s.browserInterviewer(lc.userID)
	} else {
		dA, medA, _, err := s.invite(ctx, *phone, legOptions{ring: s.cfg.RingTimeout, hangup: lc.hangup, from: "minyi"})
		if err != nil {
			p := core.Text{ZH: "您的话机没有接听，没有拨打受访者。", EN: "Your phone did not answer; the respondent was not called."}
			if errors.Is(err, errHungUp) {
				p = core.Text{ZH: "已取消。", EN: "Cancelled."}
			}
			lc.set(func(lc *liveCall) { lc.problem = &p })
			end.HangupBy, end.Error = dialer.ByInterviewer, "interviewer phone: "+err.Error()
			finish()
			return
		}
		defer dA.Close()
		a = sipInterviewer(dA, medA, store)
	}
	hangupA := a.hangup

	startB := time.Now()
	dB, medB, code, err := s.invite(ctx, s.trunkTarget(number), legOptions{ring: s.cfg.RingTimeout, hangup: lc.hangup,
		user: s.cfg.User, password: s.cfg.Password, callerID: s.cfg.CallerID, unreachable: UnreachableAfter})
	end.RingMS = time.Since(startB).Milliseconds()
	if err != nil {
		hangupA()
		end.SIPCode, end.Dialled = code, code != 0
		switch {
		case code == 0:
			p := core.Text{ZH: "无法连接电话线路（" + s.trunk.HostPort() + "），没有拨出。请点号码用预览方式拨打，并告知管理员。",
				EN: "The telephone trunk (" + s.trunk.HostPort() + ") cannot be reached; the call was not placed. Click the number to dial it yourself, and tell an admin."}
			lc.set(func(lc *liveCall) { lc.problem = &p })
			end.HangupBy, end.Error = dialer.ByNetwork, "trunk unreachable: "+err.Error()
			s.log.Error("sip: trunk unreachable", "trunk", s.trunk.HostPort(), "err", err)
		case errors.Is(err, errHungUp):
			end.HangupBy = dialer.ByInterviewer
		case errors.Is(err, errRingTime):
			end.HangupBy = dialer.ByMinyi
		default:
			end.HangupBy = dialer.ByNetwork
		}
		finish()
		return
	}
	defer dB.Close()
	end.SIPCode, end.Dialled = dialer.StatusAnswered, true
	answered := time.Now()
	if err := dialer.CallAnswered(store, s.db, lc.id); err != nil {
		s.log.Error("sip: storing an answer failed", "call", lc.id, "err", err)
	}
	lc.set(func(lc *liveCall) { lc.state, lc.answeredAt = dialer.CallTalking, answered })

	end.HangupBy = s.bridge(ctx, lc, a, dB, medB, record, days)
	end.TalkMS = time.Since(answered).Milliseconds()
	hctx, cancel := context.WithTimeout(store, 5*time.Second)
	a.hangup()
	dB.Hangup(hctx)
	cancel()
	finish()
}

// interviewerLeg is the interviewer's side of a call: a SIP phone's
// dialog, or their browser phone.
type interviewerLeg struct {
	leg    media.Leg
	done   <-chan struct{} // the interviewer hung up (a SIP phone's BYE)
	stop   func()          // ends the leg's reads, for the relay to stop
	hangup func()          // hangs the phone up
}

func sipInterviewer(d *diago.DialogClientSession, med *diago.DialogMedia, store context.Context) interviewerLeg {
	var leg media.Leg
	if l, err := media.NewSessionLeg(med.MediaSession()); err == nil {
		leg = l
	}
	return interviewerLeg{leg: leg, done: d.Context().Done(), stop: func() { med.Close() }, hangup: func() {
		hctx, cancel := context.WithTimeout(store, 5*time.Second)
		defer cancel()
		d.Hangup(hctx)
	}}
}

// browserInterviewer is the browser phone as a call's interviewer leg: it
// stays connected when the call ends, ready for the next one; the page's
// hang-up ends the call through lc.hangup.
func (s *Service) browserInterviewer(userID int64) interviewerLeg {
	l := s.browserLeg(userID)
	var once sync.Once
	stop := func() { once.Do(l.close) }
	return interviewerLeg{leg: l, done: nil, stop: stop, hangup: stop}
}

// bridge relays an answered call's audio until a side hangs up, recording
// it when the wave records; it returns who hung up.
func (s *Service) bridge(ctx context.Context, lc *liveCall, a interviewerLeg,
	dB *diago.DialogClientSession, medB *diago.DialogMedia, record bool, days int) string {
	legA := a.leg
	legB, err := media.NewSessionLeg(medB.MediaSession())
	if legA == nil || err != nil {
		s.log.Error("sip: no common codec", "call", lc.id, "err", err)
		return dialer.ByMinyi
	}
	var rec *media.Recording
	if record {
		rec = s.startRecording(lc.id, days)
	}
	tap := media.NewTap(rec)
	lc.set(func(lc *liveCall) { lc.tap, lc.recording, lc.legs = tap, rec != nil, [2]media.Leg{legA, legB} })
	relay := media.StartRelay(legA, legB, tap)
	if rec != nil && s.prompt != nil {
		// The respondent hears the consent prompt first, and only it;
		// the interviewer hears their answer.
		relay.Mute(media.ToRespondent, true)
		go func() {
			media.Play(dB.Context(), relay.To[media.ToRespondent], s.prompt, tap, media.Left)
			relay.Mute(media.ToRespondent, false)
		}()
	}
	by := dialer.ByMinyi
	select {
	case <-a.done:
		by = dialer.ByInterviewer
	case <-dB.Context().Done():
		by = dialer.ByRespondent
	case <-lc.hangup:
		by = dialer.ByInterviewer
	case <-ctx.Done():
	}
	// Closing the media ends the relay's reads.
	a.stop()
	medB.Close()
	relay.Wait()
	info, recorded, err := tap.Close()
	if err != nil {
		s.log.Error("sip: recording failed", "call", lc.id, "err", err)
	}
	if recorded {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := dialer.FinishRecording(sctx, s.db, lc.id, info.Bytes, info.Seconds, info.SHA256); err != nil {
			s.log.Error("sip: storing a recording failed", "call", lc.id, "err", err)
		}
	}
	return by
}

// startRecording creates a call's recording file and stores it; a call
// that cannot be recorded goes on unrecorded, and says so in the log.
func (s *Service) startRecording(callID int64, days int) *media.Recording {
	dir := filepath.Join(s.cfg.Recordings, time.Now().In(core.Shanghai).Format("2006-01"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.log.Error("sip: recordings directory", "err", err)
		return nil
	}
	path := filepath.Join(dir, fmt.Sprintf("call-%d.opus", callID))
	rec, err := media.CreateRecording(path)
	if err != nil {
		s.log.Error("sip: cannot record", "call", callID, "err", err)
		return nil
	}
	if err := dialer.StartRecording(context.WithoutCancel(s.ctx), s.db, callID, path, "opus", days, s.cfg.Retention); err != nil {
		s.log.Error("sip: cannot store a recording", "call", callID, "err", err)
	}
	return rec
}

// legOptions say how to place one leg.
type legOptions struct {
	ring        time.Duration
	hangup      <-chan struct{}
	user        string
	password    string
	callerID    string
	from        string
	unreachable time.Duration // no response at all this long: the peer is down
}

// invite places one leg and waits for its answer. It returns the final
// SIP code (200 when answered, 487 when Minyi gave up at the ring timeout,
// 0 when the peer never answered at all).
func (s *Service) invite(ctx context.Context, to sip.Uri, o legOptions) (*diago.DialogClientSession, *diago.DialogMedia, int, error) {
	d, err := s.dg.NewDialog(to, diago.NewDialogOptions{Transport: s.cfg.Transport()})
	if err != nil {
		return nil, nil, 0, err
	}
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	var responded atomic.Bool
	ring := time.AfterFunc(o.ring, func() {
		if !responded.Load() {
			// Nothing came back at all: the peer is down, and waiting
			// for a response to a CANCEL would take half a minute more.
			cancel(sipgo.WaitAnswerForceCancelErr)
			return
		}
		cancel(errRingTime)
	})
	defer ring.Stop()
	if o.unreachable > 0 {
		t := time.AfterFunc(o.unreachable, func() {
			if !responded.Load() {
				cancel(sipgo.WaitAnswerForceCancelErr)
			}
		})
		defer t.Stop()
	}
	go func() {
		select {
		case <-o.hangup:
			cancel(errHungUp)
		case <-ictx.Done():
		}
	}()
	opts := diago.InviteClientOptions{
		OnResponse: func(*sip.Response) error { responded.Store(true); return nil },
		Username:   o.user, Password: o.password,
	}
	host := s.trunk.Host
	switch {
	case o.callerID != "":
		opts.WithCaller(o.callerID, o.callerID, host)
	case o.from != "":
		opts.WithCaller("民意 Minyi", o.from, host)
	}
	med, err := d.Invite(ictx, opts)
	if err != nil {
		code := 0
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			code = de.Res.StatusCode
		} else if r := d.InviteResponse; r != nil && !r.IsProvisional() {
			code = r.StatusCode
		}
		cause := context.Cause(ictx)
		if code == 0 && responded.Load() && (cause == errRingTime || cause == errHungUp) {
			code = sip.StatusRequestTerminated
		}
		d.Close()
		switch cause {
		case errRingTime, errHungUp:
			return nil, nil, code, cause
		case sipgo.WaitAnswerForceCancelErr:
			return nil, nil, 0, fmt.Errorf("no response from %s in %s", to.HostPort(), time.Since(start).Round(time.Second))
		}
		return nil, nil, code, err
	}
	if err := d.Ack(ctx); err != nil {
		d.Close()
		return nil, nil, 0, err
	}
	return d, med, dialer.StatusAnswered, nil
}

// Listen gives a supervisor a receive-only copy of a call's audio: the
// parties hear nothing of it. The listening is audited.
func (s *Service) Listen(ctx context.Context, callID, userID int64, username string) (<-chan media.Frame, func(), error) {
	s.mu.Lock()
	lc := s.byID[callID]
	s.mu.Unlock()
	var tap *media.Tap
	if lc != nil {
		lc.mu.Lock()
		tap = lc.tap
		lc.mu.Unlock()
	}
	if tap == nil {
		return nil, nil, core.Errorf(core.ENotFound, "这个通话没有在进行（或不在这台服务器上）", "this call is not under way (or not on this server)")
	}
	if err := core.AuditNow(ctx, s.db, core.AuditEntry{ActorID: userID, Actor: username, Action: "listen-in",
		Subject: fmt.Sprintf("call:%d", callID), Details: map[string]any{"case": lc.caseID}}); err != nil {
		return nil, nil, err
	}
	frames, stop := tap.Listen()
	return frames, stop, nil
}
