"""Label sanity checks: a model trained on shuffled labels must sit at chance; an accuracy must clear the
majority-class rate.  Pure numpy; scipy loads on use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.checks._records import ClassBalanceResult, ShuffleResult
from trialwise.metrics._common import as_labels, check_fraction, fmt_pct, to_numpy
from trialwise.metrics._intervals import DEFAULT_CONFIDENCE, rare_event_warning

__all__ = ["class_balance", "label_shuffle_test"]

SHUFFLE_ALPHA = 0.01
"""Significance level of the one-sided binomial test "shuffled-label accuracy above chance".
*trialwise*: a false alarm costs a debugging session, so 1% rather than 5%."""

TEST_SIZE = 0.25
"""Share of the examples held out when no test split is given (scikit-learn's ``train_test_split``
default)."""

RARE_CLASS_RATE = 0.05
"""Without an accuracy, ``class_balance`` still notes when the rarest class is below this share:
accuracy will mostly measure the majority class (seed 003, rare events).  *trialwise*."""


def _take(x: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of numpy arrays, torch tensors, pandas objects or lists."""
    if hasattr(x, "iloc"):
        return x.iloc[idx]
    if isinstance(x, (list, tuple)):
        return [x[int(i)] for i in idx]
    return x[idx]


def _like(template: Any, labels: np.ndarray) -> Any:
    """``labels`` as the caller's type: a torch tensor when ``y`` was one, else numpy."""
    if hasattr(template, "detach") and hasattr(template, "device"):
        import torch

        return torch.as_tensor(labels, device=template.device)
    return labels


def _binom_greater(k: int, n: int, p: float) -> float:
    from scipy.stats import binomtest

    return float(binomtest(k, n, p, alternative="greater").pvalue) if 0 < p < 1 else float(k <= n * p)


def label_shuffle_test(train_fn: Callable[[Any, Any, Any], Any], X: Any, y: Any, *, X_test: Any = None,
                       y_test: Any = None, test_size: float = TEST_SIZE, seed: int = 0,
                       alpha: float = SHUFFLE_ALPHA, control: bool = True) -> ShuffleResult:
    """Train on shuffled labels and check that held-out accuracy sits at chance.

    With the training labels permuted, nothing can be learned about the true labels; a held-out
    accuracy significantly above chance means the true labels reach the model or the score some
    other way (labels read from the dataset object instead of the passed ``y``, a target-derived
    feature built on all labels, an evaluation that scores the wrong thing).  Chance is the
    majority-class rate of the test labels: no predictor that ignores the true labels beats it in
    expectation.  One-sided exact binomial test at ``alpha``.

    Parameters
    ----------
    train_fn : callable
        ``train_fn(X_train, y_train, X_test) -> predicted labels for X_test``; e.g.
        ``lambda a, b, c: LogisticRegression().fit(a, b).predict(c)``.
    X, y : array-like
        Examples (numpy, pandas or torch; indexed by rows) and their class labels.
    X_test, y_test : array-like, optional
        A held-out split; default: a seeded random ``test_size`` share of ``X, y``.
    test_size : float
        Share held out when ``X_test`` is not given.
    seed : int
        Seeds the split and the permutation.
    alpha : float
        Significance level.
    control : bool
        Also train on the true labels: a model that does not beat chance on them makes the
        shuffle test uninformative (reported in ``message``).

    Returns
    -------
    ShuffleResult
        ``passed`` when the shuffled-label accuracy is not significantly above chance.

    References
    ----------
    .. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht, O. Vinyals, "Understanding deep learning requires
       rethinking generalization", ICLR 2017 (random-label randomisation test: test accuracy at chance).
    .. [2] M. Ojala, G. C. Garriga, "Permutation Tests for Studying Classifier Performance", JMLR 11, 2010.
    .. [3] Seed 002: "Network won't go above random performance ... plot performance and check significance".
    """
    where = "label_shuffle_test"
    alpha = check_fraction(alpha, "alpha", where)
    y_all = to_numpy(y)
    n = len(y_all)
    rng = np.random.default_rng(seed)
    if X_test is None:
        test_size = check_fraction(test_size, "test_size", where)
        if y_test is not None:
            raise UsageError(f"{where}: 'y_test' was given without 'X_test'; pass both or neither.")
        if n < 4:
            raise DataError(f"The 'y' parameter of {where} must hold at least 4 examples. Got {n} instead.")
        perm = rng.permutation(n)
        n_test = min(n - 2, max(2, round(test_size * n)))
        te, tr = perm[:n_test], perm[n_test:]
        X_tr, y_tr, X_te, y_te = _take(X, tr), y_all[tr], _take(X, te), y_all[te]
    else:
        if y_test is None:
            raise UsageError(f"{where}: 'X_test' was given without 'y_test'; pass both or neither.")
        X_tr, y_tr, X_te, y_te = X, y_all, X_test, to_numpy(y_test)
    truth = as_labels(y_te, "y_test", where)

    def accuracy(labels: np.ndarray) -> tuple[float, float]:
        pred = as_labels(to_numpy(train_fn(X_tr, _like(y, labels), X_te)).ravel(), "train_fn(...) predictions", where)
        if len(pred) != len(truth):
            raise DataError(f"train_fn of {where} must return one prediction per test row. Got {len(pred)} for "
                            f"{len(truth)} rows instead.")
        k = int(np.sum(pred == truth))
        return k / len(truth), _binom_greater(k, len(truth), chance)

    _, counts = np.unique(truth, return_counts=True)
    chance = float(counts.max() / len(truth))
    shuffled_acc, p = accuracy(rng.permutation(y_tr))
    control_acc = control_p = None
    if control:
        control_acc, control_p = accuracy(y_tr)
    passed = p >= alpha
    if passed:
        message = (f"shuffled-label accuracy {fmt_pct(shuffled_acc)} on {len(truth)} held-out examples is at chance "
                   f"({fmt_pct(chance)}, p = {p:.2g})")
    else:
        message = (f"a model trained on shuffled labels scores {fmt_pct(shuffled_acc)} on {len(truth)} held-out "
                   f"examples, above chance {fmt_pct(chance)} (p = {p:.2g}): the true labels reach the model or "
                   f"the score another way (labels read from the data object, features built from labels, "
                   f"train/test overlap in the evaluation)")
    if control_p is not None and control_p >= alpha:
        message += (f"; note: on the true labels the model also stays at chance ({fmt_pct(control_acc or 0.0)}), so "
                    f"this test says little")
    return ShuffleResult(passed=passed, shuffled_accuracy=shuffled_acc, chance=chance, p_value=p, alpha=alpha,
                         n_test=len(truth), control_accuracy=control_acc, control_p_value=control_p, message=message)


def class_balance(y: Any, accuracy: float | None = None, confidence: float = DEFAULT_CONFIDENCE) -> ClassBalanceResult:
    """The majority-class rate of ``y``, and whether ``accuracy`` (measured on ``y``) clears it.

    Predicting the majority class always scores the majority rate; an accuracy whose Wilson
    interval reaches down to that rate says nothing about the model.  Then report precision and
    recall of the rare class(es) (or the area under the precision/recall curve) instead.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels of the evaluation set.
    accuracy : float, optional
        The model's accuracy on that set.
    confidence : float
        Level of the Wilson interval.

    Returns
    -------
    ClassBalanceResult
        ``passed`` is ``False`` only when ``accuracy`` is given and within noise of the
        majority-class rate.

    References
    ----------
    .. [1] Seed 003 (Goodfellow et al., "Deep Learning", ch. 11.1): rare events - "99.9999% accuracy
       simply predicting that nobody has the disease"; use precision and recall.
    .. [2] E. B. Wilson, JASA 22(158), 1927.
    """
    where = "class_balance"
    labels = as_labels(y, "y", where)
    if len(labels) == 0:
        raise DataError(f"The 'y' parameter of {where} is empty.")
    values, counts = np.unique(labels, return_counts=True)
    n = len(labels)
    i = int(np.argmax(counts))
    majority, minority = float(counts[i] / n), float(counts.min() / n)
    label = values[i].item()
    class_counts = {str(v): int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}
    interval = None
    if accuracy is not None:
        check = rare_event_warning(labels, accuracy, confidence)
        passed, interval, message = not check.warn, check.accuracy, check.message
    else:
        passed = True
        message = f"majority class {label!r} is {fmt_pct(majority)} of {n} examples"
        if len(values) > 1 and minority < RARE_CLASS_RATE:
            message += (f"; the rarest class is {fmt_pct(minority)}: accuracy will mostly measure the majority "
                        f"class, report precision and recall of the rare class(es)")
    return ClassBalanceResult(passed=passed, n=n, class_counts=class_counts, majority_label=label,
                              majority_rate=majority, minority_rate=minority, accuracy=interval, message=message)
