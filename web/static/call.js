// The case page's call: 拨打 places it through Minyi's telephony, and the
// page follows its state (振铃 / 通话中 / 已挂断) and time without
// reloading, offers hang-up and the recording consent, and says what the
// network answered or what went wrong.
(function () {
  "use strict";
  var box = document.getElementById("call");
  if (!box) return;
  var id = box.getAttribute("data-case");
  var base = "/cases/" + id;
  var stateEl = document.getElementById("call-state");
  var timerEl = document.getElementById("call-timer");
  var hangup = document.getElementById("hangup-form");
  var consent = document.getElementById("consent-form");
  var problem = document.getElementById("call-problem");
  var coded = document.getElementById("call-coded");
  var next = document.getElementById("call-next");
  var csrf = box.querySelector('input[name="csrf"]').value;
  var seconds = 0, state = "", polling = null, ticking = null;

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    var m = Math.floor(s / 60), r = s % 60;
    return (m < 10 ? "0" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  function show(d) {
    if (!d || !d.state || d.state === "none") return;
    state = d.state;
    box.setAttribute("data-state", state);
    stateEl.textContent = d.label || "";
    seconds = d.seconds || 0;
    timerEl.textContent = clock(seconds);
    var live = state !== "ended";
    hangup.hidden = !live;
    consent.hidden = !(state === "talking" && d.recording && !d.consent);
    problem.hidden = !d.problem;
    problem.textContent = d.problem || "";
    coded.hidden = !d.coded;
    coded.textContent = d.coded ? d.coded + " (SIP " + d.sip_code + ")" : "";
    // A call the network coded has released the case: on to the next.
    next.hidden = !(d.coded && !d.answered);
    if (!live) stop();
  }

  function stop() {
    if (polling) clearInterval(polling);
    if (ticking) clearInterval(ticking);
    polling = ticking = null;
  }

  function poll() {
    fetch(base + "/call", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(show)
      .catch(function () { /* try again at the next tick */ });
  }

  function follow() {
    stop();
    polling = setInterval(poll, 1000);
    ticking = setInterval(function () {
      if (state === "ringing" || state === "talking") timerEl.textContent = clock(++seconds);
    }, 1000);
    poll();
  }

  function send(path, body) {
    body.append("csrf", csrf);
    return fetch(path, { method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json(); })
      .then(function (d) { show(d); if (d.problem && !d.state) { problem.hidden = false; problem.textContent = d.problem; } });
  }

  document.getElementById("call-form").addEventListener("submit", function (e) {
    e.preventDefault();
    problem.hidden = coded.hidden = true;
    stateEl.textContent = "…";
    send(base + "/call", new FormData()).then(follow);
  });
  hangup.addEventListener("submit", function (e) {
    e.preventDefault();
    send(base + "/hangup", new FormData());
  });
  consent.addEventListener("click", function (e) {
    if (e.target.name !== "consent") return;
    e.preventDefault();
    var f = new FormData();
    f.append("consent", e.target.value);
    consent.hidden = true;
    send(base + "/consent", f);
  });
  if (box.getAttribute("data-active") === "true") follow(); else poll();
})();
