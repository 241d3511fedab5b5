"""The public surface of trialwise.stats is pinned, and ``import trialwise`` does not load it."""

from __future__ import annotations

import subprocess
import sys

import trialwise.stats


def test_public_names_are_pinned():
    assert sorted(trialwise.stats.__all__) == sorted([
        "ArmSummary", "Comparison", "HolmResult", "PowerSummary", "SequentialDesign", "SequentialState", "Verdict",
        "compare", "holm", "power_summary", "sequential_design", "sequential_step",
    ])
    for name in trialwise.stats.__all__:
        assert getattr(trialwise.stats, name).__module__.startswith("trialwise.stats._")


def test_import_trialwise_stays_light():
    code = "import sys, trialwise; print(any(m in sys.modules for m in ('scipy', 'trialwise.stats')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
