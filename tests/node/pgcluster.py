"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder.

One cluster per test process (each pytest-xdist worker starts its own), listening only on a
Unix socket in its folder (no TCP), with a fresh database per test. When the tests run as root,
the server runs as ``nobody`` (PostgreSQL refuses to run as root). The binaries come from
Debian's ``postgresql`` package (.ci/run installs it); without them the tests fail, they are not
skipped. ``fsync=off`` makes the cluster quick to set up; a kill -9 of the server (which is
what the tests do to it) loses nothing that reached the operating system, and a COMMIT still
waits for its WAL to be written.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
import pytest

__all__ = ["PgCluster", "pg_binaries", "postgres", "pg_url"]

_SUPERUSER = "amity"
_UNPRIVILEGED = "nobody"


def pg_binaries() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if versions:
        return versions[0].parent
    pytest.fail(
        "PostgreSQL's initdb and pg_ctl are not installed; the PostgreSQL store's tests need "
        "them (apt-get install postgresql, as .ci/run does)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One server in ``root``: start, stop, kill -9, and a new database for each test."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root
        #: On for a measurement (a benchmark against SQLite, which fsyncs); off in the tests.
        self.fsync = fsync
        self.data = root / "data"
        self.socket_dir = root / "sockets"
        self.port = _free_port()
        self._bin = pg_binaries()
        self._as_root = os.getuid() == 0
        self._numbers = itertools.count(1)

    def _run(self, args: Sequence[str | Path], timeout: float = 120) -> None:
        command = [str(self._bin / str(args[0])), *map(str, args[1:])]
        if self._as_root:
            command = ["runuser", "-u", _UNPRIVILEGED, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    def init(self) -> None:
        self.socket_dir.mkdir()
        if self._as_root:
            user = pwd.getpwnam(_UNPRIVILEGED)
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            ["initdb", "-D", self.data, "-U", _SUPERUSER, "-A", "trust", "-E", "UTF8",
             "--locale=C", "--no-sync"]
        )  # fmt: skip

    def start(self) -> None:
        durable = "on" if self.fsync else "off"
        options = (
            f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync={durable} "
            f"-c full_page_writes={durable} -c max_connections=200 -c shared_buffers=16MB"
        )
        self._run(["pg_ctl", "start", "-w", "-D", self.data, "-l", self.root / "server.log",
                   "-o", options])  # fmt: skip

    def stop(self) -> None:
        self._run(["pg_ctl", "stop", "-w", "-D", self.data, "-m", "fast"])

    def kill(self) -> None:
        """kill -9 the server and every process of it, as a crash would; start() restarts it
        (PostgreSQL then recovers from its WAL)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = _children(postmaster)
        os.kill(postmaster, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in [postmaster, *children]):
            if time.monotonic() > deadline:
                raise RuntimeError("the killed PostgreSQL processes did not go away")
            time.sleep(0.05)
        # Here nobody may reap the dead postmaster (no init in a container): as a zombie it
        # would still own its pid, and the new server would refuse its lock file.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        (self.socket_dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    def url(self, dbname: str) -> str:
        return f"postgresql://{_SUPERUSER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"test_{next(self._numbers)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """This test process's PostgreSQL server, stopped and removed at the end of the session."""
    # Not pytest's tmp_path: its folders are private to root, and the server runs as nobody.
    root = Path(tempfile.mkdtemp(prefix="amity-pg-"))
    cluster = PgCluster(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: PgCluster) -> str:
    """The URL of a new, empty database for one test."""
    return postgres.new_database()
