"""Confused pairs, worst mistakes, stable errors across seeds, A/B comparisons, collapsing labels."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trialwise import DataError, UsageError
from trialwise import errors as te
from trialwise.errors._analysis import _holm, _permutation_masks, _permutation_p


def test_most_confused_counts_and_shares():
    y_true = ["cat"] * 10 + ["dog"] * 5 + ["fox"] * 4
    y_pred = ["cat"] * 6 + ["dog"] * 3 + ["fox"] + ["cat"] * 3 + ["dog"] * 2 + ["dog"] + ["fox"] * 3
    pairs = te.most_confused(y_true, y_pred)
    assert [(p.actual, p.predicted, p.count) for p in pairs] == [
        ("dog", "cat", 3), ("cat", "dog", 3), ("fox", "dog", 1), ("cat", "fox", 1)]  # ties: larger share first
    assert pairs[0].share == pytest.approx(3 / 5) and pairs[1].share == pytest.approx(3 / 10)
    assert [p.count for p in te.most_confused(y_true, y_pred, min_count=2)] == [3, 3]


def test_digits_most_confused_pair_matches_sklearn_confusion_matrix():
    """Real predictions: logistic regression on sklearn's digits (no torch)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x / 16.0, y, test_size=0.5, random_state=0, stratify=y)
    model = LogisticRegression(C=0.05, max_iter=300).fit(x_tr, y_tr)
    proba = model.predict_proba(x_va)
    preds = te.Predictions.from_arrays(np.arange(len(y_va)), y_va, scores=proba,
                                       classes=[f"digit {d}" for d in range(10)])
    np.testing.assert_array_equal(preds.y_pred, model.predict(x_va))

    pairs = te.most_confused(preds.y_true, preds.y_pred, classes=preds.classes)
    cm = confusion_matrix(y_va, model.predict(x_va))
    off = cm - np.diag(np.diag(cm))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    assert off.max() >= 2 and (off == off.max()).sum() == 1  # a unique top pair, so the check is sharp
    top = pairs[0]
    assert (top.actual, top.predicted, top.count) == (f"digit {i}", f"digit {j}", int(off[i, j]))
    assert top.share == pytest.approx(off[i, j] / cm[i].sum())
    assert sum(p.count for p in pairs) == off.sum()

    mistakes = te.worst_mistakes(preds, k=5)  # no loss: most confidently wrong first
    conf = [m.confidence for m in mistakes]
    assert conf == sorted(conf, reverse=True) and conf[0] == pytest.approx(proba.max(1)[~preds.correct].max())


def test_worst_mistakes_by_loss_and_errors():
    p = te.Predictions.from_arrays([10, 11, 12, 13], [0, 1, 1, 0], [1, 1, 0, 1], loss=[0.5, 9.0, 2.0, 3.0],
                                   inputs=["a.png", "b.png", "c.png", "d.png"])
    ranked = te.worst_mistakes(p, k=2)
    assert [(m.rank, m.id, m.loss, m.input) for m in ranked] == [(1, 13, 3.0, "d.png"), (2, 12, 2.0, "c.png")]
    assert ranked[0].confidence is None
    with pytest.raises(DataError, match="needs a per-example loss or scores"):
        te.worst_mistakes(te.Predictions.from_arrays([1, 2], [0, 1], [1, 1]))
    json.dumps([m.to_dict() for m in ranked])


def _seed_preds(y: np.ndarray, wrong: np.ndarray, order: np.ndarray | None = None, k: int = 3) -> te.Predictions:
    pred = np.where(wrong, (y + 1) % k, y)
    ids = np.arange(len(y))
    if order is not None:
        ids, y, pred = ids[order], y[order], pred[order]
    return te.Predictions.from_arrays(ids, y, pred)


def test_stable_errors_separates_always_wrong_from_seed_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    hard = np.zeros(200, bool)
    hard[:20] = True
    seeds = []
    for s in range(4):
        noise = rng.random(200) < 0.05
        noise[:20] = False
        seeds.append(_seed_preds(y, hard | noise, order=rng.permutation(200) if s else None))  # any row order
    result = te.stable_errors(seeds)
    assert result.always_wrong == tuple(range(20))
    assert result.same_wrong_label == tuple(range(20))  # every seed predicts (y + 1) % 3
    noisy = set()
    for p in seeds:
        noisy |= set(p.ids[~p.correct].tolist())
    assert set(result.sometimes_wrong) == noisy - set(range(20))
    assert result.seed_noise_share == pytest.approx(len(result.sometimes_wrong) / len(noisy))
    assert result.message.startswith("20 example(s) are wrong in all 4 seeds")
    with pytest.raises(UsageError, match="at least 2 seeds"):
        te.stable_errors(seeds[:1])


def test_seeds_must_cover_the_same_examples():
    y = np.zeros(10, dtype=int)
    a = _seed_preds(y, np.zeros(10, bool))
    b = te.Predictions.from_arrays(np.arange(1, 11), y, y)
    with pytest.raises(DataError, match=r"missing ids \['0'\], extra ids \['10'\]"):
        te.stable_errors([a, b])
    c = te.Predictions.from_arrays(np.arange(10), np.r_[1, y[1:]], y)
    with pytest.raises(DataError, match="different true labels"):
        te.stable_errors([a, c])


def test_compare_errors_finds_the_class_that_changed():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 200)

    def seeds(err_by_class: list[float], n: int) -> list[te.Predictions]:
        return [_seed_preds(y, rng.random(len(y)) < np.array(err_by_class)[y]) for _ in range(n)]

    a = seeds([0.10, 0.30, 0.10], 5)
    b = seeds([0.10, 0.05, 0.10], 5)  # class 1 improves a lot, others unchanged
    for method in ("welch", "permutation"):
        result = te.compare_errors(a, b, method=method)
        by_label = {c.label: c for c in result.classes}
        assert by_label[1].verdict == "better" and by_label[1].diff == pytest.approx(0.25, abs=0.05)
        assert by_label[1].p_holm < 0.05
        assert by_label[0].verdict == by_label[2].verdict == "no evidence"
        assert result.classes[0].label == 1  # decided changes first
        assert result.message.startswith("recall better for 1 (")
    json.dumps(result.to_dict())
    # an exact permutation test with 5 vs 5 seeds cannot go below 2/252
    assert te.compare_errors(a, b, method="permutation").classes[0].p_value == pytest.approx(2 / 252)

    single = te.compare_errors(a[:1], b[:1])
    assert all(math.isnan(c.p_value) and c.verdict == "no evidence" for c in single.classes)
    assert "need >= 2 seeds per side" in single.message


def test_compare_errors_lists_examples_fixed_and_broken_in_every_seed():
    y = np.repeat([0, 1], 50)
    wrong_a = np.zeros(100, bool)
    wrong_a[:10] = True
    wrong_b = np.zeros(100, bool)
    wrong_b[5:15] = True
    result = te.compare_errors([_seed_preds(y, wrong_a, k=2)] * 2, [_seed_preds(y, wrong_b, k=2)] * 2)
    assert result.fixed == tuple(range(5)) and result.broken == tuple(range(10, 15))


def test_holm_and_permutation_helpers():
    np.testing.assert_allclose(_holm(np.array([0.01, 0.04, 0.03, 0.005])), [0.03, 0.06, 0.06, 0.02])
    out = _holm(np.array([0.2, np.nan, 0.01]))
    assert math.isnan(out[1]) and out.tolist()[::2] == [0.2, 0.02]
    masks, exact = _permutation_masks(6, 3, np.random.default_rng(0))
    assert exact and masks.shape == (20, 6) and (masks.sum(1) == 3).all()
    assert _permutation_p(np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.8, 0.9]), masks, exact) == pytest.approx(0.1)
    masks, exact = _permutation_masks(40, 20, np.random.default_rng(0))
    assert not exact and (masks.sum(1) == 20).all()


def test_suggest_and_apply_label_collapse():
    y_true = ["husky"] * 10 + ["wolf"] * 10 + ["cat"] * 10
    y_pred = ["husky"] * 6 + ["wolf"] * 4 + ["wolf"] * 7 + ["husky"] * 3 + ["cat"] * 9 + ["husky"]
    (s,) = te.suggest_collapse(y_true, y_pred)
    assert (s.a, s.b, s.a_as_b, s.b_as_a) == ("husky", "wolf", 4, 3)
    assert te.suggest_collapse(y_true, y_pred, min_share=0.35) == ()
    merged = te.collapse_labels(y_true, {"canine": ["husky", "wolf"]})
    assert merged.tolist() == ["canine"] * 20 + ["cat"] * 10
    assert te.collapse_labels([0, 1, 2], {1: [2]}).tolist() == [0, 1, 1]
    with pytest.raises(UsageError, match="one group only"):
        te.collapse_labels(y_true, {"a": ["husky"], "b": ["husky"]})


def test_public_api_is_pinned():
    assert sorted(te.__all__) == sorted([
        "ClassChange", "CollapseSuggestion", "ConfusedPair", "ErrorComparison", "Mistake", "Predictions",
        "StableErrors", "TagReport", "TagRow", "TagSheet", "collapse_labels", "compare_errors",
        "import_predictions_csv", "most_confused", "predictions_path", "read_predictions", "read_tag_sheet",
        "sample_errors", "stable_errors", "suggest_collapse", "tag_report", "worst_mistakes",
        "write_error_sheet", "write_predictions",
    ])


def test_no_spread_across_seeds_is_not_significance():
    """A small class whose recall is the same in every seed (1 of 2 right in A, 2 of 2 in B) has no
    seed-to-seed variance; Welch's t is undefined there and 2 vs 2 seeds must not count as decisive."""
    y = np.r_[np.zeros(50, int), np.ones(2, int)]
    wrong_a = np.zeros(52, bool)
    wrong_a[50] = True  # class 1: recall 0.5 in every A seed, 1.0 in every B seed
    a = [_seed_preds(y, wrong_a, k=2)] * 2
    b = [_seed_preds(y, np.zeros(52, bool), k=2)] * 2
    change = next(c for c in te.compare_errors(a, b).classes if c.label == 1)
    assert change.diff == pytest.approx(0.5)
    assert change.p_value == pytest.approx(2 / 6)  # the exact permutation test of 2 vs 2 seeds
    assert change.verdict == "no evidence"
    # with 6 seeds per side the same pattern is evidence (2/924 < 0.05, Holm-corrected)
    six = next(c for c in te.compare_errors(a * 3, b * 3).classes if c.label == 1)
    assert six.p_value == pytest.approx(2 / 924) and six.verdict == "better"


def test_compare_errors_names_the_side_whose_examples_differ():
    y = np.zeros(10, dtype=int)
    a = [_seed_preds(y, np.zeros(10, bool))] * 2
    b = [te.Predictions.from_arrays(np.arange(1, 11), y, y)] * 2
    with pytest.raises(DataError, match=r"B seed 0 predicts a different set of examples than A's first seed"):
        te.compare_errors(a, b)


def test_no_collapse_suggestion_for_the_two_classes_of_a_binary_task():
    y_true = [0] * 10 + [1] * 10
    y_pred = [0] * 6 + [1] * 4 + [1] * 7 + [0] * 3  # 40% and 30% confused both ways
    assert te.suggest_collapse(y_true, y_pred) == ()
