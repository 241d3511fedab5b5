"""The public surface of ``trialwise.diagnose``: names, lightness, doctests, thresholds documented."""

from __future__ import annotations

import dataclasses
import doctest
import subprocess
import sys

import pytest

import trialwise.diagnose as D
from trialwise.diagnose import _biasvar, _datasize, _roles, _thresholds

EXPECTED = {
    "load_catalog", "FailureMode", "recognize_roles", "RunSeries", "diagnose", "Diagnosis", "Finding", "biasvar",
    "BiasVarianceReport", "fit_learning_curve", "extrapolate_size", "pac_finite", "pac_vc", "data_heuristics",
}


def test_public_api_contains_the_agreed_names_and_only_exported_names():
    assert EXPECTED <= set(D.__all__)
    assert all(hasattr(D, name) for name in D.__all__)
    for name in D.__all__:
        obj = getattr(D, name)
        if dataclasses.is_dataclass(obj):
            assert obj.__dataclass_params__.frozen, name
            assert hasattr(obj, "to_dict"), name


def test_import_stays_light():
    code = ("import sys, trialwise.diagnose; heavy = [m for m in ('torch', 'scipy', 'pandas', 'matplotlib', "
            "'sqlalchemy', 'sklearn') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("module", [_roles, _biasvar, _datasize])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_every_threshold_is_a_documented_constant():
    source = open(_thresholds.__file__, encoding="utf-8").read()
    names = [n for n in vars(_thresholds) if n.isupper()]
    assert len(names) > 40
    for name in names:
        after = source.split(f"\n{name} = ", 1)[1].split("\n", 1)[1]
        assert after.lstrip().startswith('"""'), f"{name} has no docstring"
