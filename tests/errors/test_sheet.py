"""The manual error-analysis loop: sample -> spreadsheet -> tags -> ceilings (seed 002)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from trialwise import DataError, UsageError
from trialwise import errors as te


def _preds(n: int, n_errors: int, seed: int = 0) -> te.Predictions:
    """``n`` examples of 3 classes; the first ``n_errors`` ids are predicted wrong."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = y.copy()
    pred[:n_errors] = (y[:n_errors] + 1 + rng.integers(0, 2, n_errors)) % 3
    scores = np.full((n, 3), 0.1)
    scores[np.arange(n), pred] = 0.8
    return te.Predictions.from_arrays(np.arange(n), y, pred, scores=scores, loss=rng.random(n),
                                      classes=["cat", "dog", "lion"])


def _write_sheet(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_seed_worked_example_five_dogs_in_hundred_errors(tmp_path):
    """Seed 002: 100 errors, 5 dogs, 10% error -> 9.5% at best (a 5% relative decrease)."""
    preds = _preds(1000, 100)
    rows = [[i, "x" if i < 5 else ""] for i in range(100)]
    sheet = te.read_tag_sheet(_write_sheet(tmp_path / "s.csv", ["id", "dog"], rows), preds)
    report = te.tag_report(sheet)
    (dog,) = report.rows
    assert dog.count == 5 and dog.share.estimate == 0.05
    assert dog.ceiling == pytest.approx(0.095) and dog.max_gain == pytest.approx(0.005)
    assert report.census and dog.ceiling_low == dog.ceiling_high == pytest.approx(0.095)  # every error tagged
    assert dog.sentence.startswith("fixing every `dog` error would take the error from 10.0% to at best 9.5%")
    assert report.untagged.k == 95

    # the same 5-in-100 as a sample of 1000 errors: same ceiling, Wilson interval around it
    sampled = te.tag_report(sheet, total_error_rate=0.10, n_errors_total=1000)
    (dog,) = sampled.rows
    assert dog.ceiling == pytest.approx(0.095)
    assert (round(dog.ceiling_low, 4), round(dog.ceiling_high, 4)) == (0.0888, 0.0978)  # 10% x (1 - [2.15%, 11.18%])
    assert dog.estimated_errors == pytest.approx(50)
    assert "(95% CI 8.8%–9.8%)" in dog.sentence


def test_seed_four_tag_table_ranks_by_ceiling_with_cooccurrence(tmp_path):
    """Seed 002 table: Dog 8%, Great Cats 43%, Blurry 61%, Instagram filters 12% of 100 errors at 10%."""
    preds = _preds(1000, 100)
    tags = {"Dog": range(83, 91), "Great Cats": range(40, 83), "Blurry": range(0, 61), "Filters": range(0, 12)}
    rows = [[i] + [("X" if i in r else "") for r in tags.values()] + ["Lion on rainy day" if i == 45 else ""]
            for i in range(100)]
    sheet = te.read_tag_sheet(_write_sheet(tmp_path / "s.csv", ["id", *tags, "Comments"], rows), preds)
    assert sheet.comments[45] == "Lion on rainy day"
    report = te.tag_report(sheet)
    assert [r.tag for r in report.rows] == ["Blurry", "Great Cats", "Filters", "Dog"]  # largest gain first
    assert [round(r.ceiling, 4) for r in report.rows] == [0.039, 0.057, 0.088, 0.092]
    assert report.rows[0].sentence.startswith(
        "fixing every `Blurry` error would take the error from 10.0% to at best 3.9%")
    co = report.cooccurrence
    assert co.tolist() == [[61, 21, 12, 0], [21, 43, 0, 0], [12, 0, 12, 0], [0, 0, 0, 8]]
    assert "do not add up" in report.message
    assert report.untagged.k == 100 - len(set().union(*map(set, tags.values())))


def test_sample_write_fill_read_round_trip(tmp_path):
    preds = _preds(2000, 300)
    frame = te.sample_errors(preds, n=100, seed=3, tags=["blurry", "occluded"])
    assert list(frame.columns) == ["id", "true", "predicted", "score", "loss", "input", "blurry", "occluded",
                                   "comments"]
    assert len(frame) == 100 and frame["id"].is_unique and set(frame["id"]) <= set(range(300))
    assert (frame["true"] != frame["predicted"]).all() and set(frame["true"]) <= {"cat", "dog", "lion"}
    assert frame.equals(te.sample_errors(preds, n=100, seed=3, tags=["blurry", "occluded"]))  # reproducible
    assert not frame["id"].equals(te.sample_errors(preds, n=100, seed=4)["id"])

    path = te.write_error_sheet(tmp_path / "errors.csv", frame)
    with pytest.raises(UsageError, match="already exists"):
        te.write_error_sheet(path, frame)

    # a person fills it in a spreadsheet: several mark styles, a new tag column, a ';' export
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    header.insert(8, "new: glare")
    styles = ["1", "x", "X", "yes", "TRUE", "✓", "0", "", "no", "false"]
    for i, row in enumerate(rows):
        row[6] = styles[i % 10]
        row[7] = "1" if i % 4 == 0 else ""
        row.insert(8, "y" if i < 7 else "")
    _write_sheet(path, header, rows, delimiter=";")
    sheet = te.read_tag_sheet(path, preds)
    assert sheet.tags == ("blurry", "occluded", "new: glare")
    assert sheet.marks[:, 0].sum() == 60 and sheet.marks[:, 1].sum() == 25 and sheet.marks[:, 2].sum() == 7
    report = te.tag_report(sheet)
    assert report.error_rate == 0.15 and report.n_errors_total == 300 and not report.census
    assert report.rows[0].tag == "blurry"
    assert report.rows[0].ceiling == pytest.approx(0.15 * 0.4)


def test_stratified_sample_is_proportional_and_small_runs_give_all_errors():
    preds = _preds(3000, 900)
    wrong = ~preds.correct
    frame = te.sample_errors(preds, n=90, stratify="class", seed=1)
    counts = frame["true"].value_counts()
    for j, name in enumerate(["cat", "dog", "lion"]):
        expected = 90 * np.sum(preds.y_true[wrong] == j) / wrong.sum()
        assert abs(counts[name] - expected) < 1
    assert len(te.sample_errors(_preds(50, 7), n=100)) == 7
    with pytest.raises(DataError, match="no errors"):
        te.sample_errors(_preds(50, 0))
    with pytest.raises(UsageError, match="'tags'"):
        te.sample_errors(preds, tags=["blurry", "comments"])


@pytest.mark.parametrize(("header", "rows", "message"), [
    (["image", "dog"], [[0, "x"]], r"no 'id' column \(the header row has \['image', 'dog'\]\)"),
    (["id", "dog"], [[0, "x"], [0, ""]], r"row 3, column 'id' \(A\): id '0' repeats row 2"),
    (["id", "dog"], [[0, "x"], ["% of total", "8%"]], r"row 3, column 'id' \(A\): id '% of total' is not in the run"),
    (["id", "dog"], [[0, "x"], [500, ""]], r"row 3, column 'id' \(A\): id '500' was predicted correctly"),
    (["id", "dog", "blurry"], [[0, "x", ""], [1, "", "2"]], r"row 3, column 'blurry' \(C\): mark '2' is not one of"),
    (["id", "dog", ""], [[0, "x", "x"]], r"row 2, column C: value 'x' but the header names only 2 columns"),
    (["id", "", "dog"], [[0, "x", "x"]], r"column B: has marks but no name"),
    (["id", "Dog", "dog"], [[0, "x", ""]], r"column 'dog' \(C\): repeats column B"),
    (["id", "comments"], [[0, "blurry"]], r"no tag columns"),
    (["id", "dog"], [[0, "x", "", "7"]], r"row 2, column D: value '7' but the header names only 2 columns"),
])
def test_malformed_sheets_name_row_and_column(tmp_path, header, rows, message):
    preds = _preds(1000, 100)
    path = _write_sheet(tmp_path / "bad.csv", header, rows)
    with pytest.raises(DataError, match=message) as exc:
        te.read_tag_sheet(path, preds)
    assert str(path) in str(exc.value)


def test_blank_rows_and_padding_columns_are_ignored_but_row_numbers_stay_true(tmp_path):
    preds = _preds(1000, 100)
    path = tmp_path / "s.csv"
    path.write_text("id,dog,,\n0,x,,\n\n1,,,\n2,maybe,,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 5, column 'dog' \(B\): mark 'maybe'"):
        te.read_tag_sheet(path, preds)


def test_tag_report_rejects_impossible_totals(tmp_path):
    preds = _preds(1000, 100)
    sheet = te.read_tag_sheet(_write_sheet(tmp_path / "s.csv", ["id", "dog"], [[i, "x"] for i in range(10)]), preds)
    with pytest.raises(DataError, match="cannot exceed"):
        te.tag_report(sheet, n_errors_total=5)
    with pytest.raises(UsageError, match="total_error_rate"):
        te.tag_report(sheet, total_error_rate=1.5)


def test_many_problems_are_listed_in_row_order_and_truncated(tmp_path):
    preds = _preds(1000, 100)
    rows = [[i, "?"] for i in range(14, -1, -1)]  # 15 bad marks, written in reverse id order
    with pytest.raises(DataError) as exc:
        te.read_tag_sheet(_write_sheet(tmp_path / "s.csv", ["id", "dog"], rows), preds)
    msg = str(exc.value)
    assert "15 problem(s)" in msg and "... and 5 more" in msg
    assert msg.index("row 2,") < msg.index("row 3,") < msg.index("row 11,")
