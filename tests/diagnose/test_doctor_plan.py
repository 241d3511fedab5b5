"""``plan_confirmations``: which confirmatory experiments doctor would run, from a real diagnosis."""

from __future__ import annotations

import sys

import pytest

from trialwise.diagnose import StoredDiagnosis, diagnose, plan_confirmations
from trialwise.settings import Config
from trialwise.store._records import Experiment

from tests.conftest import make_repo
from tests.diagnose.test_digits_runs import _runs  # real recorded curves of buggy_train.py


def _stored(case: str) -> StoredDiagnosis:
    d = diagnose(_runs()[case])
    return StoredDiagnosis(case, "e1", case, ("r0", "r1"), (0, 1), d, None, None, "val_acc")


def _exp(values: dict | None = None) -> Experiment:
    return Experiment(id="e1", name="main@abc", kind="run", commit_sha="abc", ref="HEAD", branch="main",
                      command=["python", "train.py"], launch={"set": values or {}, "overrides": values or {}},
                      profile=None, mode=None, metric_name="val_acc", metric_direction="max", dirty=False, tag=None,
                      created_at=0.0)


def test_factor_needs_the_current_value_and_multiplies_it():
    sd = _stored("lr_high")
    assert sd.diagnosis.top.code == "dead-units"
    plan = plan_confirmations(sd, _exp(), [{"lr": 1.0}, {"lr": 1.0}], Config(), findings=1, causes=1)
    assert [(h.cause_id, h.param, h.value, h.current, h.runnable) for h in plan] == \
        [("lr-too-high", "lr", 0.1, 1.0, True)]
    unknown = plan_confirmations(sd, _exp(), [{}, {}], Config(), findings=1, causes=1)
    assert not unknown[0].runnable and "tw.config" in unknown[0].reason


def test_set_values_win_and_unknown_params_are_not_run():
    sd = _stored("sorted")
    plan = plan_confirmations(sd, _exp({"lr": 0.05}), [{}], Config(), findings=1, causes=1)
    (h,) = plan
    assert h.code == "catastrophic-forgetting" and h.param == "shuffle" and h.value is True
    assert not h.runnable and "[params].map" in h.reason
    mapped = Config(params={"map": {"shuffle": "--shuffle {value}"}})
    assert plan_confirmations(sd, _exp(), [{}], mapped, findings=1, causes=1)[0].runnable


def test_a_healthy_diagnosis_plans_nothing():
    assert plan_confirmations(_stored("healthy"), _exp(), [{}], Config()) == ()


# -- hyperparameters from the stored command line (issue 11 §7: doctor planned nothing for `--lr 0.01`) --

def _exp_argv(argv: list[str], set_values: dict | None = None) -> Experiment:
    return Experiment(id="e1", name="main@abc", kind="run", commit_sha="abc", ref="HEAD", branch="main",
                      command=["python", "train.py", *argv], launch={"set": set_values or {}, "overrides": {}},
                      profile=None, mode=None, metric_name="val_acc", metric_direction="max", dirty=False, tag=None,
                      created_at=0.0)


def test_command_line_params_read_long_options_as_argparse_does():
    from trialwise.diagnose._params import command_line_params

    got = command_line_params(["python", "train.py", "data/", "--lr", "0.01", "--epochs=3", "-v", "--amp",
                               "--shift", "-1.5", "--opt", "adam", "--lr", "1e-3", "--no-shuffle", "--",
                               "--ignored", "1"])
    assert got == {"lr": 1e-3, "epochs": 3, "amp": True, "shift": -1.5, "opt": "adam", "no-shuffle": True,
                   "shuffle": False}


@pytest.mark.parametrize("argv, name", [
    (["--lr", "0.01"], "lr"),
    (["--lr=0.01"], "lr"),
    (["--learning_rate=0.01"], "learning_rate"),
    (["--learning-rate", "0.01"], "learning-rate"),
    (["--optimizer.lr", "0.01"], "optimizer.lr"),  # LightningCLI / jsonargparse
])
def test_doctor_reads_the_learning_rate_from_the_command_line(argv, name):
    sd = _stored("lr_high")
    (h,) = plan_confirmations(sd, _exp_argv(argv), [{}, {}], Config(), findings=1, causes=1)
    assert (h.cause_id, h.param, h.current, h.value, h.runnable, h.source) == \
        ("lr-too-high", name, 0.01, 0.001, True, "command line")
    assert h.change == f"{name} x 0.1" and h.catalog_param == "lr"


def test_set_values_under_another_name_and_their_order_of_precedence():
    sd = _stored("lr_high")
    (h,) = plan_confirmations(sd, _exp_argv([], {"learning_rate": 0.5}), [{}], Config(), findings=1, causes=1)
    assert (h.param, h.current, h.value, h.source) == ("learning_rate", 0.5, 0.05, "--set")
    # --set beats the command line, which beats tw.config
    (h,) = plan_confirmations(sd, _exp_argv(["--lr", "0.2"], {"lr": 0.5}), [{"lr": 0.9}], Config(), findings=1,
                              causes=1)
    assert (h.current, h.source) == (0.5, "--set")
    (h,) = plan_confirmations(sd, _exp_argv(["--lr", "0.2"]), [{"lr": 0.9}], Config(), findings=1, causes=1)
    assert (h.current, h.source) == (0.2, "command line")


def test_two_learning_rates_are_ambiguous_and_env_params_cannot_override_a_flag():
    sd = _stored("lr_high")
    (h,) = plan_confirmations(sd, _exp_argv(["--base_lr", "0.1", "--max_lr", "1.0"]), [{}], Config(), findings=1,
                              causes=1)
    assert not h.runnable and "base_lr, max_lr" in h.reason and "[params].map" in h.reason
    env = Config(params={"via": "env"})
    (h,) = plan_confirmations(sd, _exp_argv(["--lr", "0.01"]), [{}], env, findings=1, causes=1)
    assert not h.runnable and 'via = "env"' in h.reason
    mapped = Config(params={"via": "env", "map": {"lr": "--lr {value}"}})
    assert plan_confirmations(sd, _exp_argv(["--lr", "0.01"]), [{}], mapped, findings=1, causes=1)[0].runnable


TRAIN = """
import argparse, math, os, random
import trialwise as tw

p = argparse.ArgumentParser()
p.add_argument("--learning_rate", type=float, default=0.01)
a = p.parse_args()
tw.init()
rng = random.Random(int(os.environ["TRIALWISE_SEED"]))
tw.config({"n_classes": 10})  # reports the classes, not its learning rate
learns = a.learning_rate >= 0.05  # too low a learning rate: stuck at chance
for step in range(12):
    w = 1 - math.exp(-(step + 1) / 3) if learns else 0.0
    tw.log({"train_loss": math.log(10) * (1 - 0.9 * w) + rng.gauss(0, 0.01),
            "val_loss": math.log(10) * (1 - 0.8 * w) + rng.gauss(0, 0.01),
            "train_acc": 0.1 + 0.85 * w + rng.gauss(0, 0.005), "val_acc": 0.1 + 0.8 * w + rng.gauss(0, 0.005)},
           step=step)
"""


def test_doctor_cli_confirms_a_learning_rate_given_only_on_the_command_line(tmp_path):
    """The issue's run: the learning rate is a flag of the configured command, never reported with tw.config."""
    config = f'command = "{sys.executable} train.py --learning_rate=0.01"\nseeds = 2\n[metric]\nname = "val_acc"\n'
    repo = make_repo(tmp_path / "repo", config, {"train.py": TRAIN})
    exp = repo.tw_json("run")["experiment"]["id"]
    args = ["doctor", exp, "--findings", "1", "--causes", "3"]
    plan = {h["cause_id"]: h for h in repo.tw_json(*args)["plan"]}
    low = plan["lr-too-low"]
    assert (low["param"], low["current"], low["value"], low["runnable"]) == ("learning_rate", 0.01, 0.1, True)
    out = repo.tw_json(*args, "--confirm")
    (res,) = [r for r in out["results"] if r["hypothesis"]["cause_id"] == "lr-too-low"]
    assert res["verdict"] == "confirmed", res["sentence"]  # the override reached the script: it learns
    assert "learning_rate x 10" in out["summary"]
