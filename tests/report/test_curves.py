"""The pure parts: per-step band over seeds, M4 downsampling keeping extremes, figure dicts, JSON in <script>."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from trialwise.report._charts import CurveSet, curve_figure, plotly_text
from trialwise.stats._bands import curve_band, extreme_indices, seed_band, seed_curve
from trialwise.report._html import json_for_script


def test_seed_curve_keeps_the_last_point_per_step_and_numbers_stepless_series() -> None:
    c = seed_curve(0, "r", "completed", [0, 1, 1, 2], [1.0, 2.0, 3.0, float("nan")])
    assert c.steps.tolist() == [0, 1, 2] and c.values[:2].tolist() == [1.0, 3.0]
    assert c.n_stored == 4 and c.n_nonfinite == 1
    d = seed_curve(0, "r", "completed", [None, None, None], [5.0, 6.0, 7.0])
    assert d.steps.tolist() == [0, 1, 2] and d.steps_from_index
    mixed = seed_curve(0, "r", "completed", [None, 3, 4], [1.0, 2.0, 3.0])
    assert mixed.steps.tolist() == [3, 4] and mixed.values.tolist() == [2.0, 3.0]


def test_band_is_the_t_interval_of_the_mean_over_the_seeds_that_logged_each_step() -> None:
    rng = np.random.default_rng(0)
    curves = [seed_curve(s, f"r{s}", "completed", list(range(s, 50)), rng.normal(size=50 - s).tolist()) for s in range(4)]
    curves[1] = seed_curve(1, "r1", "crashed", [1, 2, 3], [1.0, float("inf"), 2.0])
    b = curve_band(curves)
    for i, step in enumerate(b.steps):
        vals = np.array([c.values[c.steps == step][0] for c in curves if step in c.steps])
        vals = vals[np.isfinite(vals)]
        assert b.n[i] == vals.size and b.mean[i] == pytest.approx(vals.mean())
        if vals.size >= 2:
            half = stats.t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / math.sqrt(vals.size)
            assert (b.low[i], b.high[i]) == pytest.approx((vals.mean() - half, vals.mean() + half))
        else:
            assert math.isnan(b.low[i]) and math.isnan(b.high[i])
    assert b.n[b.steps.tolist().index(0)] == 1  # only seed 0 logged step 0: a mean, no band


def test_downsampling_keeps_a_single_spike_and_the_minimum_of_a_long_series() -> None:
    rng = np.random.default_rng(1)
    y = np.cumsum(rng.normal(size=100_000))
    spike, dip = 73_421, 12_345
    y[spike] = 1e6
    y[dip] = -1e6
    idx = extreme_indices([y], 1_500)
    assert idx.size <= 1_500 and np.all(np.diff(idx) > 0)
    assert spike in idx and dip in idx and 0 in idx and y.size - 1 in idx
    # per bucket, the drawn extremes are the true ones
    assert y[idx].max() == y.max() and y[idx].min() == y.min()
    assert extreme_indices([y[:100]], 1_500).tolist() == list(range(100))


def test_curve_figure_downsamples_long_seeds_says_so_and_keeps_the_divergence() -> None:
    steps = np.arange(20_000)
    curves = []
    for s in range(3):
        values = np.exp(-steps / 5_000) + 0.01 * np.sin(steps + s)
        if s == 2:
            values[15_000] = 50.0  # a divergence spike in one seed
            values[15_001:15_010] = np.nan
        curves.append(seed_curve(s, f"r{s}", "completed", steps.tolist(), values.tolist()))
    fig = curve_figure("loss", [CurveSet("exp <a>", "#0072B2", tuple(curves), curve_band(curves))], max_points=1_000)
    meta = fig["layout"]["meta"]
    assert meta["downsampled"] == {"points": 20_000, "drawn": meta["downsampled"]["drawn"]}
    assert meta["downsampled"]["drawn"] <= 1_000 and meta["nonfinite"] == 9
    assert "downsampled for display" in fig["layout"]["title"]["subtitle"]["text"]
    seed2 = next(t for t in fig["data"] if t["meta"]["role"] == "seed" and t["meta"]["seed"] == 2)
    assert max(v for v in seed2["y"] if v is not None) == 50.0 and 15_000 in seed2["x"]
    high = next(t for t in fig["data"] if t["meta"]["role"] == "band-high")
    assert 15_000 in high["x"]  # the band's own extreme is kept too
    assert all(len(t["x"]) <= 1_000 for t in fig["data"])
    assert all("<" not in t["name"] for t in fig["data"])


@pytest.mark.parametrize("hostile", ["</script><script>alert(1)</script>", "<!--", "a\u2028b", "&amp;"])
def test_json_for_script_cannot_end_or_alter_its_element_and_reads_back_exactly(hostile: str) -> None:
    text = str(json_for_script({"name": hostile, "x": [1.0, float("nan"), float("inf")]}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": hostile, "x": [1.0, None, None]}
    assert plotly_text("<b>") == "&lt;b&gt;"


def test_downsampling_keeps_a_gap_of_non_finite_values() -> None:
    y = np.linspace(0.0, 1.0, 50_000)
    y[30_000:30_050] = np.nan  # the loss went NaN for a while
    idx = extreme_indices([y], 600)
    assert np.isnan(y[idx]).any()  # the line is broken there, not drawn straight across


def test_seed_band_of_a_mapping_counts_a_re_logged_step_once_and_is_json_ready() -> None:
    band = seed_band({0: ([0, 1, 1], [1.0, 5.0, 3.0]), 1: ([0, 1], [3.0, 5.0]), 2: ([None], [9.0])})
    assert band.steps == [0, 1] and band.n == [3, 2]  # seed 2's single stepless point is numbered 0
    assert band.mean == pytest.approx([13 / 3, 4.0])
    half = stats.t.ppf(0.975, 1) * np.std([3.0, 5.0], ddof=1) / math.sqrt(2)
    assert (band.low[1], band.high[1]) == pytest.approx((4.0 - half, 4.0 + half))
    d = json.loads(json.dumps(band.to_dict()))
    assert d["seeds"]["0"] == {"steps": [0, 1], "values": [1.0, 3.0]} and d["downsampled_from"] is None


def test_study_of_reads_a_trial_experiments_name_and_nothing_else() -> None:
    from trialwise.report._collect import study_of
    from trialwise.store._records import Experiment

    def exp(name: str, kind: str) -> Experiment:
        return Experiment("x", name, kind, "0" * 40, None, None, [], {}, None, None, None, None, False, None, 0.0)

    assert study_of(exp("sweep-ab12-cd34#7@0123abcd/fast", "sweep")) == "sweep-ab12-cd34"
    assert study_of(exp("my#study#12-recheck@0123abcd", "sweep")) == "my#study"
    assert study_of(exp("main@0123abcd", "run")) is None
    assert study_of(exp("feat/x#1@0123abcd", "run")) is None  # a '#' in a branch name is no trial
    assert study_of(exp("odd-name", "sweep")) is None
