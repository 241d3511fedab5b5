"""Seeds spent and error rates of three ways to decide a comparison, on simulated seeds.

For each effect (Cohen's d = 0, 0.5, 1; normal seed-to-seed noise) the same simulated seeds feed
(a) a fixed-n Welch test with the seeds for 80 % power at d = 1 (``scipy.stats.ttest_ind``),
(b) the naive procedure "re-run Welch after every seed from 3 to 20 and stop at p <= alpha"
(``scipy.stats.ttest_ind`` at every n), and (c) trialwise's group-sequential design
(``sequential_design()`` defaults: a look after every seed from 3 to 20, non-binding futility).
Extra rows: (c) with binding futility, (c) with looks every 2 seeds (the previous default), (c)
with 2x and 5x the standard deviation in B (Welch's case), and (d) the same spending with
boundaries from the normal (known variance) theory applied to the raw t statistic, the
anti-conservative shortcut (c) avoids.
A sample of (c)'s paths is re-decided by the public ``sequential_step`` to check that the
vectorised simulation is the same procedure.

Writes ``results/sequential.json`` and ``results/sequential.md``.
Run: ``python benchmarks/bench_sequential.py``
"""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
N_SIMS = 50_000
"""Simulated comparisons per effect (Monte-Carlo s.e. of a 5 % rate ≈ 0.001)."""
EFFECTS = (0.0, 0.5, 1.0)
SEED = 7
NAIVE_RANGE = (3, 20)
UNEQUAL_SD = (2.0, 5.0)
"""Ratios sd_B / sd_A for the unequal-variance rows (5 is near the Welch approximation's worst case)."""
STEP_CHECK = 300
"""Paths re-decided through ``sequential_step`` one look at a time."""
PRIOR_EFFECT = 0.2
"""Seed 001: "only one of 5 or even one of 10 experiments improves the score" — the weight of
d = 1 in the prior-weighted average (the rest on d = 0)."""


def main() -> None:
    from scipy import stats

    from trialwise.stats import sequential_design, sequential_step
    from trialwise.stats._sequential import (
        _calibrate_efficacy,
        decide_paths,
        obf_spending,
        paths_from_data,
        run_paths,
        simulate_paths,
    )

    start = time.perf_counter()
    design = sequential_design()
    design_s = time.perf_counter() - start
    alpha, looks, fixed_n = design.alpha, design.looks, design.fixed_seeds
    n_max = looks[-1]
    rng = np.random.default_rng(SEED)

    # (d) normal-theory boundaries: same O'Brien–Fleming spending, calibrated on known-variance z paths.
    info = np.asarray(looks) / n_max
    known = rng.standard_normal((2, 200_000, n_max))
    zk = np.stack([(known[1, :, :n].mean(1) - known[0, :, :n].mean(1)) / math.sqrt(2 / n) for n in looks], 1)
    z_bounds = _calibrate_efficacy([np.abs(zk)], np.floor(obf_spending(info, alpha) * zk.shape[0]))
    del known, zk

    design_bind = sequential_design(binding_futility=True)
    design_r2 = sequential_design(round_size=2)
    design_g = sequential_design(alternative="greater")
    fixed_g_n = design_g.fixed_seeds
    rows: list[dict] = []
    one_sided: list[dict] = []
    for d in EFFECTS:
        a = rng.standard_normal((N_SIMS, n_max))
        b = rng.standard_normal((N_SIMS, n_max)) + d
        fixed = stats.ttest_ind(b[:, :fixed_n], a[:, :fixed_n], axis=1, equal_var=False)
        rows.append(_row("fixed-n Welch", d, fixed.pvalue <= alpha, fixed.statistic > 0, np.full(N_SIMS, fixed_n)))

        decided = np.zeros(N_SIMS, bool)
        positive = np.zeros(N_SIMS, bool)
        stop = np.full(N_SIMS, NAIVE_RANGE[1])
        for n in range(NAIVE_RANGE[0], NAIVE_RANGE[1] + 1):
            res = stats.ttest_ind(b[:, :n], a[:, :n], axis=1, equal_var=False)
            new = ~decided & (res.pvalue <= alpha)
            positive[new], stop[new] = res.statistic[new] > 0, n
            decided |= new
        rows.append(_row("naive re-test every seed", d, decided, positive, stop))

        paths = paths_from_data(a, b, looks)
        z = paths.z()
        code, seeds = decide_paths(design, z)
        rows.append(_row("sequential (trialwise)", d, np.isin(code, (1, 2)), code == 1, seeds))
        code_nb, _ = decide_paths(design, z, binding=False)
        rows[-1]["type1_or_power_nonbinding"] = float(np.mean(np.isin(code_nb, (1, 2))))
        code_b, seeds_b = decide_paths(design_bind, z)
        rows.append(_row("sequential, binding futility", d, np.isin(code_b, (1, 2)), code_b == 1, seeds_b))
        code_r2, seeds_r2 = decide_paths(design_r2, paths_from_data(a, b, design_r2.looks).z())
        rows.append(_row("sequential, looks every 2 seeds", d, np.isin(code_r2, (1, 2)), code_r2 == 1, seeds_r2))
        if d == 0.0:
            mismatches = sum(
                _by_steps(sequential_step, design, a[i], b[i]) != ({1: "progression", 2: "regression"}.get(int(code[i]),
                                                                   "no detectable difference"), int(seeds[i]))
                for i in range(STEP_CHECK))
            step_check = {"paths": STEP_CHECK, "mismatches": int(mismatches)}
        code_g, seeds_g = decide_paths(design_g, z)
        fixed_g = stats.ttest_ind(b[:, :fixed_g_n], a[:, :fixed_g_n], axis=1, equal_var=False, alternative="greater")
        one_sided += [_row("fixed-n Welch, one-sided", d, fixed_g.pvalue <= alpha, fixed_g.statistic > 0,
                           np.full(N_SIMS, fixed_g_n)),
                      _row("sequential, one-sided", d, code_g == 1, code_g == 1, seeds_g)]
        t_code, t_stop = run_paths(paths.t(), z_bounds, np.asarray(design.futility_z), "two-sided", binding=False)
        rows.append(_row("normal-theory boundaries on raw t, efficacy only", d, np.isin(t_code, (1, 2)), t_code == 1,
                         np.asarray(looks)[t_stop]))

    for ratio in UNEQUAL_SD:
        unequal = simulate_paths(looks, N_SIMS, SEED + int(ratio * 10), sd_b=ratio)
        code_u, seeds_u = decide_paths(design, unequal.z())
        rows.append(_row(f"sequential, sd_B = {ratio:g} sd_A", 0.0, np.isin(code_u, (1, 2)), code_u == 1, seeds_u))

    for r in rows:
        r["seeds_saved_vs_fixed"] = 1.0 - r["mean_seeds_per_arm"] / fixed_n
    for r in one_sided:
        r["seeds_saved_vs_fixed"] = 1.0 - r["mean_seeds_per_arm"] / fixed_g_n
    summary = _summary(rows, fixed_n, looks)
    out = {
        "benchmark": "sequential", "n_sims_per_effect": N_SIMS, "seed": SEED, "alpha": alpha,
        "fixed_seeds_per_arm": fixed_n, "design": design.to_dict(), "design_seconds": design_s,
        "step_check": step_check, "rows": rows, "summary": summary,
        "one_sided": {"fixed_seeds_per_arm": fixed_g_n, "design": design_g.to_dict(), "rows": one_sided},
        "wall_seconds": time.perf_counter() - start, "python": platform.python_version(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sequential.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "sequential.md").write_text(_markdown(out), encoding="utf-8")
    print(_markdown(out))


def _row(method: str, d: float, decided: np.ndarray, positive: np.ndarray, seeds: np.ndarray) -> dict:
    """Rates of each decision and the mean seeds per arm (type I error = ``decided`` at d = 0)."""
    m = decided.size
    return {"method": method, "effect_d": d, "decided_rate": float(np.mean(decided)),
            "progression_rate": float(np.mean(decided & positive)),
            "regression_rate": float(np.mean(decided & ~positive)),
            "mc_se": math.sqrt(max(np.mean(decided) * (1 - np.mean(decided)), 1e-12) / m),
            "mean_seeds_per_arm": float(np.mean(seeds))}


def _by_steps(step, design, a: np.ndarray, b: np.ndarray) -> tuple[str, int]:  # noqa: ANN001
    """Decision and seeds per arm when the public API is called look after look."""
    n = design.looks[0]
    while True:
        state = step(design, a[:n], b[:n], direction="max")
        if state.decision != "continue":
            return state.decision, n
        n = state.next_round_seeds


def _summary(rows: list[dict], fixed_n: int, looks: tuple[int, ...]) -> dict:
    get = {(r["method"], r["effect_d"]): r for r in rows}
    seq = {d: get[("sequential (trialwise)", d)]["mean_seeds_per_arm"] for d in EFFECTS}
    avg = sum(seq.values()) / len(seq)
    prior = (1 - PRIOR_EFFECT) * seq[0.0] + PRIOR_EFFECT * seq[1.0]
    return {
        "type1_fixed": get[("fixed-n Welch", 0.0)]["decided_rate"],
        "type1_naive": get[("naive re-test every seed", 0.0)]["decided_rate"],
        "type1_sequential": get[("sequential (trialwise)", 0.0)]["decided_rate"],
        "type1_sequential_unequal_var": max(get[(f"sequential, sd_B = {r:g} sd_A", 0.0)]["decided_rate"]
                                            for r in UNEQUAL_SD),
        "type1_z_shortcut": get[("normal-theory boundaries on raw t, efficacy only", 0.0)]["decided_rate"],
        "power_fixed_d1": get[("fixed-n Welch", 1.0)]["progression_rate"],
        "power_sequential_d1": get[("sequential (trialwise)", 1.0)]["progression_rate"],
        "type1_binding": get[("sequential, binding futility", 0.0)]["decided_rate"],
        "power_binding_d1": get[("sequential, binding futility", 1.0)]["progression_rate"],
        "seeds_saved_binding": {str(d): 1 - get[("sequential, binding futility", d)]["mean_seeds_per_arm"] / fixed_n
                                for d in EFFECTS},
        "mean_seeds_sequential": {str(d): v for d, v in seq.items()},
        "max_seeds_sequential": max(looks),
        "seeds_ratio_vs_fixed": {str(d): v / fixed_n for d, v in seq.items()},
        "seeds_saved_vs_fixed": {str(d): 1 - v / fixed_n for d, v in seq.items()},
        "seeds_saved_mean_over_effects": 1 - avg / fixed_n,
        "seeds_saved_prior_weighted": 1 - prior / fixed_n,
    }


def _markdown(out: dict) -> str:
    s = out["summary"]
    lines = [
        "# Sequential testing: seeds spent and error rates",
        "",
        f"{out['n_sims_per_effect']:,} simulated comparisons per effect (normal noise, seed {out['seed']}), "
        f"alpha = {out['alpha']}, fixed-n Welch with {out['fixed_seeds_per_arm']} seeds per arm (80 % power at d = 1). "
        f"Design built in {out['design_seconds']:.2f} s; benchmark {out['wall_seconds']:.0f} s.",
        "",
        "| method | d | P(decided a change) | P(progression) | mean seeds per arm | saved vs fixed |",
        "|---|---|---|---|---|---|",
    ]
    for r in out["rows"]:
        lines.append(f"| {r['method']} | {r['effect_d']:g} | {r['decided_rate']:.4f} | {r['progression_rate']:.4f} | "
                     f"{r['mean_seeds_per_arm']:.2f} | {r['seeds_saved_vs_fixed']:+.1%} |")
    g = out["one_sided"]
    lines += ["", f"One-sided (`alternative=\"greater\"`, is B better?), fixed-n Welch with "
              f"{g['fixed_seeds_per_arm']} seeds per arm:", "",
              "| method | d | P(progression) | mean seeds per arm | saved vs fixed |", "|---|---|---|---|---|"]
    for r in g["rows"]:
        lines.append(f"| {r['method']} | {r['effect_d']:g} | {r['progression_rate']:.4f} | "
                     f"{r['mean_seeds_per_arm']:.2f} | {r['seeds_saved_vs_fixed']:+.1%} |")
    lines += [
        "",
        f"- Type I error: fixed {s['type1_fixed']:.4f}, naive re-testing {s['type1_naive']:.4f}, "
        f"sequential {s['type1_sequential']:.4f} (worst unequal-variance row {s['type1_sequential_unequal_var']:.4f}), "
        f"normal-theory boundaries on raw t {s['type1_z_shortcut']:.4f}.",
        f"- Power at d = 1: fixed {s['power_fixed_d1']:.3f}, sequential {s['power_sequential_d1']:.3f}.",
        "- Seeds saved by the sequential design vs fixed-n: "
        + ", ".join(f"d = {d}: {v:.1%}" for d, v in s["seeds_saved_vs_fixed"].items())
        + f"; mean over the three effects {s['seeds_saved_mean_over_effects']:.1%}; weighted by seed 001's "
        f"prior (1 change in 5 improves) {s['seeds_saved_prior_weighted']:.1%}.",
        f"- Binding futility (valid when every futility stop is respected, as `compare --until-decided` does): "
        f"type I {s['type1_binding']:.4f}, power at d = 1 {s['power_binding_d1']:.3f}, seeds saved "
        + ", ".join(f"d = {d}: {v:.1%}" for d, v in s["seeds_saved_binding"].items()) + ".",
        "- Mean seeds per arm of the default design: "
        + ", ".join(f"d = {d}: {v:.2f}" for d, v in s["mean_seeds_sequential"].items())
        + f"; at most {s['max_seeds_sequential']}.",
        "- The issue's target (>= 40 % fewer seeds at d = 1 with type I <= alpha) is not reached: even with the "
        "variance known and a look after every seed, Wald's SPRT, the optimum, needs about 58 % of the t-test's 17 "
        "seeds (42 % saved), and estimating the variance from 3-15 seeds costs most of the rest; the design search "
        "behind this choice is in the docstring of `trialwise/stats/_sequential.py`.",
        f"- `sequential_step` called look by look on {out['step_check']['paths']} paths disagreed with the "
        f"vectorised simulation on {out['step_check']['mismatches']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
