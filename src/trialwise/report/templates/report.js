// trialwise report: unpack the inlined plotly.js, draw every figure, smooth curves on demand.
// No network: plotly.js travels gzipped and base64-encoded in #tw-plotly; figures are JSON in
// script elements of type application/json with a data-figure attribute, read with JSON.parse
// (never evaluated).
(function () {
  "use strict";
  var status = document.getElementById("tw-status");
  var originals = {};  // figure id -> original y arrays per trace, for smoothing

  function say(text) { if (status) { status.textContent = text; } }

  function b64bytes(text) {
    var bin = atob(text.replace(/\s+/g, ""));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function loadPlotly() {
    if (window.Plotly) { return Promise.resolve(); }
    var packed = document.getElementById("tw-plotly");
    if (!packed) { return Promise.reject(new Error("plotly.js is missing from this file")); }
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser cannot decompress the inlined plotly.js (DecompressionStream); " +
                                      "open the report in a current Chrome, Edge, Firefox or Safari"));
    }
    var stream = new Blob([b64bytes(packed.textContent)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(function (code) {
      var s = document.createElement("script");
      s.textContent = code;
      document.head.appendChild(s);
      if (!window.Plotly) { throw new Error("plotly.js did not load"); }
    });
  }

  // exponential moving average with TensorBoard's debiasing; gaps (null) stay gaps
  function ema(ys, w) {
    if (!w) { return ys.slice(); }
    var out = new Array(ys.length), last = 0, k = 0;
    for (var i = 0; i < ys.length; i++) {
      var v = ys[i];
      if (v === null || !isFinite(v)) { out[i] = null; continue; }
      last = last * w + (1 - w) * v; k++;
      out[i] = last / (1 - Math.pow(w, k));
    }
    return out;
  }

  function smoothAll(w) {
    Object.keys(originals).forEach(function (id) {
      var div = document.getElementById(id), orig = originals[id], ys = [], idx = [];
      orig.forEach(function (y, i) { if (y) { ys.push(ema(y, w)); idx.push(i); } });
      if (idx.length) { window.Plotly.restyle(div, {y: ys}, idx); }
    });
  }

  function draw() {
    var nodes = document.querySelectorAll('script[type="application/json"][data-figure]');
    for (var n = 0; n < nodes.length; n++) {
      var el = nodes[n], id = el.getAttribute("data-figure"), div = document.getElementById(id);
      if (!div) { continue; }
      var fig = JSON.parse(el.textContent);
      var smooth = fig.data.map(function (t) { return t.meta && t.meta.smooth ? t.y.slice() : null; });
      if (smooth.some(function (y) { return y; })) { originals[id] = smooth; }
      window.Plotly.newPlot(div, fig.data, fig.layout, {responsive: true, displaylogo: false,
                                                       showEditInChartStudio: false, showSendToCloud: false});
    }
    var slider = document.getElementById("tw-smoothing"), shown = document.getElementById("tw-smoothing-value");
    if (slider) {
      slider.disabled = false;
      slider.addEventListener("input", function () {
        var w = parseFloat(slider.value);
        if (shown) { shown.textContent = w.toFixed(2); }
        smoothAll(w);
      });
    }
    document.body.setAttribute("data-rendered", String(nodes.length));
    say("");
  }

  say("drawing charts…");
  loadPlotly().then(draw).catch(function (err) { say("charts unavailable: " + err.message); });
})();
