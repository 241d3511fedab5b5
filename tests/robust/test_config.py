"""Config accepted, then a traceback at run time — no more (issue 17, item 8).

Every case is a real ``trialwise.toml`` in a temp directory read by ``load_config``: a
``ConfigError`` naming ``file:line: key`` and what to do, at load time. The fuzzer writes arbitrary
TOML documents over the real keys and checks: a ``ConfigError`` or a config every consumer can use.
"""

from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import make_repo
from trialwise._exceptions import ConfigError
from trialwise.provenance import metric_version
from trialwise.runner._experiment import param_args
from trialwise.settings import load_config
from trialwise.settings._checks import MAX_COMMAND_CHARS, MAX_SEEDS

PY = sys.executable


def _load(tmp_path: Path, text: str | bytes) -> object:
    path = tmp_path / "trialwise.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return load_config(tmp_path)


CASES = [
    ("[params]\ntemplate = \"--{nme} {value}\"\n", "trialwise.toml:2: key 'params.template': unknown placeholder {nme}"),
    ("[params]\nseed = \"--seed {seed}\"\n", "trialwise.toml:2: key 'params.seed': unknown placeholder {seed}"),
    ("[params.map]\nlr = \"--lr={value\"\n", "trialwise.toml:2: key 'params.map.lr': is not a valid template"),
    ("[params]\ntemplate = \"--{name}='{value}\"\n", "key 'params.template': cannot be split into arguments (No closing quotation)"),
    ("command = \"python train.py --msg 'hi\"\n", "trialwise.toml:1: key 'command': cannot be split into arguments"),
    ("[profiles.fast]\nargs = \"--x \\\"y\"\n", "trialwise.toml:2: key 'profiles.fast.args': cannot be split into arguments"),
    ("[metric]\nversion_files = [\"val/**.txt\"]\n", "trialwise.toml:2: key 'metric.version_files.0': 'val/**.txt' is not a valid glob"),
    ("[metric]\nversion_files = [\"/etc/*\"]\n", "key 'metric.version_files.0': '/etc/*' is absolute"),
    ("[metric]\nversion_files = [\"../other/*\"]\n", "key 'metric.version_files.0': '../other/*' leaves the repository"),
    ("[metric]\nversion_files = [\"\"]\n", "key 'metric.version_files.0': is empty"),
    ("seeds = 1000000000000\n", f"trialwise.toml:1: key 'seeds': 1,000,000,000,000 seeds is more than the {MAX_SEEDS:,}"),
    ("command = \"python\\u0000 train.py\"\n", "trialwise.toml:1: key 'command': contains a NUL character"),
    ("[profiles.fast.env]\nA = \"x\\u0000\"\n", "trialwise.toml:2: key 'profiles.fast.env.A': contains a NUL character"),
    ("store = \"mysql://localhost/db\"\n", "trialwise.toml:1: key 'store': 'mysql://localhost/db' is not a store URL"),
    ("[worktree]\nlink = [\"data\", \"../secrets\"]\n", "trialwise.toml:2: key 'worktree.link': '../secrets' leaves the repository"),
    ("[worktree]\nlink = [\"/etc\"]\n", "trialwise.toml:2: key 'worktree.link': '/etc' is absolute"),
    ("[profiles.fast.set]\n\"a b\" = 1\n", "key 'profiles.fast.set.a b': parameter name 'a b' contains ' '"),
    ("[params.map]\n\"--lr\" = \"--lr {value}\"\n", "trialwise.toml:2: key 'params.map.--lr': parameter name '--lr' starts with '-'"),
    ("[worktree]\nlink = \"~/data\"\n", "trialwise.toml:2: key 'worktree.link': '~/data' is absolute"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1].split("key ")[-1][:40] for c in CASES])
def test_bad_values_are_errors_at_load_time(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert expected in str(info.value).replace(str(tmp_path) + "/", "")


def test_a_huge_command_is_refused_before_shlex_reads_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"at most {MAX_COMMAND_CHARS:,}"):
        _load(tmp_path, 'command = "python train.py ' + "--x 'a' " * 400_000 + '"\n')


def test_a_non_utf8_config_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"trialwise.toml:2: not UTF-8 text \(byte 0xe9"):
        _load(tmp_path, b'seeds = 3\ncommand = "python caf\xe9.py"\n')


def test_a_directory_named_trialwise_toml(tmp_path: Path) -> None:
    (tmp_path / "trialwise.toml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_a_postgresql_url_without_its_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on a machine without the extra
    with pytest.raises(ConfigError, match=r"key 'store': the PostgreSQL driver 'psycopg' is not installed: "
                                          r"pip install 'trialwise\[postgres\]'"):
        _load(tmp_path, 'store = "postgresql+psycopg://user@localhost/db"\n')
    with pytest.raises(ConfigError, match="'psycopg2' is not installed"):  # plain postgresql:// means psycopg2
        _load(tmp_path, 'store = "postgresql://user@localhost/db"\n')


def test_the_cli_says_file_line_key_and_exits_2(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{PY} train.py"\n[params]\ntemplate = "--{{nme}} {{value}}"\n',
                     {"train.py": "print(1)\n"})
    proc = repo.tw("run", "--set", "lr=0.1", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "trialwise.toml:3: key 'params.template': unknown placeholder {nme}" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


# -- fuzzing -------------------------------------------------------------------------------------

def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (a lone surrogate escape is invalid TOML)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _toml(doc: dict[str, object]) -> str:
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in doc.items())


HOSTILE = st.sampled_from(["{name}", "{value}", "{", "}", "{x}", "'", '"', "\\", "**", "..", "/", "\x00", "%", "_", " ", "=", "a"])
TEXT = st.one_of(st.text(max_size=12), st.lists(HOSTILE, max_size=6).map("".join))
SCALAR = st.one_of(TEXT, st.integers(), st.sampled_from([0, -1, MAX_SEEDS, MAX_SEEDS + 1, 10**12, 2**64]),
                   st.floats(), st.booleans())
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)
KEYS = st.sampled_from(["command", "workdir", "seeds", "jobs", "gpus_per_run", "timeout", "store"])
TABLES = {
    "metric": st.fixed_dictionaries({}, optional={"name": TEXT, "direction": TEXT, "summary": TEXT,
                                                  "version_files": st.lists(TEXT, max_size=3), "goal": SCALAR}),
    "params": st.fixed_dictionaries({}, optional={"via": st.sampled_from(["args", "env"]), "template": TEXT,
                                                  "map": st.dictionaries(TEXT, TEXT, max_size=2), "seed": TEXT,
                                                  "env_prefix": TEXT}),
    "profiles": st.dictionaries(TEXT, st.fixed_dictionaries({}, optional={
        "args": st.one_of(TEXT, st.lists(TEXT, max_size=2)), "env": st.dictionaries(TEXT, TEXT, max_size=2),
        "set": st.dictionaries(TEXT, SCALAR, max_size=2)}), max_size=2),
    "worktree": st.fixed_dictionaries({}, optional={"link": st.one_of(st.just("auto"), st.lists(TEXT, max_size=2)),
                                                    "keep": st.lists(TEXT, max_size=2), "max_keep_mb": SCALAR}),
}
DOCUMENT = st.one_of(
    st.fixed_dictionaries({}, optional={**{k: st.one_of(TEXT, SCALAR) for k in ("command", "workdir", "store")},
                                        **{k: SCALAR for k in ("seeds", "jobs", "gpus_per_run", "timeout")},
                                        **TABLES}).map(_toml),
    st.dictionaries(st.one_of(KEYS, TEXT), VALUE, max_size=3).map(_toml),
    st.text(max_size=60),
    st.binary(max_size=40),
)
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(doc=DOCUMENT)
@example(doc='[params]\ntemplate = "--{x}"\n')
@example(doc='seeds = 1000000000000\n')
@example(doc='command = "a \'b"\n')
@example(doc='[metric]\nversion_files = ["**x"]\n')
@example(doc=b"command = \"\xff\"\n")
def test_any_config_is_an_error_or_usable(doc: str | bytes) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        cfg = _load(root, doc)
    except ConfigError as exc:
        assert "trialwise.toml" in str(exc)
        return
    # what a run does with it must not raise
    if cfg.command:
        shlex.split(cfg.command)
    assert len(range(cfg.seeds)) <= MAX_SEEDS
    param_args(cfg, {"lr": 0.1, "name with space": "a 'b"})
    if cfg.params.seed:
        shlex.split(cfg.params.seed.format(name="seed", value=7))
    metric_version(cfg.metric, root)
    for section in cfg.profiles.values():
        assert all("\x00" not in v and "=" not in k for k, v in section.env.items())
    subprocess.run(["true"], env={k: v for s in cfg.profiles.values() for k, v in s.env.items()}, check=True)
