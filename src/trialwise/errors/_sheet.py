"""Manual error analysis: sample mistakes into a spreadsheet, read back the tags, rank the ideas.

The procedure (seed 002, after Andrew Ng): take ~100 misclassified validation examples, mark what
is going on in each (dog, great cat, blurry, filter, ...), and count. If 5 of 100 errors are dogs,
fixing dogs perfectly takes a 10% error to 9.5% at best: a ceiling, and a cheap way to decide which
idea deserves the next week.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.errors._csvio import Problems, column_letter, read_csv_table
from trialwise.errors._predictions import Predictions
from trialwise.metrics._common import Record, check_fraction, fmt_pct
from trialwise.metrics._intervals import DEFAULT_CONFIDENCE, Interval, wilson_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TagReport", "TagRow", "TagSheet", "read_tag_sheet", "sample_errors", "tag_report", "write_error_sheet"]

DEFAULT_SAMPLE_SIZE = 100
"""Errors to look at by hand: "get ~100 mislabelled dev set examples" (seed 002)."""

SHEET_COLUMNS = ("id", "true", "predicted", "score", "loss", "input")
"""Columns written before the tag columns; ``score`` is the score of the predicted class."""

COMMENTS_COLUMN = "comments"
"""Free-text last column, as in the seed 002 spreadsheet."""

NON_TAG_COLUMNS = frozenset(SHEET_COLUMNS) | {"comments", "comment", "notes", "note"}
"""Columns of a filled sheet that are not tags (case-insensitive); every other column is a tag."""

TRUE_MARKS = frozenset({"1", "1.0", "x", "yes", "y", "true", "✓", "✔"})
"""Cell values meaning "this tag applies" (case-insensitive): spreadsheet checkmarks and booleans."""

FALSE_MARKS = frozenset({"", "0", "0.0", "no", "n", "false"})
"""Cell values meaning "does not apply"; an empty cell is the usual one."""

STRATIFY_OPTIONS = (None, "class")


def _check_tags(tags: Sequence[str]) -> tuple[str, ...]:
    out = tuple(str(t).strip() for t in tags)
    seen: set[str] = set()
    for t in out:
        if not t or t.lower() in NON_TAG_COLUMNS or t.lower() in seen:
            raise UsageError(f"The 'tags' parameter of sample_errors must hold distinct, non-empty names other "
                             f"than {sorted(NON_TAG_COLUMNS)}. Got {t!r} in {list(out)} instead.")
        seen.add(t.lower())
    return out


def _allocate(counts: np.ndarray, n: int) -> np.ndarray:
    """Proportional allocation of ``n`` draws over strata (largest remainder), never above a stratum's size."""
    quota = n * counts / counts.sum()
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n - take.sum()]] += 1
    return np.minimum(take, counts)


def sample_errors(preds: Predictions, n: int = DEFAULT_SAMPLE_SIZE, seed: int = 0, stratify: str | None = None,
                  tags: Sequence[str] = ()) -> pd.DataFrame:
    """A reproducible random sample of mistakes laid out as a tagging spreadsheet.

    Parameters
    ----------
    preds : Predictions
    n : int
        Errors to sample (all of them when there are fewer).
    seed : int
        Same seed, same predictions: same sample.
    stratify : {None, 'class'}
        ``'class'``: proportional allocation over true classes (the shares stay unbiased and small
        classes are not missed by chance).
    tags : sequence of str
        Tag columns to pre-create (more can be added in the spreadsheet).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, true, predicted, score, loss, input, <tags...>, comments``; tag cells empty.

    References
    ----------
    .. [1] A. Ng, "Machine Learning Yearning", 2018, ch. 14-19 (error analysis; seed 002).
    """
    import pandas as pd

    if n < 1:
        raise UsageError(f"The 'n' parameter of sample_errors must be >= 1. Got {n} instead.")
    if stratify not in STRATIFY_OPTIONS:
        raise UsageError(f"The 'stratify' parameter of sample_errors must be one of {STRATIFY_OPTIONS}. "
                         f"Got {stratify!r} instead.")
    tag_names = _check_tags(tags)
    wrong = np.nonzero(~preds.correct)[0]
    if not len(wrong):
        raise DataError(f"The predictions on split {preds.split!r} contain no errors; there is nothing to tag.")
    rng = np.random.default_rng(seed)
    k = min(n, len(wrong))
    if stratify is None:
        chosen = rng.choice(wrong, size=k, replace=False)
    else:
        labels, inverse, counts = np.unique(preds.y_true[wrong], return_inverse=True, return_counts=True)
        take = _allocate(counts, k)
        parts = [rng.choice(wrong[inverse == g], size=int(take[g]), replace=False) for g in range(len(labels))]
        chosen = rng.permutation(np.concatenate(parts))
    conf = preds.confidence
    true_names, pred_names = preds.names(preds.y_true), preds.names(preds.y_pred)
    frame = pd.DataFrame({
        "id": preds.ids[chosen],
        "true": [true_names[i] for i in chosen],
        "predicted": [pred_names[i] for i in chosen],
        "score": conf[chosen] if conf is not None else np.full(k, np.nan),
        "loss": preds.loss[chosen] if preds.loss is not None else np.full(k, np.nan),
        "input": [preds.input_ref(int(i)) or "" for i in chosen],
    })
    for t in tag_names:
        frame[t] = ""
    frame[COMMENTS_COLUMN] = ""
    return frame


def write_error_sheet(path: str | Path, sheet: pd.DataFrame, *, overwrite: bool = False) -> Path:
    """Write a sheet from :func:`sample_errors` as CSV (UTF-8 with BOM so Excel shows accents).

    Refuses to replace an existing file unless ``overwrite``: it may hold hours of tagging.
    """
    out = Path(path)
    if out.exists() and not overwrite:
        raise UsageError(f"{out} already exists and may hold your tags; choose another file name or pass "
                         f"overwrite=True.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        sheet.to_csv(tmp, index=False, encoding="utf-8-sig", float_format="%.6g")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


@dataclass(frozen=True, eq=False)
class TagSheet(Record):
    """A filled tag sheet checked against the run's predictions.

    ``marks[i, j]`` says whether sampled error ``ids[i]`` (CSV row ``rows[i]``, header = row 1)
    carries tag ``tags[j]``. ``n_errors_total`` and ``error_rate`` come from the predictions.
    """

    path: str
    ids: tuple[Any, ...]
    rows: tuple[int, ...]
    tags: tuple[str, ...]
    marks: np.ndarray
    comments: tuple[str, ...]
    n_errors_total: int
    error_rate: float


def _parse_mark(cell: str) -> bool | None:
    v = cell.strip().lower()
    return True if v in TRUE_MARKS else False if v in FALSE_MARKS else None


def read_tag_sheet(path: str | Path, preds: Predictions) -> TagSheet:
    """Parse a tagged error sheet exported from any spreadsheet (CSV, ';' or tab separated).

    Every column other than ``id, true, predicted, score, loss, input, comments`` is a tag, so
    tags added while tagging are picked up. A mark is 1/x/X/yes/y/true/✓ (applies) or
    0/no/n/false/empty (does not); a row may carry several tags, or none (counted as untagged).

    Errors name the row (spreadsheet numbering: the header is row 1, the first example row 2) and
    the column (name and letter), and list up to 10 problems at once: a missing ``id`` column, ids
    not in the run or predicted correctly in it (a sheet from another run), repeated ids, unknown
    marks.

    Parameters
    ----------
    path : path
        The CSV file.
    preds : Predictions
        The predictions the sheet was sampled from.

    Returns
    -------
    TagSheet
    """
    table = read_csv_table(path, "tag sheet")
    lower = [h.lower() for h in table.header]
    if "id" not in lower:
        raise DataError(f"{table.path}: no 'id' column (the header row has {list(table.header)}); name the column "
                        f"holding example ids 'id'.")
    problems = Problems(table.path, "tag sheet")
    j_id = lower.index("id")
    tag_cols: list[int] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(table.header):
        if not h:
            if any(r[j] for r in table.rows):
                problems.add(f"column {column_letter(j)}: has marks but no name in the header row; name the tag")
            continue
        if h.lower() in seen:
            problems.add(f"column {h!r} ({column_letter(j)}): repeats column {column_letter(seen[h.lower()])}")
            continue
        seen[h.lower()] = j
        if h.lower() not in NON_TAG_COLUMNS:
            tag_cols.append(j)
    j_comment = next((j for j, h in enumerate(lower) if h in {"comments", "comment", "notes", "note"}), None)

    run_ids = preds.ids.astype(str)
    position = {v: i for i, v in enumerate(run_ids.tolist())}
    correct = preds.correct
    first_row: dict[str, int] = {}
    for i, r in enumerate(table.rows):
        num, v = table.row_numbers[i], r[j_id]
        if not v:
            problems.add(f"{table.where(i, j_id)}: empty id")
        elif v not in position:
            problems.add(f"{table.where(i, j_id)}: id {v!r} is not in the run's predictions on split {preds.split!r} "
                         f"(summary rows such as '% of total' must be deleted)")
        elif correct[position[v]]:
            problems.add(f"{table.where(i, j_id)}: id {v!r} was predicted correctly in this run; is the sheet "
                         f"from another run?")
        elif v in first_row:
            problems.add(f"{table.where(i, j_id)}: id {v!r} repeats row {first_row[v]}")
        else:
            first_row[v] = num
    marks = np.zeros((len(table.rows), len(tag_cols)), dtype=bool)
    for i, r in enumerate(table.rows):
        for t, j in enumerate(tag_cols):
            mark = _parse_mark(r[j])
            if mark is None:
                problems.add(f"{table.where(i, j)}: mark {r[j]!r} is not one of 1/x/yes/true (applies) or "
                             f"0/no/false/empty (does not)")
            else:
                marks[i, t] = mark
    problems.raise_if_any()
    if not tag_cols:
        raise DataError(f"{table.path}: no tag columns (the header has only {list(table.header)}); add one column "
                        f"per error category and mark the rows it applies to.")
    if not table.rows:
        raise DataError(f"{table.path}: has a header but no tagged rows.")
    sheet_ids = [r[j_id] for r in table.rows]
    return TagSheet(path=str(table.path), ids=tuple(preds.ids[position[v]].item() for v in sheet_ids),
                    rows=table.row_numbers, tags=tuple(table.header[j] for j in tag_cols), marks=marks,
                    comments=tuple(r[j_comment] if j_comment is not None else "" for r in table.rows),
                    n_errors_total=preds.n_errors, error_rate=preds.error_rate)


@dataclass(frozen=True)
class TagRow(Record):
    """One tag: how common it is among sampled errors and the error rate if all its errors were fixed."""

    tag: str
    count: int
    share: Interval
    ceiling: float
    ceiling_low: float
    ceiling_high: float
    max_gain: float
    estimated_errors: float
    sentence: str


@dataclass(frozen=True, eq=False)
class TagReport(Record):
    """Tags ranked by ceiling (largest possible gain first), with co-occurrence counts."""

    rows: tuple[TagRow, ...]
    tags: tuple[str, ...]
    cooccurrence: np.ndarray
    untagged: Interval
    n_sampled: int
    n_errors_total: int
    error_rate: float
    census: bool
    message: str


def tag_report(sheet: TagSheet, total_error_rate: float | None = None, n_errors_total: int | None = None,
               confidence: float = DEFAULT_CONFIDENCE) -> TagReport:
    """Per tag: count, share of sampled errors (Wilson interval), and the error-rate ceiling.

    The ceiling is the error rate if every error of the tag were fixed and nothing else changed:
    ``err * (1 - share)`` (seed 002: 5 dogs in 100 errors at 10% error give 9.5%). The interval of the
    share maps to an interval of the ceiling. When every error was tagged (sample = all errors) the
    shares are exact. Tags overlap (a blurry lion counts for both), so ceilings are not additive;
    ``cooccurrence[i, j]`` counts rows with both tags (diagonal: the tag's count).

    Parameters
    ----------
    sheet : TagSheet
    total_error_rate : float, optional
        Error rate on the whole split; default the one of the predictions the sheet was read with.
    n_errors_total : int, optional
        Errors on the whole split; default likewise.
    confidence : float
        Level of the share intervals.

    Returns
    -------
    TagReport
        With sentences such as "fixing every `blurry` error would take the error from 10.0% to at
        best 3.9%".

    References
    ----------
    .. [1] A. Ng, "Machine Learning Yearning", 2018, ch. 14-17 (seed 002).
    .. [2] E. B. Wilson, JASA 22(158), 1927.
    """
    err = check_fraction(sheet.error_rate if total_error_rate is None else total_error_rate, "total_error_rate",
                         "tag_report", open_low=False, open_high=False)
    total = sheet.n_errors_total if n_errors_total is None else int(n_errors_total)
    n = len(sheet.ids)
    if n == 0:
        raise DataError("tag_report: the sheet has no rows.")
    if total < n:
        raise DataError(f"tag_report: the sheet has {n} sampled errors but n_errors_total is {total}; a sample cannot "
                        f"exceed the errors it was drawn from.")
    census = n == total

    def share_of(k: int) -> Interval:
        if census:
            return Interval(estimate=k / n, low=k / n, high=k / n, k=k, n=n, confidence=confidence)
        return wilson_interval(k, n, confidence)

    level = f"{confidence:.0%}"
    rows = []
    for j, tag in enumerate(sheet.tags):
        k = int(sheet.marks[:, j].sum())
        share = share_of(k)
        ceiling = err * (1 - share.estimate)
        lo, hi = err * (1 - share.high), err * (1 - share.low)
        interval = "" if census else f" ({level} CI {fmt_pct(lo, rounding='down')}–{fmt_pct(hi, rounding='up')})"
        sentence = (f"fixing every `{tag}` error would take the error from {fmt_pct(err)} to at best "
                    f"{fmt_pct(ceiling)}{interval}; {k} of {n} {'errors' if census else 'sampled errors'}")
        rows.append(TagRow(tag=tag, count=k, share=share, ceiling=ceiling, ceiling_low=lo, ceiling_high=hi,
                           max_gain=err - ceiling, estimated_errors=share.estimate * total, sentence=sentence))
    order = sorted(range(len(rows)), key=lambda j: (rows[j].ceiling, rows[j].tag))
    rows = [rows[j] for j in order]
    marks = sheet.marks[:, order].astype(np.int64)
    untagged = share_of(int((~sheet.marks.any(axis=1)).sum()))
    lines = [r.sentence for r in rows]
    if untagged.k:
        lines.append(f"{untagged.k} of {n} errors carry no tag ({fmt_pct(untagged.estimate)}): "
                     f"a category may be missing")
    if (sheet.marks.sum(axis=1) > 1).any():
        lines.append("tags overlap, so these ceilings do not add up")
    return TagReport(rows=tuple(rows), tags=tuple(r.tag for r in rows), cooccurrence=marks.T @ marks,
                     untagged=untagged, n_sampled=n, n_errors_total=total, error_rate=err, census=census,
                     message="\n".join(lines))
