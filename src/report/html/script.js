"use strict";
(function () {
  var table = document.getElementById("findings");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var data = rows.map(function (r) { var d = r.dataset; return [d.rule, d.conf, d.author, d.month]; });
  var q = document.getElementById("f-q"), rule = document.getElementById("f-rule"),
    conf = document.getElementById("f-conf"), author = document.getElementById("f-author"),
    periodButton = document.getElementById("f-period"), count = document.getElementById("count");
  var period = "";
  // Only the first `limit` matching rows are laid out: a report of 100,000 findings stays quick.
  var PAGE = 500, limit = PAGE, more = document.getElementById("more");
  var order = { high: 3, medium: 2, low: 1 };
  function apply() {
    var needle = q.value.trim().toLowerCase(), matched = 0, shown = 0;
    var r = rule.value, c = conf.value, a = author ? author.value : "", m = period;
    for (var i = 0; i < rows.length; i++) {
      var d = data[i];
      var on = (!r || d[0] === r) && (!c || order[d[1]] >= order[c]) && (!a || d[2] === a) &&
        (!m || d[3].indexOf(m) === 0) && (!needle || text[i].indexOf(needle) !== -1);
      if (on) matched++;
      on = on && shown < limit;
      if (on) shown++;
      var cls = on ? "" : "off";
      if (rows[i].className !== cls) rows[i].className = cls;
    }
    count.textContent = matched + " of " + rows.length + " findings match" +
      (shown < matched ? "; showing the first " + shown : "");
    more.hidden = shown >= matched;
    var bars = document.querySelectorAll(".timeline button");
    for (var j = 0; j < bars.length; j++) bars[j].classList.toggle("on", bars[j].dataset.month === m);
  }
  if (periodButton) periodButton.addEventListener("click", function () { setPeriod(""); });
  function setPeriod(p) {
    period = p;
    limit = PAGE;
    if (periodButton) {
      periodButton.hidden = !p;
      periodButton.textContent = p ? "entered " + p + " \u00d7" : "";
    }
    apply();
  }
  function refilter() { limit = PAGE; apply(); }
  [q, rule, conf, author].forEach(function (el) {
    if (el) el.addEventListener(el === q ? "input" : "change", refilter);
  });
  more.addEventListener("click", function () { limit += PAGE; apply(); });
  document.querySelectorAll("[data-set-rule]").forEach(function (b) {
    b.addEventListener("click", function () { rule.value = b.dataset.setRule; refilter(); table.scrollIntoView(); });
  });
  document.querySelectorAll("[data-set-author]").forEach(function (b) {
    b.addEventListener("click", function () { author.value = b.dataset.setAuthor; refilter(); table.scrollIntoView(); });
  });
  document.querySelectorAll(".timeline button").forEach(function (b) {
    b.style.height = Math.max(4, Number(b.dataset.h)) + "%";
    b.addEventListener("click", function () {
      setPeriod(period === b.dataset.month ? "" : b.dataset.month);
    });
  });
  var heads = table.tHead.rows[0].cells;
  function key(row, col) {
    var cell = row.cells[col];
    return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
  }
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var keyed = rows.map(function (r, i) { return [key(r, col), i, r, text[i], data[i]]; });
      keyed.sort(function (x, y) { return x[0] < y[0] ? -dir : x[0] > y[0] ? dir : x[1] - y[1]; });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (k) { frag.appendChild(k[2]); });
      body.appendChild(frag);
      rows = keyed.map(function (k) { return k[2]; });
      text = keyed.map(function (k) { return k[3]; });
      data = keyed.map(function (k) { return k[4]; });
      apply();
    });
  });
  apply();
  document.documentElement.dataset.ready = "1";
})();
