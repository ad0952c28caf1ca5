"""The PostgreSQL engine: a vendor's store in a server it already backs up and replicates.

psycopg 3 with a psycopg-pool pool: the store works on one connection at a time, taken from the
pool, and hands a broken one back for a fresh one when the next statement starts outside a
transaction (the server restarted; the pool reconnects, with backoff). A BEGIN or a read that
finds its session gone runs again on a new connection; a transaction that loses its session
fails (the daemon then stops: amity.node.runner). The table groups' SQL is the same as
SQLite's; only the placeholders change here (``?`` to ``%s``).

Durability: every session runs with ``synchronous_commit = on``, so a COMMIT returns once its
WAL record is flushed on the server: what the node acknowledges after a commit survives a
kill -9 of PostgreSQL. :meth:`PostgresEngine.sync` has nothing left to do.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Sequence
from typing import Any, Final

import psycopg
import psycopg.conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from amity.node.store.engine import Rows, StoreError

__all__ = ["PostgresEngine", "PgConnection", "redacted"]

#: How long opening the store waits for its first connection before it fails with a StoreError.
CONNECT_TIMEOUT_S: Final = 10.0
#: How long a statement after the server went away waits for a new connection (the daemon's
#: loop waits with it) before it fails with a StoreError; the pool keeps trying meanwhile.
RECONNECT_TIMEOUT_S: Final = 2.0
#: Any fixed number: the advisory lock two processes migrating the same database share.
_MIGRATION_LOCK: Final = 0x616D697479  # "amity"


def redacted(url: str) -> str:
    """``url`` without its password, to show in messages and logs."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable address)"
    host = params.get("host", "localhost")
    port = params.get("port", "5432")
    user = f"{params['user']}@" if "user" in params else ""
    return f"postgresql://{user}{host}:{port}/{params.get('dbname', '')}"


@functools.lru_cache(maxsize=2048)
def _placeholders(sql: str) -> str:
    """The table groups' ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _words(exc: psycopg.Error) -> str:
    """libpq's message on one line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Spelled out, whatever the server's default: a COMMIT returns once it is on disk.
    conn.execute("SET synchronous_commit TO on")


class PgConnection:
    """The :class:`~amity.node.store.engine.Connection` the table groups call, on PostgreSQL."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]], where: str) -> None:
        self._pool = pool
        self._where = where
        self._conn: psycopg.Connection[Any] | None = None
        self.in_transaction = False

    def live(self) -> psycopg.Connection[Any]:
        """The connection to use: a fresh one from the pool if the last one broke between
        transactions (inside one, the error goes to the caller, which rolls back)."""
        if self._conn is not None and self._conn.broken and not self.in_transaction:
            self.release()
        if self._conn is None:
            try:
                self._conn = self._pool.getconn(timeout=RECONNECT_TIMEOUT_S)
            except PoolTimeout:
                raise StoreError(
                    f"cannot reach PostgreSQL at {self._where} within {RECONNECT_TIMEOUT_S:.0f} s; "
                    "is the server running and the address in config.toml right?"
                ) from None
        return self._conn

    def release(self) -> None:
        """Hand the connection back to the pool (which drops it if it is broken)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._pool.putconn(conn)

    def rollback(self) -> None:
        """End the open transaction; a connection that broke meanwhile goes back to the pool
        (the server rolled the transaction back when the session ended)."""
        self.in_transaction = False
        conn = self._conn
        if conn is None:
            return
        if not conn.broken:
            try:
                conn.execute("ROLLBACK")
                return
            except psycopg.OperationalError:
                pass
        self.release()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        conn = self.live()
        try:
            return conn.execute(_placeholders(sql), parameters)
        except psycopg.OperationalError as exc:
            if not (conn.broken and self._may_retry(sql)):
                raise self._lost(exc) from exc
        # The session had ended while the store was idle (the server restarted): a BEGIN or a
        # read outside a transaction changed nothing, so it runs again on a new connection.
        self.release()
        try:
            return self.live().execute(_placeholders(sql), parameters)
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc

    def _may_retry(self, sql: str) -> bool:
        return not self.in_transaction and (sql == "BEGIN" or sql.startswith("SELECT "))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Rows:
        cursor = self.live().cursor()
        try:
            cursor.executemany(_placeholders(sql), list(parameters))
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc
        return cursor

    def _lost(self, exc: psycopg.OperationalError) -> StoreError:
        return StoreError(f"PostgreSQL at {self._where}: {_words(exc)}")


class PostgresEngine:
    """One PostgreSQL database, reached through a small pool."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.where = redacted(url)
        # One plain connection first: a wrong address or password fails at once, in libpq's
        # words, instead of after the pool's retries.
        try:
            psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.where}: {_words(exc)}"
            ) from None
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=2,
            kwargs={"autocommit": True},  # BEGIN and COMMIT are ours (begin, commit)
            configure=_configure,
            # A connection the pool kept may have died with a restarted server: each one is
            # checked as it is handed out (rarely: at the start, and after a reconnection).
            check=ConnectionPool.check_connection,
            open=False,
            name="amity-store",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout:
            self._pool.close()
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.where} within {CONNECT_TIMEOUT_S:.0f} s"
            ) from None
        self.db = PgConnection(self._pool, self.where)

    def opened(self) -> None:
        """Nothing to prepare: the pool is open and the schema current."""

    def close(self) -> None:
        self.db.release()
        # Not the default 5 s: a pool still trying to reach a server that is gone stops now.
        self._pool.close(timeout=1.0)

    def begin(self) -> None:
        self.db.execute("BEGIN")
        self.db.in_transaction = True

    def commit(self) -> None:
        try:
            self.db.execute("COMMIT")
        finally:
            self.db.in_transaction = False

    def rollback(self) -> None:
        self.db.rollback()

    def sync(self) -> None:
        """Every COMMIT returned after its WAL flush (``synchronous_commit = on``)."""

    def erased(self) -> None:
        """PostgreSQL frees a deleted row's space at the next VACUUM (spec/grants.md §8.7)."""

    def after_commit(self) -> None:
        pass

    def wipe(self) -> bool:
        return True

    def schema_version(self) -> int:
        (exists,) = self.db.execute("SELECT to_regclass('amity_schema') IS NOT NULL").fetchone()
        if not exists:
            return 0
        row = self.db.execute("SELECT version FROM amity_schema").fetchone()
        return 0 if row is None else int(row[0])

    def set_schema_version(self, version: int) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS amity_schema (version INTEGER NOT NULL)")
        self.db.execute("DELETE FROM amity_schema")
        self.db.execute("INSERT INTO amity_schema (version) VALUES (?)", (version,))

    def lock_schema(self) -> None:
        """A session lock, taken before the migrations' transactions begin: a transaction
        begun after another process's commit sees its tables (an advisory lock taken inside
        one would not refresh the catalog it had read)."""
        self.db.execute("SELECT pg_advisory_lock(?)", (_MIGRATION_LOCK,))

    def unlock_schema(self) -> None:
        with contextlib.suppress(StoreError):  # a lost session has released it already
            self.db.execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_LOCK,))
