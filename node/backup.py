"""``amity id backup`` and ``restore``: a node's whole home in one passphrase-sealed file.

The file (amity.protocol.backup, spec/backup.md) holds the identity seed, config.toml and
a consistent copy of the SQLite database, taken with SQLite's online backup, so a running node
can be backed up. Restoring makes a new home from it: the same identity, relationships,
agreements, grants and audit trail, and a fresh API token. Peers notice nothing but the node's
absence while it was gone (their outboxes resend what it missed).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tomllib
from pathlib import Path

from amity.node.home import Config, Home, HomeError
from amity.node.store.schema import SCHEMA_VERSION
from amity.protocol.backup import (
    MAX_BACKUP_BYTES,
    NONCE_BYTES,
    SALT_BYTES,
    BackupContents,
    open_backup,
    seal_backup,
)
from amity.protocol.errors import BackupDamagedError

__all__ = ["make_backup", "read_backup", "restore_backup"]


def make_backup(home: Home, passphrase: str, now_ms: int, *, key_passphrase: str | None) -> bytes:
    """The backup file's bytes for ``home`` (the node may be running)."""
    if not home.exists():
        raise HomeError(f"no amity identity in {home.path}; nothing to back up")
    seed = home.load_seed(key_passphrase)
    try:
        config = home.config_path.read_text(encoding="utf-8")
        database = _snapshot(home.db_path) if home.db_path.exists() else b""
    except (OSError, sqlite3.Error) as exc:
        raise HomeError(f"cannot read {home.path} to back it up: {exc}") from None
    contents = BackupContents(
        seed=seed, key_sealed=home.key_is_sealed(), config=config, database=database,
        made_ms=now_ms,
    )  # fmt: skip
    return seal_backup(
        passphrase.encode(), contents, salt=os.urandom(SALT_BYTES), nonce=os.urandom(NONCE_BYTES)
    )


def read_backup(path: Path, passphrase: str) -> BackupContents:
    """Open a backup file and check what is inside before anything is written."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BACKUP_BYTES + 1)
    except OSError as exc:
        raise HomeError(f"cannot read {path}: {exc.strerror}") from None
    contents = open_backup(data, passphrase.encode())
    try:
        Config.from_toml(contents.config)
    except tomllib.TOMLDecodeError as exc:
        raise BackupDamagedError(f"the backup's config.toml does not parse: {exc}") from None
    if contents.database:
        _check_database(contents.database)
    return contents


def restore_backup(home: Home, contents: BackupContents, passphrase: str) -> None:
    """Make ``home`` from ``contents``: the database first, the key file last (a home with no
    key file is no identity, so a restore cut short is not mistaken for a whole one). A key
    that was sealed is sealed again, with the backup's passphrase."""
    if home.exists():
        raise HomeError(
            f"{home.path} already holds an amity identity; restore into a new --home, or move "
            "that one away yourself if you really mean to replace it"
        )
    home.path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if contents.database:
        if home.db_path.exists():
            raise HomeError(f"{home.db_path} exists without a key; move it away first")
        try:
            _write_database(home.db_path, contents.database)
        except (OSError, sqlite3.Error) as exc:
            raise HomeError(
                f"cannot write {home.db_path}: {exc}; nothing else was written"
            ) from None
    home.restore(
        contents.seed, contents.config, passphrase=passphrase if contents.key_sealed else None
    )


def _snapshot(db_path: Path) -> bytes:
    """A consistent copy of the database, taken while writers may be at work."""
    with (
        contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(":memory:")) as copy,
    ):
        source.backup(copy)
        image = bytearray(copy.serialize())
    # The copy keeps the source's WAL marks (file format bytes 18-19 = 2), which a database
    # opened from bytes cannot honour; mark it a rollback-journal file (1). The store turns WAL
    # back on when the restored node opens it.
    if image[18:20] == b"\x02\x02":
        image[18:20] = b"\x01\x01"
    return bytes(image)


def _check_database(data: bytes) -> None:
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        try:
            db.deserialize(data)
            (ok,) = db.execute("PRAGMA integrity_check").fetchone()
            (version,) = db.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupDamagedError(f"the backup's database is not SQLite: {exc}") from None
    if ok != "ok":
        raise BackupDamagedError(f"the backup's database fails its integrity check: {ok}")
    if version > SCHEMA_VERSION:
        raise BackupDamagedError(
            f"the backup's database has schema {version}; this amity knows up to "
            f"{SCHEMA_VERSION}: restore it with a newer amity"
        )


def _write_database(path: Path, data: bytes) -> None:
    with contextlib.closing(sqlite3.connect(":memory:")) as source:
        source.deserialize(data)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        with contextlib.closing(sqlite3.connect(path)) as target:
            source.backup(target)
