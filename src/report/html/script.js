"use strict";
(function () {
  var table = document.getElementById("findings");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var q = document.getElementById("f-q"), rule = document.getElementById("f-rule"),
    conf = document.getElementById("f-conf"), author = document.getElementById("f-author"),
    periodButton = document.getElementById("f-period"), count = document.getElementById("count");
  var period = "";
  var order = { high: 3, medium: 2, low: 1 };
  function apply() {
    var needle = q.value.trim().toLowerCase(), shown = 0;
    var r = rule.value, c = conf.value, a = author ? author.value : "", m = period;
    for (var i = 0; i < rows.length; i++) {
      var d = rows[i].dataset;
      var on = (!r || d.rule === r) && (!c || order[d.conf] >= order[c]) && (!a || d.author === a) &&
        (!m || d.month.indexOf(m) === 0) && (!needle || text[i].indexOf(needle) !== -1);
      rows[i].className = on ? "" : "off";
      if (on) shown++;
    }
    count.textContent = shown + " of " + rows.length + " findings shown";
    var bars = document.querySelectorAll(".timeline button");
    for (var j = 0; j < bars.length; j++) bars[j].classList.toggle("on", bars[j].dataset.month === m);
  }
  if (periodButton) periodButton.addEventListener("click", function () { setPeriod(""); });
  function setPeriod(p) {
    period = p;
    if (periodButton) {
      periodButton.hidden = !p;
      periodButton.textContent = p ? "entered " + p + " \u00d7" : "";
    }
    apply();
  }
  [q, rule, conf, author].forEach(function (el) {
    if (el) el.addEventListener(el === q ? "input" : "change", apply);
  });
  document.querySelectorAll("[data-set-rule]").forEach(function (b) {
    b.addEventListener("click", function () { rule.value = b.dataset.setRule; apply(); table.scrollIntoView(); });
  });
  document.querySelectorAll("[data-set-author]").forEach(function (b) {
    b.addEventListener("click", function () { author.value = b.dataset.setAuthor; apply(); table.scrollIntoView(); });
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
      var keyed = rows.map(function (r, i) { return [key(r, col), i, r, text[i]]; });
      keyed.sort(function (x, y) { return x[0] < y[0] ? -dir : x[0] > y[0] ? dir : x[1] - y[1]; });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (k) { frag.appendChild(k[2]); });
      body.appendChild(frag);
      rows = keyed.map(function (k) { return k[2]; });
      text = keyed.map(function (k) { return k[3]; });
    });
  });
  apply();
  document.documentElement.dataset.ready = "1";
})();
