"""Reading CSV files exported by people and spreadsheets, with row/column positions for errors.

Row numbers follow the spreadsheet convention: the header is row 1, the first data row is row 2
(what Excel, LibreOffice and Google Sheets show in their margin). Columns are named and also given
as spreadsheet letters (A, B, ..., AA).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from trialwise._csvfields import allow_large_fields
from trialwise._exceptions import DataError

__all__ = ["CsvTable", "Problems", "column_letter", "read_csv_table", "ROW_CONVENTION"]

DELIMITERS = (",", ";", "\t")
"""Separators spreadsheet exports use (';' in locales with a decimal comma, tab for TSV)."""

ENCODINGS = ("utf-8-sig", "cp1252")
"""UTF-8 (with or without Excel's byte-order mark), then Windows-1252 (older Excel exports)."""

MAX_REPORTED_PROBLEMS = 10
"""A malformed file reports up to this many problems at once, so one round of fixes suffices."""

ROW_CONVENTION = "rows are numbered as in a spreadsheet: header = row 1"


def column_letter(j: int) -> str:
    """Spreadsheet letter of the 0-based column ``j`` (0 -> A, 26 -> AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class CsvTable:
    """Header cells (stripped) and data rows, each with its spreadsheet row number."""

    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_numbers: tuple[int, ...]

    def where(self, row: int, col: int) -> str:
        """'row 7, column 'blurry' (D)' for data row index ``row`` and column index ``col``."""
        name = self.header[col] if col < len(self.header) else ""
        return f"row {self.row_numbers[row]}, column {name!r} ({column_letter(col)})"


class Problems:
    """Collects problems found in a file and raises them together as one :class:`DataError`.

    Messages that start with "row N" are listed in row order.
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self, hint: str = "") -> None:
        if not self.items:
            return

        def row_of(message: str) -> int:
            head = message.split(",", 1)[0].split(":", 1)[0]
            return int(head[4:]) if head.startswith("row ") and head[4:].isdigit() else 0

        shown = sorted(self.items, key=row_of)[:MAX_REPORTED_PROBLEMS]
        more = f"\n  ... and {len(self.items) - len(shown)} more" if len(self.items) > len(shown) else ""
        listing = "\n".join(f"  {m}" for m in shown)
        raise DataError(f"{self.path}: {len(self.items)} problem(s) in this {self.what} ({ROW_CONVENTION}):\n"
                        f"{listing}{more}" + (f"\n{hint}" if hint else ""))


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file.") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from None
    for enc in ENCODINGS:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: not a text file in UTF-8 or Windows-1252; export it again as CSV UTF-8.")


def read_csv_table(path: str | Path, what: str = "CSV file") -> CsvTable:
    """Read a CSV/TSV export: detects the delimiter from the header, skips blank rows.

    Trailing empty columns (exports often pad rows) are dropped when their header is empty.
    """
    p = Path(path)
    text = _decode(p)
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    allow_large_fields()
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    numbered = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(records)]
    numbered = [(i, r) for i, r in numbered if any(r)]
    if not numbered:
        raise DataError(f"{p}: the {what} is empty; it needs a header row and one row per example.")
    _, header = numbered[0]
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    rows = tuple(tuple(r[:width]) + ("",) * max(0, width - len(r)) for _, r in numbered[1:])
    problems = Problems(p, what)
    for (num, r) in numbered[1:]:
        extra = [j for j in range(width, len(r)) if r[j]]
        if extra:
            j = extra[0]
            problems.add(f"row {num}, column {column_letter(j)}: value {r[j]!r} but the header names only {width} "
                         f"columns ({len(r)} cells in this row); give every column a name in the header row")
    problems.raise_if_any()
    return CsvTable(path=p, header=tuple(header[:width]), rows=rows,
                    row_numbers=tuple(num for num, _ in numbered[1:]))
