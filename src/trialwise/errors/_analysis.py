"""Which mistakes a model makes: confused pairs, worst mistakes, stable vs seed-noise errors, A/B changes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.errors._predictions import Predictions
from trialwise.metrics._classification import confusion_matrix
from trialwise.metrics._common import Record, as_labels, check_fraction, check_same_length, label_names

__all__ = [
    "ClassChange", "CollapseSuggestion", "ConfusedPair", "ErrorComparison", "Mistake", "StableErrors",
    "collapse_labels", "compare_errors", "most_confused", "stable_errors", "suggest_collapse", "worst_mistakes",
]

COLLAPSE_MIN_SHARE = 0.10
"""A pair is suggested for merging when each class loses at least 10% of its examples to the other.

No published threshold exists; seed 004 (fastai's ``most_confused``: "if this confusion is reasonable
... collapse two labels into one") leaves it to judgement, so this is a starting point to tune.
"""

DEFAULT_ALPHA = 0.05
"""Family-wise error rate of the per-class comparison after Holm's correction."""

PERMUTATION_EXACT_LIMIT = 20_000
"""Up to this many seed relabelings the permutation test enumerates all of them (exact p-value)."""

PERMUTATION_SAMPLES = 10_000
"""Random relabelings drawn when there are more than ``PERMUTATION_EXACT_LIMIT``."""


# -- most confused ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConfusedPair(Record):
    """``count`` examples of class ``actual`` predicted as ``predicted``; ``share`` of all ``actual``."""

    actual: str
    predicted: str
    count: int
    share: float


def _confusion(y_true: Any, y_pred: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    yt = as_labels(y_true, "y_true", where)
    yp = as_labels(y_pred, "y_pred", where)
    check_same_length(where, y_true=yt, y_pred=yp)
    cm = confusion_matrix(yt, yp)
    return cm.labels, cm.matrix


def most_confused(y_true: Any, y_pred: Any, classes: Sequence[str] | None = None,
                  min_count: int = 1) -> tuple[ConfusedPair, ...]:
    """Off-diagonal confusion-matrix cells with at least ``min_count`` examples, most frequent first.

    Parameters
    ----------
    y_true, y_pred : array-like (n,)
        Labels (int or str).
    classes : sequence of str, optional
        Display names of integer labels.
    min_count : int
        Smallest count reported (fastai's ``min_val``).

    Returns
    -------
    tuple of ConfusedPair
        Sorted by count, then share of the true class, then names.

    References
    ----------
    .. [1] J. Howard, S. Gugger, "fastai: a layered API for deep learning", Information 11(2), 2020
       (``ClassificationInterpretation.most_confused``; seed 004).
    """
    labels, m = _confusion(y_true, y_pred, "most_confused")
    names = label_names(labels, classes)
    support = m.sum(axis=1)
    pairs = [ConfusedPair(names[i], names[j], int(m[i, j]), float(m[i, j] / support[i]))
             for i, j in zip(*np.nonzero(m)) if i != j and m[i, j] >= min_count]
    return tuple(sorted(pairs, key=lambda p: (-p.count, -p.share, p.actual, p.predicted)))


@dataclass(frozen=True)
class CollapseSuggestion(Record):
    """Two classes confused both ways, each losing at least ``min_share`` of its examples to the other."""

    a: str
    b: str
    a_as_b: int
    b_as_a: int
    share_a_as_b: float
    share_b_as_a: float


def suggest_collapse(y_true: Any, y_pred: Any, classes: Sequence[str] | None = None,
                     min_share: float = COLLAPSE_MIN_SHARE) -> tuple[CollapseSuggestion, ...]:
    """Pairs of classes confused in both directions above ``min_share``: candidates for one label.

    If the confusion is reasonable (even people mix them up), either accept those errors or merge
    the labels (seed 004); apply a merge with :func:`collapse_labels`.

    Returns
    -------
    tuple of CollapseSuggestion
        Sorted by the smaller of the two shares, largest first; empty with fewer than three classes
        (merging both classes of a binary task leaves nothing to predict).

    References
    ----------
    .. [1] Seed 004 (notes on Full Stack Deep Learning: error analysis, fastai ``most_confused``).
    """
    share_min = check_fraction(min_share, "min_share", "suggest_collapse", open_high=False)
    labels, m = _confusion(y_true, y_pred, "suggest_collapse")
    if len(labels) < 3:
        return ()  # merging the two classes of a binary task would leave nothing to predict
    names = label_names(labels, classes)
    support = m.sum(axis=1).astype(np.float64)
    share = np.divide(m, support[:, None], out=np.zeros(m.shape), where=support[:, None] > 0)
    out = [CollapseSuggestion(names[i], names[j], int(m[i, j]), int(m[j, i]), float(share[i, j]), float(share[j, i]))
           for i, j in itertools.combinations(range(len(labels)), 2)
           if share[i, j] >= share_min and share[j, i] >= share_min]
    return tuple(sorted(out, key=lambda s: -min(s.share_a_as_b, s.share_b_as_a)))


def collapse_labels(y: Any, groups: Mapping[Any, Sequence[Any]]) -> np.ndarray:
    """Replace labels by group labels, e.g. ``{"big cat": ["lion", "tiger"]}``; others stay as they are.

    Returns a new array (numpy infers its dtype: integer labels with string group names become strings).
    """
    arr = as_labels(y, "y", "collapse_labels")
    owner: dict[Any, Any] = {}
    for new, members in groups.items():
        for old in members:
            if old in owner and owner[old] != new:
                raise UsageError(f"The 'groups' parameter of collapse_labels puts {old!r} in both {owner[old]!r} "
                                 f"and {new!r}; a label can join one group only.")
            owner[old] = new
    return np.asarray([owner.get(v, v) for v in arr.tolist()])


# -- worst mistakes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mistake(Record):
    """One wrong prediction; ``confidence`` is the score of the (wrong) predicted class."""

    rank: int
    id: Any
    true: str
    predicted: str
    loss: float | None
    confidence: float | None
    score_true: float | None
    input: str | None


def worst_mistakes(preds: Predictions, k: int = 10) -> tuple[Mistake, ...]:
    """The ``k`` wrong predictions with the highest loss, or highest confidence in the wrong class.

    Parameters
    ----------
    preds : Predictions
    k : int

    Returns
    -------
    tuple of Mistake
        Highest loss first (or, without a loss, the most confidently wrong first).

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", 2016, ch. 11.5 ("visualize the
       worst mistakes"; seed 003).
    """
    if k < 1:
        raise UsageError(f"The 'k' parameter of worst_mistakes must be >= 1. Got {k} instead.")
    conf, s_true = preds.confidence, preds.score_true
    if preds.loss is not None:
        key = preds.loss
    elif conf is not None:
        key = conf
    else:
        raise DataError("worst_mistakes needs a per-example loss or scores to rank mistakes; these predictions "
                        "have neither (log them with loss= or scores=).")
    wrong = np.nonzero(~preds.correct)[0]
    order = wrong[np.argsort(-key[wrong], kind="stable")][:k]
    true_names, pred_names = preds.names(preds.y_true), preds.names(preds.y_pred)
    return tuple(Mistake(rank=r + 1, id=preds.ids[i].item(), true=true_names[i], predicted=pred_names[i],
                         loss=None if preds.loss is None else float(preds.loss[i]),
                         confidence=None if conf is None else float(conf[i]),
                         score_true=None if s_true is None else float(s_true[i]), input=preds.input_ref(int(i)))
                 for r, i in enumerate(order))


# -- across seeds -----------------------------------------------------------------------------------

def _align(runs: Sequence[Predictions], where: str, reference: Predictions | None = None,
           side: str = "") -> list[Predictions]:
    """The runs reordered to the reference's id order; same ids and same true labels required.

    ``side`` ('A', 'B') names the runs in errors; the reference is then A's first seed.
    """
    if not runs:
        raise UsageError(f"{where} needs at least one Predictions per side.")
    ref = reference if reference is not None else runs[0]
    who = f"{side} seed" if side else "seed"
    first = "A's first seed" if reference is not None else "the first seed"
    ref_ids = ref.ids.astype(str)
    index = {v: i for i, v in enumerate(ref_ids.tolist())}
    out = []
    for s, p in enumerate(runs):
        ids = p.ids.astype(str)
        extra = sorted(set(ids.tolist()) - index.keys())
        missing = sorted(index.keys() - set(ids.tolist()))
        if extra or missing:
            raise DataError(f"{where}: {who} {s} predicts a different set of examples than {first} "
                            f"(missing ids {missing[:5]}, extra ids {extra[:5]}); compare predictions on one split.")
        pos = np.empty(len(ids), dtype=np.int64)
        pos[[index[v] for v in ids.tolist()]] = np.arange(len(ids))
        yt = p.y_true[pos]
        if yt.dtype.kind != ref.y_true.dtype.kind or np.any(yt != ref.y_true):
            bad = ref_ids[yt != ref.y_true][:5].tolist() if yt.dtype.kind == ref.y_true.dtype.kind else "all"
            raise DataError(f"{where}: {who} {s} has different true labels than {first} for ids {bad}; the seeds "
                            f"must share one labelled split.")
        out.append(Predictions(ids=ref.ids, y_true=ref.y_true, y_pred=p.y_pred[pos],
                               scores=None if p.scores is None else p.scores[pos],
                               loss=None if p.loss is None else p.loss[pos],
                               inputs=None, classes=p.classes, split=p.split))
    return out


@dataclass(frozen=True)
class StableErrors(Record):
    """Errors made by every seed (worth studying) vs by some seeds only (seed noise)."""

    n_seeds: int
    n_examples: int
    always_wrong: tuple[Any, ...]
    sometimes_wrong: tuple[Any, ...]
    same_wrong_label: tuple[Any, ...]
    error_rate_per_seed: tuple[float, ...]
    message: str

    @property
    def seed_noise_share(self) -> float:
        """Share of examples wrong in some seed that are not wrong in all of them."""
        total = len(self.always_wrong) + len(self.sometimes_wrong)
        return len(self.sometimes_wrong) / total if total else math.nan


def stable_errors(seeds: Sequence[Predictions]) -> StableErrors:
    """Split errors into those every seed makes and those only some seeds make.

    An example wrong under every seed is a property of the data or the model family (hard example,
    label error, missing feature); one wrong under some seeds only is seed noise, and "fixing" it in
    one run proves nothing. ``same_wrong_label`` lists stable errors predicted as the same wrong
    class by every seed, the first place to look for label errors.

    Parameters
    ----------
    seeds : sequence of Predictions
        One per seed, on the same examples (any order), at least two.

    Returns
    -------
    StableErrors

    References
    ----------
    .. [1] C. Northcutt, A. Athalye, J. Mueller, "Pervasive label errors in test sets destabilize
       machine learning benchmarks", NeurIPS Datasets and Benchmarks 2021.
    """
    if len(seeds) < 2:
        raise UsageError(f"stable_errors needs predictions from at least 2 seeds. Got {len(seeds)}.")
    runs = _align(seeds, "stable_errors")
    wrong = np.stack([~p.correct for p in runs])
    n_wrong = wrong.sum(axis=0)
    ids = runs[0].ids
    always = n_wrong == len(runs)
    some = (n_wrong > 0) & ~always
    preds = np.stack([p.y_pred for p in runs])
    same = always & np.all(preds == preds[0], axis=0)
    s = len(runs)
    message = (f"{int(always.sum())} example(s) are wrong in all {s} seeds (stable errors: look at these; "
               f"{int(same.sum())} get the same wrong label every time, so check their labels); "
               f"{int(some.sum())} are wrong in only some seeds (seed noise)")
    return StableErrors(n_seeds=s, n_examples=len(ids), always_wrong=tuple(ids[always].tolist()),
                        sometimes_wrong=tuple(ids[some].tolist()), same_wrong_label=tuple(ids[same].tolist()),
                        error_rate_per_seed=tuple(p.error_rate for p in runs), message=message)


@dataclass(frozen=True)
class ClassChange(Record):
    """Per-class recall of A vs B across seeds, with a test and its Holm-adjusted p-value."""

    label: Any
    name: str
    support: int
    recall_a: tuple[float, ...]
    recall_b: tuple[float, ...]
    mean_a: float
    mean_b: float
    diff: float
    p_value: float
    p_holm: float
    verdict: str  # "better", "worse" or "no evidence" (B relative to A)


@dataclass(frozen=True)
class ErrorComparison(Record):
    """How B's errors differ from A's: per class (tested) and per example (fixed / broken in every seed)."""

    classes: tuple[ClassChange, ...]
    fixed: tuple[Any, ...]
    broken: tuple[Any, ...]
    error_rate_a: tuple[float, ...]
    error_rate_b: tuple[float, ...]
    method: str
    alpha: float
    message: str


def _welch_p(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ttest_ind

    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.var(a) == 0 and np.var(b) == 0:
        # no seed-to-seed spread on either side (common for small classes: recall 1/2 in every seed):
        # the t statistic is undefined, and p = 0 would call 2 vs 2 seeds decisive. The exact
        # permutation test needs no variance and can only get as small as the seeds allow.
        if np.mean(a) == np.mean(b):
            return 1.0
        masks, exact = _permutation_masks(len(a) + len(b), len(a), np.random.default_rng(0))
        return _permutation_p(a, b, masks, exact)
    return float(ttest_ind(b, a, equal_var=False).pvalue)


def _permutation_masks(n: int, na: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Boolean (relabelings, n) masks of which pooled seeds go to side A; exact when feasible."""
    exact = math.comb(n, na) <= PERMUTATION_EXACT_LIMIT
    if exact:
        combos = np.array(list(itertools.combinations(range(n), na)), dtype=np.int64)
        masks = np.zeros((len(combos), n), dtype=bool)
        masks[np.arange(len(combos))[:, None], combos] = True
        return masks, True
    base = np.arange(n) < na
    return rng.permuted(np.tile(base, (PERMUTATION_SAMPLES, 1)), axis=1), False


def _permutation_p(a: np.ndarray, b: np.ndarray, masks: np.ndarray, exact: bool) -> float:
    """Two-sided permutation p-value of the difference of means over the given relabelings."""
    pooled = np.concatenate([a, b])
    n, na = len(pooled), len(a)
    observed = abs(np.mean(b) - np.mean(a))
    sum_a = masks.astype(np.float64) @ pooled
    diffs = np.abs((pooled.sum() - sum_a) / (n - na) - sum_a / na)
    hits = int(np.sum(diffs >= observed - 1e-12 * max(1.0, observed)))
    # the exact enumeration contains the observed split; random draws add it (Phipson & Smyth 2010)
    return hits / len(masks) if exact else (hits + 1) / (len(masks) + 1)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and do not count)."""
    out = np.full(len(p), math.nan)
    idx = np.nonzero(~np.isnan(p))[0]
    m = len(idx)
    if not m:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def compare_errors(preds_a: Sequence[Predictions], preds_b: Sequence[Predictions], *, method: str = "welch",
                   alpha: float = DEFAULT_ALPHA, seed: int = 0) -> ErrorComparison:
    """Which classes and examples got better or worse from A to B, judged across seeds.

    For every class, recall is computed per seed on each side and the two sets of seeds are
    compared (Welch's t-test, or an exact permutation test; under Welch, a class whose recall does not
    vary across seeds on either side gets the permutation test, as t is undefined), then Holm-corrected
    across classes so the chance of any false "better"/"worse" stays below ``alpha``. Examples are
    "fixed" when every A seed gets them wrong and every B seed right, "broken" for the reverse.

    Parameters
    ----------
    preds_a, preds_b : sequence of Predictions
        One per seed (>= 2 per side for a test), all on the same examples.
    method : {'welch', 'permutation'}
    alpha : float
    seed : int
        Random draws of the permutation test when it cannot enumerate.

    Returns
    -------
    ErrorComparison

    References
    ----------
    .. [1] B. L. Welch, "The generalization of Student's problem when several different population
       variances are involved", Biometrika 34, 1947.
    .. [2] S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6, 1979.
    """
    if method not in ("welch", "permutation"):
        raise UsageError(f"The 'method' parameter of compare_errors must be 'welch' or 'permutation'. "
                         f"Got {method!r} instead.")
    alpha = check_fraction(alpha, "alpha", "compare_errors")
    a = _align(preds_a, "compare_errors", side="A")
    b = _align(preds_b, "compare_errors", reference=a[0], side="B")
    y = a[0].y_true
    labels = np.unique(y)
    names = label_names(labels, a[0].classes)

    def recalls(runs: list[Predictions]) -> np.ndarray:  # (seeds, classes)
        return np.stack([[np.mean(p.y_pred[y == c] == c) for c in labels] for p in runs])

    ra, rb = recalls(a), recalls(b)
    testable = len(a) >= 2 and len(b) >= 2
    if method == "welch":
        pvals = np.array([_welch_p(ra[:, j], rb[:, j]) for j in range(len(labels))])
    elif testable:
        masks, exact = _permutation_masks(len(a) + len(b), len(a), np.random.default_rng(seed))
        pvals = np.array([_permutation_p(ra[:, j], rb[:, j], masks, exact) for j in range(len(labels))])
    else:
        pvals = np.full(len(labels), math.nan)
    adjusted = _holm(pvals)
    changes = []
    for j, c in enumerate(labels):
        diff = float(rb[:, j].mean() - ra[:, j].mean())
        verdict = ("better" if diff > 0 else "worse") if adjusted[j] < alpha and diff != 0 else "no evidence"
        changes.append(ClassChange(label=c.item(), name=names[j], support=int(np.sum(y == c)),
                                   recall_a=tuple(ra[:, j].tolist()), recall_b=tuple(rb[:, j].tolist()),
                                   mean_a=float(ra[:, j].mean()), mean_b=float(rb[:, j].mean()), diff=diff,
                                   p_value=float(pvals[j]), p_holm=float(adjusted[j]), verdict=verdict))
    changes.sort(key=lambda c: (c.verdict == "no evidence", -abs(c.diff)))
    wrong_a = np.stack([~p.correct for p in a])
    wrong_b = np.stack([~p.correct for p in b])
    ids = a[0].ids
    fixed = wrong_a.all(axis=0) & ~wrong_b.any(axis=0)
    broken = ~wrong_a.any(axis=0) & wrong_b.all(axis=0)
    better = [c.name for c in changes if c.verdict == "better"]
    worse = [c.name for c in changes if c.verdict == "worse"]
    if np.isnan(pvals).all():
        tested = f"per-class changes are not tested: need >= 2 seeds per side (got {len(a)} and {len(b)})"
    else:
        found = "; ".join(f"recall {word} for {', '.join(names)}" for word, names in (("better", better),
                                                                                      ("worse", worse)) if names)
        tested = (f"{found or 'no class changed recall detectably'} ({method} test across {len(a)} vs {len(b)} "
                  f"seeds, Holm-corrected at alpha {alpha:g})")
    message = (f"{tested}; {int(fixed.sum())} example(s) fixed in every seed, {int(broken.sum())} broken in "
               f"every seed")
    return ErrorComparison(classes=tuple(changes), fixed=tuple(ids[fixed].tolist()), broken=tuple(ids[broken].tolist()),
                           error_rate_a=tuple(p.error_rate for p in a), error_rate_b=tuple(p.error_rate for p in b),
                           method=method, alpha=alpha, message=message)
