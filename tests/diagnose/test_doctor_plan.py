"""``plan_confirmations``: which confirmatory experiments doctor would run, from a real diagnosis."""

from __future__ import annotations


from trialwise.diagnose import StoredDiagnosis, diagnose, plan_confirmations
from trialwise.settings import Config
from trialwise.store._records import Experiment

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
