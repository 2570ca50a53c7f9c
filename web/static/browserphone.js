// The browser phone: a headset check (level meter, three seconds recorded
// and played back), then one WebRTC connection to Minyi that stays up for
// the shift and reconnects by itself after a network blip. The calls are
// placed from the case page; this window carries their audio, shows their
// state and time, and mutes or hangs up.
(function () {
  "use strict";
  var box = document.getElementById("bphone");
  if (!box) return;
  function t(k) { return box.getAttribute("data-t-" + k) || ""; }
  var csrf = box.getAttribute("data-csrf");
  var ice = [];
  try { ice = JSON.parse(box.getAttribute("data-ice") || "[]") || []; } catch (e) { ice = []; }
  var meter = document.getElementById("mic-level");
  var problem = document.getElementById("mic-problem");
  var message = document.getElementById("check-message");
  var statusEl = document.getElementById("phone-status");
  var stateEl = document.getElementById("bcall-state");
  var timerEl = document.getElementById("bcall-timer");
  var caseLink = document.getElementById("bcall-case");
  var muteBtn = document.getElementById("phone-mute");
  var hangBtn = document.getElementById("phone-hangup");
  var audio = document.getElementById("phone-audio");
  var stream = null, pc = null, wanted = false, muted = false, retry = null;

  function say(el, text) { el.textContent = text; el.hidden = !text; }

  // The microphone, asked for once; the errors a browser gives, in words.
  function microphone() {
    if (stream) return Promise.resolve(stream);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(problem, t("insecure"));
      return Promise.reject(new Error("insecure"));
    }
    // A headset has no echo to cancel, and noise suppression and gain
    // control would reshape the voice the recording must keep as spoken.
    return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false })
      .then(function (s) {
        stream = s;
        say(problem, "");
        level(s);
        return s;
      }, function (err) {
        var name = err && err.name;
        if (name === "NotAllowedError" || name === "SecurityError") say(problem, t("denied"));
        else if (name === "NotFoundError" || name === "OverconstrainedError") say(problem, t("nodevice"));
        else say(problem, t("failed") + (err && err.message || name || ""));
        throw err;
      });
  }

  // The input level meter, from the microphone's samples.
  function level(s) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    var ctx = new Ctx();
    var an = ctx.createAnalyser();
    an.fftSize = 512;
    ctx.createMediaStreamSource(s).connect(an);
    var buf = new Float32Array(an.fftSize);
    setInterval(function () {
      an.getFloatTimeDomainData(buf);
      var sum = 0;
      for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      var rms = Math.sqrt(sum / buf.length);
      meter.value = muted ? 0 : Math.min(1, rms * 4);
      box.setAttribute("data-level", meter.value.toFixed(3));
    }, 100);
    if (ctx.state === "suspended") ctx.resume();
  }

  document.getElementById("check-start").addEventListener("click", function () {
    microphone().then(function (s) {
      if (!window.MediaRecorder) { say(message, t("ok")); return; }
      var rec = new MediaRecorder(s), parts = [];
      rec.ondataavailable = function (e) { if (e.data && e.data.size) parts.push(e.data); };
      rec.onstop = function () {
        var play = document.getElementById("check-playback");
        play.src = URL.createObjectURL(new Blob(parts, { type: rec.mimeType }));
        say(message, t("playing"));
        play.onended = function () { say(message, t("ok")); };
        play.play().catch(function () { say(message, t("ok")); });
        box.setAttribute("data-checked", "yes");
      };
      say(message, t("recording"));
      rec.start();
      setTimeout(function () { rec.stop(); }, 3000);
    }, function () { /* the problem is shown */ });
  });

  // connect opens the connection: the offer carries the browser's
  // candidates (gathered first, no trickling), Minyi's answer its own.
  function connect() {
    wanted = true;
    box.setAttribute("data-connection", "new");
    if (retry) { clearTimeout(retry); retry = null; }
    return microphone().then(function (s) {
      var old = pc;
      pc = new RTCPeerConnection({ iceServers: ice });
      if (old) old.close();
      var mine = pc;
      s.getAudioTracks().forEach(function (tr) { mine.addTrack(tr, s); });
      mine.ontrack = function (e) { audio.srcObject = e.streams[0] || new MediaStream([e.track]); };
      mine.onconnectionstatechange = function () {
        if (mine !== pc) return;
        var st = mine.connectionState;
        box.setAttribute("data-connection", st);
        if (st === "connected") statusEl.textContent = t("on");
        if ((st === "failed" || st === "disconnected") && wanted) again();
      };
      statusEl.textContent = t("connecting");
      return mine.createOffer().then(function (o) { return mine.setLocalDescription(o); })
        .then(function () { return gathered(mine); })
        .then(function () {
          return fetch("/phone/browser/offer", {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
            body: JSON.stringify({ sdp: mine.localDescription.sdp })
          });
        })
        .then(function (r) {
          return r.json().then(function (d) {
            if (!r.ok) throw new Error(d && d.problem || r.status);
            return mine.setRemoteDescription({ type: "answer", sdp: d.sdp });
          });
        });
    }).catch(function (err) {
      if (err && err.message === "insecure") return;
      statusEl.textContent = t("refused") + (err && err.message || "");
      if (wanted && stream) again();
    });
  }

  // gathered waits for the browser's candidates, at most two seconds.
  function gathered(p) {
    return new Promise(function (done) {
      if (p.iceGatheringState === "complete") return done();
      var timer = setTimeout(done, 2000);
      p.addEventListener("icegatheringstatechange", function () {
        if (p.iceGatheringState === "complete") { clearTimeout(timer); done(); }
      });
    });
  }

  // again reconnects after a blip; the call goes on over the new
  // connection, and the answers on the other pages are untouched.
  function again() {
    if (retry) return;
    statusEl.textContent = t("again");
    retry = setTimeout(function () { retry = null; connect(); }, 1000);
  }

  document.getElementById("phone-connect").addEventListener("click", connect);

  muteBtn.addEventListener("click", function () {
    muted = !muted;
    if (stream) stream.getAudioTracks().forEach(function (tr) { tr.enabled = !muted; });
    muteBtn.firstChild.textContent = (muted ? t("unmute") : t("mute")) + " ";
    box.setAttribute("data-muted", muted ? "yes" : "no");
  });

  hangBtn.addEventListener("click", function () {
    fetch("/phone/browser/hangup", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
  });

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    var m = Math.floor(s / 60), r = s % 60;
    return (m < 10 ? "0" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  // The call's state, as the server knows it.
  setInterval(function () {
    if (!wanted) return;
    fetch("/phone/browser/state", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        stateEl.textContent = d.label;
        box.setAttribute("data-call", d.call || "");
        var live = d.call === "ringing" || d.call === "talking";
        timerEl.textContent = live ? clock(d.seconds) : "";
        muteBtn.disabled = hangBtn.disabled = !live;
        caseLink.hidden = !d["case"];
        if (d["case"]) caseLink.href = "/cases/" + d["case"];
      })
      .catch(function () { /* the next tick tries again */ });
  }, 500);
})();
