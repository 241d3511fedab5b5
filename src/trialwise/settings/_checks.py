"""Checks of single ``trialwise.toml`` values, run when the file is loaded so that a bad value is an
error naming its file, line and key, never a traceback when a run starts.

Pure functions: each returns the checked value or raises ``ValueError`` with the reason, which the
loader turns into ``trialwise.toml:LINE: key 'KEY': REASON``.
"""

from __future__ import annotations

import importlib.util
import shlex
import string
import sys
from collections.abc import Iterator, Mapping
from typing import Any

MAX_SEEDS = 10_000
"""Most seeds one experiment may ask for. Decisions need a handful to a few dozen seeds (seed 001:
variance across seeds; the sequential test stops far below this); a larger number is a typo (``seeds =
1000000000000`` would allocate the seed list and exhaust memory)."""

MAX_COMMAND_CHARS = 131_072
"""Longest command, argument string or template: Linux's ``MAX_ARG_STRLEN`` (32 pages of 4 KiB,
``include/uapi/linux/binfmts.h``), the longest single argument ``execve`` accepts. Checked before
``shlex`` reads the text, which is slow on megabytes."""

TEMPLATE_FIELDS = frozenset({"name", "value"})
"""The placeholders ``[params] template``, ``map`` and ``seed`` are expanded with."""

POSTGRES_DRIVERS = {"": "psycopg2", "psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000",
                    "asyncpg": "asyncpg", "psycopg2cffi": "psycopg2cffi"}
"""SQLAlchemy's PostgreSQL drivers (``postgresql+DRIVER://``; none named: psycopg2) and their modules."""

POSTGRES_EXTRA = "pip install 'trialwise[postgres]'"


def shell_words(text: str) -> list[str]:
    """``text`` split like a shell would (``shlex``), or why it cannot be."""
    if len(text) > MAX_COMMAND_CHARS:
        raise ValueError(f"is {len(text):,} characters long; at most {MAX_COMMAND_CHARS:,} (the longest "
                         "argument Linux passes to a program) — put long settings in a file the script reads")
    try:
        return shlex.split(text)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise ValueError(f"cannot be split into arguments ({exc}): close the quote or escape it with a backslash") from None


def shell_text(text: str) -> str:
    shell_words(text)
    return text


def arg_template(text: str) -> str:
    """A ``[params]`` template: only ``{name}`` and ``{value}`` (``{{``/``}}`` for braces), and the
    expansion splits into arguments."""
    try:
        fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end of string"
        raise ValueError(f"is not a valid template ({exc}); write {{{{ and }}}} for literal braces") from None
    unknown = sorted({f or "(empty)" for f in fields} - TEMPLATE_FIELDS)
    if unknown:
        raise ValueError(f"unknown placeholder {', '.join('{' + u + '}' for u in unknown)}; "
                         "the placeholders are {name} and {value}")
    try:
        rendered = text.format(name="name", value="value")
    except (ValueError, IndexError, KeyError) as exc:  # a format spec that a string cannot take
        raise ValueError(f"cannot be expanded ({exc})") from None
    shell_words(rendered)
    return text


def relative_glob(pattern: str) -> str:
    """A glob for ``pathlib.Path.glob`` under the repository: not empty, relative, no ``..``, and
    ``**`` only as a whole path component."""
    if not pattern.strip():
        raise ValueError("is empty; give a path or glob relative to the repository (e.g. 'data/val/*')")
    parts = pattern.replace("\\", "/").split("/")
    if pattern.startswith(("/", "\\")) or (len(pattern) > 1 and pattern[1] == ":"):
        raise ValueError(f"'{pattern}' is absolute; give a path relative to the repository")
    if ".." in parts:
        raise ValueError(f"'{pattern}' leaves the repository ('..'); give a path inside it")
    bad = next((p for p in parts if "**" in p and p != "**"), None)
    if bad is not None:
        raise ValueError(f"'{pattern}' is not a valid glob: '**' must be a whole path component (write '**/{bad.replace('**', '*')}')")
    return pattern


def inside_path(path: str) -> str:
    """A path inside the repository: relative, no ``..``."""
    if not path.strip():
        raise ValueError("is empty; give a path relative to the repository")
    if path.startswith(("/", "\\", "~")) or (len(path) > 1 and path[1] == ":"):
        raise ValueError(f"'{path}' is absolute; give a path relative to the repository")
    if ".." in path.replace("\\", "/").split("/"):
        raise ValueError(f"'{path}' leaves the repository ('..'); give a path inside it")
    return path


PARAM_NAME_FORBIDDEN = " \t\n\r\v\f'\"\\\x00"
"""Characters a hyperparameter name may not hold: ``[params] template`` pastes the name unquoted
into the command line, so whitespace, quotes or a backslash would split or merge arguments."""


def param_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a hyperparameter name (``--set NAME=VALUE``, ``[profiles.*.set]``), or ``None``."""
    if not name:
        return "is empty"
    if name.startswith("-"):
        return "starts with '-' (write the name without dashes: the template adds them)"
    bad = sorted({repr(c) for c in name if c in PARAM_NAME_FORBIDDEN or not c.isprintable()})
    if bad:
        return f"contains {', '.join(bad)}"
    return None


def param_name(name: str) -> str:
    why = param_name_problem(name)
    if why:
        raise ValueError(f"parameter name '{name}' {why}; a name is one word such as lr or model.lr")
    return name


def env_name(name: str) -> str:
    if not name or "=" in name:
        raise ValueError(f"'{name}' is not an environment variable name (empty or containing '=')")
    return name


def seed_count(n: int) -> int:
    if n > MAX_SEEDS:
        raise ValueError(f"{n:,} seeds is more than the {MAX_SEEDS:,} one experiment may run "
                         "(a decision needs a few to a few dozen)")
    return n


def store_url(url: str) -> str:
    """A SQLite or PostgreSQL URL whose driver is installed."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    dialect, _, driver = scheme.partition("+")
    if dialect == "sqlite":
        return url
    if dialect not in ("postgresql", "postgres"):
        raise ValueError(f"'{url}' is not a store URL trialwise supports: sqlite:///path/store.db or "
                         "postgresql+psycopg://user@host/db")
    if dialect == "postgres":
        raise ValueError(f"'{url}': SQLAlchemy spells it postgresql://; write postgresql+psycopg://...")
    module = POSTGRES_DRIVERS.get(driver)
    if module is None:
        raise ValueError(f"unknown PostgreSQL driver '{driver}'; write postgresql+psycopg://... ({POSTGRES_EXTRA})")
    if not module_installed(module):
        hint = (POSTGRES_EXTRA if module == "psycopg" else
                f"pip install {module}, or write postgresql+psycopg://... and {POSTGRES_EXTRA}")
        raise ValueError(f"the PostgreSQL driver '{module}' is not installed: {hint}")
    return url


def module_installed(name: str) -> bool:
    """Whether ``import name`` can work (a ``None`` in ``sys.modules`` blocks an import)."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def nul_locations(data: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Key paths of every string (value or key) in parsed TOML ``data`` that holds a NUL character:
    no program argument, environment variable or path can carry one."""
    if isinstance(data, str):
        if "\x00" in data:
            yield loc
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if "\x00" in str(key):
                yield (*loc, str(key).replace("\x00", "\\0"))
            else:
                yield from nul_locations(value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from nul_locations(value, (*loc, i))
