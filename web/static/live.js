// The supervisors' live view: refresh the numbers every ten seconds from
// the JSON beside the page, without reloading it.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) return;
  var src = root.getAttribute("data-src");

  function set(el, v) {
    if (el && String(el.textContent) !== String(v)) el.textContent = v;
  }

  function refresh() {
    fetch(src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) {
        Object.keys(d.summary).forEach(function (k) {
          var v = d.summary[k];
          if (k === "median_seconds") v = Math.round(v);
          set(root.querySelector('[data-k="summary.' + k + '"]'), v);
        });
        d.districts.forEach(function (row) {
          var tr = root.querySelector('tr[data-district="' + row.district + '"]');
          if (!tr) return;
          Array.prototype.forEach.call(tr.querySelectorAll("[data-f]"), function (el) {
            set(el, row[el.getAttribute("data-f")]);
          });
          var full = tr.querySelector("[data-quota-full]");
          if (full) full.hidden = !row.quota_full;
        });
        var u = document.getElementById("live-updated");
        if (u) u.setAttribute("data-at", new Date().toISOString());
      })
      .catch(function () { /* keep the last numbers; try again next time */ });
  }
  var every = parseInt(root.getAttribute("data-every"), 10) || 10;
  setInterval(refresh, every * 1000);
})();
