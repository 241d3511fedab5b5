// trialwise dashboard: draws the charts from the JSON API. User text goes through textContent
// only (never innerHTML), so a name holding markup stays inert.
"use strict";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];
const LIVE_MS = 2000;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function smooth(values, alpha) {
  if (!alpha) return values;
  let last = null;
  return values.map((v) => (v === null ? null : (last = last === null ? v : alpha * last + (1 - alpha) * v)));
}

function bandTraces(name, band, color, opts) {
  const mean = smooth(band.mean, opts.alpha);
  const traces = [
    { x: band.steps, y: smooth(band.high, opts.alpha), mode: "lines", line: { width: 0 }, hoverinfo: "skip",
      showlegend: false, name: name + " 95% band (high)" },
    { x: band.steps, y: smooth(band.low, opts.alpha), mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: color + "33", hoverinfo: "skip", name: name + " 95% band" },
    { x: band.steps, y: mean, mode: "lines", line: { color: color, width: 2 }, name: name + " mean",
      customdata: band.n, hovertemplate: "step %{x}<br>mean %{y:.4g}<br>seeds %{customdata}<extra></extra>" },
  ];
  for (const [seed, s] of Object.entries(band.seeds || {})) {
    traces.push({ x: s.steps, y: smooth(s.values, opts.alpha), mode: "lines", name: name + " seed " + seed,
                  line: { color: color, width: 1, dash: "dot" }, visible: opts.seeds ? true : "legendonly" });
  }
  return traces;
}

function layout(title, opts, note) {
  return { title: { text: title }, margin: { t: 40, r: 10, l: 50, b: 40 },
           yaxis: { type: opts.log ? "log" : "linear" }, xaxis: { title: { text: "step" } },
           annotations: note ? [{ text: note, xref: "paper", yref: "paper", x: 1, y: 1.08, showarrow: false,
                                  font: { size: 10, color: "#666" } }] : [] };
}

function options() {
  const s = document.getElementById("smoothing"), l = document.getElementById("logscale");
  const k = document.getElementById("showseeds");
  return { alpha: s ? parseFloat(s.value) : 0, log: l ? l.checked : false, seeds: k ? k.checked : false };
}

function drawCurves(container, sets) {
  // sets: [{label, data}] where data is /api/experiments/{id}/curves
  const opts = options();
  const metrics = [];
  for (const set of sets) for (const m of Object.keys(set.data.curves)) if (!metrics.includes(m)) metrics.push(m);
  for (const metric of metrics) {
    let div = container.querySelector('[data-metric-name="' + CSS.escape(metric) + '"]');
    if (!div) {
      div = el("div", undefined, "chart");
      div.dataset.metricName = metric;
      container.appendChild(div);
    }
    const traces = [];
    let note = "";
    sets.forEach((set, i) => {
      const band = set.data.curves[metric];
      if (!band) return;
      traces.push(...bandTraces(set.label, band, COLORS[i % COLORS.length], opts));
      if (band.downsampled_from) note = "downsampled for display from " + band.downsampled_from + " steps (extremes kept)";
    });
    Plotly.react(div, traces, layout(metric, opts, note), { responsive: true, displaylogo: false });
  }
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

async function experimentPage(container) {
  const id = container.dataset.exp;
  const status = document.getElementById("live-status");
  async function refresh() {
    const data = await getJSON("/api/experiments/" + encodeURIComponent(id) + "/curves");
    drawCurves(container, [{ label: data.name, data: data }]);
    container.dataset.points = String(data.points);
    status.textContent = data.running ? "live: updating every " + LIVE_MS / 1000 + " s (" + data.points + " points)" : "";
    return data.running;
  }
  const running = await refresh();
  for (const id of ["smoothing", "logscale", "showseeds"]) {
    const c = document.getElementById(id);
    if (c) c.addEventListener("change", refresh);
  }
  if (running || container.dataset.running === "true") {
    const timer = setInterval(async () => { if (!(await refresh())) clearInterval(timer); }, LIVE_MS);
  }
}

function fmt(v, digits) {
  return v === null || v === undefined ? "—" : Number(v).toPrecision(digits || 4);
}

async function comparePage(card) {
  const a = card.dataset.a, b = card.dataset.b;
  const data = await getJSON("/api/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b));
  const d = data.decision;
  card.textContent = "";
  const verdict = d.verdict.split(" ")[0];
  card.appendChild(el("h2", d.verdict, "verdict verdict-" + verdict));
  card.appendChild(el("p", d.sentence));
  const c = d.comparison;
  if (c) {
    const t = el("table", undefined, "kv");
    const rows = [["difference", fmt(c.diff) + " (95% CI " + fmt(c.diff_ci_low) + " to " + fmt(c.diff_ci_high) + ")"],
                  ["p (" + c.test + ")", fmt(c.p_value, 3)], ["Hedges' g", fmt(c.hedges_g, 3)],
                  ["P(improvement)", fmt(c.p_improvement, 3)], ["seeds per arm needed", c.seeds_needed ?? "—"]];
    for (const [k, v] of rows) {
      const tr = el("tr");
      tr.appendChild(el("th", k));
      tr.appendChild(el("td", String(v)));
      t.appendChild(tr);
    }
    card.appendChild(t);
  }
  for (const w of (d.checks.warnings || [])) card.appendChild(el("p", "warning: " + w, "bad"));
  for (const r of (d.checks.refusals || [])) card.appendChild(el("p", "refused: " + r, "bad"));
  for (const [k, x, y] of (d.checks.launch_diff || [])) card.appendChild(el("p", "launched differently: " + k + ": " + x + " → " + y));
  drawCurves(document.getElementById("compare-charts"),
             [{ label: data.base.name, data: data.base }, { label: data.candidate.name, data: data.candidate }]);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const td of document.querySelectorAll("td.time")) {
    const t = parseFloat(td.dataset.t);
    if (t) td.textContent = new Date(t * 1000).toLocaleString();
  }
  const charts = document.getElementById("charts");
  if (charts) experimentPage(charts);
  const verdict = document.getElementById("verdict");
  if (verdict) comparePage(verdict);
});
