"""Relationships, outbox and inbox, replay windows, the relay mailbox and meta values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from amity.node.store.engine import Connection

__all__ = ["CoreTables", "RelationshipRow", "OutboxItem", "InboxItem", "MailItem"]


_INSERT_INBOX: Final = (
    "INSERT INTO inbox (peer_id, seq, type, body, envelope, received_ms) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (peer_id, seq) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class RelationshipRow:
    """A stored relationship: the protocol record as JSON, with the columns we look it up by."""

    invite_secret: bytes
    peer_id: bytes | None
    state: str
    record: str
    updated_ms: int
    timer_at_ms: int | None = None
    #: What the vendor's console searches by (store/customers.py): the peer's card name
    #: casefolded, its fingerprint and did; None until the peer is known.
    peer_name: str | None = None
    peer_fingerprint: str | None = None
    peer_did: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    peer_id: bytes
    seq: int
    type: str
    envelope: bytes
    created_ms: int


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    peer_id: bytes
    seq: int
    type: str
    body: bytes
    received_ms: int


@dataclass(frozen=True, slots=True)
class MailItem:
    id: int
    recipient: bytes
    sender: bytes
    sealed: bytes
    received_ms: int
    expires_ms: int


class CoreTables:
    """Queries on these tables (mixed into :class:`amity.node.store.Store`)."""

    _db: Connection
    erased: Callable[[], None]  # StoreBase's: the transaction erased data (WAL emptied after)
    #: Outbound sequence counters as last allocated (the table catches up at the commit).
    _seq_last: dict[bytes, int]
    #: Counters and replay windows changed in the open transaction: one row each at its commit.
    _seq_dirty: set[bytes]
    _replay_dirty: dict[bytes, tuple[int, bytes]]
    #: Received messages of the open transaction, inserted in one statement at its commit.
    _inbox_staged: list[tuple[bytes, int, str, bytes, bytes, int]]
    #: Outgoing envelopes of the open transaction: one statement at its commit, or before any
    #: outbox query (so no reader can tell they were held back).
    _outbox_staged: list[tuple[bytes, int, str, bytes, int]]

    def __init__(self, target: Path | str, *, migrate_schema: bool = True) -> None:
        self._seq_last = {}
        self._seq_dirty = set()
        self._replay_dirty = {}
        self._inbox_staged = []
        self._outbox_staged = []
        # StoreBase, last in the Store's bases.
        super().__init__(target, migrate_schema=migrate_schema)  # type: ignore[call-arg]

    def _before_commit(self) -> None:
        self._write_outbox()
        if self._inbox_staged:
            self._db.executemany(_INSERT_INBOX, self._inbox_staged)
            self._inbox_staged.clear()
        if self._seq_dirty:
            self._db.executemany(
                "INSERT INTO seq_counters (peer_id, last_seq) VALUES (?, ?) "
                "ON CONFLICT (peer_id) DO UPDATE SET last_seq = excluded.last_seq",
                [(peer, self._seq_last[peer]) for peer in self._seq_dirty],
            )
            self._seq_dirty.clear()
        if self._replay_dirty:
            self._db.executemany(
                "INSERT INTO replay (peer_id, highest, bitmap) VALUES (?, ?, ?) "
                "ON CONFLICT (peer_id) DO UPDATE SET highest = excluded.highest, "
                "bitmap = excluded.bitmap",
                [(peer, *window) for peer, window in self._replay_dirty.items()],
            )
            self._replay_dirty.clear()

    def _after_rollback(self) -> None:
        for peer in self._seq_dirty:  # read again from the table when next needed
            self._seq_last.pop(peer, None)
        self._seq_dirty.clear()
        self._replay_dirty.clear()
        self._inbox_staged.clear()
        self._outbox_staged.clear()

    # -- meta --------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- relationships ----------------------------------------------------------------------------

    def save_relationship(self, row: RelationshipRow) -> None:
        self._db.execute(
            "INSERT INTO relationships (invite_secret, peer_id, state, record, updated_ms, "
            "timer_at_ms, peer_name, peer_fingerprint, peer_did) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (invite_secret) DO UPDATE SET "
            "peer_id = excluded.peer_id, state = excluded.state, record = excluded.record, "
            "updated_ms = excluded.updated_ms, timer_at_ms = excluded.timer_at_ms, "
            "peer_name = excluded.peer_name, peer_fingerprint = excluded.peer_fingerprint, "
            "peer_did = excluded.peer_did",
            (
                row.invite_secret,
                row.peer_id,
                row.state,
                row.record,
                row.updated_ms,
                row.timer_at_ms,
                row.peer_name,
                row.peer_fingerprint,
                row.peer_did,
            ),
        )

    def load_relationships(self, *, with_timer: bool = False) -> list[RelationshipRow]:
        query = "SELECT invite_secret, peer_id, state, record, updated_ms FROM relationships"
        if with_timer:
            query += " WHERE timer_at_ms IS NOT NULL"
        rows = self._db.execute(query + " ORDER BY id").fetchall()
        return [
            RelationshipRow(bytes(s), None if p is None else bytes(p), st, r, u)
            for s, p, st, r, u in rows
        ]

    def relationships_of(self, peer_id: bytes) -> list[RelationshipRow]:
        """Every relationship with ``peer_id``, oldest first (an ended one may have a successor)."""
        rows = self._db.execute(
            "SELECT invite_secret, peer_id, state, record, updated_ms FROM relationships "
            "WHERE peer_id = ? ORDER BY id",
            (peer_id,),
        ).fetchall()
        return [RelationshipRow(bytes(s), bytes(p), st, r, u) for s, p, st, r, u in rows]

    def relationship(self, invite_secret: bytes) -> RelationshipRow | None:
        row = self._db.execute(
            "SELECT invite_secret, peer_id, state, record, updated_ms FROM relationships "
            "WHERE invite_secret = ?",
            (invite_secret,),
        ).fetchone()
        if row is None:
            return None
        secret, peer, state, record, updated = row
        return RelationshipRow(
            bytes(secret), None if peer is None else bytes(peer), state, record, updated
        )

    def count_relationships(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM relationships").fetchone()
        return int(count)

    # -- outbox and sequence numbers ---------------------------------------------------------------

    def next_seq(self, peer_id: bytes) -> int:
        """Allocate the next sequence number towards ``peer_id`` (call inside a transaction).

        The counter row is written once per peer at the commit, not once per envelope.
        """
        last = self._seq_last.get(peer_id)
        if last is None:
            row = self._db.execute(
                "SELECT last_seq FROM seq_counters WHERE peer_id = ?", (peer_id,)
            ).fetchone()
            last = 0 if row is None else int(row[0])
        self._seq_last[peer_id] = last + 1
        self._seq_dirty.add(peer_id)
        return last + 1

    def add_outbox(self, item: OutboxItem) -> None:
        """Queue one envelope (call inside a transaction; its rows go in one statement)."""
        self._outbox_staged.append(
            (item.peer_id, item.seq, item.type, item.envelope, item.created_ms)
        )

    def _write_outbox(self) -> None:
        if self._outbox_staged:
            self._db.executemany(
                "INSERT INTO outbox (peer_id, seq, type, envelope, created_ms) "
                "VALUES (?, ?, ?, ?, ?)",
                self._outbox_staged,
            )
            self._outbox_staged.clear()

    def pending_outbox(
        self, peer_id: bytes, *, after_seq: int = 0, limit: int = 1000
    ) -> list[OutboxItem]:
        self._write_outbox()
        rows = self._db.execute(
            "SELECT peer_id, seq, type, envelope, created_ms FROM outbox "
            "WHERE peer_id = ? AND acked_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (peer_id, after_seq, limit),
        ).fetchall()
        return [OutboxItem(*row) for row in rows]

    def peers_with_pending(self) -> list[bytes]:
        self._write_outbox()
        rows = self._db.execute(
            "SELECT DISTINCT peer_id FROM outbox WHERE acked_ms IS NULL"
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def count_pending(self, peer_id: bytes | None = None) -> int:
        self._write_outbox()
        if peer_id is None:
            row = self._db.execute("SELECT count(*) FROM outbox WHERE acked_ms IS NULL")
        else:
            row = self._db.execute(
                "SELECT count(*) FROM outbox WHERE acked_ms IS NULL AND peer_id = ?", (peer_id,)
            )
        return int(row.fetchone()[0])

    def newest_pending(self, peer_id: bytes, type_: str) -> bytes | None:
        """The newest unsettled envelope of ``type_`` to ``peer_id``, if any (node.md §5)."""
        self._write_outbox()
        row = self._db.execute(
            "SELECT envelope FROM outbox WHERE peer_id = ? AND type = ? AND acked_ms IS NULL "
            "ORDER BY seq DESC LIMIT 1",
            (peer_id, type_),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def ack_outbox(self, peer_id: bytes, seqs: list[int], now_ms: int) -> int:
        self._write_outbox()
        cursor = self._db.executemany(
            "UPDATE outbox SET acked_ms = ? WHERE peer_id = ? AND seq = ? AND acked_ms IS NULL",
            [(now_ms, peer_id, seq) for seq in seqs],
        )
        return cursor.rowcount

    def prune_outbox(self, before_ms: int) -> int:
        """Forget envelopes ACKed (or REFUSEd) before ``before_ms``: they will never be resent."""
        self._write_outbox()
        return self._db.execute(
            "DELETE FROM outbox WHERE acked_ms IS NOT NULL AND acked_ms < ?", (before_ms,)
        ).rowcount

    # -- inbox and replay windows ------------------------------------------------------------------

    def add_inbox(
        self, peer_id: bytes, seq: int, type_: str, body: bytes, envelope: bytes, now_ms: int
    ) -> bool:
        """Store a received message once; False if (peer, seq) was already stored."""
        cursor = self._db.execute(_INSERT_INBOX, (peer_id, seq, type_, body, envelope, now_ms))
        return cursor.rowcount == 1

    def stage_inbox(
        self, peer_id: bytes, seq: int, type_: str, body: bytes, envelope: bytes, now_ms: int
    ) -> None:
        """As :meth:`add_inbox`, at the commit of the open transaction (its rows in one go)."""
        self._inbox_staged.append((peer_id, seq, type_, body, envelope, now_ms))

    def list_inbox(
        self, peer_id: bytes | None = None, *, after_id: int = 0, limit: int = 1000
    ) -> list[InboxItem]:
        query = "SELECT id, peer_id, seq, type, body, received_ms FROM inbox WHERE id > ?"
        params: list[object] = [after_id]
        if peer_id is not None:
            query += " AND peer_id = ?"
            params.append(peer_id)
        rows = self._db.execute(query + " ORDER BY id LIMIT ?", [*params, limit]).fetchall()
        return [InboxItem(*row) for row in rows]

    def newest_inbox(self, peer_id: bytes, type_: str, limit: int) -> list[InboxItem]:
        """The newest ``limit`` received envelopes of ``type_`` from ``peer_id``, newest first
        (her relationship page's notes): a walk back along the (peer_id, seq) index."""
        rows = self._db.execute(
            "SELECT id, peer_id, seq, type, body, received_ms FROM inbox "
            "WHERE peer_id = ? AND type = ? ORDER BY seq DESC LIMIT ?",
            (peer_id, type_, limit),
        ).fetchall()
        return [InboxItem(*row) for row in rows]

    def prune_inbox(self, before_ms: int, keep: int) -> int:
        """Delete received envelopes older than ``before_ms`` and all but the newest ``keep``.

        The retention of spec/link.md §2.1: rows go for good (secure_delete zeroes them, and
        the WAL is emptied after the commit). Returns how many went.
        """
        pruned = self._db.execute("DELETE FROM inbox WHERE received_ms < ?", (before_ms,)).rowcount
        pruned += self._db.execute(
            "DELETE FROM inbox WHERE id <= (SELECT max(id) FROM inbox) - ?", (keep,)
        ).rowcount
        if pruned:
            self.erased()
        return pruned

    def save_replay(self, peer_id: bytes, highest: int, bitmap: bytes) -> None:
        """Keep ``peer_id``'s replay window (call inside a transaction; written at its commit)."""
        self._replay_dirty[peer_id] = (highest, bitmap)

    def load_replay(self) -> list[tuple[bytes, int, bytes]]:
        rows = self._db.execute("SELECT peer_id, highest, bitmap FROM replay").fetchall()
        return [(bytes(p), int(h), bytes(b)) for p, h, b in rows]

    # -- relay mailbox -----------------------------------------------------------------------------

    def add_mail(
        self,
        recipient: bytes,
        sender: bytes,
        sealed: bytes,
        now_ms: int,
        expires_ms: int,
        *,
        ticketed: bool = True,
    ) -> int:
        cursor = self._db.execute(
            "INSERT INTO mailbox (recipient, sender, sealed, received_ms, expires_ms, ticketed) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (recipient, sender, sealed, now_ms, expires_ms, int(ticketed)),
        )
        return int(cursor.fetchone()[0])

    def mail_for(
        self, recipient: bytes, now_ms: int, *, after_id: int = 0, limit: int
    ) -> list[MailItem]:
        """One page of unexpired mail for ``recipient``, oldest first, after ``after_id``."""
        rows = self._db.execute(
            "SELECT id, recipient, sender, sealed, received_ms, expires_ms FROM mailbox "
            "WHERE recipient = ? AND id > ? AND expires_ms > ? ORDER BY id LIMIT ?",
            (recipient, after_id, now_ms, limit),
        ).fetchall()
        return [MailItem(*row) for row in rows]

    def count_mail(self, recipient: bytes) -> int:
        (count,) = self._db.execute(
            "SELECT count(*) FROM mailbox WHERE recipient = ?", (recipient,)
        ).fetchone()
        return int(count)

    def mail_bytes_from(self, sender: bytes) -> int:
        (total,) = self._db.execute(
            "SELECT coalesce(sum(length(sealed)), 0) FROM mailbox WHERE sender = ?", (sender,)
        ).fetchone()
        return int(total)

    def delete_mail(self, recipient: bytes, ids: list[int]) -> int:
        cursor = self._db.executemany(
            "DELETE FROM mailbox WHERE recipient = ? AND id = ?", [(recipient, i) for i in ids]
        )
        return cursor.rowcount

    def expire_mail(self, now_ms: int) -> int:
        return self._db.execute("DELETE FROM mailbox WHERE expires_ms <= ?", (now_ms,)).rowcount

    def stranger_mail_for(self, recipient: bytes) -> tuple[int, int]:
        """Items and bytes held for ``recipient`` that came without a deposit ticket."""
        count, total = self._db.execute(
            "SELECT count(*), coalesce(sum(length(sealed)), 0) FROM mailbox "
            "WHERE recipient = ? AND ticketed = 0",
            (recipient,),
        ).fetchone()
        return int(count), int(total)

    # -- deposit tickets peers gave us -------------------------------------------------------------

    def set_deposit_ticket(self, peer_id: bytes, ticket: bytes, not_after_ms: int) -> None:
        self._db.execute(
            "INSERT INTO deposit_tickets (peer_id, ticket, not_after_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (peer_id) DO UPDATE SET ticket = excluded.ticket, "
            "not_after_ms = excluded.not_after_ms",
            (peer_id, ticket, not_after_ms),
        )

    def forget_deposit_ticket(self, peer_id: bytes) -> None:
        self._db.execute("DELETE FROM deposit_tickets WHERE peer_id = ?", (peer_id,))

    def deposit_ticket(self, peer_id: bytes) -> tuple[int, bytes] | None:
        """``(not_after_ms, ticket)``: the ticket ``peer_id`` gave us, if we keep one."""
        row = self._db.execute(
            "SELECT not_after_ms, ticket FROM deposit_tickets WHERE peer_id = ?", (peer_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))
