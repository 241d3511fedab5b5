"""Write exported metric points (``trialwise export``): CSV and Parquet straight from Arrow, JSON
through pandas.

Arrow's CSV writer formats the columns in C++ with the text dictionary-encoded, ≈ 8x pandas'
``to_csv`` (issue 16's "export ≥ 1M rows/s"; benchmarks/results/store.md). It quotes text and writes
booleans as ``true``/``false``, which pandas, R and spreadsheets read as such; a missing step or time
is an empty field, a NaN value ``nan``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

EXPORT_FORMATS = ("csv", "json", "parquet")


def write_points(table: Any, fmt: str, target: Path | IO[Any]) -> None:
    """Write the Arrow ``table`` of :func:`trialwise.store._select.metrics_table` as ``fmt`` to a
    path or a binary stream (``target``: stdout's buffer for ``--out -``)."""
    import pyarrow as pa

    if fmt == "csv":
        from pyarrow import csv

        csv.write_csv(table, _sink(target), csv.WriteOptions(quoting_style="needed"))
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        # plain strings in the file (Parquet dictionary-encodes them itself): an Arrow dictionary
        # type would come back from pandas.read_parquet as a categorical column
        plain = pa.table({name: col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
                          for name, col in zip(table.column_names, table.columns)})
        pq.write_table(plain, _sink(target))
    elif fmt == "json":
        import pandas as pd

        frame = table.to_pandas()
        for name in frame.columns:
            if isinstance(frame[name].dtype, pd.CategoricalDtype):
                frame[name] = frame[name].astype(object)
        text = frame.to_json(orient="records", lines=False)
        if isinstance(target, Path):
            target.write_text(text, encoding="utf-8")
        else:
            target.write(text.encode("utf-8") + b"\n")
    else:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")


def _sink(target: Path | IO[Any]) -> Any:
    if isinstance(target, Path):
        return str(target)
    sys.stdout.flush()
    return target
