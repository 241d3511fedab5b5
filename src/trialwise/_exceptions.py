"""The exception hierarchy of trialwise.

::

    TrialwiseError            root: every error trialwise raises on purpose
    ├── ConfigError           trialwise.toml is invalid (names the key path)
    ├── UsageError            a command was asked something it cannot do
    ├── DataError             input data (CSV, predictions, series) is malformed
    ├── GitError              the repository state forbids the action (dirty tree, bad ref, conflict)
    ├── StoreError            the database cannot be opened or written
    └── RefusedComparison     statistics refuse to decide (metric version, dirty runs, ...)
"""

from __future__ import annotations


class TrialwiseError(Exception):
    """Root of every error trialwise raises on purpose; the message is meant for a person."""


class ConfigError(TrialwiseError):
    """``trialwise.toml`` is invalid."""


class UsageError(TrialwiseError):
    """A command was asked something it cannot do."""


class DataError(TrialwiseError):
    """Input data is malformed."""


class GitError(TrialwiseError):
    """The repository state forbids the action."""


class StoreError(TrialwiseError):
    """The store cannot be opened or written."""


class RefusedComparison(TrialwiseError):
    """Statistics refuse to call a verdict; ``reasons`` lists why."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or [message]
