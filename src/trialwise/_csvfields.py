"""CSV fields as large as the data holds: Python's ``csv`` refuses a field over 128 KiB by default
(an ``input`` column of serialized text, a long tag list), which is data, not an error."""

from __future__ import annotations

import csv

CSV_FIELD_LIMIT = 2**31 - 1
"""The largest field ``csv`` accepts on every platform (a C ``long`` on 32-bit Windows)."""


def allow_large_fields() -> None:
    """Raise the process's CSV field limit to :data:`CSV_FIELD_LIMIT` (never lower it)."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
