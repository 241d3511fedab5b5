"""Fast-cycle fidelity (seed 001 #5) and invasive config changes (seed 001 #8)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from trialwise import DataError, UsageError
from trialwise.ablate import ABSENT, ConfigDiff, FidelityPair, diff_configs, fidelity, invasive_report

FULL = [0.030, -0.010, 0.012, 0.004, -0.020, 0.021, 0.007, -0.003]


def pairs(fast_effects, fast_s: float = 60.0, full_s: float = 300.0) -> list[FidelityPair]:
    return [FidelityPair(f"c{i}", fe, ue, fast_s, full_s) for i, (fe, ue) in enumerate(zip(fast_effects, FULL))]


def test_faithful_fast_cycle_passes() -> None:
    fast = [0.5 * x + 0.001 for x in FULL]  # shrunk and shifted: same order, same signs
    r = fidelity(pairs(fast))
    assert r.ok and r.warnings == ()
    assert r.n_pairs == 8 and r.median_speedup == pytest.approx(5.0)
    assert r.sign_agreement == 1.0 and r.kendall_tau == pytest.approx(1.0)
    assert r.kendall_p == pytest.approx(stats.kendalltau(fast, FULL, alternative="greater").pvalue)
    assert "8 change(s)" in r.summary[0]
    json.dumps(r.to_dict())


def test_known_partial_agreement_gives_kendall_tau_and_sign_warnings() -> None:
    fast = list(FULL)
    fast[0], fast[4] = FULL[4], FULL[0]  # swap the best and the worst change
    fast[3] = -0.001  # and flip one small effect's sign
    r = fidelity(pairs(fast))
    expected = stats.kendalltau(fast, FULL).statistic
    assert r.kendall_tau == pytest.approx(expected) and r.kendall_tau < 0.6
    assert set(r.disagreeing) == {"c0", "c3", "c4"}
    assert r.sign_agreement == pytest.approx(5 / 8)
    assert any("agree in sign for only 62%" in w for w in r.warnings)
    assert any("Kendall tau" in w for w in r.warnings)
    assert not r.ok


def test_speedup_bounds_and_pair_count() -> None:
    slow = fidelity(pairs([0.5 * x for x in FULL], fast_s=200.0, full_s=300.0))
    assert slow.median_speedup == pytest.approx(1.5)
    assert any("only 1.5× faster" in w for w in slow.warnings)
    very_fast = fidelity(pairs([0.5 * x for x in FULL], fast_s=10.0, full_s=300.0))
    assert very_fast.ok and any("30× faster" in n for n in very_fast.notes)
    few = fidelity([("a", 0.01, 0.02, 10.0, 50.0), ("b", -0.01, -0.02, 12.0, 50.0), ("c", 0.0, 0.001, 9, 50)])
    assert few.n_pairs == 3 and any("rests on 3 pair(s)" in w for w in few.warnings)
    assert few.disagreeing == ("c",)  # a zero fast effect does not agree with a positive full one
    one = fidelity([("a", 0.01, 0.02, 10.0, 50.0)])
    assert math.isnan(one.kendall_tau) and "1 change(s)" in one.summary[0]
    with pytest.raises(DataError, match="positive wall times"):
        fidelity([("a", 0.01, 0.02, 0.0, 50.0)])
    with pytest.raises(DataError, match="non-finite"):
        fidelity([("a", float("nan"), 0.02, 1.0, 50.0)])
    with pytest.raises(DataError, match="at least one pair"):
        fidelity([])


def test_diff_configs_over_nested_dicts() -> None:
    base = {"optim": {"lr": 1e-3, "betas": [0.9, 0.999], "sched": {"kind": "cosine"}}, "epochs": 10,
            "amp": True, "drop": float("nan"), "aug": {"flip": True}, "lr.decay": 1}
    change = {"optim": {"lr": 3e-4, "betas": [0.9, 0.95], "sched": {"kind": "cosine", "warmup": 500}}, "epochs": 10.0,
              "amp": 1, "drop": float("nan"), "lr.decay": 1}
    diffs = diff_configs(base, change)
    as_text = [str(d) for d in diffs]
    assert as_text == [
        "amp: True -> 1",
        "aug.flip: True -> <absent>",
        "optim.betas: [0.9, 0.999] -> [0.9, 0.95]",
        "optim.lr: 0.001 -> 0.0003",
        "optim.sched.warmup: <absent> -> 500",
    ]
    assert [d.kind for d in diffs] == ["changed", "removed", "changed", "changed", "added"]
    assert diffs[1].new is ABSENT and diffs[1].to_dict() == {"key": "aug.flip", "kind": "removed", "old": True,
                                                             "new": "<absent>"}
    assert diff_configs(base, base) == []
    assert [str(d) for d in diff_configs({"a.b": 1}, {"a.b": 2})] == ['"a.b": 1 -> 2']
    assert diff_configs({"x": {"y": 1}}, {"x": 5}) == [ConfigDiff("x", {"y": 1}, 5)]
    with pytest.raises(UsageError, match="mapping"):
        diff_configs([], {})


def seed_example(lr_y: float) -> tuple[dict, dict]:
    """Seed 001 #8: the learning rate is changed for backbone X, and (invasively) for Y too."""
    common = {"data": {"batch": 64}, "optim": {"lr": 1e-3}}
    base = {"backbone_x": {**common, "model": "x"}, "backbone_y": {**common, "model": "y"}}
    change = {"backbone_x": {**common, "model": "x", "optim": {"lr": 3e-4}},
              "backbone_y": {**common, "model": "y", "optim": {"lr": lr_y}}}
    return base, change


def test_invasive_report_lists_the_other_modes_the_change_alters() -> None:
    base, change = seed_example(lr_y=3e-4)
    r = invasive_report(base, change, "backbone_x")
    assert r.invasive and r.target_changed
    assert [str(d) for d in r.target_diffs] == ["optim.lr: 0.001 -> 0.0003"]
    assert [m.mode for m in r.invaded] == ["backbone_y"]
    assert [str(d) for d in r.invaded[0].diffs] == ["optim.lr: 0.001 -> 0.0003"]
    assert any("Invasive" in line and "backbone_y" in line for line in r.summary)
    json.dumps(r.to_dict())

    base, change = seed_example(lr_y=1e-3)
    clean = invasive_report(base, change, "backbone_x")
    assert not clean.invasive and clean.unchanged_modes == ("backbone_y",)
    assert "Non-invasive" in clean.summary[-1]

    untouched = invasive_report(base, base, "backbone_x")
    assert not untouched.target_changed and "does not alter" in untouched.summary[0]

    added = invasive_report(base, {**change, "backbone_z": {"model": "z"}}, "backbone_x")
    assert [(m.mode, m.status) for m in added.invaded] == [("backbone_z", "added")]
    with pytest.raises(UsageError, match="'target_mode'"):
        invasive_report(base, change, "backbone_w")


def test_fidelity_of_a_noisy_fast_cycle_with_known_agreement() -> None:
    """Fast effects = full effects + noise: small noise keeps tau high, large noise breaks it."""
    rng = np.random.default_rng(0)
    full = np.linspace(-0.02, 0.03, 12)
    good = fidelity([(f"c{i}", f + rng.normal(0, 0.002), f, 30, 240) for i, f in enumerate(full)])
    assert good.ok and good.kendall_tau > 0.8 and good.kendall_p < 0.001
    bad = fidelity([(f"c{i}", f * 0 + rng.normal(0, 0.02), f, 30, 240) for i, f in enumerate(full)])
    assert not bad.ok and bad.kendall_tau < 0.6
