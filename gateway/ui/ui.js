// wasmgate /ui: live request list (server-sent events) and the sampling
// buttons. No framework, no build step.
"use strict";
(function () {
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function us(n) {
    if (n < 1000) return n + " µs";
    if (n < 1000000) return (n / 1000).toFixed(1) + " ms";
    return (n / 1000000).toFixed(2) + " s";
  }
  function clock(t) {
    var d = new Date(t);
    return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  document.querySelectorAll("button[data-sample]").forEach(function (b) {
    b.addEventListener("click", function () {
      fetch("/trace?sample=" + encodeURIComponent(b.dataset.sample), { method: "POST" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          var r = s.sampleRate;
          document.getElementById("rate").textContent = r === 0 ? "off" : r === 1 ? "all" : Math.round(r * 100) + "%";
        });
    });
  });
  var table = document.getElementById("requests");
  if (!table || !window.EventSource) return;
  var body = table.querySelector("tbody");
  var live = document.getElementById("live");
  var src = new EventSource("/trace/stream" + (table.dataset.query ? "?" + table.dataset.query : ""));
  src.onopen = function () { live.classList.add("on"); };
  src.onerror = function () { live.classList.remove("on"); };
  src.addEventListener("request", function (ev) {
    var s = JSON.parse(ev.data);
    var empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    var tr = document.createElement("tr");
    tr.dataset.id = s.id;
    tr.className = "fresh s" + Math.floor(s.status / 100);
    var link = "/ui/request/" + s.id;
    tr.innerHTML = "<td><a href=\"" + link + "\">" + s.id + "</a></td><td>" + clock(s.start) + "</td><td>" + esc(s.method) +
      "</td><td class=\"path\"><a href=\"" + link + "\">" + esc(s.path) + "</a></td><td>" + s.status + "</td><td>" + us(s.durationUs) +
      "</td><td>" + esc((s.plugins || []).join(", ")) + "</td><td>" + (s.errors || "") + "</td>";
    body.insertBefore(tr, body.firstChild);
    while (body.children.length > 500) body.removeChild(body.lastChild);
  });
})();
