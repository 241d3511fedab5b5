"""`trialwise errors` and `trialwise metrics` end to end: a real digits CNN trained for 2 seeds by the real CLI.

Every number the CLI prints is checked against scikit-learn / scipy computed here, independently, from
the Parquet files the training script stored.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_fscore_support

from tests.conftest import Repo, make_repo

PY = sys.executable
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TRAIN = """
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import trialwise as tw

torch.set_num_threads(1)
tw.init()
seed = tw.seed_everything()
digits = load_digits()
x = torch.from_numpy((digits.images / 16.0).astype(np.float32)[:, None])
y = torch.from_numpy(digits.target.astype(np.int64))
order = np.random.default_rng(0).permutation(len(y))  # fixed split: the seed changes init and shuffling
val, train = torch.from_numpy(order[:450]), torch.from_numpy(order[450:])
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
gen = torch.Generator().manual_seed(seed)
for epoch in range(3):
    perm = train[torch.randperm(len(train), generator=gen)]
    for i in range(0, len(perm), 64):
        idx = perm[i:i + 64]
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
with torch.no_grad():
    logits = model(x[val])
probs = logits.softmax(1)
tw.log_predictions(val, y[val], scores=probs, loss=nn.functional.cross_entropy(logits, y[val], reduction="none"))
tw.summary(val_acc=(probs.argmax(1) == y[val]).float().mean().item())
"""

CONFIG = f"""
command = "{PY} train.py"
seeds = 2
[metric]
name = "val_acc"
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, dict, list[dict]]:
    """The repository, the experiment and its runs (seed order), trained once for the module."""
    repo = make_repo(tmp_path_factory.mktemp("errors_cli") / "repo", CONFIG, {"train.py": TRAIN})
    out = repo.tw_json("run", "--seeds", "2", "--jobs", "2")
    runs = sorted(out["runs"], key=lambda r: r["seed"])
    assert [r["status"] for r in runs] == ["completed", "completed"], out
    return repo, out["experiment"], runs


def _parquet(run: dict) -> pd.DataFrame:
    """The stored predictions, read with pandas (not with trialwise)."""
    return pd.read_parquet(Path(run["run_dir"]) / "predictions" / "val.parquet")


def _scores(frame: pd.DataFrame) -> np.ndarray:
    return np.stack(frame["scores"].to_numpy())


def test_predictions_are_store_artifacts_and_errors_names_the_most_confused_pair(trained, tmp_path):
    repo, exp, runs = trained
    store = repo.store()
    for r in runs:
        arts = [a for a in store.artifacts(run_id=r["id"]) if a["kind"] == "predictions"]
        assert [(a["name"], Path(a["path"])) for a in arts] == [
            ("val", (Path(r["run_dir"]) / "predictions" / "val.parquet").resolve())]

    out = repo.tw_json("errors", exp["id"], "--plots", str(tmp_path / "plots"))
    seed0 = _parquet(runs[0])
    assert out["run"]["id"] == runs[0]["id"] and "seed 0" in out["note"] and "--seed" in out["note"]
    cm = confusion_matrix(seed0.y_true, seed0.y_pred, labels=range(10))
    off = cm - np.diag(np.diag(cm))
    top = out["most_confused"][0]
    best = {(str(i), str(j)) for i, j in zip(*np.nonzero(off == off.max()))}
    assert (top["actual"], top["predicted"]) in best and top["count"] == off.max()
    assert top["share"] == pytest.approx(off.max() / cm[int(top["actual"])].sum())
    assert out["confusion_matrix"]["matrix"] == cm.tolist()
    p, r, f, s = precision_recall_fscore_support(seed0.y_true, seed0.y_pred, labels=range(10), zero_division=np.nan)
    got = out["per_class"]
    np.testing.assert_allclose([c["precision"] if c["precision"] is not None else np.nan for c in got], p)
    np.testing.assert_allclose([c["recall"] for c in got], r)
    assert [c["support"] for c in got] == s.tolist()
    wrong0 = seed0[seed0.y_true != seed0.y_pred]
    assert out["worst_by"] == "loss" and out["worst_mistakes"][0]["id"] == wrong0.loc[wrong0.loss.idxmax(), "id"]
    assert (tmp_path / "plots" / "confusion_matrix.png").read_bytes()[:8] == PNG_MAGIC

    # across seeds: stable errors are those both seeds get wrong; pair counts per seed
    seed1 = _parquet(runs[1]).set_index("id").loc[seed0.id].reset_index()
    both = set(seed0.id[(seed0.y_true != seed0.y_pred).to_numpy() & (seed1.y_true != seed1.y_pred).to_numpy()])
    seeds = out["seeds"]
    assert seeds["seeds"] == [0, 1] and set(seeds["stable"]["always_wrong"]) == both
    cm1 = confusion_matrix(seed1.y_true, seed1.y_pred, labels=range(10))
    pair = seeds["pairs"][0]
    i, j = int(pair["actual"]), int(pair["predicted"])
    assert pair["counts"] == [cm[i, j], cm1[i, j]] and pair["total"] == (off + cm1 - np.diag(np.diag(cm1))).max()
    assert pair["stable"] == (min(cm[i, j], cm1[i, j]) >= 1)

    text = repo.tw("errors", exp["id"], "--k", "3").stdout
    assert "most confused" in text and "stable errors" in text and f"{top['actual']}" in text


def test_tag_sheet_round_trip_reports_ceilings_and_malformed_sheets_name_the_row(trained, tmp_path):
    repo, exp, runs = trained
    sheet = tmp_path / "errors.csv"
    out = repo.tw_json("errors", "sample", exp["id"], "--n", "20", "--out", str(sheet), "--tags", "dog,blurry",
                       "--seed", "3")
    assert out["run"]["id"] == runs[0]["id"] and out["sampled"] == 20 and str(runs[0]["id"]) in out["next"]
    again = repo.tw_json("errors", "sample", runs[0]["id"], "--n", "20", "--out", str(tmp_path / "b.csv"), "--seed", "3")
    rows = list(csv.DictReader(open(sheet, encoding="utf-8-sig")))
    assert [r["id"] for r in rows] == [r["id"] for r in csv.DictReader(open(again["path"], encoding="utf-8-sig"))]
    assert list(rows[0]) == ["id", "true", "predicted", "score", "loss", "input", "dog", "blurry", "comments"]

    # tag like a person would: a new column too, several tags per row
    common = pd.Series([r["true"] for r in rows]).value_counts().index[0]
    for i, r in enumerate(rows):
        r["blurry"] = "x" if r["true"] == common else ""
        r["dog"] = "1" if i < 4 else ""
        r["filters"] = "yes" if i % 5 == 0 else ""
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    rep = repo.tw_json("errors", "tags", str(sheet), "--run", runs[0]["id"])
    frame = _parquet(runs[0])
    err = float(np.mean(frame.y_true != frame.y_pred))
    counts = {"blurry": sum(r["blurry"] == "x" for r in rows), "dog": 4, "filters": 4}
    assert rep["n_sampled"] == 20 and rep["error_rate"] == pytest.approx(err) and not rep["census"]
    assert [row["ceiling"] for row in rep["rows"]] == sorted(row["ceiling"] for row in rep["rows"])
    for row in rep["rows"]:
        k = counts[row["tag"]]
        ci = binomtest(k, 20).proportion_ci(method="wilson")
        assert row["count"] == k and row["ceiling"] == pytest.approx(err * (1 - k / 20))
        assert (row["share"]["low"], row["share"]["high"]) == pytest.approx((ci.low, ci.high))
    tags = rep["tags"]
    both = sum(r["dog"] == "1" and r["blurry"] == "x" for r in rows)
    assert rep["cooccurrence"][tags.index("dog")][tags.index("blurry")] == both
    text = repo.tw("errors", "tags", str(sheet), "--run", runs[0]["id"]).stdout
    assert f"fixing every `blurry` error would take the error from {100 * err:.1f}% to at best" in text
    for row in rep["rows"]:  # the table's ceiling interval is the sentence's (ends rounded outwards in both)
        low, high = math.floor(1000 * row["ceiling_low"] + 1e-9) / 10, math.ceil(1000 * row["ceiling_high"] - 1e-9) / 10
        assert f"{low:.1f}% – {high:.1f}%" in text and f"{low:.1f}%–{high:.1f}%" in text

    rows[2]["blurry"] = "maybe"  # CSV row 4 (header = row 1)
    rows[5]["id"] = "999999"     # CSV row 7
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bad = repo.tw("errors", "tags", str(sheet), "--run", runs[0]["id"], check=False)
    assert bad.returncode == 2
    message = " ".join(bad.stderr.split())
    assert "row 4, column 'blurry'" in message and "'maybe'" in message and "row 7, column 'id'" in message
    bad_json = repo.tw("errors", "tags", str(sheet), "--run", runs[0]["id"], "--json", check=False)
    assert bad_json.returncode == 2 and "row 4" in json.loads(bad_json.stdout)["message"]


def test_metrics_average_precision_equals_sklearn_and_writes_plots(trained, tmp_path):
    repo, exp, runs = trained
    out = repo.tw_json("metrics", exp["id"], "--seed", "1", "--target-precision", "0.9", "--target-accuracy", "0.95",
                       "--delta", "0.05", "--plots", str(tmp_path))
    frame = _parquet(runs[1])
    y, s = frame.y_true.to_numpy(), _scores(frame)
    assert out["run"]["id"] == runs[1]["id"] and out["task"] == "multiclass" and out["warnings"] == []
    for j, c in enumerate(out["classes"]):
        assert c["average_precision"] == pytest.approx(average_precision_score(y == j, s[:, j]), abs=1e-12)
        if c["target"]["achieved"]:  # the threshold really gives >= 90% precision on these scores
            flagged = s[:, j] >= c["target"]["threshold"]
            assert np.mean(y[flagged] == j) >= 0.9
    onehot = np.eye(10)[y]
    assert out["macro_average_precision"] == pytest.approx(average_precision_score(onehot, s, average="macro"))
    p, r, _, _ = precision_recall_fscore_support(y, s.argmax(1), labels=range(10), zero_division=np.nan)
    np.testing.assert_allclose([c["recall"] for c in out["classes"]], r)
    sel = out["selective"]
    conf, correct = s.max(1), s.argmax(1) == y
    if sel["found"]:
        answered = conf >= sel["threshold"]
        assert np.mean(answered) == pytest.approx(sel["coverage"]) and np.mean(correct[answered]) >= 0.95
    assert out["aurc"] == pytest.approx(np.mean(np.cumsum(~correct[np.argsort(-conf)]) / np.arange(1, len(y) + 1)),
                                        rel=0.05)  # ties in confidence are averaged by trialwise
    for name in ("confusion_matrix.png", "pr_curve.png", "risk_coverage.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_rare_event_import_leads_with_the_warning_and_does_not_shadow_runs(trained, tmp_path):
    repo, exp, runs = trained
    rng = np.random.default_rng(7)
    n = 3000
    y = (rng.random(n) < 0.004).astype(int)
    score = np.round(np.clip(0.05 + 0.5 * y * rng.random(n) + 0.3 * rng.random(n), 0, 1), 4)
    csv_path = _write_csv(tmp_path / "screening.csv", ["id", "y_true", "score"],
                          [[f"p{i}", y[i], score[i]] for i in range(n)])
    made = repo.tw_json("errors", "import", str(csv_path))
    assert made["created"] and made["experiment"]["kind"] == "import" and made["experiment"]["name"] == "screening"
    sources = [x for x in repo.store().artifacts(run_id=made["run"]["id"]) if x["kind"] == "predictions-source"]
    assert [Path(x["path"]) for x in sources] == [csv_path.resolve()]

    out = repo.tw_json("metrics", "screening", "--target-recall", "0.5")
    assert out["task"] == "binary" and out["warnings"][0].startswith("rare events:")
    assert out["messages"][0] == out["warnings"][0] and out["rare_event"]["warn"]
    (pos,) = out["classes"]
    assert pos["name"] == "1" and pos["average_precision"] == pytest.approx(average_precision_score(y, score))
    assert pos["recall"] == pytest.approx(np.mean(score[y == 1] >= 0.5))
    text = repo.tw("metrics", "screening").stdout
    assert text.lstrip().startswith("warning: rare events: accuracy")

    cost = _write_csv(tmp_path / "cost.csv", ["true\\predicted", "1", "0"], [["0", 1, 0], ["1", 0, 50]])
    with_cost = repo.tw_json("metrics", "screening", "--cost-matrix", str(cost))
    pred = (score >= 0.5).astype(int)
    expected = (np.sum((y == 0) & (pred == 1)) + 50 * np.sum((y == 1) & (pred == 0))) / n
    assert with_cost["cost"]["cost_per_example"] == pytest.approx(expected)
    bad = _write_csv(tmp_path / "bad_cost.csv", ["true\\predicted", "0", "1"], [["0", 0, 1], ["1", "lots", 0]])
    proc = repo.tw("metrics", "screening", "--cost-matrix", str(bad), check=False)
    assert proc.returncode == 2 and "row 3" in " ".join(proc.stderr.split())

    # the import records HEAD as context only: the git ref still names the training experiment
    assert repo.tw_json("errors", "main")["experiment"]["id"] == exp["id"]
    assert repo.tw_json("errors", "screening")["n"] == n


def test_import_as_seeds_compare_and_attach_to_a_run(trained, tmp_path):
    repo, exp, runs = trained
    frames = [_parquet(r) for r in runs]
    a0 = frames[0].set_index("id")
    a1 = frames[1].set_index("id").loc[a0.index]
    wrong_both = (a0.y_true != a0.y_pred) & (a1.y_true != a1.y_pred)
    target = int(a0.y_true[wrong_both].value_counts().index[0])  # the class with most errors in both seeds
    for seed, frame in enumerate(frames):
        s = _scores(frame)
        pred = np.where(frame.y_true == target, frame.y_true, frame.y_pred)  # B fixes every error on the class
        rows = [[i, t, p, *row] for i, t, p, row in zip(frame.id, frame.y_true, pred, s)]
        path = _write_csv(tmp_path / f"b{seed}.csv", ["id", "y_true", "y_pred", *[f"score_{j}" for j in range(10)]], rows)
        repo.tw_json("errors", "import", str(path), "--name", "fixed-class", "--seed", str(seed))
    out = repo.tw_json("errors", "compare", exp["id"], "fixed-class")
    header = repo.tw("errors", "compare", exp["id"], "fixed-class").stdout.splitlines()[0]
    assert header.startswith(f"A {exp['name']} ({exp['id']}, 2 seeds) → B fixed-class (")  # ids: names can repeat
    assert out["fixed"] and set(out["fixed"]) == set(a0.index[wrong_both & (a0.y_true == target)]) and out["broken"] == []
    assert out["b"]["seeds"] == [0, 1]
    fixed = next(c for c in out["classes"] if c["name"] == str(target))
    assert fixed["mean_b"] == 1.0 and fixed["diff"] > 0

    # attach another split to an existing run; refusing to overwrite without --overwrite
    test_csv = _write_csv(tmp_path / "test.csv", ["id", "y_true", "y_pred"], [[i, i % 3, (i * 7) % 3] for i in range(60)])
    attached = repo.tw_json("errors", "import", str(test_csv), "--run", runs[1]["id"], "--split", "test")
    assert not attached["created"] and attached["run"]["id"] == runs[1]["id"]
    shown = repo.tw_json("errors", runs[1]["id"], "--split", "test")
    assert shown["n"] == 60 and shown["worst_mistakes"] == [] and shown["worst_by"] is None
    again = repo.tw("errors", "import", str(test_csv), "--run", runs[1]["id"], "--split", "test", check=False)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert math.isclose(repo.tw_json("errors", "import", str(test_csv), "--run", runs[1]["id"], "--split", "test",
                                     "--overwrite")["error_rate"], attached["error_rate"])
