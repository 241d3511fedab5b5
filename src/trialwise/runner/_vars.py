"""``$VARS`` in a training command, expanded per run without a shell (no injection).

``command``, profile and mode ``args`` may name ``$TRIALWISE_RUN_DIR``, ``$TRIALWISE_SEED`` or
any other environment variable of the run, as ``$NAME`` or ``${NAME}``: ``--output_dir
$TRIALWISE_RUN_DIR/out`` puts a Hugging Face ``output_dir`` in the run's own directory.  Each
argument is expanded on its own, so a value never splits into several arguments and shell syntax in
it stays inert.  ``$$`` is a literal ``$``; an unknown name is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

VAR_RE = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
"""``$$``, ``${NAME}`` or ``$NAME`` (POSIX shell names)."""


def expand_vars(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Each argument of ``argv`` with ``$NAME``/``${NAME}`` replaced by ``env[NAME]``."""

    def one(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        if name is None:
            return "$"
        return env.get(name, match.group(0))

    return [VAR_RE.sub(one, arg) for arg in argv]
