"""The data checks on scikit-learn's digits and on real files: each passes on a clean case and fails on
the bug it exists for."""

from __future__ import annotations

import glob
import json
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from trialwise._exceptions import DataError
from trialwise.checks import check_pairs, class_balance, find_leakage, label_shuffle_test
from trialwise.checks import _leakage as LK


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    return d.data / 16.0, d.target


def split(n: int, seed: int = 0, n_val: int = 400) -> tuple[np.ndarray, np.ndarray]:
    p = np.random.default_rng(seed).permutation(n)
    return p[n_val:], p[:n_val]


# -- check_pairs (seed 004) ----------------------------------------------------------------------------

def make_files(root: Path, n: int = 30) -> tuple[list[str], list[str]]:
    (root / "images").mkdir()
    (root / "labels").mkdir()
    for i in range(n):
        (root / "images" / f"img_{i:03d}.png").write_bytes(b"")
        (root / "labels" / f"{i:03d}_mask.png").write_bytes(b"")
    return glob.glob(str(root / "images" / "*")), glob.glob(str(root / "labels" / "*"))


def test_pairs_in_glob_order_fail_and_sorting_fixes_them(tmp_path: Path) -> None:
    images, labels = make_files(tmp_path)
    random.Random(0).shuffle(images)  # what an unsorted directory listing may give
    random.Random(1).shuffle(labels)
    r = check_pairs(images, labels)
    assert not r.passed and r.fixed_by_sorting and r.mismatches_after_sorting == 0
    assert not r.inputs_sorted and r.n_mismatches >= 25
    m = r.mismatches[0]
    assert m.input == images[m.index] and m.input_key != m.label_key
    assert "sorted(glob" in r.message
    ok = check_pairs(sorted(images), sorted(labels))
    assert ok.passed and ok.n_mismatches == 0 and ok.inputs_sorted
    json.dumps(r.to_dict())


def test_pairs_report_missing_files_and_unfixable_orders() -> None:
    images = [f"x/img_{i}.png" for i in range(1, 13)]  # img_1 .. img_12, no zero padding
    labels = [f"y/{i:03d}.txt" for i in range(1, 13)]
    r = check_pairs(images, labels)
    assert r.passed  # same examples, position by position (keys ignore zero padding)
    shuffled = check_pairs(sorted(images), sorted(labels))  # "img_10" sorts before "img_2", "002" does not
    assert not shuffled.passed and not shuffled.fixed_by_sorting
    assert "pair files by name" in shuffled.message
    missing = check_pairs(images, labels[:-1] + ["y/099.txt", "y/100.txt"])
    assert not missing.passed and not missing.same_length
    assert missing.only_in_inputs == ("12",) and missing.only_in_labels == ("100", "99")
    with pytest.raises(DataError):
        check_pairs("images/*", labels)


# -- find_leakage (seed 002) ---------------------------------------------------------------------------

def test_clean_split_has_no_leakage(digits) -> None:  # noqa: ANN001
    x, y = digits
    tr, va = split(len(y))
    r = find_leakage(x[tr], x[va], y[tr], y[va])
    assert r.passed, r.message
    assert r.exact_duplicates == r.near_duplicates == 0 and not r.leaky_columns
    assert r.task == "classification" and r.top_columns[0].score < 0.5
    json.dumps(r.to_dict())


def test_exact_and_near_duplicates_across_splits(digits) -> None:  # noqa: ANN001
    x, y = digits
    tr, va = split(len(y))
    xv, yv = x[va].copy(), y[va].copy()
    xv[:12], yv[:12] = x[tr[:12]], y[tr[:12]]
    noise = np.random.default_rng(0).normal(0, 0.01, (8, 64)) * x[tr].std(0)
    xv[12:20], yv[12:20] = x[tr[12:20]] + noise, y[tr[12:20]]
    r = find_leakage(x[tr], xv, y[tr], yv)
    assert not r.passed
    assert r.exact_duplicates == 12 and r.exact_same_label == 12
    assert sorted(r.exact_pairs) == [(j, j) for j in range(12)]  # (train row, validation row)
    assert r.near_duplicates == 8 and {j for _, j in r.near_pairs} == set(range(12, 20))
    assert r.near_method == "nearest-neighbour" and "exact copies" in r.message


def test_near_duplicates_by_rounded_hash_above_the_row_limit(digits, monkeypatch) -> None:  # noqa: ANN001
    x, y = digits
    tr, va = split(len(y))
    xv = x[va].copy()
    xv[:5] = x[tr[:5]] + 1e-5
    monkeypatch.setattr(LK, "NN_MAX_ROWS", 100)
    r = find_leakage(x[tr], xv)
    assert r.near_method == "rounded-hash" and r.near_duplicates >= 4 and r.exact_duplicates == 0
    assert not r.passed and r.task is None


def test_a_column_that_encodes_the_label(digits) -> None:  # noqa: ANN001
    x, y = digits
    tr, va = split(len(y))
    xtr, xv = x[tr].copy(), x[va].copy()
    xtr[:, 7], xv[:, 7] = y[tr] / 9.0, y[va] / 9.0
    r = find_leakage(xtr, xv, y[tr], y[va], feature_names=[f"px{i}" for i in range(64)])
    assert not r.passed and [c.name for c in r.leaky_columns] == ["px7"]
    assert r.leaky_columns[0].score == 1.0 and r.leaky_columns[0].chance < 0.2
    assert "encodes the answer" in r.message


def test_one_hot_indicator_columns_that_encode_the_label_together(digits) -> None:  # noqa: ANN001
    """No single indicator predicts the class (each says "this class or another"); the block does."""
    x, y = digits
    tr, va = split(len(y))
    onehot = np.eye(10)[y]
    xtr, xv = np.hstack([x[tr], 4.0 * onehot[tr]]), np.hstack([x[va], 4.0 * onehot[va]])
    r = find_leakage(xtr, xv, y[tr], y[va])
    assert not r.passed and len(r.leaky_columns) == 1
    col = r.leaky_columns[0]
    assert col.column == 64 and col.name == "one-hot columns 64..73 (10 indicators)" and col.score == 1.0
    assert all(c.score < 0.5 for c in r.top_columns if "one-hot" not in c.name)
    # indicator columns that do not encode the label (a one-hot colour, say) pass
    rng = np.random.default_rng(0)
    colour = np.eye(4)[rng.integers(0, 4, len(y))]
    assert find_leakage(np.hstack([x[tr], colour[tr]]), np.hstack([x[va], colour[va]]), y[tr], y[va]).passed


def test_a_continuous_column_that_encodes_a_regression_target() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 6))
    target = x[:, :3].sum(1) + rng.normal(0, 0.5, 1500)
    leak = x.copy()
    leak[:, 4] = 3.0 * target + 1.0 + rng.normal(0, 0.01, 1500)  # a rescaled copy of the target
    tr, va = split(1500)
    clean = find_leakage(x[tr], x[va], target[tr], target[va])
    assert clean.passed and clean.task == "regression" and clean.top_columns[0].score < 0.5
    r = find_leakage(leak[tr], leak[va], target[tr], target[va])
    assert [c.column for c in r.leaky_columns] == [4] and r.leaky_columns[0].score > 0.99


# -- label_shuffle_test --------------------------------------------------------------------------------

def logreg(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray) -> np.ndarray:
    return LogisticRegression(max_iter=300).fit(xa, ya).predict(xb)


def test_shuffled_labels_sit_at_chance(digits) -> None:  # noqa: ANN001
    x, y = digits
    r = label_shuffle_test(logreg, x[:900], y[:900], seed=0)
    assert r.passed, r.message
    assert r.shuffled_accuracy < 0.25 and r.control_accuracy > 0.9 and r.control_p_value < 1e-6
    assert r.n_test == 225 and 0.08 < r.chance < 0.2
    json.dumps(r.to_dict())


def test_labels_that_bypass_the_shuffle_are_caught(digits) -> None:  # noqa: ANN001
    """The dataset carries its labels in a column and the training code reads them from there."""
    x, y = digits
    data = np.column_stack([x[:900], y[:900]])

    def train_from_dataset(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray) -> np.ndarray:
        model = KNeighborsClassifier(3).fit(xa[:, :-1], xa[:, -1].astype(int))  # ignores ya: the bug
        return model.predict(xb[:, :-1])

    r = label_shuffle_test(train_from_dataset, data, y[:900], seed=0)
    assert not r.passed and r.p_value < 1e-10 and r.shuffled_accuracy > 0.9
    assert "reach the model" in r.message


def test_shuffle_test_with_an_explicit_test_split_and_a_model_that_cannot_learn(digits) -> None:  # noqa: ANN001
    x, y = digits

    def constant(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray) -> np.ndarray:
        return np.full(len(xb), np.bincount(ya).argmax())

    r = label_shuffle_test(constant, x[:600], y[:600], X_test=x[600:900], y_test=y[600:900])
    assert r.passed and r.n_test == 300 and "says little" in r.message


# -- class_balance (seed 003) --------------------------------------------------------------------------

def test_accuracy_within_noise_of_the_majority_rate() -> None:
    y = np.array([0] * 990 + [1] * 10)
    r = class_balance(y, accuracy=0.99)
    assert not r.passed and r.majority_rate == 0.99 and r.minority_rate == 0.01
    assert r.accuracy is not None and r.accuracy.low <= 0.99
    assert "precision and recall" in r.message
    plain = class_balance(y)
    assert plain.passed and "rarest class is 1.0%" in plain.message and plain.class_counts == {"0": 990, "1": 10}
    json.dumps(r.to_dict())


def test_accuracy_clearly_above_the_majority_rate(digits) -> None:  # noqa: ANN001
    _, y = digits
    r = class_balance(y, accuracy=0.95)
    assert r.passed and r.majority_rate < 0.11 and r.accuracy.low > r.majority_rate
    assert class_balance(y).passed


def test_public_surface() -> None:
    import trialwise.checks as C

    functions = ["check_pairs", "class_balance", "find_leakage", "gradcheck", "initial_loss_check",
                 "label_shuffle_test", "lr_range_test", "overfit_one_batch"]
    assert [n for n in sorted(C.__all__) if n[0].islower()] == functions
    assert all(callable(getattr(C, n)) for n in functions)
