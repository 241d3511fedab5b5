"""The pure layer of trialwise.tune: spaces, priors, suggestions, intermediate values, objectives,
importance with its bootstrap, slices and the winner re-check (real computations, no runner)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trialwise._exceptions import DataError, UsageError
from trialwise.tune import (
    Objective,
    TrialRecord,
    aggregate,
    bootstrap_importance,
    default_trial,
    match_prior,
    parse_param,
    parse_space,
    priors,
    recheck,
    slice_data,
    suggest_space,
    top_configurations,
)
from trialwise.tune._intermediate import IntermediateValues, MetricsTail, report_steps

# -- spaces ---------------------------------------------------------------------------------


def test_param_grammar_and_canonical_specs() -> None:
    lr = parse_param("lr=log:1e-5..1e-1")
    assert (lr.kind, lr.low, lr.high, lr.log) == ("log", 1e-5, 1e-1, True)
    assert parse_param(lr.spec()) == lr
    width = parse_param("width=int:32..512")
    assert (width.low, width.high) == (32, 512) and isinstance(width.low, int)
    opt = parse_param("opt=choice:adam,sgd")
    assert opt.choices == ("adam", "sgd")
    assert parse_param("bs=choice:32,64").choices == (32, 64)
    assert parse_param("x=uniform:0..1").kind == "float"
    assert parse_param("w=int-log:16..1024").kind == "logint"
    assert lr.center() == pytest.approx(10 ** -3)
    assert width.center() == 272 and opt.center() == "adam"
    assert lr.grid(3) == pytest.approx([1e-5, 1e-3, 1e-1])
    assert parse_param("k=int:1..3").grid(5) == [1, 2, 3]


@pytest.mark.parametrize("text, fragment", [
    ("lr=log:0..1", "LOW > 0"),
    ("lr=log:1e-3", "LOW..HIGH"),
    ("x=int:1.5..3", "integer bounds"),
    ("y=foo:1..2", "unknown kind 'foo'"),
    ("z=float:2..1", "empty"),
    ("z=float:a..b", "must be numbers"),
    ("c=choice:a,a", "twice"),
    ("no equals sign", "cannot read it"),
])
def test_bad_params_say_what_and_how(text: str, fragment: str) -> None:
    with pytest.raises(UsageError, match="Expected NAME=KIND") as info:
        parse_param(text)
    assert fragment in str(info.value) and text in str(info.value)


def test_space_refuses_duplicates_and_searched_fixed_overlap() -> None:
    with pytest.raises(UsageError, match="lr more than once"):
        parse_space(["lr=log:1e-5..1e-1", "lr=float:0..1"])
    with pytest.raises(UsageError, match="both searched"):
        parse_space(["lr=log:1e-5..1e-1"], {"lr": 0.1})
    space = parse_space(["lr=log:1e-5..1e-1", "opt=choice:adam,sgd"], {"sleep": 0.1})
    assert json.loads(space.key()) == {"params": ["lr=log:1e-05..0.1", "opt=choice:adam,sgd"], "fixed": {"sleep": 0.1}}


# -- priors and suggestions ----------------------------------------------------------------


def test_prior_table_is_seed_004() -> None:
    table = priors()
    got = {r.label: r.sensitivity for r in table.rows}
    assert got == {
        "learning rate": "high", "learning rate schedule": "high", "optimizer choice": "low",
        "other optimizer parameters": "low", "batch size": "low", "weight initialisation": "medium",
        "loss function": "high", "model depth": "medium", "layer size": "high", "layer parameters": "medium",
        "weight of regularization": "medium", "nonlinearity": "low",
    }
    assert min(table.rows, key=lambda r: r.rank).key == "learning_rate"


@pytest.mark.parametrize("name, row", [
    ("lr", "learning_rate"), ("Learning-Rate", "learning_rate"), ("encoder_lr", "learning_rate"),
    ("lr_warmup", "lr_schedule"), ("hidden_dim", "layer_size"), ("weight_decay_rate", "regularization"),
    ("activation", "nonlinearity"), ("n_layers", "depth"), ("batch_size", "batch_size"), ("optim", "optimizer"),
])
def test_names_match_their_prior_row(name: str, row: str) -> None:
    found = match_prior(name)
    assert found is not None and found.row.key == row


def test_unknown_names_have_no_prior() -> None:
    assert match_prior("temperature_of_the_sun") is None


def test_first_trial_is_seed_004_defaults() -> None:
    space = parse_space(["lr=log:1e-5..1e-1", "opt=choice:sgd,adam", "act=choice:tanh,relu",
                         "init=choice:glorot,kaiming", "wd=log:1e-6..1e-2", "dropout=float:0..0.5",
                         "width=int:32..512"])
    values, notes = default_trial(space)
    assert values == {"lr": 3e-4, "opt": "adam", "act": "relu", "init": "kaiming", "wd": 1e-6, "dropout": 0.0,
                      "width": 272}
    assert "outside the range" in notes["wd"] and notes["width"] == "middle of the range"


def test_suggestion_orders_by_prior_with_learning_rate_first_on_a_log_scale() -> None:
    s = suggest_space({"act": ("cfg", "relu"), "batch_size": ("cfg", 64), "width": ("cfg", 2048),
                       "opt": ("cfg", None), "dropout": ("cfg", 0.1), "lr": ("cfg", 0.01), "mystery": ("cfg", 0.5)})
    names = [p.name for p in s.params]
    assert names[0] == "lr" and s.params[0].spec == "lr=log:1e-05..0.1"
    assert names.index("width") < names.index("dropout") < names.index("act")
    assert names[-1] == "mystery" and s.params[-1].spec == "mystery=log:0.05..5.0"
    by = {p.name: p for p in s.params}
    assert by["width"].spec == "width=logint:16..2048"  # widened to the current value
    assert not by["opt"].search and not by["act"].search and not by["batch_size"].search
    assert s.first_trial["lr"] == 3e-4 and s.first_trial["opt"] == "adam" and s.first_trial["act"] == "relu"
    assert s.first_trial["dropout"] == 0.0
    assert s.fixed == {"opt": "adam", "act": "relu"}
    assert s.command.startswith("trialwise sweep --param lr=log:1e-05..0.1 --param width=")
    assert "--set opt=adam" in s.command


# -- intermediate values ----------------------------------------------------------------------


def test_report_grid_is_geometric() -> None:
    grid = report_steps()
    assert [next(grid) for _ in range(12)] == [0, 1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46]


def test_intermediate_values_wait_for_running_seeds_and_carry_values_forward() -> None:
    iv = IntermediateValues(["a", "b"])
    iv.add("a", [(s, float(s)) for s in range(6)])
    iv.add("b", [(0, 10.0), (1, 11.0), (2, 12.0)])
    assert iv.ready() == [(0, 5.0), (1, 6.0), (2, 7.0)]
    assert iv.ready() == []  # each step once
    iv.add("b", [(3, 13.0)])
    assert iv.ready() == [(3, 8.0)]
    iv.end("b")  # b ended at step 3: later steps no longer wait for it and carry its last value
    assert iv.ready() == [(4, (4.0 + 13.0) / 2)]
    sparse = IntermediateValues(["x"])
    sparse.add("x", [(0, 1.0), (10, 2.0)])
    assert sparse.ready() == [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (6, 1.0), (8, 1.0)]


def test_metrics_tail_keeps_a_partial_line_for_later(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(tmp_path)
    assert tail.read("val") == []
    line = json.dumps({"t": 1.0, "s": [0, 1], "m": [{"val": 0.5}, {"val": None, "other": 3}]})
    path.write_text(line[:20])
    assert tail.read("val") == []
    with path.open("a") as fh:
        fh.write(line[20:] + "\n" + json.dumps({"t": 2.0, "s": [2], "m": [{"other": 1}]}) + "\n")
    got = tail.read("val")
    assert got[0] == (0, 0.5) and got[1][0] == 1 and math.isnan(got[1][1]) and len(got) == 2
    assert tail.read("val") == []


# -- objectives ---------------------------------------------------------------------------------


def test_objective_reads_summaries_and_series() -> None:
    acc = Objective("val_acc", "max")
    assert acc.seed_value({"val_acc": 0.9}) == 0.9 and math.isnan(acc.seed_value({}))
    mean = Objective("train_loss", "min", "series-mean")
    assert mean.seed_value({}, [3.0, 2.0, 1.0]) == 2.0
    assert Objective("train_loss", "min", "series-final").seed_value({}, [3.0, 2.0, 1.0]) == 1.0
    assert mean.seed_value({}, [1.0, float("nan")]) == math.inf  # diverged: the worst value
    assert math.isnan(mean.seed_value({}, []))
    agg = aggregate([0.8, 0.9, float("nan")])
    assert (agg.n, agg.n_ok) == (3, 2) and agg.mean == pytest.approx(0.85) and agg.std == pytest.approx(0.0707, abs=1e-4)
    assert aggregate([1.0, math.inf]).mean == math.inf
    with pytest.raises(UsageError):
        Objective("x", "up")


# -- importance and slices ------------------------------------------------------------------------


def _design(n: int, seed: int) -> tuple[list[dict], list[float]]:
    rng = np.random.default_rng(seed)
    params, values = [], []
    for _ in range(n):
        p = {"lr": float(10 ** rng.uniform(-5, -1)), "width": int(rng.integers(32, 513)),
             "opt": str(rng.choice(["adam", "sgd"]))}
        params.append(p)
        values.append(0.9 - 0.1 * (math.log10(p["lr"]) + 2.5) ** 2 + float(rng.normal(0, 0.01)))
    return params, values


SPACE = parse_space(["lr=log:1e-5..1e-1", "width=int:32..512", "opt=choice:adam,sgd"])


def test_bootstrap_importance_finds_the_parameter_that_matters() -> None:
    params, values = _design(30, 1)
    imp = bootstrap_importance(params, values, SPACE, direction="max", n_bootstrap=30, seed=0)
    assert imp.ranking[0] == "lr"
    by = {p.name: p for p in imp.params}
    assert by["lr"].matters and by["lr"].ci_low > imp.noise[0]
    assert not by["width"].matters and not by["opt"].matters
    assert by["lr"].prior == "high" and by["opt"].prior == "low" and by["opt"].reading.endswith("as the prior expects")
    assert by["width"].reading.startswith("no evidence")  # layer size: prior high, nothing here
    assert "the data says lr matters" in imp.sentence
    again = bootstrap_importance(params, values, SPACE, direction="max", n_bootstrap=30, seed=0)
    assert again.to_dict() == imp.to_dict()
    ped = bootstrap_importance(params, values, SPACE, direction="max", evaluator="ped-anova", n_bootstrap=20)
    assert ped.ranking[0] == "lr"


def test_importance_refuses_too_few_trials() -> None:
    params, values = _design(6, 2)
    with pytest.raises(DataError, match="at least 10 completed trials"):
        bootstrap_importance(params, values, SPACE)


def test_slices_show_the_u_shape_and_an_optimum_at_the_edge() -> None:
    params, values = _design(40, 3)
    s = {d.name: d for d in slice_data(params, values, list(range(40)), SPACE, direction="max")}
    assert s["lr"].shape == "interior" and s["opt"].shape == "categorical"
    best = max(s["lr"].bins, key=lambda b: b.mean)
    assert best.low <= -2.5 <= best.high  # the bin holding the true optimum (log10 scale)
    assert sum(b.n for b in s["lr"].bins) == 40
    rising = [0.1 * math.log10(p["lr"]) for p in params]
    edge = {d.name: d for d in slice_data(params, rising, list(range(40)), SPACE, direction="max")}
    assert edge["lr"].shape == "high" and "widen" in edge["lr"].note
    assert {d.name: d for d in slice_data(params, rising, list(range(40)), SPACE, direction="min")}["lr"].shape == "low"


def test_no_u_shape_from_few_trials_or_a_monotone_slice() -> None:
    """Issue 11 §7: "optimum inside the range (the U-shape)" was claimed from 2 monotone trials."""
    lr = parse_space(["lr=log:1e-5..1e-1"])
    two = slice_data([{"lr": 1e-3}, {"lr": 1e-2}], [0.80, 0.85], [0, 1], lr)[0]  # bins 2 and 3 of 5
    assert two.shape == "few" and "U-shape" not in two.note and "2 trial(s)" in two.note
    # six trials rising over the middle three bins: the best bin is the highest one tried, not the range's edge
    xs = [1e-4, 2e-4, 1e-3, 2e-3, 5e-3, 1e-2]
    rising = slice_data([{"lr": x} for x in xs], [0.80, 0.81, 0.83, 0.84, 0.86, 0.87], list(range(6)), lr)[0]
    assert [b.n for b in rising.bins] == [2, 2, 2]
    assert rising.shape == "monotone" and "no U-shape" in rising.note and "none tried above 0.0158" in rising.note
    falling = slice_data([{"lr": x} for x in xs], [0.87, 0.86, 0.84, 0.83, 0.81, 0.80], list(range(6)), lr)[0]
    assert falling.shape == "monotone" and "lowest values tried" in falling.note
    # the same six trials with a bottom in the middle: now it is a U
    u = slice_data([{"lr": x} for x in xs], [0.80, 0.81, 0.86, 0.87, 0.81, 0.80], list(range(6)), lr)[0]
    assert u.shape == "interior" and "U-shape" in u.note
    # four trials, even with a bottom in the middle, are too few
    assert slice_data([{"lr": x} for x in xs[1:5]], [0.80, 0.86, 0.87, 0.81], list(range(4)), lr)[0].shape == "few"


# -- winner re-check ------------------------------------------------------------------------------


def _trial(number: int, value: float, lr: float) -> TrialRecord:
    return TrialRecord(number, "complete", "completed", {"lr": lr}, value, (value, value), 0.0, 2, 2, f"exp{number}")


def test_recheck_names_a_winner_only_when_it_is_significantly_better() -> None:
    trials = [_trial(1, 0.95, 1e-3), _trial(2, 0.90, 2e-3), _trial(3, 0.80, 3e-3), _trial(4, 0.94, 1e-3)]
    trials[3] = TrialRecord(4, "complete", "completed", {"lr": 1e-3}, 0.94, (), 0.0, 2, 2, "exp1")  # same config as 1
    top = top_configurations(trials, 3, "max")
    assert [t.number for t in top] == [1, 2, 3]
    clear = recheck(top, {1: [0.85, 0.86, 0.84, 0.85, 0.86], 2: [0.89, 0.90, 0.91, 0.90, 0.89],
                          3: [0.70, 0.71, 0.69, 0.70, 0.72]}, metric="val_acc", direction="max", fresh_seeds=range(2, 7))
    assert clear.winner.trial == 2 and clear.indistinguishable == ()
    assert "significantly better" in clear.sentence and "winner's curse" in clear.sentence
    assert clear.winner_ci[0] < clear.winner.fresh_mean < clear.winner_ci[1]
    assert clear.optimism == pytest.approx(0.90 - 0.898)
    assert all(e.p_adjusted is not None and e.p_adjusted <= 0.05 for e in clear.entries[1:])
    tie = recheck(top, {1: [0.85, 0.87, 0.83, 0.86, 0.84], 2: [0.86, 0.84, 0.85, 0.87, 0.83],
                        3: [0.70, 0.71, 0.69, 0.70, 0.72]}, metric="val_acc", direction="max", fresh_seeds=range(2, 7))
    assert set(tie.indistinguishable) == {({1, 2} - {tie.winner.trial}).pop()}
    assert "indistinguishable" in tie.sentence
    loss = recheck(top[:2], {1: [0.3, 0.31, 0.29], 2: [0.5, 0.52, 0.49]}, metric="loss", direction="min",
                   fresh_seeds=[2, 3, 4])
    assert loss.winner.trial == 1 and loss.optimism < 0  # search value 0.95 was worse than its fresh loss


def test_the_winner_interval_of_a_bounded_metric_stays_inside_its_range() -> None:
    """Issue 11 §7 printed an accuracy CI of -0.065 to 1.488: two fresh seeds far apart (t with 1 df)."""
    top = [_trial(1, 0.8, 1e-3), _trial(2, 0.7, 2e-3)]
    wide = recheck(top, {1: [0.30, 0.99], 2: [0.60, 0.62]}, metric="val_acc", direction="max", fresh_seeds=[2, 3])
    assert wide.winner.trial == 1
    assert wide.interval.raw_low < 0 and wide.interval.raw_high > 1  # the t interval leaves [0, 1] ...
    assert wide.winner_ci == (0.0, 1.0) and wide.interval.clipped  # ... the reported one does not
    assert "clipped to [0, 1], the range of 'val_acc'" in wide.sentence
    # the same accuracy printed in percent: the percent range
    pct = recheck(top, {1: [30.0, 99.0], 2: [60.0, 62.0]}, metric="val_acc", direction="max", fresh_seeds=[2, 3])
    assert pct.winner_ci == (0.0, 100.0) and "[0, 100]" in pct.sentence
    # a loss has no known range: the interval is printed as computed, and the sentence says why
    loss = recheck(top, {1: [0.30, 0.99], 2: [1.60, 1.62]}, metric="val_loss", direction="min", fresh_seeds=[2, 3])
    assert loss.winner_ci[0] < 0 and not loss.interval.clipped
    assert "the range of 'val_loss' is unknown" in loss.sentence
    # a narrow interval inside the range is left alone, without a note
    narrow = recheck(top, {1: [0.85, 0.86, 0.84], 2: [0.60, 0.62, 0.61]}, metric="eval_f1", direction="max",
                     fresh_seeds=[2, 3, 4])
    assert not narrow.interval.clipped and narrow.interval.note == "" and "clipped" not in narrow.sentence


@pytest.mark.parametrize("name, values, described", [
    ("val_acc", [0.9], "[0, 1]"), ("eval_accuracy", [0.5, 1.0], "[0, 1]"), ("test/F1-macro", [], "[0, 1]"),
    ("roc_auc", [0.7], "[0, 1]"), ("val_acc", [97.5], "[0, 100]"), ("val_acc", [-3.0], "unknown"),
    ("val_loss", [0.2], "unknown"), ("f1_loss", [0.2], "unknown"), ("reward", [0.5], "unknown"),
])
def test_metric_range_from_the_name_confirmed_by_the_values(name: str, values: list[float], described: str) -> None:
    from trialwise.stats._bounds import metric_range

    assert metric_range(name, values).describe() == described


def test_a_trial_with_a_failed_seed_is_not_a_winner_candidate() -> None:
    """A configuration whose seed 1 crashes gets the mean of its surviving seed: it must not be crowned on it."""
    import optuna

    from trialwise.tune import StudyMeta, analyze_study

    lucky = TrialRecord(1, "complete", "completed", {"lr": 2e-3}, 1.03, (1.03, math.nan), math.nan, 2, 1, "exp1")
    assert lucky.n_failed == 1 and _trial(2, 0.9, 1e-3).n_failed == 0
    assert [t.number for t in top_configurations([lucky, _trial(2, 0.90, 1e-3), _trial(3, 0.80, 3e-4)], 3, "max")] == [2, 3]

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize")
    dist = {"lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)}
    for number, (lr, values) in enumerate([(2e-3, [1.03, math.nan]), (1e-3, [0.90, 0.91]), (3e-4, [0.80, 0.82])]):
        ok = [v for v in values if not math.isnan(v)]
        study.add_trial(optuna.trial.create_trial(
            params={"lr": lr}, distributions=dist, value=sum(ok) / len(ok),
            user_attrs={"outcome": "completed", "experiment_id": f"exp{number}", "seed_values": values,
                        "seed_std": math.nan, "n_seeds": 2, "n_completed": len(ok)}))
    meta = StudyMeta(commit="c0ffee", space=("lr=log:1e-5..1e-1",), fixed={}, objective=Objective("val_acc", "max"),
                     seeds=2)
    rechecked: list[int] = []

    def run_fresh(trial: TrialRecord, seeds: list[int]) -> list[float]:
        rechecked.append(trial.number)
        return [0.9 - 0.05 * trial.number + 0.001 * s for s in seeds]

    report = analyze_study(study, meta, "s", None, run_fresh=run_fresh, top_k=2, recheck_seeds=3)
    assert rechecked == [1, 2] and report.recheck is not None and report.recheck.winner.trial == 1
    assert report.best[0].number == 0  # still listed first (with its seed count), but not re-checked
    assert any("trial(s) 0 (1 of 2 seeds) had failed seeds" in n and "trialwise show exp0" in n for n in report.notes)
