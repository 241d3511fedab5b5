"""Hypothesis strategies shared by the robustness fuzzers: hostile names and JSON values."""

from __future__ import annotations

import json

from hypothesis import strategies as st

SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
"""Lone surrogates: valid in a Python str and as a JSON escape (``"\\ud800"``), not encodable as UTF-8."""

CHAR = st.one_of(st.characters(), SURROGATE, st.sampled_from(["\x00", "{", "}", "%", "_", "[", "/", "]", "$", '"']))
NAME = st.one_of(st.text(CHAR, max_size=12), st.sampled_from(["step", "epoch", "global_step", "iter", "x" * 301]))

EDGE_INTS = st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**400, -(10**400), 0, -1])
NUMBER = st.one_of(st.integers(), EDGE_INTS, st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["nan", "inf", "-inf", "1e-3", "2.5", "x", ""]), st.booleans(), st.none())
JSON = st.recursive(NUMBER | st.text(CHAR, max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAME, inner, max_size=3),
                    max_leaves=8)

DEEP_TEXT = '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}"
DEEP = st.booleans().map(lambda _: DEEP_TEXT)
"""A JSON object nested beyond Python's recursion limit (a small repr in Hypothesis reports)."""


def dumps(obj: object) -> str:
    """JSON text even for values JSON cannot spell (huge ints print as digits, NaN as NaN)."""
    return json.dumps(obj, default=str)
