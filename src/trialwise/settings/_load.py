"""Load and validate ``trialwise.toml``; render validation errors with key path and line."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trialwise._exceptions import ConfigError
from trialwise.settings._checks import nul_locations

PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"
"""Pydantic looks for plugins (the ``pydantic`` entry-point group: every installed distribution's
``entry_points.txt`` read, ≈ 15 ms in a 190-package environment, more in a big one) when it builds
its first validator, unless this variable is ``__all__``
(https://docs.pydantic.dev/latest/concepts/plugins/).  trialwise's configuration models are built
without: no plugin has any business with them, and typer does the same for its parameters."""


@contextmanager
def _without_pydantic_plugins() -> Iterator[None]:
    """:data:`PYDANTIC_PLUGINS_ENV` set while trialwise's models are built, then as it was (the
    training command, started later with this environment, must not inherit it)."""
    previous = os.environ.get(PYDANTIC_PLUGINS_ENV)
    os.environ[PYDANTIC_PLUGINS_ENV] = "__all__"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PYDANTIC_PLUGINS_ENV]
        else:
            os.environ[PYDANTIC_PLUGINS_ENV] = previous


with _without_pydantic_plugins():
    from trialwise.settings._model import Config

CONFIG_FILE = "trialwise.toml"


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """Best-effort line number of the key ``loc`` in TOML ``text`` (tables and dotted keys)."""
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if not keys:
        return None
    lines = text.splitlines()
    section: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        header = re.match(r"^\[+([^\]]+)\]+", line)
        if header:
            section = [p.strip().strip('"') for p in header.group(1).split(".")]
            if section == keys:
                return number
            continue
        key = re.match(r'^([A-Za-z0-9_."\-]+)\s*=', line)
        if key:
            full = section + [p.strip().strip('"') for p in key.group(1).split(".")]
            if full == keys[: len(full)] and len(full) >= min(len(keys), len(section) + 1):
                return number
    return None


def parse_config(text: str, source: str = CONFIG_FILE) -> Config:
    """Parse TOML text into a :class:`Config`, or raise :class:`ConfigError` naming the key."""
    from pydantic import ValidationError

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}. Fix the syntax and try again.") from exc
    nul = [_problem(text, source, loc, "contains a NUL character (\\u0000), which no argument, "
                    "variable or path can hold") for loc in nul_locations(data)]
    if nul:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(nul))
    try:
        with _without_pydantic_plugins():  # a model whose build was deferred is built on first use
            return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see README's configuration section)"
            elif err["type"] == "value_error" and "error" in err.get("ctx", {}):
                msg = str(err["ctx"]["error"])
            problems.append(_problem(text, source, tuple(err["loc"]), msg))
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from None


def _problem(text: str, source: str, loc: tuple[object, ...], msg: str) -> str:
    """``FILE:LINE: key 'KEY': MSG`` (no line when the key cannot be found in the text)."""
    loc = tuple(p for p in loc if p != "[key]")  # pydantic marks a bad dict key so
    key = ".".join(str(p) for p in loc) or "(top level)"
    line = _line_of(text, loc)
    return f"{source}:{line}: key '{key}': {msg}" if line else f"{source}: key '{key}': {msg}"


def decode_config(data: bytes, source: str) -> str:
    """The text of a ``trialwise.toml``, or a :class:`ConfigError` when it is not UTF-8 (TOML is)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                          "TOML files are UTF-8: save it as UTF-8 and try again") from None


def config_text_at(root: str | Path, sha: str) -> str | None:
    """The ``trialwise.toml`` committed at ``sha``, or ``None`` when that commit has none."""
    import subprocess

    proc = subprocess.run(["git", "show", f"{sha}:{CONFIG_FILE}"], cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    return decode_config(proc.stdout, f"{CONFIG_FILE} at {sha[:12]}")


def load_config(root: str | Path) -> Config:
    """Load ``trialwise.toml`` from the repository ``root``; defaults when there is none."""
    path = Path(root) / CONFIG_FILE
    if not path.exists():
        return Config()
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; trialwise.toml must be a file (remove or rename the directory)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from None
    return parse_config(decode_config(data, str(path)), str(path))
