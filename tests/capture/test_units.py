"""Capture as scripts write it: HF dict reprs, CSV logs, placeholders, one source per series;
``$VARS``; thread shares; identical seeds.  Pure functions on real files in tmp dirs."""

from __future__ import annotations

import math
import os

import pytest

from trialwise.checks._seeds import identical_seeds
from trialwise.runner._ingest import ingest_run_dir, read_csv_metrics, read_stdout_metrics
from trialwise.runner._local import THREAD_ENV, thread_env, thread_share
from trialwise.runner._vars import expand_vars

HF_STDOUT = """\
  0%|          | 0/45 [00:00<?, ?it/s]
{'loss': '2.303', 'grad_norm': '0.1793', 'learning_rate': '4.022e-05', 'epoch': '0.4348'}
{'loss': '2.302', 'grad_norm': '0.1432', 'learning_rate': '2.935e-05', 'epoch': '0.8696'}
 50%|#####     | 23/46 [00:01<00:01]\r{'eval_loss': '2.301', 'eval_accuracy': '0.1083', 'eval_runtime': '0.0473', 'epoch': '1'}
{'loss': '2.1', 'grad_norm': '0.1457', 'learning_rate': '1.848e-05', 'epoch': '1.304'}
{'eval_loss': '2.2', 'eval_accuracy': '0.2', 'eval_runtime': '0.047', 'epoch': '2'}
{'train_runtime': '1.302', 'train_loss': '2.303', 'epoch': '2'}
{'eval_loss': 2.2, 'eval_accuracy': 0.2, 'epoch': 2.0}
not a dict {'x': 1}
{'x': __import__('os').system('echo pwned')}
"""


def _series(points, key):
    return [(s, v) for k, s, v, _t, _src in points if k == key]


def test_hf_trainer_dict_reprs_with_numeric_strings(tmp_path):
    (tmp_path / "stdout.log").write_text(HF_STDOUT, encoding="utf-8")
    points = read_stdout_metrics(tmp_path)
    acc = _series(points, "eval_accuracy")
    assert [v for _, v in acc] == [pytest.approx(0.1083), pytest.approx(0.2), pytest.approx(0.2)]
    loss = _series(points, "loss")
    assert [v for _, v in loss] == [pytest.approx(2.303), pytest.approx(2.302), pytest.approx(2.1)]
    # fractional epochs: the record's position orders train and eval records as they happened
    steps = [s for s, _ in loss] + [s for s, _ in acc]
    assert len(set(steps)) == len(steps) and _series(points, "loss")[2][0] > acc[0][0]
    assert "x" not in {p[0] for p in points}  # neither the prose line nor the code is read


def test_whole_epochs_stay_the_step(tmp_path):
    (tmp_path / "stdout.log").write_text('{"epoch": 0, "val_acc": 0.5}\n{"epoch": 1, "val_acc": 0.6}\n')
    assert _series(read_stdout_metrics(tmp_path), "val_acc") == [(0, 0.5), (1, 0.6)]


def test_epoch_records_after_step_records_are_placed_at_the_last_step(tmp_path):
    """A loop printing ``{"step": ..}`` per batch and ``{"epoch": ..}`` per evaluation: each evaluation
    belongs after its epoch's steps, not at step ``epoch`` (issue 15 item 8)."""
    lines = [f'{{"step": {s}, "loss": {2.0 - s / 10}}}' for s in range(6)]
    lines.insert(3, '{"epoch": 0, "val_acc": 0.5, "val_loss": 1.5}')
    lines.append('{"epoch": 1, "val_acc": 0.6, "val_loss": 1.2}')
    (tmp_path / "stdout.log").write_text("\n".join(lines) + "\n")
    points = read_stdout_metrics(tmp_path)
    assert _series(points, "val_acc") == [(2, 0.5), (5, 0.6)]
    assert [s for s, _ in _series(points, "loss")] == [0, 1, 2, 3, 4, 5]


def test_a_summary_record_at_the_end_is_a_summary_not_a_point(tmp_path):
    """``{"best_val_acc": ..}`` printed after training has neither step nor epoch: it is no curve point
    (it must not land at a small step ahead of every evaluation) but a summary value."""
    (tmp_path / "stdout.log").write_text('{"epoch": 0, "val_acc": 0.5}\n{"epoch": 1, "val_acc": 0.7}\n'
                                         'done\n{"val_acc": 0.7, "test_acc": 0.65}\n')
    assert _series(read_stdout_metrics(tmp_path), "val_acc") == [(0, 0.5), (1, 0.7)]
    assert "test_acc" not in {p[0] for p in read_stdout_metrics(tmp_path)}
    data = ingest_run_dir(tmp_path)
    assert data.summary == {"val_acc": 0.7, "test_acc": 0.65}


def test_records_without_step_or_epoch_anywhere_keep_their_order(tmp_path):
    (tmp_path / "stdout.log").write_text('{"loss": 2.0}\n{"loss": 1.5}\n{"loss": 1.0}\n')
    assert _series(read_stdout_metrics(tmp_path), "loss") == [(0, 2.0), (1, 1.5), (2, 1.0)]
    assert ingest_run_dir(tmp_path).summary == {}


def test_lightning_csv_logger_file(tmp_path):
    d = tmp_path / "outputs" / "lightning_logs" / "version_0"
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text("epoch,step,train_loss,val_acc,val_loss\n0,9,1.5,,\n0,21,,0.61,1.2\n1,43,,0.78,0.9\n")
    points = read_csv_metrics(tmp_path)
    assert _series(points, "val_acc") == [(21, 0.61), (43, 0.78)]
    assert _series(points, "train_loss") == [(9, 1.5)]
    assert _series(points, "epoch") == [(9, 0.0), (21, 0.0), (43, 1.0)]


def test_one_source_per_series_and_placeholder_dropped(tmp_path):
    d = tmp_path / "outputs" / "logs"
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text("step,val_acc,hp_metric\n1,0.5,-1\n2,0.6,-1\n")
    (tmp_path / "stdout.log").write_text('{"step": 1, "val_acc": 0.5}\n{"step": 2, "val_acc": 0.6, "lr": 0.1}\n')
    data = ingest_run_dir(tmp_path)
    keys = [(p[0], p[4]) for p in data.points]
    assert keys.count(("val_acc", "csv")) == 2 and ("val_acc", "stdout") not in keys
    assert ("lr", "stdout") in keys
    assert "hp_metric" not in {k for k, _ in keys}


def test_a_real_hp_metric_is_kept(tmp_path):
    (tmp_path / "stdout.log").write_text('{"step": 1, "hp_metric": 0.9}\n')
    assert [p[0] for p in ingest_run_dir(tmp_path).points] == ["hp_metric"]


def test_expand_vars_per_argument_without_a_shell():
    env = {"TRIALWISE_RUN_DIR": "/runs/a b", "TRIALWISE_SEED": "3"}
    argv = ["python", "t.py", "--out=$TRIALWISE_RUN_DIR/x", "--seed", "${TRIALWISE_SEED}", "$UNSET", "$$5", "; rm -rf /"]
    assert expand_vars(argv, env) == ["python", "t.py", "--out=/runs/a b/x", "--seed", "3", "$UNSET", "$5", "; rm -rf /"]


def test_thread_share_and_user_settings_win():
    assert thread_share(2, cores=2) == 1 and thread_share(3, cores=16) == 5 and thread_share(8, cores=2) == 1
    env = thread_env({}, None, concurrent=2)
    assert {env[n] for n in THREAD_ENV} == {str(thread_share(2))}
    assert thread_env({}, None, concurrent=1) == {}  # one run at a time: nothing to share
    assert thread_env({}, 3, concurrent=1)["OMP_NUM_THREADS"] == "3"  # [resources] threads
    assert thread_env({"MKL_NUM_THREADS": "7"}, None, concurrent=4) == {"MKL_NUM_THREADS": "7"}


def test_identical_seeds_found_and_not_invented():
    same = {"val_acc": [0.5, 0.6, 0.7], "loss": [1.0, 0.8, 0.7]}
    found = identical_seeds({0: same, 1: dict(same), 2: {"val_acc": [0.5, 0.6, 0.71], "loss": [1.0, 0.8, 0.7]}}, "val_acc")
    assert found.groups == [[0, 1]] and found.keys == ["loss", "val_acc"]
    # one final value each: equal by chance is possible, no judgment
    assert not identical_seeds({0: {"val_acc": [0.95]}, 1: {"val_acc": [0.95]}}, "val_acc").found
    # NaN curves (diverged the same way) still compare equal
    nan = {"loss": [1.0, math.nan]}
    assert identical_seeds({0: nan, 1: {"loss": [1.0, math.nan]}}, "val_acc").found
    assert not identical_seeds({0: same}, "val_acc").found


def test_identical_output_fallback_only_when_nothing_varies():
    from trialwise.checks._seeds import same_seeds

    text = "Test set: Average loss: 0.1034, Accuracy: 9687/10000 (97%)\n"
    found = same_seeds({0: {}, 1: {}}, {0: text, 1: text}, "val_acc")
    assert found.groups == [[0, 1]] and found.keys == ["stdout"]
    assert not same_seeds({0: {}, 1: {}}, {0: text, 1: text.replace("9687", "9701")}, "val_acc").found
    banner = "starting training with the default configuration\n"
    assert not same_seeds({0: {}, 1: {}}, {0: banner, 1: banner}, "val_acc", {0: 0.91, 1: 0.93}).found
    assert not same_seeds({0: {}, 1: {}}, {0: "done\n", 1: "done\n"}, "val_acc").found


def test_text_names_around_a_number_name_the_measurement():
    from trialwise.runner._text import text_pairs

    assert text_pairs("Accuracy of the network on the 10000 test images: 54 %") == {"test_accuracy": 54.0}
    assert text_pairs("Epoch 3 loss: 0.25") == {"loss": 0.25}
    assert text_pairs("top 1 accuracy: 0.7, top 5 accuracy: 0.9") == {"top1_accuracy": 0.7, "top5_accuracy": 0.9}
    assert text_pairs("Epoch [1/10], Step [100/600], Loss: 0.2345") == {"loss": 0.2345}
    assert text_pairs("Test set: Average loss: 0.0479, Accuracy: 9845/10000 (98%)") == {
        "test_average_loss": 0.0479, "test_accuracy": 0.9845}
    assert text_pairs("layer 3 units: 64") == {"units": 64.0}  # no measurement before the number: as before
