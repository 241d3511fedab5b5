"""Power at small seed counts, where SciPy's noncentral t returns NaN for some arguments."""

import math

from trialwise.stats import compare
from trialwise.stats._power import _power_at


def test_power_is_finite_and_monotone_at_three_degrees_of_freedom():
    values = [float(_power_at(x, 3.0, 0.05, "two-sided")) for x in (1, 2, 4, 8, 16)]
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in values)
    assert values == sorted(values)


def test_compare_with_two_completed_seeds_in_an_arm_decides():
    result = compare([0.796, 0.8], [0.85, 0.846, 0.849], direction="max")
    assert "progression" in result.sentence and math.isfinite(result.mde)
