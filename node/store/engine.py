"""What the table groups need of a database, and the SQLite engine behind it.

The table groups write one SQL text for both engines, in the dialect both accept: ``?``
placeholders, ``INSERT ... ON CONFLICT``, ``RETURNING id`` for a new row's id, ``WHERE TRUE``,
byte ranges instead of ``hex()`` (:func:`hex_prefix_range`), and ``rowid`` for insertion order
(SQLite's own; the PostgreSQL schema gives those tables a ``rowid`` column). An engine runs
that text (:class:`Connection`), brackets transactions, makes commits durable and keeps the
schema version; :mod:`.postgres` is the other engine.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

__all__ = [
    "Connection",
    "Engine",
    "Rows",
    "SqliteEngine",
    "StoreError",
    "hex_prefix_range",
    "id_prefix_clause",
    "is_postgres_url",
]

_BUSY_TIMEOUT_MS: Final = 5000
#: How long emptying the WAL after a deletion waits for other readers (then: after the next
#: transaction).
_WIPE_WAIT_MS: Final = 200


class StoreError(Exception):
    """The database cannot be opened or reached, or is from a newer amity."""

    code = "store.error"


class Rows(Protocol):
    """A statement's result: sqlite3's and psycopg's cursors both fit."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the table groups call: ``sqlite3.Connection`` itself, or psycopg behind a wrapper."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Rows: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Rows: ...


class Engine(Protocol):
    """One database: its connection, transactions, durability and schema version."""

    #: "sqlite" or "postgresql": the migrations' DDL is written for this dialect.
    dialect: str

    @property
    def db(self) -> Connection: ...

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def sync(self) -> None:
        """Make every commit so far durable (may run in a thread while the loop goes on)."""

    def erased(self) -> None:
        """The open transaction deleted data that must leave the disk with it."""

    def after_commit(self) -> None: ...
    def wipe(self) -> bool: ...
    def opened(self) -> None:
        """The schema is current: the store is about to be used."""

    def schema_version(self) -> int: ...
    def set_schema_version(self, version: int) -> None:
        """Record ``version`` (inside the migration's transaction)."""

    def lock_schema(self) -> None:
        """Keep other processes from migrating until :meth:`unlock_schema`."""

    def unlock_schema(self) -> None: ...

    def close(self) -> None: ...


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def hex_prefix_range(prefix: str) -> tuple[bytes, bytes | None] | None:
    """The ids whose hex starts with ``prefix``, as ``low <= id < high`` (``high`` None: no
    upper bound); None if ``prefix`` is not hex. A byte range compares alike in both engines
    and uses the primary key's index, where ``hex(id) LIKE`` would read every row."""
    try:
        value = int(prefix, 16) if prefix else 0
    except ValueError:
        return None
    if not all(c in "0123456789abcdefABCDEF" for c in prefix):
        return None  # int() also takes "0x", "_" and spaces
    digits = len(prefix) + len(prefix) % 2  # a whole number of bytes
    pad = digits - len(prefix)
    low = (value << (4 * pad)).to_bytes(digits // 2, "big")
    top = (value + 1) << (4 * pad)
    if top >= 1 << (4 * digits):
        return low, None
    return low, top.to_bytes(digits // 2, "big")


class SqliteEngine:
    """A SQLite file in WAL mode; every commit fsynced before it counts (:meth:`sync`).

    SQLite runs with ``synchronous=NORMAL`` and the engine fsyncs the WAL itself: after every
    durable transaction, which is what ``synchronous=FULL`` does, or, for the daemon's group
    commit, in a thread while the event loop goes on (amity.node.commits).
    """

    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.db: sqlite3.Connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False
        )
        in_memory = str(path) == ":memory:" or not str(path)
        self._wal_path = None if in_memory else f"{path}-wal"
        self._wal_fd: int | None = None
        self._wal_lock = threading.Lock()
        self._wipe_pending = False
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL syncs the WAL only before a checkpoint; we promise that nothing acknowledged
        # to a peer is lost, so every commit is followed by sync() (FULL's fsync, which the
        # group commit makes off the event loop).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # Deleted rows and freed pages are overwritten with zeros: a DELETE leaves no copy in
        # the file (spec/grants.md §8.7).
        self.db.execute("PRAGMA secure_delete=ON")

    def opened(self) -> None:
        """After the migrations: empty what a crash may have left in the WAL, open it to sync."""
        # A crash may have left old page images in the WAL after a deletion committed.
        self.wipe()
        self._open_wal()

    def close(self) -> None:
        self.db.close()
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def after_commit(self) -> None:
        if self._wipe_pending:
            self.wipe()

    def sync(self) -> None:
        """fsync the WAL. Touches no SQLite state, so a thread may call it while the connection
        goes on (a commit made meanwhile may or may not be covered: sync again after it)."""
        if self._wal_fd is None:
            with self._wal_lock:
                self._open_wal()
            if self._wal_fd is None:
                return
        os.fsync(self._wal_fd)

    def _open_wal(self) -> None:
        if self._wal_path is None or self._wal_fd is not None:
            return
        with contextlib.suppress(FileNotFoundError):  # not created yet: nothing to sync
            self._wal_fd = os.open(self._wal_path, os.O_RDONLY)
            # The WAL's directory entry must survive a power loss as well.
            directory = os.open(os.path.dirname(self._wal_path) or ".", os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def erased(self) -> None:
        self._wipe_pending = True

    def wipe(self) -> bool:
        """Checkpoint the WAL into the database and truncate it to zero bytes (spec/grants.md
        §8.7); False if a reader kept the checkpoint from finishing (the next commit retries)."""
        # A reader in another process (a backup, a test) must not stall the node for long.
        self.db.execute(f"PRAGMA busy_timeout={_WIPE_WAIT_MS}")
        try:
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self.db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._wipe_pending = bool(busy)
        return not busy

    def schema_version(self) -> int:
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        return int(version)

    def set_schema_version(self, version: int) -> None:
        self.db.execute(f"PRAGMA user_version = {int(version)}")

    def lock_schema(self) -> None:
        """Each migration's BEGIN IMMEDIATE takes SQLite's write lock, and re-reads the version."""

    def unlock_schema(self) -> None:
        pass


def id_prefix_clause(column: str, prefix: str) -> tuple[str, list[object]]:
    """`` AND column ...`` and its parameters: the rows whose id ``column`` has a hex form
    starting with ``prefix`` (none if it is not hex)."""
    bounds = hex_prefix_range(prefix)
    if bounds is None:
        return " AND FALSE", []
    low, high = bounds
    if high is None:
        return f" AND {column} >= ?", [low]
    return f" AND {column} >= ? AND {column} < ?", [low, high]
