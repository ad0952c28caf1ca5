"""Intentcasting's tables (migration 7): each role's records as JSON, keyed by id, and her node's
envelopes signed as an intent key (spec/intents.md §7.5, §10).

The records themselves are encoded by amity.node.intents.records; here they are text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

from amity.node.store.engine import Connection

__all__ = ["IntentsTables", "RecordTable"]

RecordTable = Literal[
    "intent_castings",
    "intent_seen",
    "intent_subscriptions",
    "intent_hub",
    "intent_tombstones",
    "intent_subscribers",
]
_KEYS: Final[dict[str, str]] = {
    "intent_castings": "intent_id",
    "intent_seen": "intent_id",
    "intent_subscriptions": "hub",
    "intent_hub": "intent_id",
    "intent_tombstones": "intent_id",
    "intent_subscribers": "peer_id",
}


class IntentsTables:
    _db: Connection
    # CoreTables' caches of the open transaction (the same Store), cleared for a stranger.
    _seq_last: dict[bytes, int]
    _seq_dirty: set[bytes]
    _replay_dirty: dict[bytes, tuple[int, bytes]]
    _write_outbox: Callable[[], None]

    # -- records of the three roles ----------------------------------------------------------------

    def put_intent_record(self, table: RecordTable, key: bytes, record: str) -> None:
        column = _KEYS[table]  # a fixed name, never the caller's text
        self._db.execute(
            f"INSERT INTO {table} ({column}, record) VALUES (?, ?) "
            f"ON CONFLICT ({column}) DO UPDATE SET record = excluded.record",
            (key, record),
        )

    def drop_intent_record(self, table: RecordTable, key: bytes) -> None:
        self._db.execute(f"DELETE FROM {table} WHERE {_KEYS[table]} = ?", (key,))

    def intent_records(self, table: RecordTable) -> list[tuple[bytes, str]]:
        rows = self._db.execute(f"SELECT {_KEYS[table]}, record FROM {table} ORDER BY 1")
        return [(bytes(k), str(r)) for k, r in rows]

    # -- her envelopes as an intent key, per hub -----------------------------------------------------

    def intent_link_seqs(self, intent_id: bytes, hub: bytes) -> tuple[int, int]:
        """(the last seq she signed to ``hub``, the highest seq she took from it)."""
        row = self._db.execute(
            "SELECT last_out, last_in FROM intent_links WHERE intent_id = ? AND hub = ?",
            (intent_id, hub),
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def _set_link_seqs(self, intent_id: bytes, hub: bytes, last_out: int, last_in: int) -> None:
        self._db.execute(
            "INSERT INTO intent_links (intent_id, hub, last_out, last_in) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (intent_id, hub) DO UPDATE SET last_out = excluded.last_out, "
            "last_in = excluded.last_in",
            (intent_id, hub, last_out, last_in),
        )

    def next_intent_seq(self, intent_id: bytes, hub: bytes) -> int:
        last_out, last_in = self.intent_link_seqs(intent_id, hub)
        self._set_link_seqs(intent_id, hub, last_out + 1, last_in)
        return last_out + 1

    def took_intent_seq(self, intent_id: bytes, hub: bytes, seq: int) -> None:
        last_out, last_in = self.intent_link_seqs(intent_id, hub)
        self._set_link_seqs(intent_id, hub, last_out, max(last_in, seq))

    def add_intent_outbox(self, intent_id: bytes, hub: bytes, seq: int, envelope: bytes) -> None:
        self._db.execute(
            "INSERT INTO intent_outbox (intent_id, hub, seq, envelope) VALUES (?, ?, ?, ?)",
            (intent_id, hub, seq, envelope),
        )

    def pending_intent_outbox(self, intent_id: bytes, hub: bytes) -> list[tuple[int, bytes]]:
        rows = self._db.execute(
            "SELECT seq, envelope FROM intent_outbox WHERE intent_id = ? AND hub = ? "
            "AND acked = 0 ORDER BY seq",
            (intent_id, hub),
        )
        return [(int(s), bytes(e)) for s, e in rows]

    def ack_intent_outbox(self, intent_id: bytes, hub: bytes, seqs: tuple[int, ...]) -> None:
        self._db.executemany(
            "UPDATE intent_outbox SET acked = 1 WHERE intent_id = ? AND hub = ? AND seq = ?",
            [(intent_id, hub, s) for s in seqs],
        )

    # -- a hub's housekeeping: pseudonyms it forgets (spec/intents.md §7.7) -------------------------

    def strangers_with_state(self) -> list[bytes]:
        """Senders and recipients with a replay window, a sequence counter or outbox rows, and
        no relationship at all (at a hub: the pseudonyms of intents), in key order."""
        self._write_outbox()
        rows = self._db.execute(
            "SELECT peer_id FROM replay UNION SELECT peer_id FROM seq_counters "
            "UNION SELECT peer_id FROM outbox "
            "EXCEPT SELECT peer_id FROM relationships WHERE peer_id IS NOT NULL ORDER BY 1"
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def forget_stranger(self, peer_id: bytes) -> int:
        """Drop ``peer_id``'s replay window, sequence counter and outbox (call inside a
        transaction); returns how many envelopes it never collected went."""
        self._write_outbox()
        self._seq_last.pop(peer_id, None)
        self._seq_dirty.discard(peer_id)
        self._replay_dirty.pop(peer_id, None)
        self._db.execute("DELETE FROM replay WHERE peer_id = ?", (peer_id,))
        self._db.execute("DELETE FROM seq_counters WHERE peer_id = ?", (peer_id,))
        uncollected = self._db.execute(
            "DELETE FROM outbox WHERE peer_id = ? AND acked_ms IS NULL", (peer_id,)
        ).rowcount
        self._db.execute("DELETE FROM outbox WHERE peer_id = ?", (peer_id,))
        return uncollected
