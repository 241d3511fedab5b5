"""The generalization suite (``cases.py``): healthy runs raise no alarm, each fault is named first.

Frozen before the detectors were changed (issue 15).  ``KNOWN_MISSES`` lists the (case, mode) pairs
the diagnosis still gets wrong, as strict expected failures: a fix that makes one pass must remove it
from the list, a regression fails the suite.
"""

from __future__ import annotations

import re

import pytest

from tests.diagnose_general.cases import BLIND, CASES, WITH, judge

pytestmark = pytest.mark.slow

KNOWN_MISSES: set[tuple[str, str]] = set()

PAIRS = [(c.name, mode) for c in CASES for mode in c.modes()]


def _param(name: str, mode: str):  # noqa: ANN202
    marks = [pytest.mark.xfail(strict=True, reason="known miss (issue 15)")] if (name, mode) in KNOWN_MISSES else []
    return pytest.param(name, mode, marks=marks, id=f"{name}-{'probes' if mode == WITH else 'blind'}")


@pytest.mark.parametrize(("name", "mode"), [_param(n, m) for n, m in PAIRS])
def test_case_is_diagnosed_as_expected(diagnosed, name, mode):
    from tests.diagnose_general.cases import BY_NAME

    case = BY_NAME[name]
    d = diagnosed(name, mode)
    v = judge(case, mode, d)
    codes = [(f["code"], f["severity"], f["causes"][0]["id"] if f["causes"] else None) for f in d["findings"]]
    if v.healthy:
        assert not v.severe, f"{case.what}: alarms on a healthy run: {codes}"
    else:
        assert v.right_code, f"{case.what}: expected {case.modes()[mode].first} first, got {codes}"
        assert v.right_cause, f"{case.what}: expected cause {case.modes()[mode].cause}, got {codes}"
        assert not v.unexpected, f"{case.what}: unexpected alarms {v.unexpected}: {codes}"


_NUMBER = re.compile(r"\d")


@pytest.mark.parametrize("name", [c.name for c in CASES if not c.expect.healthy])
def test_every_finding_shows_its_evidence(diagnosed, name):
    """Done means (issue 15): every finding shows its evidence (series, steps, values)."""
    for mode in (BLIND,):
        for f in diagnosed(name, mode)["findings"]:
            lines = f["evidence"]
            assert lines and lines[0].startswith("seen in "), f
            assert len(lines) >= 2 and all(_NUMBER.search(line) for line in lines[1:]), (f["code"], lines)


def test_cli_leaves_out_the_ignored_series(lab, diagnosed):
    """``trialwise diagnose --ignore probe/`` is the *without probes* diagnosis; without it the probes count."""
    name = "lit_dead_bias"
    diagnosed(name, WITH)  # runs the case if needed
    exp = lab.experiments[name]
    blind = lab.repo.tw_json("diagnose", exp, "--ignore", "probe/")["diagnosis"]
    full = lab.repo.tw_json("diagnose", exp)["diagnosis"]
    assert [f["code"] for f in blind["findings"]] == [f["code"] for f in diagnosed(name, BLIND)["findings"]]
    assert not any(r.startswith("probe/") for r in blind["roles"].values())
    assert any(r.startswith("probe/") for r in full["roles"].values())
