// The schedule builder: as its fields change, fetch the next run times the
// server works out (the same cron library that runs the schedules) and
// show them; choosing the advanced option opens the spec field.
(function () {
  "use strict";
  var b = document.getElementById("builder");
  if (!b) { return; }
  var out = document.getElementById("next-runs");
  var adv = document.getElementById("advanced");
  var timer = null, seq = 0;
  function refresh() {
    var p = new URLSearchParams();
    Array.prototype.forEach.call(b.querySelectorAll("input"), function (i) {
      if ((i.type === "radio" || i.type === "checkbox") && !i.checked) { return; }
      p.append(i.name, i.value);
    });
    var mine = ++seq;
    fetch(b.dataset.next + "?" + p.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { if (mine === seq) { out.innerHTML = html; } })
      .catch(function () {});
  }
  function changed(e) {
    if (e.target.name === "repeat" && e.target.value === "cron") { adv.open = true; }
    if (e.target.name === "cron" && e.target.value !== "") {
      var raw = b.querySelector("input[name=repeat][value=cron]");
      if (raw) { raw.checked = true; }
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  }
  b.addEventListener("input", changed);
  b.addEventListener("change", changed);
})();
