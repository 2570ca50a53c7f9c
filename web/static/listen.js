// The live view's calls under way: the list follows the calls every few
// seconds, and Listen plays a receive-only copy of a call in the page.
(function () {
  "use strict";
  var root = document.getElementById("live-calls");
  if (!root) return;
  var src = root.getAttribute("data-src");
  var rows = document.getElementById("live-calls-rows");
  var audio = document.getElementById("listen-audio");
  var stopBtn = document.getElementById("listen-stop");
  var listenLabel = document.getElementById("listen-label").innerHTML;
  var noCalls = document.getElementById("no-calls-label").innerHTML;

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function refresh() {
    fetch(src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (calls) {
        rows.textContent = "";
        if (!calls.length) {
          var tr = document.createElement("tr");
          cell(tr, noCalls).colSpan = 6;
          rows.appendChild(tr);
          return;
        }
        calls.forEach(function (c) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-call", c.id);
          cell(tr, c.case_id);
          cell(tr, c.interviewer);
          cell(tr, c.district);
          cell(tr, c.label);
          cell(tr, Math.floor(c.seconds)).className = "n";
          var td = cell(tr, "");
          var b = document.createElement("button");
          b.type = "button";
          b.className = "listen";
          b.textContent = listenLabel;
          b.addEventListener("click", function () {
            audio.src = "/calls/" + c.id + "/listen";
            audio.hidden = stopBtn.hidden = false;
            audio.play();
          });
          td.appendChild(b);
          rows.appendChild(tr);
        });
      })
      .catch(function () { /* keep the last list */ });
  }
  stopBtn.addEventListener("click", function () {
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
    audio.hidden = stopBtn.hidden = true;
  });
  refresh();
  setInterval(refresh, 3000);
})();
