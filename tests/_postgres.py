"""A throw-away PostgreSQL server for the store's tests: a real ``postgres``, never SQLite standing in.

:func:`start_server` runs ``initdb`` into a fresh temporary directory and starts ``postgres`` on a
unix socket in it (no TCP port: parallel sessions cannot collide), with ``pg_ctl start -w``, which
polls the server until it accepts connections. PostgreSQL refuses to run as root ("root execution
of the PostgreSQL server is not permitted", https://www.postgresql.org/docs/current/server-start.html),
so as root the server runs as ``nobody`` in a directory it owns; as any other user it runs as that
user. The cluster's superuser is :data:`SUPERUSER` with ``trust`` authentication over the socket:
only processes on this machine that can reach the socket directory can connect.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN_ENV = "TRIALWISE_PG_BIN"
"""Directory of ``initdb``/``pg_ctl``/``postgres`` when they are neither on ``PATH`` nor in Debian's place."""

REQUIRE_ENV = "TRIALWISE_REQUIRE_POSTGRES"
"""Set (``.ci/run`` does, as does ``CI``) to make a missing PostgreSQL a test failure instead of a skip."""

DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
"""Where Debian's ``postgresql`` package puts the server binaries (they are not on ``PATH``)."""

SUPERUSER = "trialwise"
"""The throw-away cluster's superuser (``initdb -U``), independent of the operating-system user."""

UNPRIVILEGED_USER = "nobody"
"""The operating-system user the server runs as when the tests run as root."""

SERVER_SETTINGS = {
    "listen_addresses": "''",  # unix socket only
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",  # a throw-away cluster
    "max_connections": "300",  # 16 writer processes plus every test's pooled connections
}
"""``postgres -c`` settings: durability off (the data directory is deleted at the end), room for connections."""

START_TIMEOUT_S = 120
"""``pg_ctl start -w -t``: how long to poll for the server to accept connections."""


def required() -> bool:
    """Whether this session must test PostgreSQL (CI) rather than skip it when it is missing."""
    return any(os.environ.get(name, "").strip() not in ("", "0", "false") for name in (REQUIRE_ENV, "CI"))


def find_bin_dir() -> Path | None:
    """The directory of the server binaries: :data:`BIN_ENV`, ``PATH``, or Debian's newest version."""
    if os.environ.get(BIN_ENV):
        return Path(os.environ[BIN_ENV])
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent  # a link on PATH (/usr/local/bin) to the real directory
    found = [Path(d) for d in glob.glob(DEBIAN_BIN_GLOB) if (Path(d) / "initdb").exists()]
    found.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return found[-1] if found else None


def why_unavailable() -> str | None:
    """What is missing to run a PostgreSQL server here, or ``None``."""
    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        return (f"PostgreSQL server binaries not found (initdb/pg_ctl on PATH, in {DEBIAN_BIN_GLOB} or ${BIN_ENV}): "
                "install Debian's `postgresql` package (`.ci/run` does)")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        return "the psycopg driver is not installed: pip install 'psycopg[binary]>=3.1' (in trialwise's dev extra)"
    return None


def _traversable(path: Path) -> bool:
    """Every directory from ``/`` to ``path`` lets other users through (``nobody`` must reach it)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


@dataclass
class PostgresServer:
    """A running throw-away server; :meth:`create_database` gives each test its own database."""

    bin_dir: Path
    base: Path
    run_as: dict[str, Any]
    _names: Any = field(default_factory=itertools.count)

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL trialwise's store takes for ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"tw_{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending the connections the test's stores still hold (PostgreSQL >= 13)."""
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.bin_dir / tool), *args], cwd=self.base, capture_output=True, text=True,
                              env=_server_env(), timeout=START_TIMEOUT_S + 30, **self.run_as)
        if check and proc.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}\n"
                               f"server log {self.log_file}:\n{log}")
        return proc

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _server_env() -> dict[str, str]:
    """The environment without the ``PG*`` variables of whoever runs the tests (they would redirect the tools)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}


def _base_dir() -> tuple[Path, dict[str, Any]]:
    """A fresh directory for the cluster and the ``subprocess`` arguments that run its tools."""
    if os.geteuid() != 0:
        return Path(tempfile.mkdtemp(prefix="twpg-")), {}
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    parent = next((Path(d) for d in (tempfile.gettempdir(), "/tmp") if _traversable(Path(d))), None)
    if parent is None:
        raise RuntimeError(f"running as root, the PostgreSQL server runs as {UNPRIVILEGED_USER}, which cannot reach "
                           f"{tempfile.gettempdir()} or /tmp: set TMPDIR to a directory others may traverse")
    base = Path(tempfile.mkdtemp(prefix="twpg-", dir=parent))
    os.chown(base, user.pw_uid, user.pw_gid)
    return base, {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def start_server() -> PostgresServer:
    """initdb + ``pg_ctl start -w``: a server ready for connections on its unix socket."""
    bin_dir = find_bin_dir()
    assert bin_dir is not None, why_unavailable()
    base, run_as = _base_dir()
    server = PostgresServer(bin_dir, base, run_as)
    try:
        server._pg("initdb", "-D", str(server.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                   "--locale=C", "--no-sync")
        os.makedirs(server.socket_dir, exist_ok=True)
        if run_as:
            os.chown(server.socket_dir, run_as["user"], run_as["group"])
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        server._pg("pg_ctl", "-D", str(server.data_dir), "-l", str(server.log_file), "-w", "-t", str(START_TIMEOUT_S),
                   "-o", f"-k {server.socket_dir} {options}", "start")
    except BaseException:
        server.stop()
        raise
    return server
