"""Load and validate ``trialwise.toml``; render validation errors with key path and line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from trialwise._exceptions import ConfigError
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
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(text, loc)
            where = f"{source}:{line}" if line else source
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see README's configuration section)"
            problems.append(f"{where}: key '{key}': {msg}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from None


def config_text_at(root: str | Path, sha: str) -> str | None:
    """The ``trialwise.toml`` committed at ``sha``, or ``None`` when that commit has none."""
    import subprocess

    proc = subprocess.run(["git", "show", f"{sha}:{CONFIG_FILE}"], cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace")


def load_config(root: str | Path) -> Config:
    """Load ``trialwise.toml`` from the repository ``root``; defaults when there is none."""
    path = Path(root) / CONFIG_FILE
    if not path.exists():
        return Config()
    return parse_config(path.read_text(encoding="utf-8"), str(path))
