"""``check_pairs``: do an input listing and a label listing correspond position by position?

Seed 004's bug::

    images = glob.glob('path/to/images/*')
    labels = glob.glob('path/to/labels/*')

``glob`` returns files in directory order, not sorted, so ``images[i]`` and ``labels[i]`` may be
different examples: no error, and a model that learns nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import PurePath

from trialwise._exceptions import DataError
from trialwise.checks._records import PairMismatch, PairsResult

__all__ = ["check_pairs"]

MAX_REPORTED = 20
"""At most this many mismatching pairs (and unmatched keys) are listed; the counts are complete."""

MAX_SUFFIX_LEN = 5
"""Trailing alphabetic extensions up to this length are stripped from names (``.png``, ``.nii.gz``)."""

_TOKEN = re.compile(r"[^\W_]+")


def _stem(path: str) -> str:
    name = PurePath(path).name
    while True:
        suffix = PurePath(name).suffix
        if not suffix or not suffix[1:].isalpha() or len(suffix) - 1 > MAX_SUFFIX_LEN or suffix == name:
            return name
        name = name[: -len(suffix)]


def _tokens(path: str) -> list[str]:
    """Lower-case alphanumeric tokens of the stem; numbers lose leading zeros (``img_007`` ~ ``7``)."""
    return [str(int(t)) if t.isdigit() else t for t in _TOKEN.findall(_stem(path).lower())] or [_stem(path)]


def _keys(paths: Sequence[str]) -> list[str]:
    """Match keys: tokens minus those every name of the listing shares at its start or end.

    ``img_001.png``/``img_002.png`` give ``1``/``2``; ``001_mask.png``/``002_mask.png`` also give
    ``1``/``2``.  Kept only when the keys stay distinct and non-empty; else the full token string.
    """
    toks = [_tokens(p) for p in paths]
    full = ["_".join(t) for t in toks]
    if len(toks) < 2:
        return full
    shortest = min(len(t) for t in toks)
    head = 0
    while head < shortest - 1 and all(t[head] == toks[0][head] for t in toks):
        head += 1
    tail = 0
    while tail < shortest - 1 - head and all(t[-1 - tail] == toks[0][-1 - tail] for t in toks):
        tail += 1
    stripped = ["_".join(t[head: len(t) - tail]) for t in toks]
    return stripped if all(stripped) and len(set(stripped)) == len(stripped) else full


def _mismatches(inputs: list[str], labels: list[str]) -> list[PairMismatch]:
    ki, kl = _keys(inputs), _keys(labels)
    return [PairMismatch(i, a, b, x, y) for i, (a, b, x, y) in enumerate(zip(inputs, labels, ki, kl)) if x != y]


def check_pairs(inputs: Sequence[str | os.PathLike[str]], labels: Sequence[str | os.PathLike[str]]) -> PairsResult:
    """Check that ``inputs[i]`` and ``labels[i]`` name the same example, for every ``i``.

    File names are compared by *key*: the lower-case alphanumeric tokens of the name without its
    extension, numbers without leading zeros, minus the tokens that every name of its listing shares
    at the start or end (``image_``, ``_mask``).  So ``images/img_007.png`` pairs with
    ``labels/007_mask.png``.  Pure: nothing is read from disk.

    Parameters
    ----------
    inputs, labels : sequence of str or path
        The two listings, in the order the training code pairs them.

    Returns
    -------
    PairsResult
        ``passed`` when the lengths agree and every position pairs equal keys; the mismatching
        pairs (first :data:`MAX_REPORTED`), keys found in only one listing, whether each listing is
        sorted, and ``fixed_by_sorting``: whether ``sorted(inputs)`` and ``sorted(labels)`` pair up.

    References
    ----------
    .. [1] Seed 004 (full-stack deep learning notes): ``glob.glob`` listings of images and labels
       "will not return images and labels in the correct order ... doesn't throw an error but the
       model won't learn anything".

    Examples
    --------
    >>> r = check_pairs(["a/img_2.png", "a/img_1.png"], ["b/1.txt", "b/2.txt"])
    >>> r.passed, r.fixed_by_sorting
    (False, True)
    """
    if isinstance(inputs, (str, os.PathLike)) or isinstance(labels, (str, os.PathLike)):
        raise DataError("The 'inputs' and 'labels' parameters of check_pairs must be sequences of paths (e.g. the "
                        "lists glob.glob returns). Got a single path instead.")
    a = [os.fspath(p) for p in inputs]
    b = [os.fspath(p) for p in labels]
    same_length = len(a) == len(b)
    bad = _mismatches(a, b)
    ka, kb = _keys(a), _keys(b)
    only_a = sorted(set(ka) - set(kb))
    only_b = sorted(set(kb) - set(ka))
    passed = same_length and not bad
    after = len(_mismatches(sorted(a), sorted(b)))
    fixed = not passed and same_length and after == 0
    if passed:
        message = f"all {len(a)} input/label pairs correspond"
    else:
        parts = []
        if not same_length:
            parts.append(f"{len(a)} inputs but {len(b)} labels")
        if bad:
            first = bad[0]
            parts.append(f"{len(bad)} of {min(len(a), len(b))} positions pair different examples (first: "
                         f"#{first.index} {first.input!r} with {first.label!r})")
        if only_a or only_b:
            parts.append(f"{len(only_a)} input key(s) without a label, {len(only_b)} label key(s) without an input")
        hint = ("sorting both listings fixes it: use sorted(glob(...))" if fixed
                else "sorting both does not fix it: pair files by name (a dict keyed by stem), not by position")
        message = "; ".join(parts) + f"; {hint}"
    return PairsResult(passed=passed, n_inputs=len(a), n_labels=len(b), same_length=same_length,
                       inputs_sorted=a == sorted(a), labels_sorted=b == sorted(b), n_mismatches=len(bad),
                       mismatches=tuple(bad[:MAX_REPORTED]), only_in_inputs=tuple(only_a[:MAX_REPORTED]),
                       only_in_labels=tuple(only_b[:MAX_REPORTED]), fixed_by_sorting=fixed,
                       mismatches_after_sorting=after, message=message)
