// Keyboard-first interviewing on top of plain forms: every page works
// without this script; it adds shortcuts, skip logic, checks before the
// server's, progress, and a draft kept on the server as answers are given.
(function () {
  "use strict";

  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" && t.type !== "radio" && t.type !== "checkbox" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }

  // Buttons and links with data-key are pressed by their key; a label's
  // key puts the cursor in its field.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || document.getElementById("questionnaire")) return;
    var el = document.querySelector('[data-key="' + e.key.toLowerCase() + '"]');
    if (!el) return;
    e.preventDefault();
    if (el.tagName === "LABEL" && el.control) el.control.focus(); else el.click();
  });

  // Enter in a field with data-enter presses the button it names rather
  // than the form's first (the appointment time books the appointment).
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || !t || !t.dataset || !t.dataset.enter) return;
    var b = document.getElementById(t.dataset.enter);
    if (b) { e.preventDefault(); e.stopPropagation(); b.click(); }
  }, true);
  // Its keypress would submit the form with its first button all the same.
  document.addEventListener("keypress", function (e) {
    var t = e.target;
    if (e.key === "Enter" && t && t.dataset && t.dataset.enter) e.preventDefault();
  }, true);

  // A print button prints the page (the visit sheet).
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  var form = document.getElementById("questionnaire");
  if (!form) return;

  var en = document.documentElement.lang === "en";
  function tr(zh, eng) { return en ? eng : zh; }

  var qs = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
  var byId = {};
  var conds = {};
  qs.forEach(function (fs) {
    byId[fs.dataset.qid] = fs;
    if (fs.dataset.showIf) {
      try { conds[fs.dataset.qid] = JSON.parse(fs.dataset.showIf); } catch (err) { conds[fs.dataset.qid] = null; }
    }
  });
  var dontKnow = (form.dataset.dontKnow || "").split(",").filter(Boolean);
  var submit = document.getElementById("submit-interview");
  var screenedNote = document.getElementById("screened-out");
  var cur = 0;

  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (el) { el.hidden = false; });

  // --- paradata --------------------------------------------------------------
  // Time spent on each question and every answer changed after it was
  // given, kept with the draft (so a resumed interview keeps them) and sent
  // with the saved interview.

  var para = { device: screen.width + "x" + screen.height, question_ms: {}, changes: [] };
  try {
    var kept = JSON.parse(form.dataset.paradata || "{}");
    if (kept.question_ms) para.question_ms = kept.question_ms;
    if (kept.changes) para.changes = kept.changes;
  } catch (err) { /* start afresh */ }
  var startedAt = Date.parse((form.querySelector("input[name=started]") || {}).value || "") || Date.now();
  var enteredAt = Date.now(), given = {};

  // tally books the time on the current question up to now and notes a
  // changed answer; it runs whenever the interviewer leaves a question.
  function tally() {
    var fs = qs[cur];
    if (!fs) return;
    var id = fs.dataset.qid, now = Date.now();
    if (enteredAt !== null) {
      para.question_ms[id] = (para.question_ms[id] || 0) + (now - enteredAt);
      enteredAt = now;
    }
    var v = value(fs);
    if (given[id] && v !== given[id] && para.changes.length < 2000) {
      para.changes.push({ q: id, from: given[id], to: v, t: now - startedAt });
    }
    if (v !== "") given[id] = v;
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { tally(); enteredAt = null; } else enteredAt = Date.now();
  });

  // --- answers -------------------------------------------------------------

  function type(fs) { return fs.dataset.type; }

  // value is a question's answer as the server takes it: a code, codes
  // joined by commas, or the text typed; "" when unanswered.
  function value(fs) {
    switch (type(fs)) {
      case "multiple":
        return Array.prototype.map.call(fs.querySelectorAll("input[type=checkbox]:checked"), function (b) { return b.value; }).join(",");
      case "single":
        var r = fs.querySelector("input[type=radio]:checked");
        return r ? r.value : "";
      case "district":
        return fs.querySelector("select").value;
      default:
        var el = fs.querySelector("input, textarea");
        return el ? el.value.trim() : "";
    }
  }

  function badInput(fs) {
    var el = fs.querySelector("input[type=number], input[type=date]");
    return !!(el && el.validity && el.validity.badInput);
  }

  var numberRE = /^-?[0-9]+(\.[0-9]+)?$/;
  var dateRE = /^(\d{4})-(\d{2})-(\d{2})$/;

  function realDate(s) {
    var m = dateRE.exec(s);
    if (!m) return false;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
  }

  function codes(s) { return s ? s.split(",") : []; }

  // check returns the message the server would give for the question's
  // answer, "" when it is fine (the server checks again on saving).
  function check(fs) {
    var v = value(fs);
    var range = fs.dataset.range || "";
    if (v === "" && !badInput(fs)) {
      return fs.dataset.optional ? "" : tr("请回答此题", "please answer this question");
    }
    switch (type(fs)) {
      case "number":
        var dec = +(fs.dataset.decimals || 0);
        if (badInput(fs) || !numberRE.test(v)) return dec ? tr("请填写数字", "enter a number") : tr("请填写整数", "enter a whole number");
        var dot = v.indexOf(".");
        if (dot >= 0 && v.length - dot - 1 > dec) {
          return dec ? tr("最多 " + dec + " 位小数", "at most " + dec + " decimal places") : tr("请填写整数", "enter a whole number");
        }
        var el = fs.querySelector("input");
        var f = parseFloat(v);
        if ((el.min !== "" && f < parseFloat(el.min)) || (el.max !== "" && f > parseFloat(el.max))) {
          return tr("请填写 " + range + " 之间的数", "enter a number within " + range);
        }
        return "";
      case "date":
        if (badInput(fs) || !realDate(v)) return tr("请按 年-月-日 填写日期，如 2024-05-01", "enter a date as year-month-day, e.g. 2024-05-01");
        var d = fs.querySelector("input");
        if ((d.min && v < d.min) || (d.max && v > d.max)) return tr("日期须在 " + range + " 之间", "the date must be within " + range);
        return "";
      case "text":
        var n = Array.from(v).length, max = +(fs.querySelector("textarea").getAttribute("maxlength") || 0);
        if (max && n > max) return tr("最多 " + max + " 个字，现有 " + n + " 个", "at most " + max + " characters; this has " + n);
        return "";
      case "multiple":
        var chosen = codes(v);
        var excl = codes(fs.dataset.exclusive || "");
        for (var i = 0; i < excl.length; i++) {
          if (chosen.indexOf(excl[i]) >= 0 && chosen.length > 1) {
            var lab = fs.querySelector('input[value="' + excl[i] + '"]').parentNode.textContent.replace(excl[i], "").trim();
            return tr("“" + lab + "”不能与其他选项同选", "\"" + lab + "\" cannot be chosen with other options");
          }
        }
        if (fs.dataset.min && chosen.length < +fs.dataset.min) return tr("至少选 " + fs.dataset.min + " 项", "choose at least " + fs.dataset.min);
        if (fs.dataset.max && chosen.length > +fs.dataset.max) return tr("最多选 " + fs.dataset.max + " 项", "choose at most " + fs.dataset.max);
        return "";
    }
    return "";
  }

  // --- skip logic ----------------------------------------------------------

  var shown = {}, valid = {}, screenedAt = -1;

  // holds evaluates a show_if condition as the server does: on the valid
  // answers of questions asked before; a test on a question not asked or
  // not answered is false.
  function holds(c) {
    if (!c) return true;
    if (c.all && c.all.length) return c.all.every(holds);
    if (c.any && c.any.length) return c.any.some(holds);
    if (c.not) return !holds(c.not);
    var a = valid[c.question];
    if (!shown[c.question] || !a) return false;
    if (c.in && c.in.length) {
      var parts = codes(a);
      return c.in.some(function (x) { return parts.indexOf(String(x)) >= 0; });
    }
    var ref = byId[c.question];
    if (ref && type(ref) === "date") {
      return (c.min === undefined || a >= c.min) && (c.max === undefined || a <= c.max);
    }
    var f = parseFloat(a);
    return numberRE.test(a) && (c.min === undefined || f >= c.min) && (c.max === undefined || f <= c.max);
  }

  function visible(fs) { return !fs.hidden; }

  // refresh hides the questions not asked given the answers (disabled, so
  // their answers are not sent) and those after a screener answer that
  // ends the interview, then updates the progress.
  function refresh() {
    shown = {}; valid = {}; screenedAt = -1;
    qs.forEach(function (fs, i) {
      var id = fs.dataset.qid;
      var ask = screenedAt < 0 && holds(conds[id]);
      fs.hidden = !ask;
      fs.disabled = !ask;
      if (!ask) return;
      shown[id] = true;
      var v = value(fs);
      if (v !== "" && check(fs) === "") {
        valid[id] = v;
        if (fs.dataset.eligible && codes(fs.dataset.eligible).indexOf(v) < 0) screenedAt = i;
      }
    });
    if (screenedNote) screenedNote.hidden = screenedAt < 0;
    progress();
  }

  function progress() {
    var asked = 0, answered = 0;
    qs.forEach(function (fs) {
      if (!visible(fs)) return;
      asked++;
      if (valid[fs.dataset.qid] !== undefined) answered++;
    });
    var bar = document.getElementById("progress-bar");
    if (bar) { bar.max = asked || 1; bar.value = answered; }
    var txt = document.getElementById("progress-text");
    if (txt) txt.textContent = tr("已答 " + answered + " / " + asked + " 题", answered + " of " + asked + " questions answered");
  }

  // --- messages --------------------------------------------------------------

  function showError(fs, msg) {
    Array.prototype.forEach.call(fs.querySelectorAll(".field-error"), function (p) { p.remove(); });
    fs.classList.toggle("invalid", !!msg);
    if (!msg) return;
    var p = document.createElement("p");
    p.className = "field-error";
    p.setAttribute("role", "alert");
    p.textContent = msg;
    var after = fs.querySelector(".options, input, select, textarea");
    fs.insertBefore(p, after);
  }

  function summary(n) {
    var el = document.getElementById("js-error-summary");
    if (!n) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement("p");
      el.id = "js-error-summary";
      el.className = "error";
      el.setAttribute("role", "alert");
      form.insertBefore(el, form.firstChild);
    }
    el.textContent = tr("有 " + n + " 道题需要改正，已在题目旁标出。", n + " questions need attention (marked below).");
  }

  // --- moving ------------------------------------------------------------------

  function control(fs) {
    return fs.querySelector("input.district-code") || fs.querySelector("select") || fs.querySelector("input[type=radio]:checked") ||
      fs.querySelector("input[type=radio], input[type=checkbox], input, textarea");
  }

  function focus(i) {
    if (i < 0 || i >= qs.length) return;
    if (i !== cur) tally();
    if (qs[cur]) qs[cur].classList.remove("current");
    var moved = cur !== i;
    cur = i;
    var fs = qs[cur];
    fs.classList.add("current");
    var el = control(fs);
    if (el) el.focus({ preventScroll: true });
    fs.scrollIntoView({ block: "center" });
    if (moved) scheduleSave();
  }

  function needsWork(fs) { return visible(fs) && (value(fs) === "" || check(fs) !== ""); }

  // next goes to the next question asked that is unanswered, then back to
  // any required one left, then to the save button.
  function next() {
    for (var i = cur + 1; i < qs.length; i++) {
      if (needsWork(qs[i])) { focus(i); return; }
    }
    for (var j = 0; j < qs.length; j++) {
      if (visible(qs[j]) && check(qs[j]) !== "") { focus(j); return; }
    }
    tally();
    if (qs[cur]) qs[cur].classList.remove("current");
    submit.focus();
    scheduleSave();
  }

  function prev() {
    var from = document.activeElement === submit ? qs.length : cur;
    for (var i = from - 1; i >= 0; i--) {
      if (visible(qs[i])) { focus(i); return; }
    }
  }

  qs.forEach(function (fs, i) {
    fs.addEventListener("focusin", function () {
      if (cur !== i) { tally(); qs[cur].classList.remove("current"); cur = i; fs.classList.add("current"); scheduleSave(); }
    });
  });

  // The district question takes the district's code typed on the keyboard
  // (all six digits, or the last three when no other district ends so)
  // instead of a choice among 40; the list stays for a name.
  Array.prototype.forEach.call(form.querySelectorAll("input.district-code"), function (code) {
    var fs = code.closest("fieldset.question");
    var sel = fs.querySelector("select");
    var picked = fs.querySelector(".district-picked");
    function byCode(typed) {
      var opts = Array.prototype.filter.call(sel.options, function (o) { return o.value !== ""; });
      var exact = opts.filter(function (o) { return o.value === typed; });
      if (exact.length) return exact[0];
      if (typed.length !== 3) return null;
      var ends = opts.filter(function (o) { return o.value.slice(-3) === typed; });
      return ends.length === 1 ? ends[0] : null;
    }
    function show() {
      var o = sel.options[sel.selectedIndex];
      picked.textContent = o && o.value ? o.textContent : (code.value ? tr("没有这个区县代码", "no district has this code") : "");
    }
    code.addEventListener("input", function () {
      var o = byCode(code.value.trim());
      sel.value = o ? o.value : "";
      show();
    });
    // The arrow keys still step through the list, as on the list itself.
    code.addEventListener("keydown", function (e) {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      e.preventDefault();
      var i = sel.selectedIndex + (e.key === "ArrowDown" ? 1 : -1);
      if (i < 0 || i >= sel.options.length) return;
      sel.selectedIndex = i;
      sel.dispatchEvent(new Event("change", { bubbles: true }));
    });
    sel.addEventListener("change", function () { code.value = sel.value; show(); });
    if (sel.value) { code.value = sel.value; show(); }
  });

  // Codes above 9 are typed as two or three digits in quick succession.
  var digits = "", digitsAt = 0;
  function codeFor(fs, key) {
    var now = Date.now();
    var buf = now - digitsAt < 1000 ? digits + key : key;
    digitsAt = now;
    var big = fs.querySelector('input[type=radio][value="10"], input[type=checkbox][value="10"]') ||
      Array.prototype.some.call(fs.querySelectorAll("input[type=radio], input[type=checkbox]"), function (b) { return b.value.length > 1; });
    if (big && fs.querySelector('input[value="' + buf + '"]')) { digits = buf; return buf; }
    digits = key;
    return key;
  }

  function changed(fs) {
    refresh();
    if (fs && fs.classList.contains("invalid")) showError(fs, value(fs) === "" ? "" : check(fs));
    if (!form.querySelector("fieldset.invalid:not([hidden])")) summary(0);
    scheduleSave();
  }

  form.addEventListener("change", function (e) { changed(e.target.closest("fieldset.question")); });
  form.addEventListener("input", function (e) { changed(e.target.closest("fieldset.question")); });

  form.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (document.activeElement === submit) {
      if (e.key === "Backspace") { e.preventDefault(); prev(); }
      return;
    }
    var fs = qs[cur];
    if (!fs) return;
    var t = e.target;
    var field = t.tagName === "TEXTAREA" || t.tagName === "SELECT" || (t.tagName === "INPUT" && t.type !== "radio" && t.type !== "checkbox");
    if (e.key === "Enter") {
      if (t.tagName === "TEXTAREA" && e.shiftKey) return;
      e.preventDefault();
      movedByEnter = true;
      refresh();
      var msg = check(fs);
      showError(fs, msg);
      if (msg) focus(cur); else next();
      return;
    }
    if (e.key === "Backspace") {
      // In a field Backspace deletes what was typed; only in an empty one
      // does it go back.
      if (field && t.tagName !== "SELECT" && (t.value !== "" || (t.validity && t.validity.badInput))) return;
      e.preventDefault();
      prev();
      return;
    }
    if (field) return;
    var tp = type(fs);
    if (tp !== "single" && tp !== "multiple") return;
    var code = null;
    if (/^[0-9]$/.test(e.key)) code = codeFor(fs, e.key);
    else if (e.key === "/") code = dontKnow[0];
    else if (e.key === "*") code = dontKnow[1];
    if (!code) return;
    var box = fs.querySelector('input[value="' + code + '"]');
    if (!box) return;
    e.preventDefault();
    box.checked = tp === "single" ? true : !box.checked;
    box.focus();
    changed(fs);
  });

  // Enter never submits the form implicitly: it moves on. Only the save
  // button (clicked, or Enter on it) submits.
  // An Enter that moved focus must not also press what it moved to.
  var movedByEnter = false;
  form.addEventListener("keypress", function (e) {
    if (e.key !== "Enter") return;
    if (e.target.tagName === "TEXTAREA" && e.shiftKey) return;
    if (movedByEnter || e.target.id !== "submit-interview") e.preventDefault();
    movedByEnter = false;
  });
  form.addEventListener("keyup", function (e) { if (e.key === "Enter") movedByEnter = false; });

  // --- the draft on the server ----------------------------------------------

  var draftURL = form.dataset.draftUrl;
  var csrf = form.querySelector("input[name=csrf]").value;
  var version = form.querySelector("input[name=draft_version]");
  var status = document.getElementById("draft-status");
  var timer = null, inflight = false, again = false, dirty = false, failed = false, stopped = false, submitting = false;

  function say(msg, bad) {
    if (!status) return;
    status.textContent = msg;
    status.classList.toggle("bad", !!bad);
  }

  function answers() {
    var a = {};
    qs.forEach(function (fs) {
      if (!visible(fs)) return;
      var v = value(fs);
      if (v !== "") a[fs.dataset.qid] = v;
    });
    return a;
  }

  function body(v) {
    var q = document.activeElement === submit ? "" : (qs[cur] ? qs[cur].dataset.qid : "");
    tally();
    return JSON.stringify({ version: v, current: q, answers: answers(), paradata: para });
  }

  function scheduleSave() {
    if (!draftURL || stopped || submitting) return;
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(save, 400);
  }

  function post(data, keepalive) {
    return fetch(draftURL, {
      method: "POST", credentials: "same-origin", keepalive: keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: data
    });
  }

  function save() {
    timer = null;
    if (stopped) return;
    if (inflight) { again = true; return; }
    inflight = true;
    dirty = false;
    failed = false;
    post(body(+version.value), false).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (b) { return { code: res.status, body: b }; });
    }).then(function (r) {
      if (r.code === 200) {
        version.value = r.body.version;
        say(tr("答案已自动保存 ", "Answers saved ") + new Date().toLocaleTimeString(en ? "en-GB" : "zh-CN"));
      } else if (r.code === 409 || r.code === 404 || r.code === 403) {
        stopped = true;
        var m = r.body && r.body.error ? (en ? r.body.error.en || r.body.error.zh : r.body.error.zh) :
          tr("答案未能保存，请刷新页面。", "The answers could not be saved; reload the page.");
        say(m, true);
        var top = document.getElementById("js-draft-conflict") || document.createElement("p");
        top.id = "js-draft-conflict";
        top.className = "error";
        top.setAttribute("role", "alert");
        top.textContent = m;
        form.insertBefore(top, form.firstChild);
      } else {
        retry();
      }
    }, retry).then(function () {
      inflight = false;
      if (submitting) { form.submit(); return; }
      if (leaving) {
        // Changes made while this write was on its way go too, unless the
        // connection is down.
        if ((again || dirty) && !failed && !stopped) { again = false; save(); } else location.href = leaving;
        return;
      }
      if (again) { again = false; save(); }
    });
  }

  // Going to the case page to record a break-off: the break-off is decided
  // on the server's draft, so the last answers are saved first.
  var leaving = "";
  var toBreakOff = document.getElementById("to-breakoff");
  if (toBreakOff) {
    toBreakOff.addEventListener("click", function (e) {
      if (stopped || !(dirty || timer || inflight)) return;
      e.preventDefault();
      leaving = toBreakOff.href;
      clearTimeout(timer);
      if (!inflight) save();
    });
  }

  // A lost connection keeps the answers on the page and tries again.
  function retry() {
    dirty = true;
    failed = true;
    say(tr("网络中断：答案暂留在本页，恢复后自动保存。", "Connection lost: the answers stay on this page and are saved when it returns."), true);
    clearTimeout(timer);
    timer = setTimeout(save, 5000);
  }
  window.addEventListener("online", function () { if (dirty && !stopped) save(); });

  // Closing the tab sends what the debounce still holds. If a write is in
  // flight it will most likely succeed, so this one goes over its version.
  window.addEventListener("pagehide", function () {
    if (!draftURL || stopped || submitting || !dirty) return;
    clearTimeout(timer);
    try { post(body(+version.value + (inflight ? 1 : 0)), true); } catch (err) { /* the page is going */ }
  });

  // --- saving the interview ------------------------------------------------------

  form.addEventListener("submit", function (e) {
    refresh();
    var bad = [];
    qs.forEach(function (fs) {
      if (!visible(fs)) return;
      var msg = check(fs);
      showError(fs, msg);
      if (msg) bad.push(fs);
    });
    summary(bad.length);
    if (bad.length) {
      e.preventDefault();
      focus(qs.indexOf(bad[0]));
      return;
    }
    // The save carries the draft version; a draft write still on its way
    // would change it, so the save waits for it.
    submitting = true;
    tally();
    var pd = form.querySelector("input[name=paradata]");
    if (pd) pd.value = JSON.stringify(para);
    clearTimeout(timer);
    if (inflight) e.preventDefault();
  });

  refresh();
  qs.forEach(function (fs) { var v = value(fs); if (v !== "") given[fs.dataset.qid] = v; });
  var start = byId[form.dataset.current];
  var firstBad = form.querySelector("fieldset.invalid");
  if (firstBad) focus(qs.indexOf(firstBad));
  else if (start && visible(start)) focus(qs.indexOf(start));
  else { cur = 0; if (qs.length && needsWork(qs[0])) focus(0); else next(); }
  dirty = false;
  clearTimeout(timer);
})();
