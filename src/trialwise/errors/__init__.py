"""Error analysis: per-example predictions of a run and what its mistakes say.

- Predictions on disk: :func:`write_predictions` (``run_dir/predictions/<split>.parquet``),
  :func:`read_predictions`, :func:`import_predictions_csv`; the :class:`Predictions` record.
- Which mistakes: :func:`most_confused`, :func:`worst_mistakes`, :func:`suggest_collapse` /
  :func:`collapse_labels`.
- Across seeds: :func:`stable_errors` (errors every seed makes vs seed noise),
  :func:`compare_errors` (per-class change A -> B, tested across seeds, Holm-corrected).
- Manual analysis (seed 002): :func:`sample_errors` -> :func:`write_error_sheet` -> tag in a
  spreadsheet -> :func:`read_tag_sheet` -> :func:`tag_report` (ceilings per tag).

Pure functions of numpy arrays; pandas and pyarrow load only where a DataFrame or Parquet file is
involved.
"""

from trialwise.errors._analysis import (
    ClassChange,
    CollapseSuggestion,
    ConfusedPair,
    ErrorComparison,
    Mistake,
    StableErrors,
    collapse_labels,
    compare_errors,
    most_confused,
    stable_errors,
    suggest_collapse,
    worst_mistakes,
)
from trialwise.errors._predictions import (
    Predictions,
    import_predictions_csv,
    predictions_path,
    read_predictions,
    write_predictions,
)
from trialwise.errors._sheet import (
    TagReport,
    TagRow,
    TagSheet,
    read_tag_sheet,
    sample_errors,
    tag_report,
    write_error_sheet,
)

__all__ = [
    "ClassChange", "CollapseSuggestion", "ConfusedPair", "ErrorComparison", "Mistake", "Predictions",
    "StableErrors", "TagReport", "TagRow", "TagSheet", "collapse_labels", "compare_errors",
    "import_predictions_csv", "most_confused", "predictions_path", "read_predictions", "read_tag_sheet",
    "sample_errors", "stable_errors", "suggest_collapse", "tag_report", "worst_mistakes",
    "write_error_sheet", "write_predictions",
]
