"""``trialwise import csv``: a long-format CSV file into a fresh store, then ``compare`` through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.importers.conftest import GROUPS, SEEDS, accuracy, assert_progression, compare_groups, counts, import_json

STEPS = 4


def write_csv(path: Path, *, extra_rows: str = "") -> Path:
    lines = ["run,step,key,value,time,lr,seed,optimizer"]
    for lr in GROUPS:
        for seed in SEEDS:
            for step in range(STEPS):
                t = 1_700_000_000 + step
                lines.append(f"lr{lr}-s{seed},{step},val_acc,{accuracy(lr, seed, step, STEPS)!r},{t},{lr},{seed},adam")
                lines.append(f"lr{lr}-s{seed},{step},train_loss,{1.0 / (step + 1)!r},{t},,,")
    path.write_text("\n".join(lines) + "\n" + extra_rows, encoding="utf-8")
    return path


def test_csv_runs_become_two_experiments_that_compare_and_a_second_import_adds_nothing(repo: Repo) -> None:
    write_csv(repo.path / "runs.csv")
    report = import_json(repo, "csv", "runs.csv")  # default grouping: every param but the seed
    assert report["group_by"] == ["lr", "optimizer"]
    assert report["added"] == 6 and report["present"] == 0
    assert sorted(g["name"] for g in report["experiments"]) == ["runs[lr=0.01,optimizer=adam]",
                                                               "runs[lr=0.1,optimizer=adam]"]
    assert all(g["seeds"] == [0, 1, 2] and g["commit"] is None for g in report["experiments"])
    stored = counts(repo)
    assert stored["runs"] == 6 and stored["metrics"] == 6 * STEPS * 2

    assert_progression(compare_groups(repo, report), provenance_known=False)
    shown = repo.tw("show", "runs[lr=0.1,optimizer=adam]").stdout
    assert "imported from csv" in shown and "runs.csv" in shown

    again = import_json(repo, "csv", "runs.csv")
    assert again["added"] == 0 and again["present"] == 6
    assert counts(repo) == stored


def test_group_by_and_numbered_seeds(repo: Repo) -> None:
    path = repo.path / "noseed.csv"
    path.write_text("run,step,key,value,lr\n" + "".join(
        f"r{i},1,val_acc,{0.8 + 0.01 * i},{lr}\n" for i, lr in enumerate([0.1, 0.1, 0.2, 0.2])), encoding="utf-8")
    proc = repo.tw("import", "csv", "noseed.csv", check=False)
    assert proc.returncode == 2
    assert "no seed param 'seed'" in proc.stderr and "--number-seeds" in proc.stderr
    assert counts(repo)["runs"] == 0

    report = import_json(repo, "csv", "noseed.csv", "--group-by", "lr", "--number-seeds", "--name", "sweep")
    assert {g["name"]: g["seeds"] for g in report["experiments"]} == {"sweep[lr=0.1]": [0, 1], "sweep[lr=0.2]": [0, 1]}
    assert any("numbered" in n for n in report["notes"])

    proc = repo.tw("import", "csv", "noseed.csv", "--group-by", "seed", check=False)
    assert proc.returncode == 2 and "the seed param cannot group runs" in proc.stderr


BAD_LINES = {
    "not a number": ("a,1,val_acc,high,0.1,0\n", "value 'high' is not a number"),
    "fields": ("a,1,val_acc,0.5\n", "4 fields, but the header has 6"),
    "step": ("a,1.5,val_acc,0.5,0.1,0\n", "step '1.5' is not an integer"),
    "param changes": ("a,2,val_acc,0.6,0.2,0\n", "param 'lr' of run 'a' is '0.2' here but 0.1 on line 2"),
    "no run": (",2,val_acc,0.6,0.1,0\n", "the 'run' cell is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_malformed_line_is_an_error_naming_file_and_line_and_nothing_is_stored(repo: Repo, case: str) -> None:
    row, message = BAD_LINES[case]
    good = "".join(f"b{s},1,val_acc,0.7,0.1,{s}\n" for s in range(3))
    (repo.path / "bad.csv").write_text("run,step,key,value,lr,seed\na,1,val_acc,0.5,0.1,0\n" + good + row,
                                       encoding="utf-8")
    proc = repo.tw("import", "csv", "bad.csv", check=False)
    assert proc.returncode == 2, proc.stdout
    assert f"bad.csv:6: {message}" in proc.stderr
    assert counts(repo)["runs"] == 0


def test_header_and_missing_file_errors(repo: Repo) -> None:
    (repo.path / "wide.csv").write_text("run,step,metric,value\na,1,val_acc,0.5\n", encoding="utf-8")
    proc = repo.tw("import", "csv", "wide.csv", check=False)
    assert proc.returncode == 2 and "wide.csv:1: the header has no 'key' column" in proc.stderr
    proc = repo.tw("import", "csv", "nowhere.csv", "--json", check=False)
    assert proc.returncode == 2 and "no CSV file at nowhere.csv" in proc.stdout
