"""``sweep report --report FILE``: optimisation history, importances with intervals, slices, parallel
coordinates and the best trials' curves, from a real sweep."""

from __future__ import annotations

from pathlib import Path

from tests.report.conftest import parse
from tests.tune.helpers import SPACE, synthetic_repo


def test_sweep_report_draws_history_importances_slices_and_parallel_coordinates(tmp_path: Path) -> None:
    repo = synthetic_repo(tmp_path / "repo")
    swept = repo.tw_json("sweep", *SPACE, "--trials", "10", "--seeds", "2", "--sampler", "random", "--sampler-seed", "1",
                         "--pruner", "none", "--top-k", "0", "--bootstrap", "20")
    out = repo.tw_json("sweep", "report", "--study", swept["study"], "--bootstrap", "20",
                       "--report", str(tmp_path / "sweep.html"))
    assert out["report"]["path"] == str((tmp_path / "sweep.html").resolve())
    page = parse(tmp_path / "sweep.html")
    figs = {}
    for f in page.figures().values():
        figs.setdefault(f["layout"]["meta"]["kind"], []).append(f)

    completed = sorted({t for s in out["slices"] for t in s["trials"]})
    history = figs["history"][0]
    assert history["data"][0]["x"] == completed  # every completed trial, in order
    best = history["data"][1]["y"]
    assert best == sorted(best, reverse=False) or best == sorted(best, reverse=True)  # best so far is monotone
    assert abs(best[-1] - out["best"][0]["value"]) < 1e-6

    imp = figs["importance"][0]["data"][0]
    assert imp["y"][:-1] == [p["name"] for p in out["importance"]["params"]] and "noise" in imp["y"][-1]
    assert {f["layout"]["meta"]["param"] for f in figs["slice"]} == {"lr", "width", "opt"}
    lr = next(f for f in figs["slice"] if f["layout"]["meta"]["param"] == "lr")
    assert lr["layout"]["xaxis"]["type"] == "log"
    dims = figs["parallel"][0]["data"][0]["dimensions"]
    assert [d["label"] for d in dims] == ["lr (log10)", "width", "opt", "val_acc"]
    assert dims[2]["ticktext"] and set(dims[2]["ticktext"]) <= {"adam", "sgd"}

    text = page.body_text
    for t in out["best"]:
        assert t["experiment_id"] in text
    sets = figs["curve"][0]["layout"]["meta"]["sets"]
    assert 1 <= len(sets) <= 4  # the best trials' curves, overlaid
    assert out["importance"]["sentence"] in text

    # `trialwise report` of trials of the study finds the study and draws the same sweep plots
    ids = [t["experiment_id"] for t in out["best"][:2]]
    repo.tw("report", *ids, "-o", str(tmp_path / "trials.html"))
    trials = parse(tmp_path / "trials.html")
    kinds = {f["layout"]["meta"]["kind"] for f in trials.figures().values()}
    assert {"history", "importance", "slice", "parallel", "curve"} <= kinds
    stages = [a for t, a in trials.tags if t == "div" and a.get("class") == "sweep-stage"]
    assert [a["data-study"] for a in stages] == [swept["study"]]
