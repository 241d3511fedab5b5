"""``trialwise checks pairs|leakage`` on real files, through the real CLI."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from trialwise.checks import check_pairs


def tw(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trialwise", "checks", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def touch(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"")


def test_pairs_reports_glob_order_and_missing_labels(tmp_path: Path) -> None:
    touch(tmp_path / "img", [f"img_{i:03d}.png" for i in (1, 2, 3, 10, 11)])
    touch(tmp_path / "lab", [f"{i}_mask.png" for i in (1, 2, 3, 10)])
    proc = tw(tmp_path, "pairs", "img/*.png", "lab/*.png", "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["passed"] is False and out["n_inputs"] == 5 and out["n_labels"] == 4
    assert out["only_in_inputs"] == ["11"]
    cwd = os.getcwd()
    try:  # the CLI must judge exactly the unsorted order a script's glob.glob gets here
        os.chdir(tmp_path)
        expected = check_pairs(glob.glob("img/*.png"), glob.glob("lab/*.png"))
    finally:
        os.chdir(cwd)
    assert out["n_mismatches"] == expected.n_mismatches
    assert out["inputs_sorted"] == expected.inputs_sorted


def test_pairs_pass_and_bad_pattern(tmp_path: Path) -> None:
    touch(tmp_path / "img", ["scan_7.png"])
    touch(tmp_path / "lab", ["scan_7.json"])
    ok = tw(tmp_path, "pairs", "img/*", "lab/*")
    assert ok.returncode == 0 and "passed" in ok.stdout
    bad = tw(tmp_path, "pairs", "img/*", "labels/*.png")
    assert bad.returncode == 2 and "'labels/*.png' matches no file" in bad.stderr


def split_frames(leak: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n_tr, n_va = 300, 100
    x = rng.normal(size=(n_tr + n_va, 5))
    y = rng.integers(0, 3, size=n_tr + n_va)
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    if leak:
        df["label_code"] = y * 4.0 + rng.normal(0, 0.01, size=len(y))
    df["y"] = y
    return df.iloc[:n_tr].reset_index(drop=True), df.iloc[n_tr:].reset_index(drop=True)


def test_leakage_names_the_leaking_column_and_copied_rows(tmp_path: Path) -> None:
    tr, va = split_frames(leak=True)
    va.iloc[:7] = tr.iloc[:7].to_numpy()  # seven validation rows copied from training
    tr.to_csv(tmp_path / "train.csv", index=False)
    va.to_parquet(tmp_path / "val.parquet")
    proc = tw(tmp_path, "leakage", "train.csv", "val.parquet", "--label", "y", "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert [c["name"] for c in out["leaky_columns"]] == ["label_code"]
    assert out["exact_duplicates"] == 7 and out["exact_same_label"] == 7
    human = tw(tmp_path, "leakage", "train.csv", "val.parquet", "--label", "y")
    assert human.returncode == 1 and "label_code" in human.stdout and "exact copies" in human.stdout


def test_leakage_clean_split_passes_and_errors_name_file_and_columns(tmp_path: Path) -> None:
    tr, va = split_frames(leak=False)
    np.savez(tmp_path / "train.npz", X=tr.drop(columns="y").to_numpy(), y=tr["y"].to_numpy())
    np.savez(tmp_path / "val.npz", X=va.drop(columns="y").to_numpy(), y=va["y"].to_numpy())
    ok = tw(tmp_path, "leakage", "train.npz", "val.npz")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tr.to_csv(tmp_path / "train.csv", index=False)
    va.to_csv(tmp_path / "val.csv", index=False)
    bad = tw(tmp_path, "leakage", "train.csv", "val.csv", "--label", "target")
    assert bad.returncode == 2
    assert "train.csv: no column 'target'" in bad.stderr and "f0" in bad.stderr
