// Keyboard-first interviewing on top of plain forms: every page works
// without this script; it only adds shortcuts.
(function () {
  "use strict";

  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" && t.type !== "radio" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }

  // Buttons and links with data-key are pressed by their key.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || document.getElementById("questionnaire")) return;
    var el = document.querySelector('[data-key="' + e.key.toLowerCase() + '"]');
    if (el) { e.preventDefault(); el.click(); }
  });

  // The questionnaire: number keys choose a code in the current question,
  // Enter moves to the next unanswered question (or submits at the end).
  var form = document.getElementById("questionnaire");
  if (!form) return;
  var qs = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
  var cur = 0;

  function answered(fs) {
    var sel = fs.querySelector("select");
    if (sel) return sel.value !== "";
    return !!fs.querySelector("input[type=radio]:checked");
  }

  function focus(i) {
    if (i < 0 || i >= qs.length) return;
    qs[cur].classList.remove("current");
    cur = i;
    var fs = qs[cur];
    fs.classList.add("current");
    var el = fs.querySelector("select") || fs.querySelector("input[type=radio]:checked") || fs.querySelector("input[type=radio]");
    if (el) el.focus({ preventScroll: true });
    fs.scrollIntoView({ block: "center" });
  }

  function next() {
    for (var i = cur + 1; i < qs.length; i++) {
      if (!answered(qs[i])) { focus(i); return; }
    }
    for (var j = 0; j < qs.length; j++) {
      if (!answered(qs[j])) { focus(j); return; }
    }
    document.getElementById("submit-interview").focus();
  }

  qs.forEach(function (fs, i) {
    fs.addEventListener("focusin", function () { if (cur !== i) { qs[cur].classList.remove("current"); cur = i; fs.classList.add("current"); } });
  });

  form.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var fs = qs[cur];
    if (document.activeElement === document.getElementById("submit-interview")) return;
    if (/^[0-9]$/.test(e.key) && fs && !fs.querySelector("select")) {
      var r = fs.querySelector('input[type=radio][value="' + e.key + '"]');
      if (r) { e.preventDefault(); r.checked = true; r.focus(); }
      return;
    }
    if (e.key === "Enter") {
      e.preventDefault();
      movedByEnter = true;
      if (fs && answered(fs)) next(); else if (fs) focus(cur);
    } else if (e.key === "Backspace" && e.target.tagName !== "SELECT") {
      e.preventDefault();
      focus(cur - 1);
    }
  });

  // Enter never submits the form implicitly: it moves on. Only the save
  // button (clicked, or Enter on it) submits.
  // An Enter that moved focus must not also press what it moved to.
  var movedByEnter = false;
  form.addEventListener("keypress", function (e) {
    if (e.key !== "Enter") return;
    if (movedByEnter || e.target.id !== "submit-interview") e.preventDefault();
    movedByEnter = false;
  });
  form.addEventListener("keyup", function (e) { if (e.key === "Enter") movedByEnter = false; });

  var firstBad = form.querySelector("fieldset.invalid");
  focus(firstBad ? qs.indexOf(firstBad) : 0);
})();
