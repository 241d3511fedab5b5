"""``trialwise sweep`` end to end, through the real CLI in a temp git repository: TPE finds the optimum
region of a synthetic objective, a second invocation with a larger budget resumes the study without
repeating trials or seeds, the winner is re-checked on fresh seeds, importance ranks the learning rate
first; ``sweep suggest``, ``sweep report``, ``sweep ls`` and the refusals."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo
from tests.tune.helpers import SPACE, lr_distance, study, synthetic_repo

FIRST, SECOND = 18, 22
STARTUP = 8
SWEEP = [*SPACE, "--sampler", "tpe", "--seeds", "2", "--sampler-seed", "3", "--startup-trials", str(STARTUP),
         "--pruner", "none", "--bootstrap", "40", "--recheck-seeds", "3"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = synthetic_repo(tmp_path_factory.mktemp("sweep") / "repo")
    first = repo.tw_json("sweep", *SWEEP, "--trials", str(FIRST), "--top-k", "0")
    trials_first = [(t.number, t.params) for t in study(first["storage"], first["study"]).trials]
    between = time.time()
    second = repo.tw_json("sweep", *SWEEP, "--trials", str(SECOND), "--top-k", "3")
    return {"repo": repo, "first": first, "second": second, "between": between, "trials_first": trials_first}


def test_tpe_finds_the_optimum_region(swept: dict[str, Any]) -> None:
    out = swept["second"]
    trials = study(out["storage"], out["study"]).trials
    best = out["best"][0]
    assert lr_distance(best["params"]["lr"]) < 0.5, best  # within a factor of ~3 of the optimum
    startup = [lr_distance(t.params["lr"]) for t in trials[1:STARTUP]]  # trial 0 is the seed-004 default
    modelled = [lr_distance(t.params["lr"]) for t in trials[STARTUP:]]
    assert statistics.median(modelled) < statistics.median(startup)  # TPE concentrates on the good region
    assert trials[0].params["lr"] == 3e-4 and trials[0].params["opt"] == "adam"  # the seed-004 default first
    assert best["seed_std"] > 0 and len(best["seed_values"]) == 2  # the seed std is kept next to the mean
    assert best["value"] == pytest.approx(statistics.fmean(best["seed_values"]))


def test_a_larger_budget_resumes_without_repeating_trials_or_seeds(swept: dict[str, Any]) -> None:
    first, second = swept["first"], swept["second"]
    assert first["study"] == second["study"]  # the default name is derived from commit and space
    assert first["outcome"]["ran"] == list(range(FIRST))
    assert second["outcome"]["ran"] == list(range(FIRST, SECOND))
    trials = study(second["storage"], second["study"]).trials
    assert len(trials) == SECOND and all(t.state.name == "COMPLETE" for t in trials)
    assert [(t.number, t.params) for t in trials[:FIRST]] == swept["trials_first"]
    store = swept["repo"].store()
    completed: dict[tuple[str, int], int] = {}
    for t in trials:
        for r in store.runs(t.user_attrs["experiment_id"]):
            if r.status == "completed":
                completed[(r.experiment_id, r.seed)] = completed.get((r.experiment_id, r.seed), 0) + 1
            if t.number < FIRST and r.seed < 2:
                assert r.ended_at < swept["between"], "a finished seed of the first invocation ran again"
    assert set(completed.values()) == {1}  # no seed of any configuration ran twice
    # a third invocation with the same budget runs nothing new and reuses the re-check's fresh seeds
    n_runs = len(store.runs())
    third = swept["repo"].tw_json("sweep", *SWEEP, "--trials", str(SECOND), "--top-k", "3")
    assert third["outcome"]["ran"] == [] and len(store.runs()) == n_runs
    assert third["recheck"]["winner"]["fresh_values"] == second["recheck"]["winner"]["fresh_values"]


def test_winner_is_rechecked_on_fresh_seeds(swept: dict[str, Any]) -> None:
    out = swept["second"]
    rc = out["recheck"]
    assert rc["fresh_seeds"] == [2, 3, 4]
    searched = [t["number"] for t in out["best"]]
    assert sorted(e["trial"] for e in rc["entries"]) == sorted(searched[:3])
    winner = rc["winner"]
    assert lr_distance(winner["params"]["lr"]) < 0.6
    assert rc["winner_ci"][0] < winner["fresh_mean"] < rc["winner_ci"][1]
    store = swept["repo"].store()
    fresh = sorted((r.seed, r.summary["val_acc"]) for r in store.runs(winner["experiment_id"]) if r.seed >= 2)
    assert [v for _, v in fresh] == pytest.approx(winner["fresh_values"])  # values read back from the runs
    others = rc["entries"][1:]
    assert len(others) == 2 and all(e["p_adjusted"] is not None for e in others)
    for e in others:
        assert e["distinguishable"] == (e["p_adjusted"] <= 0.05 and e["verdict"] == "progression")
    if rc["indistinguishable"]:
        assert "statistically indistinguishable" in rc["sentence"]
    else:
        assert "significantly better" in rc["sentence"]
    assert "winner's curse" in rc["sentence"]


def test_importance_ranks_the_parameter_that_matters_first(swept: dict[str, Any]) -> None:
    imp = swept["second"]["importance"]
    assert imp["n_trials"] == SECOND
    ranked = [p["name"] for p in imp["params"]]
    assert ranked[0] == "lr"
    by = {p["name"]: p for p in imp["params"]}
    assert by["lr"]["matters"] and by["lr"]["prior"] == "high"
    assert not by["opt"]["matters"] and by["opt"]["prior"] == "low"
    assert by["lr"]["ci_low"] <= by["lr"]["importance"] <= by["lr"]["ci_high"]
    slices = {s["name"]: s for s in swept["second"]["slices"]}
    assert slices["lr"]["shape"] == "interior"  # the U-shape around the optimum
    assert Path(swept["second"]["plot"]).stat().st_size > 10_000


def test_report_ls_and_rich_output(swept: dict[str, Any]) -> None:
    repo: Repo = swept["repo"]
    name = swept["second"]["study"]
    report = repo.tw_json("sweep", "report", "--study", name, "--bootstrap", "10")
    assert report["recheck"] is None and report["importance"]["params"][0]["name"] == "lr"
    assert [t["number"] for t in report["best"]] == [t["number"] for t in swept["second"]["best"]]
    listed = repo.tw_json("sweep", "ls")
    assert [s["study"] for s in listed] == [name] and listed[0]["trials"] == SECOND
    text = repo.tw("sweep", "report", "--study", name, "--importance", "ped-anova", "--bootstrap", "10").stdout
    assert "parameter importance (ped-anova" in text and "slice lr" in text and name in text
    missing = repo.tw("sweep", "report", "--study", "nope", check=False)
    assert missing.returncode == 2 and "no study 'nope'" in missing.stderr


@pytest.fixture
def small(tmp_path: Path) -> Repo:
    return synthetic_repo(tmp_path / "repo")


def test_refusals(small: Repo) -> None:
    bad = small.tw("sweep", "--param", "lr=log:0..1", check=False)
    assert bad.returncode == 2 and "a log scale needs LOW > 0" in bad.stderr
    none = small.tw("sweep", check=False)
    assert none.returncode == 2 and "sweep suggest" in none.stderr
    for option, value in (("--sampler", "bogus"), ("--pruner", "bogus")):
        wrong = small.tw("sweep", "--param", "lr=log:1e-5..1e-1", "--trials", "1", option, value, check=False)
        assert wrong.returncode == 2 and f"{option} must be one of" in wrong.stderr
    assert small.tw_json("sweep", "ls") == []  # refused before any study was created
    small.write("notes.txt", "uncommitted\n")
    dirty = small.tw("sweep", "--param", "lr=log:1e-5..1e-1", "--trials", "1", check=False)
    assert dirty.returncode == 2 and "dirty" in dirty.stderr
    (small.path / "notes.txt").unlink()
    args = ["--trials", "1", "--seeds", "1", "--top-k", "0", "--study", "mine"]
    small.tw_json("sweep", "--param", "lr=log:1e-5..1e-1", *args)
    other = small.tw("sweep", "--param", "lr=log:1e-4..1e-1", *args, check=False)
    assert other.returncode == 2 and "searches something else" in other.stderr and "space" in other.stderr


def test_suggest_reads_the_config_and_puts_the_learning_rate_first(tmp_path: Path) -> None:
    config = """
    command = "python train.py"
    [params.map]
    learning_rate = "--learning-rate {value}"
    [profiles.fast]
    set = { hidden_size = 2048, batch_size = 64 }
    """
    repo = make_repo(tmp_path / "repo", config, {"train.py": "print('hi')\n"})
    out = repo.tw_json("sweep", "suggest", "--name", "activation", "--name", "dropout")
    names = [p["name"] for p in out["params"]]
    assert names == ["learning_rate", "hidden_size", "dropout", "batch_size", "activation"]
    by = {p["name"]: p for p in out["params"]}
    assert by["learning_rate"]["spec"] == "learning_rate=log:1e-05..0.1" and by["learning_rate"]["source"] == "[params.map]"
    assert by["hidden_size"]["spec"] == "hidden_size=logint:16..2048" and by["hidden_size"]["current"] == 2048
    assert by["hidden_size"]["source"] == "[profiles.fast].set"
    assert [by[n]["search"] for n in names] == [True, True, True, False, False]
    assert out["first_trial"] == {"learning_rate": 0.0003, "hidden_size": 181, "dropout": 0.0, "activation": "relu"}
    assert "--set activation=relu" in out["command"]
    text = repo.tw("sweep", "suggest").stdout
    assert "learning_rate" in text and "seed 004" in text and "trialwise sweep --param learning_rate=log" in text


def test_grid_sweep_stops_at_the_end_of_its_grid(small: Repo) -> None:
    args = ["sweep", "--param", "lr=log:1e-4..1e-2", "--param", "opt=choice:adam,sgd", "--sampler", "grid",
            "--grid-points", "2", "--trials", "10", "--seeds", "1", "--top-k", "0", "--pruner", "none"]
    first = small.tw_json(*args)
    assert first["outcome"]["budget"] == 4 and first["counts"] == {"completed": 4}
    grid = sorted((t["params"]["lr"], t["params"]["opt"]) for t in first["best"])
    assert grid == [(1e-4, "adam"), (1e-4, "sgd"), (1e-2, "adam"), (1e-2, "sgd")]
    again = small.tw_json(*args)
    assert again["outcome"]["ran"] == [] and again["counts"] == {"completed": 4}


def test_two_trials_claim_no_u_shape_and_say_what_was_clipped(small: Repo) -> None:
    """Issue 11 §7: a 2-trial sweep claimed "optimum inside the range (the U-shape)"; the seed-004 default
    lr 3e-4 outside the range was clipped silently; the re-checks of the trials printed the same name."""
    args = ["sweep", "--param", "lr=log:1e-3..1e-1", "--trials", "2", "--seeds", "2", "--top-k", "2",
            "--recheck-seeds", "2", "--pruner", "none", "--sampler", "random", "--sampler-seed", "1",
            "--study", "tiny"]
    out = small.tw_json(*args)
    lr = next(s for s in out["slices"] if s["name"] == "lr")
    assert lr["shape"] == "few" and "U-shape" not in lr["note"]
    first = study(out["storage"], "tiny").trials[0]
    assert first.params["lr"] == pytest.approx(1e-3)  # the default, clipped into the range ...
    clipped = [n for n in out["notes"] if "seed-004 default" in n]  # ... and the report says so
    assert clipped and "lr's seed-004 default 0.0003 lies outside the range 0.001..0.1; clipped to 0.001" in clipped[0]
    rc = out["recheck"]
    assert rc["interval"]["range"]["low"] == 0.0 and rc["interval"]["range"]["high"] == 1.0  # val_acc: [0, 1]
    assert 0.0 <= rc["winner_ci"][0] <= rc["winner_ci"][1] <= 1.0
    names = {e.id: e.name for e in small.store().experiments()}
    trial_names = sorted(names[t.user_attrs["experiment_id"]] for t in study(out["storage"], "tiny").trials)
    assert [n.split("@")[0] for n in trial_names] == ["tiny#0", "tiny#1"]  # distinct and readable
    text = small.tw("sweep", "report", "--study", "tiny", "--bootstrap", "10").stdout
    flat = " ".join(text.split())
    assert "U-shape" not in flat and "too few trials to read a shape" in flat
    assert "clipped to 0.001" in flat
    rerun = " ".join(small.tw(*args[:-2], "--study", "tiny2").stdout.split())
    assert "tiny2#0-recheck@" in rerun and "tiny2#1-recheck@" in rerun  # the re-checks' progress reads apart
