"""``trialwise report`` over real runs: the page is self-contained, shows every experiment and metric,
and its bands are the per-step mean ± t interval of the stored points (recomputed here with numpy/scipy)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from tests.conftest import Repo
from tests.report.conftest import Page, branch, parse

URL_ATTRS = ("src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href", "background")
"""Attributes that make a browser fetch (or navigate to) what they name."""


def external_references(page: Page, raw: str) -> list[str]:
    """Every place the document could reach the network: a URL-bearing attribute that is not a
    fragment (#id) or an inline PNG thumbnail, a CSS url(...), an @import, a <link> or <iframe>, a <base>."""
    found = []
    for tag, attrs in page.tags:
        if tag in ("link", "iframe", "base", "embed", "object", "audio", "video", "source"):
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            inline_image = tag == "img" and name == "src" and (value or "").startswith("data:image/png;base64,")
            if name in URL_ATTRS and value is not None and not value.startswith("#") and not inline_image:
                found.append(f"{tag} {name}={value[:40]}")
    found += re.findall(r"url\s*\(", raw, flags=re.I) + re.findall(r"@import", raw, flags=re.I)
    return found


def stored_bands(store, runs, key: str) -> dict[float, tuple[int, float, float, float]]:  # noqa: ANN001
    """step -> (n, mean, low, high) recomputed from the stored points: the last point stored at a
    step counts, NaN/inf do not; t interval over seeds with ddof=1."""
    per_step: dict[float, list[float]] = defaultdict(list)
    for run in runs:
        last: dict[float, float] = {}
        for _rid, k, step, value, _t in store.metrics([run.id], [key]):
            last[float(step)] = value
        for step, value in last.items():
            if math.isfinite(value):
                per_step[step].append(value)
    out = {}
    for step, values in per_step.items():
        a = np.asarray(values)
        n = a.size
        mean = float(a.mean())
        if n >= 2:
            half = float(stats.t.ppf(0.975, n - 1) * a.std(ddof=1) / math.sqrt(n))
            out[step] = (n, mean, mean - half, mean + half)
        else:
            out[step] = (n, mean, math.nan, math.nan)
    return out


def traces_of(fig: dict, set_index: int) -> dict[str, dict]:
    return {t["meta"]["role"]: t for t in fig["data"] if t.get("meta", {}).get("set") == set_index
            and t["meta"]["role"] != "seed"}


def close(a: float | None, b: float) -> bool:
    if a is None:
        return math.isnan(b)
    return math.isclose(a, b, rel_tol=2e-6, abs_tol=1e-9)


def test_report_of_two_experiments_is_self_contained_and_its_bands_are_the_stored_mean_and_ci(
        repo: Repo, tmp_path: Path) -> None:
    branch(repo, "feat/good", 0.05)
    repo.tw("run", "--ref", "main")
    repo.tw("run", "--ref", "feat/good")
    out = tmp_path / "out" / "r.html"
    written = repo.tw_json("report", "main", "feat/good", "-o", str(out))
    assert written["path"] == str(out.resolve()) and written["bytes"] == out.stat().st_size
    assert len(written["experiments"]) == 2
    raw = out.read_text(encoding="utf-8")
    page = parse(out)

    # offline: nothing in the document reaches the network; not even a URL string in its text
    assert external_references(page, raw) == []
    assert "http://" not in raw and "https://" not in raw
    packed = [body for attrs, body in page.scripts if attrs.get("id") == "tw-plotly"]
    assert len(packed) == 1 and len(packed[0]) > 1_000_000  # plotly.js travels inside the file

    store = repo.store()
    from trialwise.store._select import counted_runs, select_experiment

    exps = [select_experiment(store, repo.path, t) for t in ("main", "feat/good")]
    text = page.body_text
    for exp in exps:
        assert exp.name in text and exp.id in text and exp.commit_sha in text
    assert written["experiments"] == [e.name for e in exps]

    figures = page.figures()
    curves = {f["layout"]["meta"]["metric"]: f for f in figures.values() if f["layout"]["meta"]["kind"] == "curve"}
    assert set(curves) == {"val_acc", "train_acc", "train_loss", "sparse"}  # every metric either experiment logged
    assert list(curves)[0] == "val_acc"  # the experiments' own metric first

    checked_bands = 0
    for key, fig in curves.items():
        assert fig["layout"]["meta"]["sets"] == [e.name for e in exps]
        for k, exp in enumerate(exps):
            runs = list(counted_runs(store, exp).runs)
            expected = stored_bands(store, runs, key)
            t = traces_of(fig, k)
            assert t["mean"]["x"] == t["band-low"]["x"] == t["band-high"]["x"] == sorted(expected)
            for i, step in enumerate(t["mean"]["x"]):
                n, mean, low, high = expected[step]
                assert t["mean"]["customdata"][i] == n
                assert close(t["mean"]["y"][i], mean), (key, step)
                assert close(t["band-low"]["y"][i], low) and close(t["band-high"]["y"][i], high), (key, step)
                checked_bands += n >= 2
            seeds = [tr for tr in fig["data"] if tr["meta"]["role"] == "seed" and tr["meta"]["set"] == k]
            assert sorted(tr["meta"]["seed"] for tr in seeds) == sorted(
                r.seed for r in runs if any(True for _ in store.metrics([r.id], [key])))
            assert all(tr["visible"] == "legendonly" for tr in seeds)  # seeds on demand
    assert checked_bands > 100
    # sparse: seed 1 alone logged step 1, so there is a mean and no band there
    sparse = traces_of(curves["sparse"], 0)
    i = sparse["mean"]["x"].index(1)
    assert sparse["mean"]["customdata"][i] == 1 and sparse["band-low"]["y"][i] is None
    # the last point stored at a step counts: train_loss at step 29 was logged twice, 0.05 last
    tl = traces_of(curves["train_loss"], 0)["mean"]
    assert abs(tl["y"][tl["x"].index(29)] - 0.05) < 0.01

    # toggles travel in the figure: log scale and seeds
    menus = curves["val_acc"]["layout"]["updatemenus"]
    labels = [b["label"] for m in menus for b in m["buttons"]]
    assert {"linear", "log", "seeds hidden", "seeds shown"} <= set(labels)
    assert page.tags.count(("input", {"id": "tw-smoothing", "type": "range", "min": "0", "max": "0.99",
                                      "step": "0.01", "value": "0", "disabled": None})) == 1

    # the verdict card says what compare says
    decided = repo.tw_json("compare", "main", "feat/good")
    d = decided["decisions"][0]
    cards = [a for tag, a in page.tags if tag == "div" and "verdict-card" in (a.get("class") or "")]
    assert [c["data-verdict"] for c in cards] == [decided["verdict"]] == ["progression"]
    assert d["sentence"] in text
    for label in ("difference", "Hedges' g", "P(improvement)", "seeds needed"):
        assert label in text
    c = d["comparison"]
    assert f"{c['hedges_g']:.3f}"[:4] in text

    # provenance: commit, clean flag, command, metric version, environment, the diff between them
    cards = [a for tag, a in page.tags if tag == "div" and "provenance-card" in (a.get("class") or "")]
    assert [c["data-experiment"] for c in cards] == [e.id for e in exps]
    assert "(clean)" in text and "train.py" in text
    for r in counted_runs(store, exps[0]).runs:
        assert r.metric_version in text and r.id in text
    assert "Environment: " + exps[1].name + " against " + exps[0].name in text and "same environment." in text

    # no sweep, no ablation, no predictions: none of those sections
    sections = [a.get("id") for tag, a in page.tags if tag == "section"]
    assert sections == ["verdicts", "curves", "provenance", "diagnosis"]

    # diagnosis of each experiment
    diag = [a["data-experiment"] for tag, a in page.tags if tag == "div" and a.get("class") == "diagnosis"]
    assert diag == [e.name for e in exps]

    plain = repo.tw("report", "main", "-o", str(tmp_path / "one.html"))
    assert str((tmp_path / "one.html").resolve()) in plain.stdout.replace("\n", "")
    one = parse(tmp_path / "one.html")
    assert not [a for tag, a in one.tags if tag == "div" and "verdict-card" in (a.get("class") or "")]


def test_unknown_experiment_is_a_clear_error(repo: Repo, tmp_path: Path) -> None:
    proc = repo.tw("report", "nope", "-o", str(tmp_path / "x.html"), check=False)
    assert proc.returncode == 2 and "neither an experiment" in proc.stderr
    assert not (tmp_path / "x.html").exists()
