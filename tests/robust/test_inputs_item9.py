"""Issue 17 item 9: inputs that gave tracebacks or the wrong exit code."""

from __future__ import annotations

from tests.conftest import make_repo


def test_a_csv_field_over_128_kib_is_data_not_an_error(tmp_path):
    repo = make_repo(tmp_path / "r", "", {})
    big = tmp_path / "big.csv"
    big.write_text("id,y_true,y_pred,input\n1,1,1," + "x" * 200_000 + "\n2,0,1,short\n")
    out = repo.tw_json("errors", "import", str(big))  # before: "field larger than field limit" traceback
    assert out["run"]["id"]


def test_a_malformed_npy_in_checks_leakage_is_an_error_exit_2_not_leakage_found(tmp_path):
    repo = make_repo(tmp_path / "r", "", {})
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an array at all")
    proc = repo.tw("checks", "leakage", str(bad), str(bad), check=False)
    assert proc.returncode == 2 and "not a readable .npy array" in proc.stderr and "Traceback" not in proc.stderr


def test_plots_to_an_unwritable_path_is_a_clear_error(tmp_path):
    repo = make_repo(tmp_path / "r", "", {})
    csv = tmp_path / "p.csv"
    csv.write_text("id,y_true,y_pred\n1,1,1\n2,0,1\n3,1,0\n")
    run_id = repo.tw_json("errors", "import", str(csv))["run"]["id"]
    proc = repo.tw("metrics", run_id, "--plots", "/proc/not-writable/plots", check=False)
    assert proc.returncode == 2 and "cannot write there" in proc.stderr and "Traceback" not in proc.stderr
