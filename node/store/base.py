"""The SQLite connection under every table group: WAL, migrations, transactions, fsync.

A commit is on disk before anything that depends on it is acknowledged to a peer. SQLite runs
with ``synchronous=NORMAL`` and the store fsyncs the WAL itself (:meth:`StoreBase.sync`): after
every :meth:`~StoreBase.transaction`, which is what ``synchronous=FULL`` does, or, for the
daemon's group commit, in a thread while the event loop goes on (amity.node.commits).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Self

from amity.node.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["StoreError", "StoreBase", "opt_bytes"]

_BUSY_TIMEOUT_MS: Final = 5000
#: How long emptying the WAL after a deletion waits for other readers (then: after the next
#: transaction).
_WIPE_WAIT_MS: Final = 200


class StoreError(Exception):
    """The database cannot be opened or is from a newer amity."""

    code = "store.error"


class StoreBase:
    """The connection: pragmas, migrations, transactions. The table groups add their queries."""

    def __init__(self, path: Path | str) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            in_memory = str(path) == ":memory:" or not str(path)
            self._wal_path = None if in_memory else f"{path}-wal"
            self._wal_fd: int | None = None
            self._wal_lock = threading.Lock()
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL syncs the WAL only before a checkpoint; we promise that nothing
            # acknowledged to a peer is lost, so every commit is followed by sync() (FULL's
            # fsync, which the group commit makes off the event loop).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            # Deleted rows and freed pages are overwritten with zeros: a DELETE leaves no copy
            # in the file (spec/grants.md §8.7).
            self._db.execute("PRAGMA secure_delete=ON")
            self._wipe_pending = False
            self._migrate()
            # A crash may have left old page images in the WAL after a deletion committed.
            self.wipe_wal()
            self._open_wal()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT (or ROLLBACK on error); committed means on disk.

        ``durable=False`` leaves the fsync to the caller (:meth:`sync`, before anything that
        depends on the commit leaves the node). A transaction that erased data (:meth:`erased`)
        is followed, before this returns, by a checkpoint that empties the WAL, so no earlier
        page image of the data stays behind.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._before_commit()
        except BaseException:
            self._db.execute("ROLLBACK")
            self._after_rollback()
            raise
        self._db.execute("COMMIT")
        if self._wipe_pending:
            self.wipe_wal()
        if durable:
            self.sync()

    def sync(self) -> None:
        """Make every transaction committed so far durable: fsync the WAL.

        Touches no SQLite state, so a thread may call it while the connection goes on (a
        commit made meanwhile may or may not be covered: sync again after it).
        """
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

    def _before_commit(self) -> None:
        """Write what the table groups held back for one write per transaction."""

    def _after_rollback(self) -> None:
        """Forget what the table groups held back for the transaction that failed."""

    def erased(self) -> None:
        """Say that the open transaction deleted data that must leave the disk with it."""
        self._wipe_pending = True

    def wipe_wal(self) -> bool:
        """Checkpoint the WAL into the database and truncate it to zero bytes (spec/grants.md §8.7).

        With secure_delete the database file then holds only zeroed pages where erased data was,
        and the WAL holds nothing. False if a reader kept the checkpoint from finishing: the
        next transaction tries again.
        """
        # A reader in another process (a backup, a test) must not stall the node for long.
        self._db.execute(f"PRAGMA busy_timeout={_WIPE_WAIT_MS}")
        try:
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._wipe_pending = bool(busy)
        return not busy

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database is schema {version}, newer than this amity ({SCHEMA_VERSION}); "
                "upgrade amity"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")


def opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
