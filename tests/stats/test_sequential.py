"""The group-sequential design: false-decision rate, power and seeds saved, proved by simulation.

Simulations use seeds other than the design's calibration seed, so they test the boundaries on
fresh paths. Monte-Carlo slack is 3 standard errors.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from trialwise import UsageError
from trialwise._cache import CACHE_ENV
from trialwise.stats import SequentialDesign, sequential_design, sequential_step
from trialwise.stats._sequential import (
    _DECISIONS,
    CALIBRATION_SEED,
    CALIBRATION_SIMULATIONS,
    DESIGN_CACHE,
    _calibrate_efficacy,
    _compute_design,
    _design,
    decide_paths,
    obf_spending,
    paths_from_data,
    run_paths,
    simulate_paths,
)

N_SIMS = 20_000
ALPHA = 0.05


def _slack(p: float, n: int = N_SIMS) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def design() -> SequentialDesign:
    return sequential_design()


@pytest.fixture(scope="module")
def null_paths(design: SequentialDesign):
    return simulate_paths(design.looks, N_SIMS, seed=101)


def _decided(codes: np.ndarray) -> np.ndarray:
    return np.isin(codes, (1, 2))


def test_default_design_looks_and_boundaries(design):
    assert design.looks == tuple(range(3, 21))  # a look after every seed spends the fewest seeds
    eff, fut = np.asarray(design.efficacy_z), np.asarray(design.futility_z)
    assert math.isinf(eff[0])  # O'Brien–Fleming-type spending: no success stop at 3 seeds
    assert np.all(np.diff(eff[1:]) < 0) and np.all(fut <= eff) and fut[-1] == eff[-1]
    assert design.alpha_spent[-1] == pytest.approx(ALPHA)
    assert design.fixed_seeds == 17 and design.achieved_power >= 0.8
    assert design.type1_error <= ALPHA and not design.binding_futility
    assert "Lan & DeMets 1983" in design.explanation and len(design.references) >= 5
    json.dumps(design.to_dict())


def test_design_is_deterministic(design):
    again = _compute_design(*_DEFAULT_PARAMS)  # fresh, bypassing both caches
    assert again is not design and again == design and again.to_dict() == design.to_dict()


_DEFAULT_PARAMS = (ALPHA, 0.8, 1.0, "two-sided", 3, 20, 1, CALIBRATION_SIMULATIONS, CALIBRATION_SEED, False)
_SMALL = dict(min_seeds=3, max_seeds=6, n_simulations=4000)
_SMALL_PARAMS = (ALPHA, 0.8, 1.0, "two-sided", 3, 6, 1, 4000, CALIBRATION_SEED, False)


def _cache_files(root):
    return sorted((root / DESIGN_CACHE).glob("*.json"))


def test_cached_design_equals_a_fresh_one(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _design.cache_clear()
    first = sequential_design(**_SMALL)  # computed, then written
    [path] = _cache_files(tmp_path)
    entry = json.loads(path.read_text())
    assert entry["key"]["max_seeds"] == 6 and entry["key"]["n_simulations"] == 4000
    _design.cache_clear()
    loaded = sequential_design(**_SMALL)  # read back from the file in a "new process"
    fresh = _compute_design(*_SMALL_PARAMS)
    assert loaded is not first and loaded == fresh == first
    assert all(math.isinf(x) == math.isinf(y) for x, y in zip(loaded.efficacy_z, fresh.efficacy_z))
    # the value really comes from the file: an edited entry with the same key is what is returned
    entry["value"]["explanation"] = "from the cache file"
    path.write_text(json.dumps(entry))
    _design.cache_clear()
    assert sequential_design(**_SMALL).explanation == "from the cache file"
    # other parameters are another entry
    _design.cache_clear()
    sequential_design(**{**_SMALL, "max_seeds": 5})
    assert len(_cache_files(tmp_path)) == 2


@pytest.mark.parametrize("corrupt", ["{not json", "", json.dumps({"format": 1, "key": {}, "value": {}}), "cut"])
def test_a_corrupt_cache_file_is_recomputed(tmp_path, monkeypatch, corrupt):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _design.cache_clear()
    sequential_design(**_SMALL)
    [path] = _cache_files(tmp_path)
    good = path.read_text()
    if corrupt == "cut":  # the right key, a value with a boundary missing
        entry = json.loads(good)
        entry["value"]["efficacy_z"] = entry["value"]["efficacy_z"][:-1]
        corrupt = json.dumps(entry)
    path.write_text(corrupt)
    _design.cache_clear()
    again = sequential_design(**_SMALL)
    assert again == _compute_design(*_SMALL_PARAMS)
    assert path.read_text() == good  # rewritten


def test_an_unwritable_cache_still_designs(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    _design.cache_clear()
    assert sequential_design(**_SMALL) == _compute_design(*_SMALL_PARAMS)


def test_type_one_error_is_at_most_alpha(design, null_paths):
    binding, _ = decide_paths(design, null_paths.z())
    ignoring_futility, _ = decide_paths(design, null_paths.z(), binding=False)
    assert np.mean(_decided(ignoring_futility)) <= ALPHA + _slack(ALPHA)
    assert np.mean(_decided(binding)) <= np.mean(_decided(ignoring_futility))


def test_type_one_error_with_unequal_variances(design):
    """Near sd ratio 5 a design calibrated at equal variances only reaches ≈ 0.053; 100 000 paths
    (3 s.e. = 0.002) tell that apart from <= 0.05."""
    n_sims = 100_000
    for sd_b in (0.2, 5.0):
        codes, _ = decide_paths(design, simulate_paths(design.looks, n_sims, seed=202, sd_b=sd_b).z(), binding=False)
        assert np.mean(_decided(codes)) <= ALPHA + _slack(ALPHA, n_sims)


def test_power_and_seeds_saved_against_fixed_n_welch(design, null_paths):
    effect_paths = simulate_paths(design.looks, N_SIMS, seed=303)
    codes, seeds = decide_paths(design, effect_paths.z(1.0))
    assert np.mean(codes == 1) >= 0.8 - _slack(0.8)
    assert np.mean(codes == 2) < 0.001  # a regression call under a real improvement is rare
    _, seeds_null = decide_paths(design, null_paths.z())
    assert seeds.mean() < 0.83 * design.fixed_seeds  # >= 17 % fewer seeds under the effect (≈ 20 %)
    assert seeds_null.mean() < 0.75 * design.fixed_seeds  # >= 25 % fewer with no effect (futility)


def test_binding_futility_design(design, null_paths):
    """Binding futility: the procedure as run (futility stops respected) keeps type I <= α, with
    unequal variances too, and spends fewer seeds than the non-binding default at d = 0 and d = 1."""
    binding = sequential_design(binding_futility=True)
    assert binding.binding_futility and "binding: null paths" in binding.explanation
    assert np.all(np.asarray(binding.efficacy_z)[1:] <= np.asarray(design.efficacy_z)[1:] + 1e-9)
    codes, seeds_null = decide_paths(binding, null_paths.z())
    assert np.mean(_decided(codes)) <= ALPHA + _slack(ALPHA)
    n_sims = 50_000
    unequal, _ = decide_paths(binding, simulate_paths(binding.looks, n_sims, seed=212, sd_b=5.0).z())
    assert np.mean(_decided(unequal)) <= ALPHA + _slack(ALPHA, n_sims)
    effect_paths = simulate_paths(binding.looks, N_SIMS, seed=313)
    codes1, seeds1 = decide_paths(binding, effect_paths.z(1.0))
    assert np.mean(codes1 == 1) >= 0.8 - _slack(0.8)
    _, seeds1_default = decide_paths(design, effect_paths.z(1.0))
    _, seeds_null_default = decide_paths(design, null_paths.z())
    assert seeds1.mean() < seeds1_default.mean() and seeds_null.mean() < seeds_null_default.mean()
    with pytest.raises(UsageError, match="binding_futility"):
        sequential_design(binding_futility="yes")


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_designs(alternative):
    design = sequential_design(alternative=alternative)
    paths = simulate_paths(design.looks, N_SIMS, seed=404)
    codes, _ = decide_paths(design, paths.z(), binding=False)
    assert np.mean(_decided(codes)) <= ALPHA + _slack(ALPHA)
    win = 1 if alternative == "greater" else 2
    shifted, seeds = decide_paths(design, paths.z(1.0 if alternative == "greater" else -1.0))
    assert np.mean(shifted == win) >= 0.8 - _slack(0.8)
    assert not np.any(shifted == 3 - win)  # a one-sided design never calls the other side
    _, seeds_null = decide_paths(design, paths.z())
    assert seeds_null.mean() < 0.6 * design.fixed_seeds


def test_naive_retesting_after_every_seed_inflates_false_decisions():
    """Contrast (Armitage et al. 1969): Welch after every seed from 3 to 20, stop at p <= 0.05."""
    paths = simulate_paths(tuple(range(3, 21)), N_SIMS, seed=505)
    p = 2 * stats.t.sf(np.abs(paths.t()), paths.df)
    naive = np.mean(np.any(p <= ALPHA, axis=1))
    assert 0.15 < naive < 0.26


def test_normal_theory_boundaries_on_t_statistics_are_anti_conservative():
    """The z approximation: spending boundaries computed for known variance, applied to the raw t of
    a short design (3 to 8 seeds), let far more than alpha through; the calibrated design does not."""
    design = sequential_design(min_seeds=3, max_seeds=8, round_size=1)
    looks, n_max = design.looks, design.looks[-1]
    rng = np.random.default_rng(606)
    known = rng.standard_normal((2, 100_000, n_max))
    z_known = np.stack([(known[1, :, :n].mean(1) - known[0, :, :n].mean(1)) / math.sqrt(2 / n) for n in looks], 1)
    info = np.asarray(looks) / n_max
    normal_bounds = _calibrate_efficacy([np.abs(z_known)], np.floor(obf_spending(info, ALPHA) * z_known.shape[0]))
    paths = simulate_paths(looks, N_SIMS, seed=707)
    shortcut, _ = run_paths(paths.t(), normal_bounds, np.full(len(looks), -np.inf), "two-sided")
    assert np.mean(_decided(shortcut)) > ALPHA + 2 * _slack(ALPHA)
    ours, _ = decide_paths(design, paths.z(), binding=False)
    assert np.mean(_decided(ours)) <= ALPHA + _slack(ALPHA)


def _run_steps(design, a, b, direction="max"):
    n, states = design.looks[0], []
    while True:
        states.append(sequential_step(design, a[:n], b[:n], direction=direction))
        if states[-1].decision != "continue":
            return states
        n = states[-1].next_round_seeds


@pytest.mark.parametrize("effect", [0.0, 1.0])
def test_sequential_step_is_the_simulated_procedure(design, effect):
    rng = np.random.default_rng(808)
    a = rng.standard_normal((150, 20))
    b = rng.standard_normal((150, 20)) + effect
    codes, seeds = decide_paths(design, paths_from_data(a, b, design.looks).z())
    for i in range(len(a)):
        states = _run_steps(design, a[i], b[i])
        assert (states[-1].decision, states[-1].seeds_per_arm) == (_DECISIONS[codes[i]], seeds[i])
        assert [s.seeds_per_arm for s in states] == list(design.looks[:len(states)])


def test_lower_loss_is_a_progression(design):
    rng = np.random.default_rng(9)
    loss_a = 0.5 + 0.01 * rng.standard_normal(20)
    loss_b = loss_a - 0.03 + 0.01 * rng.standard_normal(20)
    assert _run_steps(design, loss_a, loss_b, direction="min")[-1].decision == "progression"
    assert _run_steps(design, loss_a, loss_b, direction="max")[-1].decision == "regression"


def test_step_state_details(design):
    state = sequential_step(design, [0.90, 0.91, 0.905], [0.92, 0.925, 0.93], direction="max")
    assert state.decision == "continue" and state.look == 1 and state.next_round_seeds == 4
    ref = stats.ttest_ind([0.92, 0.925, 0.93], [0.90, 0.91, 0.905], equal_var=False)
    assert state.t == pytest.approx(ref.statistic)
    assert 2 * stats.norm.sf(abs(state.z)) == pytest.approx(ref.pvalue)  # z has the t's tail probability
    assert "too early to declare a change" in state.sentence
    json.dumps(state.to_dict())


def test_step_before_first_look_failures_and_the_last_look(design):
    early = sequential_step(design, [0.9, 0.91], [0.92, 0.93], direction="max")
    assert early.decision == "continue" and early.next_round_seeds == 3
    failed = sequential_step(design, [0.9, np.nan, np.nan], [0.92, 0.93, 0.94], direction="max")
    assert failed.decision == "continue" and failed.n_failed_a == 2 and failed.next_round_seeds == 4
    last = sequential_step(design, [np.nan] * 19 + [0.9], [0.9] * 20, direction="max")
    assert last.decision == "insufficient data" and last.next_round_seeds is None
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(20), rng.standard_normal(20) + 0.1
    final = sequential_step(design, a, b, direction="max")
    assert final.look == 18 and final.decision in ("no detectable difference", "progression")
    rounds = sequential_design(round_size=2)  # looks at 3, 5, ..., 19, 20
    between = sequential_step(rounds, a[:6], b[:6], direction="max")
    assert between.seeds_per_arm == 5 and any("not a planned look" in n for n in between.notes)


def test_design_rejects_bad_parameters():
    for kwargs, text in (({"min_seeds": 1}, "min_seeds"), ({"max_seeds": 2}, "max_seeds"),
                         ({"effect_size": 0}, "effect_size"), ({"alternative": "up"}, "alternative"),
                         ({"max_seeds": 500, "round_size": 1}, "at most"), ({"power": 0.01}, "power")):
        with pytest.raises(UsageError, match=text):
            sequential_design(**kwargs)
    with pytest.raises(UsageError, match="design"):
        sequential_step({"looks": [3]}, [1.0], [2.0], direction="max")
