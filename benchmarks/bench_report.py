"""Size and build time of ``trialwise report`` for a large experiment: 16 seeds × 100,000 points.

A store is filled directly (``Store.add_metrics``): one experiment of 16 completed seeds, each with a
``train_loss`` of 100,000 steps (one seed diverges: a spike of 1000× at step 61,803, then NaN for 50
steps) and a ``val_acc`` of 1,000 steps; then a second experiment of the same shape, as a compared
candidate. The report is built twice — the first build compresses plotly.js (then cached on disk), the
second is what every later report costs — and broken down into reading the store, diagnosing, and
rendering. When Debian's Chromium and Playwright are there, the time to draw every chart is measured too.

Writes ``results/report.json`` and ``results/report.md``. Run: ``python benchmarks/bench_report.py``
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

SEEDS = 16
POINTS = 100_000
VAL_POINTS = 1_000
SPIKE_SEED, SPIKE_STEP, SPIKE = 5, 61_803, 1_000.0
NAN_STEPS = 50
RESULTS = Path(__file__).parent / "results"
CHROMIUM = "/usr/bin/chromium"


def fill(store, name: str, shift: float) -> object:  # noqa: ANN001
    import numpy as np

    from trialwise.store._records import Experiment

    exp = store.upsert_experiment(Experiment(
        id=f"bench-{name}", name=name, kind="run", commit_sha="0" * 40, ref=name, branch=name,
        command=["python", "train.py"], launch={}, profile=None, mode=None, metric_name="val_acc",
        metric_direction="max", dirty=False, tag=None, created_at=time.time()))
    steps = np.arange(POINTS)
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed + int(shift * 1000))
        run = store.create_run(experiment_id=exp.id, seed=seed, status="completed", started_at=time.time(),
                               ended_at=time.time() + 1, env_hash="bench-env", metric_version="v1")
        loss = 2.3 * np.exp(-steps / 20_000) + 0.1 - shift + rng.normal(0, 0.02, POINTS)
        if seed == SPIKE_SEED:
            loss[SPIKE_STEP] *= SPIKE
            loss[SPIKE_STEP + 1:SPIKE_STEP + 1 + NAN_STEPS] = np.nan
        val_steps = np.linspace(0, POINTS - 1, VAL_POINTS).astype(int)
        val = 0.9 - 0.4 * np.exp(-val_steps / 15_000) + shift + rng.normal(0, 0.005, VAL_POINTS)
        points = [("train_loss", int(s), float(v), None, "tw.log") for s, v in zip(steps, loss)]
        points += [("val_acc", int(s), float(v), None, "tw.log") for s, v in zip(val_steps, val)]
        store.add_metrics(run, points)
        store.set_summary(run, {"val_acc": float(val[-1])})
    return exp


def build(store, root: Path, exps: list, out: Path) -> dict[str, float]:  # noqa: ANN001
    from trialwise.report import write_html
    from trialwise.report._collect import collect
    from trialwise.settings import load_config

    config = load_config(root)
    t0 = time.perf_counter()
    model = collect(store, root, config, exps, diagnoses=[])
    t1 = time.perf_counter()
    from trialwise.diagnose import diagnose_stored

    diagnoses = [diagnose_stored(store, root, e.id, config) for e in exps]
    t2 = time.perf_counter()
    model = collect(store, root, config, exps, diagnoses=diagnoses, decisions=model.decisions)
    t3 = time.perf_counter()
    written = write_html(model, out)
    t4 = time.perf_counter()
    return {"read_and_decide_s": t1 - t0, "diagnose_s": t2 - t1, "read_again_s": t3 - t2, "render_write_s": t4 - t3,
            "total_s": (t1 - t0) + (t2 - t1) + (t4 - t3), "bytes": written.bytes}


def draw_time(path: Path) -> float | None:
    """Seconds from opening the file to every chart drawn, in headless Chromium (None without it)."""
    if not os.path.exists(CHROMIUM):
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function("document.body.getAttribute('data-rendered') !== '0'", timeout=120_000)
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tw-bench-report-"))
    os.environ["TRIALWISE_CACHE_DIR"] = str(tmp / "cache")  # the first build compresses plotly.js
    from trialwise.store import connect

    store = connect(f"sqlite:///{tmp / 'store.db'}")
    t = time.perf_counter()
    base = fill(store, "baseline", 0.0)
    cand = fill(store, "candidate", 0.01)
    fill_s = time.perf_counter() - t
    cold = build(store, tmp, [base, cand], tmp / "cold.html")
    warm = build(store, tmp, [base, cand], tmp / "report.html")
    single = build(store, tmp, [base], tmp / "single.html")

    from trialwise.report._html import plotly_payload

    page = (tmp / "report.html").read_text(encoding="utf-8")
    figs = figures(page)
    loss = next(f for f in figs if f["layout"]["meta"].get("metric") == "train_loss")
    spiked = next(t for t in loss["data"] if t["meta"]["role"] == "seed" and t["meta"]["set"] == 0
                  and t["meta"]["seed"] == SPIKE_SEED)
    kept = SPIKE_STEP in spiked["x"] and max(v for v in spiked["y"] if v is not None) > 100
    gap = any(v is None for v in spiked["y"])
    drawn = max(len(t["x"]) for f in figs for t in f["data"] if "x" in t)
    payload = len(plotly_payload())
    result = {
        "seeds": SEEDS, "points_per_seed": POINTS, "val_points_per_seed": VAL_POINTS, "experiments": 2,
        "stored_points": 2 * SEEDS * (POINTS + VAL_POINTS), "fill_store_s": round(fill_s, 2),
        "report_bytes": warm["bytes"], "report_mb": round(warm["bytes"] / 1e6, 2),
        "single_experiment_bytes": single["bytes"], "single_experiment_mb": round(single["bytes"] / 1e6, 2),
        "plotly_payload_bytes": payload, "plotly_js_raw_bytes": len(_plotly_js()),
        "data_bytes": warm["bytes"] - payload, "most_points_per_trace": drawn,
        "spike_kept": kept, "nan_gap_kept": gap,
        "cold_build": {k: round(v, 3) for k, v in cold.items()},
        "warm_build": {k: round(v, 3) for k, v in warm.items()},
        "single_build": {k: round(v, 3) for k, v in single.items()},
        "chromium_draw_s": _round(draw_time(tmp / "report.html")),
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "report.md").write_text(markdown(result))
    print(markdown(result))
    assert kept and gap, "downsampling lost the divergence spike or the NaN gap"


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def figures(page: str) -> list[dict]:
    """The figure JSON of a report page (the script elements with ``data-figure``)."""
    from html.parser import HTMLParser

    found: list[dict] = []

    class P(HTMLParser):
        inside = False

        def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ANN001
            self.inside = tag == "script" and any(k == "data-figure" for k, _ in attrs)
            self.buf: list[str] = []

        def handle_data(self, data: str) -> None:
            if self.inside:
                self.buf.append(data)

        def handle_endtag(self, tag: str) -> None:
            if tag == "script" and self.inside:
                found.append(json.loads("".join(self.buf)))
                self.inside = False

    P().feed(page)
    return found


def markdown(r: dict) -> str:
    w, c, s = r["warm_build"], r["cold_build"], r["single_build"]
    mb = lambda b: f"{b / 1e6:.2f} MB"  # noqa: E731
    lines = [
        "# `trialwise report`: size and build time of a large experiment",
        "",
        f"Two experiments (baseline and candidate) of {r['seeds']} seeds, each seed logging `train_loss` at "
        f"{r['points_per_seed']:,} steps and `val_acc` at {r['val_points_per_seed']:,}: "
        f"{r['stored_points']:,} stored points, filled directly with `Store.add_metrics` "
        f"(`benchmarks/bench_report.py`; Python {r['python']}, {r['cpus']} CPU cores).",
        "",
        "| | two experiments | one experiment |",
        "|---|---|---|",
        f"| report size | **{mb(r['report_bytes'])}** | {mb(r['single_experiment_bytes'])} |",
        f"| of which plotly.js (gzip + base64; {mb(r['plotly_js_raw_bytes'])} as shipped) | {mb(r['plotly_payload_bytes'])} "
        f"| {mb(r['plotly_payload_bytes'])} |",
        f"| build time (plotly.js already compressed, the usual case) | **{w['total_s']:.1f} s** | {s['total_s']:.1f} s |",
        f"| &nbsp;&nbsp;read the store, per-step bands, verdict | {w['read_and_decide_s']:.1f} s | {s['read_and_decide_s']:.1f} s |",
        f"| &nbsp;&nbsp;diagnosis of every seed | {w['diagnose_s']:.1f} s | {s['diagnose_s']:.1f} s |",
        f"| &nbsp;&nbsp;figures, HTML, write | {w['render_write_s']:.1f} s | {s['render_write_s']:.1f} s |",
        f"| first build on a machine (compresses plotly.js once, then cached) | {c['total_s']:.1f} s | |",
        f"| most points drawn per line (of {r['points_per_seed']:,}) | {r['most_points_per_trace']:,} | |",
        f"| divergence spike (1000× at one step of one seed) still drawn | {'yes' if r['spike_kept'] else '**no**'} | |",
        f"| the NaN gap after it still a gap | {'yes' if r['nan_gap_kept'] else '**no**'} | |",
    ]
    if r["chromium_draw_s"] is not None:
        lines.append(f"| open in headless Chromium until every chart is drawn | {r['chromium_draw_s']:.1f} s | |")
    lines += [
        "",
        "Each line is downsampled to at most 1,500 points keeping, per bucket, the first and last point, the "
        "smallest and largest value and the first non-finite one (M4, Jugel et al., PVLDB 2014): the spike "
        "and the gap survive, the chart says it is downsampled. The band is computed on every stored step "
        "before downsampling. The figures' numbers carry 7 significant digits.",
        "",
        "Where the time goes: reading 1.6 million points of an experiment out of SQLite takes a few seconds; "
        "with two experiments most of the rest is the verdict's identical-seeds check "
        "(`decide` → `seeds_alike`, which reads every series of every run once more) and the diagnosis "
        "(`diagnose_stored` reads them again). Drawing is fast: the browser gets at most 1,500 points per line.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
