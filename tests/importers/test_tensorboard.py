"""``trialwise import tensorboard``: a logdir written by PyTorch's ``SummaryWriter`` (scalars and
``add_hparams``), imported into a fresh store and compared through the CLI; corrupt and cut files."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.importers.conftest import GROUPS, SEEDS, accuracy, assert_progression, compare_groups, counts, import_json

STEPS = 5


def write_logdir(logdir: Path) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    for lr in GROUPS:
        for seed in SEEDS:
            writer = SummaryWriter(str(logdir / f"lr{lr}_seed{seed}"))
            for step in range(STEPS):
                writer.add_scalar("val_acc", accuracy(lr, seed, step, STEPS), step)
                writer.add_scalar("train/loss", 1.0 / (step + 1), step)
            # PyTorch writes these into a sub-directory of the run, with the metric at step 0
            writer.add_hparams({"lr": lr, "seed": seed, "optimizer": "sgd"}, {"hparam/val_acc": 0.0})
            writer.close()
    return logdir


def test_tensorboard_runs_with_hparams_compare_and_a_second_import_adds_nothing(repo: Repo) -> None:
    write_logdir(repo.path / "runs")
    report = import_json(repo, "tensorboard", "runs", "--group-by", "lr")
    assert report["added"] == 6
    groups = {g["name"]: g for g in report["experiments"]}
    assert sorted(groups) == ["runs[lr=0.01]", "runs[lr=0.1]"]  # one run per run directory, hparams merged in
    assert all(g["seeds"] == [0, 1, 2] for g in groups.values())

    store = repo.store()
    try:
        exp = store.find_experiments("runs[lr=0.1]")[0]
        assert exp.kind == "imported" and exp.commit_sha == "unknown"
        run = store.runs(exp.id)[0]
        assert store.params(run.id) == {"lr": 0.1, "seed": 0, "optimizer": "sgd"}
        points = [p for p in store.metrics([run.id]) if p[1] == "val_acc"]
        assert [p[2] for p in points] == list(range(STEPS))  # steps as written, with their wall times
        assert all(p[4] is not None for p in points) and run.started_at <= run.ended_at
        assert run.summary["val_acc"] == pytest.approx(accuracy(0.1, 0, STEPS - 1, STEPS), abs=1e-6)  # float32
    finally:
        store.close()

    assert_progression(compare_groups(repo, report), provenance_known=False)
    diagnosed = repo.tw("diagnose", "runs[lr=0.01]", check=False)
    assert diagnosed.returncode in (0, 1), diagnosed.stderr

    before = counts(repo)
    again = import_json(repo, "tensorboard", "runs", "--group-by", "lr")
    assert again["added"] == 0 and again["present"] == 6
    assert counts(repo) == before


def test_a_corrupt_event_file_is_an_error_and_nothing_is_stored(repo: Repo) -> None:
    logdir = write_logdir(repo.path / "runs")
    victim = sorted((logdir / "lr0.01_seed2").glob("events.out.tfevents.*"))[0]
    data = bytearray(victim.read_bytes())
    at = 0
    for _ in range(3):  # a TFRecord: length (8 bytes), its CRC (4), the event, its CRC (4)
        at += 12 + struct.unpack("<Q", data[at:at + 8])[0] + 4
    data[at + 12 + 1] ^= 0xFF  # a byte inside the 4th event: its checksum no longer matches
    victim.write_bytes(bytes(data))
    proc = repo.tw("import", "tensorboard", "runs", "--group-by", "lr", check=False)
    assert proc.returncode == 2, proc.stdout
    assert "corrupt TensorBoard event file" in proc.stderr and victim.name in proc.stderr
    assert counts(repo)["runs"] == 0


def test_a_file_cut_short_at_its_end_is_read_up_to_the_cut_with_a_note(repo: Repo) -> None:
    logdir = write_logdir(repo.path / "runs")
    victim = sorted((logdir / "lr0.1_seed1").glob("events.out.tfevents.*"))[0]
    victim.write_bytes(victim.read_bytes()[:-5])
    report = import_json(repo, "tensorboard", "runs", "--group-by", "lr")
    assert report["added"] == 6
    assert any("cut short" in n and victim.name in n for n in report["notes"])


def test_a_missing_or_empty_logdir_is_an_error(repo: Repo) -> None:
    proc = repo.tw("import", "tensorboard", "nowhere", check=False)
    assert proc.returncode == 2 and "no TensorBoard logdir at nowhere" in proc.stderr
    (repo.path / "empty").mkdir()
    proc = repo.tw("import", "tensorboard", "empty", check=False)
    assert proc.returncode == 2 and "holds no TensorBoard event files" in proc.stderr
    shutil.rmtree(repo.path / "empty")
