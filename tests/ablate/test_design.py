"""Designs: cells, orthogonality, resolution and the aliasing each design claims, checked numerically."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from trialwise import UsageError
from trialwise.ablate import (
    Design,
    fractional_factorial,
    full_factorial,
    one_at_a_time_plus_all,
    recommend_design,
)
from trialwise.ablate._design import FRACTIONS, FULL, ONE_AT_A_TIME, _fraction_design, defining_words


def coded(rows) -> np.ndarray:
    return 2 * np.asarray(rows, dtype=float) - 1


def column(rows, factors, treatment: bool = False) -> np.ndarray:
    x = np.asarray(rows, dtype=float) if treatment else coded(rows)
    return np.prod(x[:, list(factors)], axis=1)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_full_factorial_has_every_cell_and_orthogonal_columns(k: int) -> None:
    d = full_factorial(k)
    assert d.kind == FULL and d.n_cells == 2**k == len(set(d.rows))
    assert d.rows[0] == (0,) * k and (1,) * k in d.rows
    # every interaction column of every order is orthogonal to every other (Box, Hunter & Hunter §5.5)
    terms = [c for order in range(1, k + 1) for c in itertools.combinations(range(k), order)]
    x = np.column_stack([np.ones(2**k)] + [column(d.rows, t) for t in terms])
    np.testing.assert_allclose(x.T @ x, 2**k * np.eye(len(terms) + 1))
    orders = {t.order for t in d.terms}
    assert orders == (set(range(1, k + 1)) if k <= 3 else {1, 2})
    assert d.aliased == ("nothing: every effect is estimated separately",)


@pytest.mark.parametrize("entry", FRACTIONS, ids=lambda e: f"2^({e.k}-{e.p})")
def test_fractions_have_the_claimed_resolution_and_aliases(entry) -> None:
    d = _fraction_design(entry)
    k, rows = entry.k, d.model_rows
    assert len(rows) == len(set(rows)) == 2 ** (k - entry.p)
    assert d.rows[0] == (0,) * k, "the base cell must be run"
    assert (1,) * k in d.rows, "the full bundle must be run"
    assert d.resolution == entry.resolution == min(len(w.factors) for w in defining_words(entry))
    # every defining word is the identity column on the fraction (with its sign)
    for w in defining_words(entry):
        np.testing.assert_array_equal(column(rows, sorted(w.factors)), w.sign * np.ones(len(rows)))
    # each base-factor subset is a full factorial (projection property): main effects orthogonal
    mains = np.column_stack([column(rows, (i,)) for i in range(k)])
    np.testing.assert_allclose(mains.T @ mains, len(rows) * np.eye(k))
    # resolution >= IV: main effects are orthogonal to every two-factor interaction
    pairs = list(itertools.combinations(range(k), 2))
    twos = np.column_stack([column(rows, p) for p in pairs])
    np.testing.assert_allclose(mains.T @ twos, 0, atol=1e-12)
    # two-factor interactions: aliased (|corr| = 1) exactly when the design says so, orthogonal otherwise
    claimed = {}
    for t in d.terms:
        if t.order == 2:
            chain = [t.factors, *t.aliases]
            signs = [1, *t.alias_signs]
            for (a, sa), (b, sb) in itertools.combinations(zip(chain, signs), 2):
                claimed[frozenset([a, b])] = sa * sb
    assert set(pairs) == {p for t in d.terms if t.order == 2 for p in (t.factors, *t.aliases)}
    for a, b in itertools.combinations(pairs, 2):
        dot = float(column(rows, a) @ column(rows, b)) / len(rows)
        assert dot == pytest.approx(claimed.get(frozenset([a, b]), 0.0)), (a, b)
    if entry.resolution >= 5:
        assert not claimed
        assert any("clear of main effects and of each other" in e for e in d.estimable)
    else:
        assert claimed and any("two-factor interactions with each other" in a for a in d.aliased)
    # the model the analysis fits is estimable (full rank) on the fraction
    x = np.column_stack([np.ones(len(rows))] + [column(rows, t.factors) for t in d.terms])
    assert np.linalg.matrix_rank(x) == x.shape[1]


def test_fractional_factorial_picks_the_smallest_fraction_with_the_resolution() -> None:
    assert fractional_factorial(5, 4).name == fractional_factorial(5, 5).name  # no 8-run res IV for 5
    assert fractional_factorial(5, 5).n_cells == 17 and fractional_factorial(5, 5).augmented == ((1,) * 5,)
    assert fractional_factorial(6, 4).n_cells == 16 and fractional_factorial(6, 5).resolution == 6
    assert fractional_factorial(8, 4).n_cells == 16 and fractional_factorial(8, 5).n_cells == 65
    assert fractional_factorial(8, 4).generators == ("E=BCD", "F=ACD", "G=ABC", "H=ABD")
    assert fractional_factorial(5, 5).generators == ("E=-ABCD",)  # the fraction with the base cell
    with pytest.raises(UsageError, match="resolution"):
        fractional_factorial(6, 3)
    with pytest.raises(UsageError, match="'k'"):
        fractional_factorial(9, 4)


def test_one_at_a_time_plus_all_cannot_separate_interactions() -> None:
    d = one_at_a_time_plus_all(4)
    assert d.kind == ONE_AT_A_TIME and d.n_cells == 6
    assert d.rows[0] == (0,) * 4 and d.rows[-1] == (1,) * 4
    assert sorted(d.rows[1:5]) == sorted(tuple(int(i == j) for j in range(4)) for i in range(4))
    # the claim: every interaction column (treatment coding) is the same column on these cells
    cols = {c: column(d.rows, c, treatment=True)
            for order in range(2, 5) for c in itertools.combinations(range(4), order)}
    first = next(iter(cols.values()))
    assert all(np.array_equal(v, first) for v in cols.values())
    assert any("cannot say which changes interact" in a for a in d.aliased)
    x = np.column_stack([np.ones(6)] + [column(d.rows, t.factors, treatment=True) for t in d.terms])
    assert np.linalg.matrix_rank(x) == 6  # saturated: every cell mean is fitted exactly


def test_recommend_design_full_up_to_four_then_cheaper_with_explanation() -> None:
    for k in (1, 2, 3, 4):
        r = recommend_design(k)
        assert r.design.kind == FULL and r.design.n_cells == 2**k
    r5 = recommend_design(5)
    assert r5.design.name == fractional_factorial(5, 5).name and "32 cells" in r5.reason
    r7 = recommend_design(7)
    assert r7.design.n_cells == 16 and r7.design.resolution == 4
    assert "two-factor interactions with each other" in r7.reason
    assert [d.n_cells for d in r7.alternatives] == sorted(d.n_cells for d in r7.alternatives)
    assert {d.kind for d in r7.alternatives} >= {FULL, ONE_AT_A_TIME}
    r10 = recommend_design(10)
    assert r10.design.kind == ONE_AT_A_TIME and "groups" in r10.reason
    assert recommend_design(5, max_cells=8).design.kind == ONE_AT_A_TIME
    json.dumps(r7.to_dict())
    assert all(isinstance(line, str) for line in r7.summary)
    with pytest.raises(UsageError, match="'k'"):
        recommend_design(0)


def test_design_subsets_name_the_changes() -> None:
    d: Design = full_factorial(2)
    assert d.subsets(["a", "b"]) == [(), ("a",), ("b",), ("a", "b")]
    assert any("generators" in line for line in fractional_factorial(6, 4).describe())
