"""Evidence besides the curves (issue 15 items 6, 7, 9): the data files a run leaves, the number of
classes from what states it, and "what would decide" when nothing tells the causes apart.  Real files
in tmp dirs, read by the same function ``diagnose_stored`` uses."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.diagnose import synth
from trialwise.diagnose import RunSeries, diagnose
from trialwise.diagnose._evidence import classes_stated, data_evidence
from trialwise.diagnose._runfiles import read_run_files


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    return d.data[order] / 16.0, d.target[order]


def _outputs(tmp_path):
    out = tmp_path / "outputs" / "data"
    out.mkdir(parents=True)
    return out


def test_npz_splits_in_the_run_dir_are_checked(tmp_path, digits):
    x, y = digits
    out = _outputs(tmp_path)
    np.savez(out / "train.npz", X=x[400:], y=y[400:])
    np.savez(out / "val.npz", X=x[:400], y=y[:400])
    (tmp_path / "config.json").write_text(json.dumps({"lr": 0.1}))  # tw.config: not the run's data
    files = read_run_files(tmp_path)
    d = files.data
    assert d.train == "outputs/data/train.npz" and d.val == "outputs/data/val.npz"
    assert (d.n_train, d.n_val, d.n_features, d.n_classes) == (len(y) - 400, 400, 64, 10)
    assert not d.unnormalized and not d.leaks and d.leakage.passed
    assert files.config == {}


def test_npy_pairs_with_the_validation_split_inside_training_are_leakage(tmp_path, digits):
    x, y = digits
    out = _outputs(tmp_path)
    np.save(out / "train_x.npy", x[300:])
    np.save(out / "train_y.npy", y[300:])
    np.save(out / "X_val.npy", x[300:600])  # drawn from the training split
    np.save(out / "y_val.npy", y[300:600])
    d = read_run_files(tmp_path).data
    assert d.leaks and d.leakage.exact_duplicates == 300
    run = RunSeries(synth._good(0).series, n_classes=10, data=d)
    top = diagnose([run]).top
    assert top.code == "data-leakage" and top.causes[0].id == "split-overlap"
    assert "outputs/data/train_x.npy + outputs/data/train_y.npy" in top.evidence[1]


def test_one_hot_label_columns_and_raw_pixel_ranges_in_csv_files(tmp_path, digits):
    x, y = digits
    out = _outputs(tmp_path)
    cols = [f"px{i}" for i in range(64)] + [f"is_{k}" for k in range(10)]

    def table(xs, ys):
        import pandas as pd

        df = pd.DataFrame(np.hstack([xs * 255, np.eye(10)[ys]]), columns=cols)
        df["label"] = ys
        return df

    table(x[400:], y[400:]).to_csv(out / "training.csv", index=False)
    table(x[:400], y[:400]).to_csv(out / "validation.csv", index=False)
    d = read_run_files(tmp_path).data
    assert d.unnormalized and d.input_max == pytest.approx(255.0)
    assert [c.name for c in d.leakage.leaky_columns] == ["one-hot columns is_0..is_9 (10 indicators)"]
    codes = diagnose([RunSeries(synth._good(1).series, n_classes=10, data=d)]).codes
    assert codes[:2] == ("data-leakage", "unnormalized-input") or codes[:2] == ("unnormalized-input", "data-leakage")


def test_framework_configs_state_the_number_of_classes(tmp_path):
    lit = tmp_path / "outputs" / "lightning_logs" / "version_0"
    lit.mkdir(parents=True)
    (lit / "hparams.yaml").write_text("dropout: 0.7\nnum_classes: 10\nopt: sgd\nnested:\n  a: 1\n")
    files = read_run_files(tmp_path)
    assert files.config == {"dropout": 0.7, "num_classes": 10, "opt": "sgd"}
    assert classes_stated(files.config, files.sources) == (
        10, "num_classes = 10 (outputs/lightning_logs/version_0/hparams.yaml)")
    hf = tmp_path / "outputs" / "output"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"id2label": {str(i): f"c{i}" for i in range(7)},
                                                "architectures": ["X"]}))
    files = read_run_files(tmp_path)
    assert classes_stated({"id2label": files.config["id2label"]}, files.sources)[0] == 7


def test_classes_from_the_command_line_then_the_data_then_step_0():
    assert classes_stated({"num_classes": 10}, {"num_classes": "command line"}) == \
        (10, "num_classes = 10 (command line)")
    ev = data_evidence(np.zeros((30, 2)), np.arange(30) % 3)
    assert classes_stated({}, None, ev) == (3, "3 distinct labels in train")
    run = synth.chance_level(0)
    d = diagnose([RunSeries(run.series, config={"num-classes": 10, "num_classes": 10},
                            sources={"num_classes": "command line"})])
    assert any("num_classes = 10 (command line)" in n for n in d.notes)


def test_a_tiny_validation_set_is_named_not_leakage():
    rng = np.random.default_rng(4)
    s = dict(synth._good(2).series)
    steps, _ = s["val_acc"]
    s["val_acc"] = (steps, np.minimum(1.0, rng.binomial(20, 0.97, len(steps)) / 20))
    s["val_acc"][1][0] = 1.0  # perfect at the first evaluation: 20 of 20
    d = diagnose([RunSeries(s, n_classes=10)])
    assert d.top.code == "small-eval-set" and "data-leakage" not in d.codes
    assert "k/20" in d.top.evidence[1] and "95% interval" in d.top.evidence[1]


def test_what_would_decide_when_nothing_tells_the_causes_apart():
    d = diagnose([synth._flat_chance(s) for s in range(2)])
    f = d.get("chance-level")
    assert f.would_decide, f
    assert any("tw.watch(model)" in line for line in f.would_decide)
    assert all(line.endswith("apart") for line in f.would_decide)
    # with the probes there, nothing is left to say about them
    probed = diagnose([synth.dead_units(s) for s in range(2)])
    assert not any("probe/dead_frac_max" in line for f in probed.findings for line in f.would_decide)


def test_every_finding_names_its_rule_in_one_line():
    d = diagnose([synth.loss_divergence(0)])
    assert d.top.rule and "\n" not in d.top.rule and not math.isnan(d.top.confidence)
