"""The inbox in a real SQLite file and PostgreSQL database: retention by age and count, and
no delivery body kept.

See spec/link.md §2.1 and spec/grants.md §8.7.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from amity.node.store import Store
from amity.node.store.schema import MIGRATIONS

PEER = b"P" * 32
DAY = 86_400_000
SECRET = b"a value that must not outlive its deletion"


def _files(home: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(home.iterdir()) if path.is_file())


def test_prune_deletes_by_age_then_keeps_the_newest_and_leaves_no_bytes(
    store_target: Path | str, tmp_path: Path
) -> None:
    # On PostgreSQL the server's files are its own (VACUUM frees the space): the rows are
    # checked, and the bytes in the home only on SQLite.
    on_disk = not isinstance(store_target, str)
    with Store(store_target) as store:
        with store.transaction():
            for seq in range(1, 7):
                body = SECRET + b" %d" % seq
                store.add_inbox(PEER, seq, "msg.note", body, b"env" + body, seq * DAY)
        with store.transaction():
            assert store.prune_inbox(before_ms=3 * DAY, keep=10) == 2  # seq 1 and 2: too old
        assert [i.seq for i in store.list_inbox()] == [3, 4, 5, 6]
        with store.transaction():
            assert store.prune_inbox(before_ms=0, keep=2) == 2
        assert [i.seq for i in store.list_inbox()] == [5, 6]
        data = _files(tmp_path)
        for seq in (1, 2, 3, 4):
            assert SECRET + b" %d" % seq not in data
        assert (SECRET + b" 6" in data) == on_disk
        with store.transaction():
            assert store.prune_inbox(before_ms=0, keep=0) == 2
        assert store.list_inbox() == []
        assert SECRET not in _files(tmp_path)


def test_upgrading_strips_the_delivery_bodies_an_older_inbox_kept(tmp_path: Path) -> None:
    path = tmp_path / "amity.db"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        for script in MIGRATIONS[:4]:
            db.executescript(script)
        db.execute("PRAGMA user_version = 4")
        db.execute(
            "INSERT INTO inbox (peer_id, seq, type, body, envelope, received_ms) VALUES "
            "(?, 1, 'grant.deliver', ?, ?, 0), (?, 2, 'msg.note', ?, ?, 0)",
            (PEER, SECRET, b"env" + SECRET, PEER, b"note", b"note"),
        )
    with Store(path) as store:
        items = store.list_inbox()
        assert [(i.type, i.body) for i in items] == [("grant.deliver", b""), ("msg.note", b"note")]
        assert SECRET not in _files(tmp_path)
