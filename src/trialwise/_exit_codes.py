"""The exit codes of every trialwise command, defined once (README, "Output and exit codes").

A script or CI job can tell a negative answer (1) from no answer (2) and from an interruption (130).
"""

from __future__ import annotations

EXIT_OK = 0
"""Success; for a decision: the gate passes, a data check finds nothing, a change is non-invasive."""

EXIT_NEGATIVE = 1
"""A negative verdict: the gate fails (a regression, or no progression under ``--require progression``),
a data check finds a problem (leakage, mispaired files), a change is invasive."""

EXIT_ERROR = 2
"""An error trialwise explains (bad input, a refused action, a failed look-up), or no verdict: a refused
comparison or insufficient data (``compare``, ``gate``, ``check-invasive``)."""

EXIT_INTERRUPTED = 130
"""Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention); runs are marked ``killed``."""

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_NEGATIVE", "EXIT_OK"]
