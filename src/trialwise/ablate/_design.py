"""Ablation designs: which combinations of k changes to run (seed 001 #3, regression shadowing).

A design is a set of *cells*; a cell is a 0/1 row, one column per change (1 = the change is merged
in). Pattern #3 asks for each change on its own and all of them together; a full factorial runs
every combination, a fractional factorial a regular fraction of them.

References
----------
G. E. P. Box, J. S. Hunter, W. G. Hunter, *Statistics for Experimenters*, 2nd ed., Wiley, 2005,
ch. 5 (2^k factorials) and ch. 6 (fractional factorials).
D. C. Montgomery, *Design and Analysis of Experiments*, 8th ed., Wiley, 2013, ch. 6 and ch. 8
(Table 8.14, "Selected 2^(k-p) fractional factorial designs").
NIST/SEMATECH e-Handbook of Statistical Methods, §5.3.3.4.7 "Summary tables of useful fractional
factorial designs" (https://www.itl.nist.gov/div898/handbook/pri/section3/pri3347.htm).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record

__all__ = [
    "DEFAULT_MAX_CELLS", "FRACTIONS", "FULL", "FULL_UP_TO", "FRACTIONAL", "FractionEntry", "Design",
    "DesignRecommendation", "ONE_AT_A_TIME", "Term", "full_factorial", "fractional_factorial",
    "one_at_a_time_plus_all", "recommend_design",
]

FULL = "full factorial"
ONE_AT_A_TIME = "one at a time + all"
FRACTIONAL = "fractional factorial"

EFFECTS = "effects"
"""±1 coding (-1 = change absent, +1 = present): orthogonal columns; an effect is the mean at +
minus the mean at - (Box, Hunter & Hunter 2005, §5.5)."""
TREATMENT = "treatment"
"""0/1 coding against the base cell: an effect is a cell's difference from the base."""

FULL_UP_TO = 4
"""Largest number of changes for which the full factorial (2^k cells, 16 at k=4) is recommended
(project convention from this module's brief)."""

FULL_MODEL_MAX_K = 3
"""Up to this many changes the full-factorial analysis reports every interaction order; beyond it,
main effects and two-factor interactions only (higher orders are rarely large: the "hierarchical
ordering" principle, Montgomery 2013 §8.1; C. F. J. Wu, M. Hamada, *Experiments*, 2nd ed., 2009, §4.6)."""

DEFAULT_MAX_CELLS = 32
"""Most cells :func:`recommend_design` proposes by default. With seed 001 #1's several seeds per
cell (e.g. 3), 32 cells are already ~100 training runs (project convention)."""

MIN_RESOLUTION = 4
"""Fractions of resolution III alias main effects with two-factor interactions, i.e. exactly the
interplay that hides a regression (seed 001 #3), so only resolution IV and above are offered
(Montgomery 2013 §8.3: resolution III designs are for screening, not for interpreting effects)."""

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Factor letters of the design tables (I and O are skipped, as in Montgomery's tables)."""


@dataclass(frozen=True)
class FractionEntry:
    """One row of the table of regular fractions: ``2^(k-p)`` cells, generators as letter words."""

    k: int
    p: int
    resolution: int
    generators: tuple[str, ...]


FRACTIONS: tuple[FractionEntry, ...] = (
    # Montgomery 2013 Table 8.14 = NIST e-Handbook §5.3.3.4.7 Table 3.17 (minimum aberration designs).
    FractionEntry(4, 1, 4, ("D=ABC",)),
    FractionEntry(5, 1, 5, ("E=ABCD",)),
    FractionEntry(6, 1, 6, ("F=ABCDE",)),
    FractionEntry(6, 2, 4, ("E=ABC", "F=BCD")),
    FractionEntry(7, 1, 7, ("G=ABCDEF",)),
    FractionEntry(7, 2, 4, ("F=ABCD", "G=ABDE")),
    FractionEntry(7, 3, 4, ("E=ABC", "F=BCD", "G=ACD")),
    FractionEntry(8, 2, 5, ("G=ABCD", "H=ABEF")),
    FractionEntry(8, 3, 4, ("F=ABC", "G=ABD", "H=BCDE")),
    FractionEntry(8, 4, 4, ("E=BCD", "F=ACD", "G=ABC", "H=ABD")),
)
"""Regular two-level fractions for 4 to 8 changes with resolution IV or more (data, not code)."""


@dataclass(frozen=True)
class Term(Record):
    """A model term: the product of the columns in ``factors`` (one factor: a main effect).

    ``aliases`` are the other terms of order <= 2 with the same column on the design's cells (with
    the sign of the alias, ``-1`` when the column is the negative); ``label`` overrides the name.
    """

    factors: tuple[int, ...]
    aliases: tuple[tuple[int, ...], ...] = ()
    alias_signs: tuple[int, ...] = ()
    label: str | None = None

    @property
    def order(self) -> int:
        return len(self.factors)

    def name(self, names: Sequence[str]) -> str:
        """``"A"``, ``"A×B"``, or the label."""
        return self.label or _term_name(self.factors, names)

    def alias_names(self, names: Sequence[str]) -> tuple[str, ...]:
        """The aliases by name, with ``-`` for a negatively aliased term."""
        return tuple(("-" if s < 0 else "") + _term_name(a, names) for a, s in zip(self.aliases, self.alias_signs))


def _term_name(factors: Sequence[int], names: Sequence[str]) -> str:
    return "×".join(names[i] for i in factors)


@dataclass(frozen=True)
class Design(Record):
    """Which cells to run and which model they support.

    Attributes
    ----------
    name : str
        E.g. ``"fractional factorial 2^(5-1), resolution V"``.
    kind : str
        :data:`FULL`, :data:`ONE_AT_A_TIME` or :data:`FRACTIONAL`.
    k : int
        Number of changes (columns).
    rows : tuple of tuple of int
        The cells, 0/1 per change; the base cell (all 0) always comes first.
    coding : str
        ``"effects"`` (±1) or ``"treatment"`` (0/1 against the base).
    terms : tuple of Term
        The model terms the analysis estimates.
    augmented : tuple of tuple of int
        Cells run in addition to a regular fraction (the all-changes bundle); they enter the
        comparisons between cells and the pooled variance, not the factorial model.
    resolution : int or None
        Length of the shortest word of the defining relation; ``None`` for a full factorial.
    generators, defining_relation : tuple of str
        Letter notation (A = first change), e.g. ``("E=-ABCD",)`` and ``("I=-ABCDE",)``.
    estimable, aliased : tuple of str
        What the design can estimate and what it cannot tell apart, in words.
    references : tuple of str
    """

    name: str
    kind: str
    k: int
    rows: tuple[tuple[int, ...], ...]
    coding: str
    terms: tuple[Term, ...]
    augmented: tuple[tuple[int, ...], ...]
    resolution: int | None
    generators: tuple[str, ...]
    defining_relation: tuple[str, ...]
    estimable: tuple[str, ...]
    aliased: tuple[str, ...]
    references: tuple[str, ...]

    @property
    def n_cells(self) -> int:
        return len(self.rows)

    @property
    def model_rows(self) -> tuple[tuple[int, ...], ...]:
        """The cells the factorial model is fitted on (all but :attr:`augmented`)."""
        return tuple(r for r in self.rows if r not in self.augmented)

    def subsets(self, names: Sequence[str]) -> list[tuple[str, ...]]:
        """Each cell as the tuple of change names it merges (``()`` = base)."""
        return [tuple(n for n, b in zip(names, row) if b) for row in self.rows]

    def describe(self) -> list[str]:
        """Human-readable lines: name, cells, what it estimates and what it aliases."""
        lines = [f"{self.name}: {self.n_cells} cells for {self.k} changes"]
        if self.generators:
            lines.append(f"generators {', '.join(self.generators)}; defining relation "
                         f"{', '.join(self.defining_relation)}")
        lines += [f"estimates: {e}" for e in self.estimable]
        lines += [f"cannot separate: {a}" for a in self.aliased]
        return lines


@dataclass(frozen=True)
class DesignRecommendation(Record):
    """The design :func:`recommend_design` proposes, the alternatives, and why."""

    k: int
    design: Design
    alternatives: tuple[Design, ...]
    reason: str
    summary: tuple[str, ...]


def _check_k(k: int, where: str, low: int = 1, high: int = 12) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not low <= k <= high:
        raise UsageError(f"The 'k' parameter of {where} must be an integer in [{low}, {high}] (the number of "
                         f"changes). Got {k!r} instead.")
    return k


def _yates(k: int) -> list[tuple[int, ...]]:
    """All 2^k rows in standard (Yates) order: the first change alternates fastest, base first."""
    return [tuple((r >> i) & 1 for i in range(k)) for r in range(2**k)]


def _letters(factors: Sequence[int]) -> str:
    return "".join(LETTERS[i] for i in sorted(factors))


_REFS_FACTORIAL = (
    "G. E. P. Box, J. S. Hunter, W. G. Hunter, Statistics for Experimenters, 2nd ed., 2005, ch. 5",
    "D. C. Montgomery, Design and Analysis of Experiments, 8th ed., 2013, ch. 6",
)
_REFS_FRACTION = (
    "D. C. Montgomery, Design and Analysis of Experiments, 8th ed., 2013, ch. 8, Table 8.14",
    "NIST/SEMATECH e-Handbook of Statistical Methods, §5.3.3.4.7",
    "G. E. P. Box, J. S. Hunter, W. G. Hunter, Statistics for Experimenters, 2nd ed., 2005, ch. 6",
)


def full_factorial(k: int) -> Design:
    """Every combination of ``k`` changes: 2^k cells, every effect estimable.

    The analysis reports all interaction orders up to :data:`FULL_MODEL_MAX_K` changes, main
    effects and two-factor interactions beyond.

    References
    ----------
    Box, Hunter & Hunter, *Statistics for Experimenters*, 2005, ch. 5; Montgomery 2013, ch. 6.
    """
    _check_k(k, "full_factorial()")
    max_order = k if k <= FULL_MODEL_MAX_K else 2
    terms = tuple(Term(c) for order in range(1, max_order + 1) for c in itertools.combinations(range(k), order))
    estimable = ["every change's main effect (its average effect over all combinations of the others)",
                 "every change's effect on its own at the base (the cell with only that change)",
                 "every interaction" + ("" if max_order == k else " (reported: two-factor; higher orders are "
                                        "estimable from the cells but rarely matter)")]
    return Design(f"{FULL} 2^{k}", FULL, k, tuple(_yates(k)), EFFECTS, terms, (), None, (), (),
                  tuple(estimable), ("nothing: every effect is estimated separately",), _REFS_FACTORIAL)


def one_at_a_time_plus_all(k: int) -> Design:
    """Seed 001 #3 literally: the base, each change on its own, and all changes together (k + 2 cells).

    Effects are in treatment coding (each change's cell minus the base); the only interaction
    term is the non-additivity of the full bundle (all minus base minus the sum of single effects).

    References
    ----------
    D. Khizbullin, "Ten Patterns and Antipatterns of Deep Learning Experimentation", Towards AI,
    2023, #3 (seed 001). Montgomery 2013 §1.3 on why one-factor-at-a-time misses interactions.
    """
    _check_k(k, "one_at_a_time_plus_all()", high=64)
    rows = [tuple(0 for _ in range(k))] + [tuple(int(j == i) for j in range(k)) for i in range(k)]
    rows += [tuple(1 for _ in range(k))] if k > 1 else []
    terms = [Term((i,)) for i in range(k)]
    if k > 1:
        terms.append(Term(tuple(range(k)), label="non-additivity of all changes together"))
    aliased = ("every interaction: the design has a single non-additivity term for the whole bundle, so it "
               "cannot say which changes interact",
               "a change's effect in the presence of only some of the others")
    estimable = ("each change's effect on its own at the base (treatment coding: cell minus base)",
                 "the joint effect of all changes together, and its departure from the sum of the single effects")
    return Design(ONE_AT_A_TIME, ONE_AT_A_TIME, k, tuple(rows),
                  TREATMENT, tuple(terms), (), None, (), (), estimable, aliased if k > 1 else (),
                  ("D. Khizbullin, Ten Patterns and Antipatterns of Deep Learning Experimentation, 2023, #3",
                   "D. C. Montgomery, Design and Analysis of Experiments, 8th ed., 2013, §1.3"))


@dataclass(frozen=True)
class _Word:
    factors: frozenset[int]
    sign: int

    def times(self, other: _Word) -> _Word:
        return _Word(self.factors ^ other.factors, self.sign * other.sign)

    def text(self) -> str:
        return ("-" if self.sign < 0 else "") + _letters(self.factors)


def _parse_generators(entry: FractionEntry) -> list[tuple[int, tuple[int, ...]]]:
    out = []
    for g in entry.generators:
        lhs, rhs = g.split("=")
        out.append((LETTERS.index(lhs), tuple(LETTERS.index(c) for c in rhs)))
    return out


def defining_words(entry: FractionEntry) -> list[_Word]:
    """Every word of the defining relation of the fraction that contains the base cell.

    The textbook principal fraction uses ``+`` signs; here each generator gets the sign that puts
    the base cell (every change absent) into the fraction: ``-`` when the generator has an even
    number of letters on its right-hand side (Montgomery 2013 §8.2: either fraction is equally valid).
    """
    gens = [_Word(frozenset(base) | {target}, _base_cell_sign(base)) for target, base in _parse_generators(entry)]
    words = []
    for r in range(1, len(gens) + 1):
        for combo in itertools.combinations(gens, r):
            words.append(reduce(_Word.times, combo))
    return sorted(words, key=lambda w: (len(w.factors), _letters(w.factors)))


def _base_cell_sign(base: Sequence[int]) -> int:
    """Sign of a generator that puts the base cell (all -1) into the fraction: -(-1)^len(base)."""
    return -1 if len(base) % 2 == 0 else 1


def _fraction_rows(entry: FractionEntry) -> list[tuple[int, ...]]:
    gens = _parse_generators(entry)
    n_base = entry.k - entry.p
    rows = []
    for base_row in _yates(n_base):
        coded = [2 * b - 1 for b in base_row] + [0] * entry.p
        for target, base in gens:
            value = _base_cell_sign(base)
            for i in base:
                value *= coded[i]
            coded[target] = value
        rows.append(tuple((c + 1) // 2 for c in coded))
    return rows


def _fraction_terms(k: int, words: list[_Word]) -> tuple[Term, ...]:
    """Main effects and one representative per alias chain of two-factor interactions."""
    short = [w for w in words if len(w.factors) <= 4]
    terms: list[Term] = [Term((i,)) for i in range(k)]
    seen: set[frozenset[int]] = set()
    for pair in itertools.combinations(range(k), 2):
        fs = frozenset(pair)
        if fs in seen:
            continue
        chain = []
        for w in short:
            other = fs ^ w.factors
            if len(other) == 2:
                chain.append((tuple(sorted(other)), w.sign))
                seen.add(frozenset(other))
        chain.sort()
        terms.append(Term(pair, tuple(c for c, _ in chain), tuple(s for _, s in chain)))
        seen.add(fs)
    return tuple(terms)


def fractional_factorial(k: int, resolution: int = 5) -> Design:
    """The smallest regular 2^(k-p) fraction of resolution ``resolution`` or more, for 4 to 8 changes.

    The fraction is the one that contains the base cell; when it lacks the all-changes cell (odd
    defining words), that cell is added (:attr:`Design.augmented`) because the full bundle is what
    would be merged. Generators come from :data:`FRACTIONS`.

    Parameters
    ----------
    k : int
        Number of changes, 4 to 8.
    resolution : int
        4 (main effects clear of two-factor interactions; those are aliased with each other) or
        5 (main effects and two-factor interactions all clear).

    References
    ----------
    Montgomery 2013, Table 8.14; NIST/SEMATECH e-Handbook §5.3.3.4.7; Box, Hunter & Hunter 2005, ch. 6.
    """
    ks = sorted({e.k for e in FRACTIONS})
    _check_k(k, "fractional_factorial()", low=ks[0], high=ks[-1])
    if resolution not in (4, 5):
        raise UsageError(f"The 'resolution' parameter of fractional_factorial() must be 4 or 5 (resolution III "
                         f"aliases main effects with two-factor interactions, which hides regressions). "
                         f"Got {resolution!r} instead.")
    fits = [e for e in FRACTIONS if e.k == k and e.resolution >= resolution]
    if not fits:
        raise UsageError(f"No regular fraction of resolution {resolution} or more for k={k} in the table; use "
                         f"full_factorial({k}) ({2**k} cells).")
    entry = min(fits, key=lambda e: (2 ** (e.k - e.p), -e.resolution))
    return _fraction_design(entry)


def _fraction_design(entry: FractionEntry) -> Design:
    k = entry.k
    words = defining_words(entry)
    res = min(len(w.factors) for w in words)
    rows = _fraction_rows(entry)
    augmented: tuple[tuple[int, ...], ...] = ()
    all_in = tuple(1 for _ in range(k))
    if all_in not in rows:
        augmented = (all_in,)
        rows.append(all_in)
    terms = _fraction_terms(k, words)
    roman = {4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII"}.get(res, str(res))
    gens = tuple(f"{LETTERS[t]}={'-' if _base_cell_sign(b) < 0 else ''}{_letters(b)}"
                 for t, b in _parse_generators(entry))
    chains = [f"{_term_name(t.factors, LETTERS)} = " + " = ".join(
        ("-" if s < 0 else "") + _term_name(a, LETTERS) for a, s in zip(t.aliases, t.alias_signs))
        for t in terms if t.aliases]
    estimable = ["every change's main effect, clear of two-factor interactions"]
    aliased = [f"main effects with interactions of {res - 1} or more changes (assumed negligible)"]
    if res >= 5:
        estimable.append("every two-factor interaction, clear of main effects and of each other")
        aliased.append(f"two-factor interactions with interactions of {res - 2} or more changes (assumed negligible)")
    else:
        estimable.append("each alias chain of two-factor interactions as one sum")
        aliased.append("two-factor interactions with each other (letters A, B, ... = changes in order): "
                       + "; ".join(chains))
    aliased.append("a change's effect on its own at the base: its single-change cell is not run, only its "
                   "average effect over the other changes")
    if augmented:
        estimable.append("the full bundle against the base (the all-changes cell is added to the fraction)")
    name = f"{FRACTIONAL} 2^({k}-{entry.p}), resolution {roman}"
    return Design(name, FRACTIONAL, k, tuple(rows), EFFECTS, terms, augmented, res, gens,
                  tuple("I=" + w.text() for w in words), tuple(estimable), tuple(aliased), _REFS_FRACTION)


def recommend_design(k: int, max_cells: int = DEFAULT_MAX_CELLS) -> DesignRecommendation:
    """The design to run for ``k`` changes, with cheaper or richer alternatives and the trade-off.

    Up to :data:`FULL_UP_TO` changes: the full factorial. Beyond: the regular fraction of highest
    resolution within ``max_cells`` cells (resolution IV or more); when none fits, one at a time +
    all (which cannot separate interactions).

    References
    ----------
    Montgomery 2013 §8.1 (sparsity of effects), Table 8.14; seed 001 #3.
    """
    _check_k(k, "recommend_design()", high=64)
    if not isinstance(max_cells, int) or max_cells < 2:
        raise UsageError(f"The 'max_cells' parameter of recommend_design() must be an integer >= 2. "
                         f"Got {max_cells!r} instead.")
    oat = one_at_a_time_plus_all(k)
    fractions = [_fraction_design(e) for e in FRACTIONS if e.k == k]
    full = full_factorial(k) if k <= 12 else None
    if k <= FULL_UP_TO:
        design = full
        reason = (f"{k} change(s): the full factorial needs only {2**k} cells and estimates every effect, "
                  "including each change on its own and every interaction (no aliasing)")
    else:
        fitting = [d for d in fractions if d.n_cells <= max_cells]
        if fitting:
            design = max(fitting, key=lambda d: (d.resolution or 99, -d.n_cells))
            reason = (f"{k} changes: the full factorial needs {2**k} cells; this fraction needs {design.n_cells} "
                      f"and keeps main effects clear of two-factor interactions. It loses: "
                      + "; ".join(design.aliased))
        else:
            design = oat
            reason = (f"{k} changes: no regular fraction of resolution IV or more fits in {max_cells} cells, so "
                      f"run each change on its own plus all together ({oat.n_cells} cells). It loses: "
                      + "; ".join(oat.aliased) + ". Consider splitting the changes into groups of at most "
                      f"{FULL_UP_TO} and ablating each group with a full factorial.")
    assert design is not None
    alternatives = [d for d in [full, *fractions, oat] if d is not None and d.name != design.name]
    alternatives.sort(key=lambda d: d.n_cells)
    summary = [f"recommended: {design.name} ({design.n_cells} cells)", reason]
    summary += [f"alternative: {d.name} ({d.n_cells} cells); cannot separate: " + ("; ".join(d.aliased) or "nothing")
                for d in alternatives]
    return DesignRecommendation(k, design, tuple(alternatives), reason, tuple(summary))
