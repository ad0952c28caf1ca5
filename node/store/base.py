"""The database under every table group: its engine, migrations, transactions, durability.

A commit is durable before anything that depends on it is acknowledged to a peer: on SQLite the
store fsyncs the WAL itself (:meth:`StoreBase.sync`) after every :meth:`~StoreBase.transaction`,
or, for the daemon's group commit, in a thread while the event loop goes on
(amity.node.commits); on PostgreSQL the COMMIT itself returns once it is on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from amity.node.store.engine import Connection, Engine, SqliteEngine, StoreError, is_postgres_url
from amity.node.store.migrations import check_version, migrate

__all__ = ["StoreError", "StoreBase", "open_engine", "opt_bytes"]


def open_engine(target: Path | str) -> tuple[Engine, str]:
    """The engine for ``target`` (a ``postgresql://`` URL, else a SQLite file) and how to
    name the database in messages (without a password)."""
    if is_postgres_url(target):
        from amity.node.store.postgres import PostgresEngine  # psycopg only when asked for

        engine = PostgresEngine(str(target))
        return engine, engine.where
    try:
        return SqliteEngine(target), str(target)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the database {target}: {exc}") from None


class StoreBase:
    """The connection: engine, migrations, transactions. The table groups add their queries."""

    #: What the table groups execute their SQL on (the same text on both engines).
    _db: Connection

    def __init__(self, target: Path | str, *, migrate_schema: bool = True) -> None:
        self._engine, self.where = open_engine(target)
        try:
            self._db = self._engine.db
            self.migrated = migrate(self._engine, self.where) if migrate_schema else []
            self._engine.opened()
        except sqlite3.DatabaseError as exc:
            self._engine.close()
            raise StoreError(f"cannot open the database {target}: {exc}") from None
        except BaseException:
            self._engine.close()
            raise

    def schema_version(self) -> int:
        """The migrations the database has run (StoreError if newer than this amity knows)."""
        return check_version(self._engine, self.where)

    def migrate(self) -> list[int]:
        """Run the migrations not run yet (each in its own transaction); their numbers."""
        ran = migrate(self._engine, self.where)
        self.migrated += ran
        return ran

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._engine.dialect

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """BEGIN … COMMIT (or ROLLBACK on error); committed means on disk.

        ``durable=False`` leaves the fsync to the caller (:meth:`sync`, before anything that
        depends on the commit leaves the node). On SQLite a transaction that erased data
        (:meth:`erased`) is followed, before this returns, by a checkpoint that empties the
        WAL, so no earlier page image of the data stays behind.
        """
        self._engine.begin()
        try:
            yield
            self._before_commit()
        except BaseException:
            self._engine.rollback()
            self._after_rollback()
            raise
        try:
            self._engine.commit()
        except BaseException:
            # Not committed (or not known to be): what the table groups cached is read again.
            self._engine.rollback()
            self._after_rollback()
            raise
        self._engine.after_commit()
        if durable:
            self.sync()

    def sync(self) -> None:
        """Make every transaction committed so far durable (SQLite: fsync the WAL).

        Touches no connection state, so a thread may call it while the connection goes on (a
        commit made meanwhile may or may not be covered: sync again after it).
        """
        self._engine.sync()

    def _before_commit(self) -> None:
        """Write what the table groups held back for one write per transaction."""

    def _after_rollback(self) -> None:
        """Forget what the table groups held back for the transaction that failed."""

    def erased(self) -> None:
        """Say that the open transaction deleted data that must leave the disk with it."""
        self._engine.erased()

    def wipe_wal(self) -> bool:
        """SQLite: checkpoint the WAL into the database and truncate it to zero bytes
        (spec/grants.md §8.7); False if a reader kept it from finishing (the next transaction
        tries again). PostgreSQL: nothing to do here (True)."""
        return self._engine.wipe()


def opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)
