"""The node's SQLite store: the only module that writes SQL.

WAL mode, numbered migrations, explicit transactions, ``synchronous=FULL`` so a commit is on disk
before anything that depends on it is acknowledged to a peer. Parameterised queries only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "StoreError",
    "Store",
    "RelationshipRow",
    "OutboxItem",
    "InboxItem",
    "MailItem",
    "NegotiationRow",
    "AgreementRow",
    "VaultRow",
    "IssuedGrantRow",
    "HoldingRow",
    "GrantRequestRow",
    "GrantReceiptRow",
    "HoldingsQueryRow",
    "AuditRow",
    "SCHEMA_VERSION",
]


class StoreError(Exception):
    """The database cannot be opened or is from a newer amity."""

    code = "store.error"


_MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: relationships, invitations, outbox/inbox, replay windows, relay mailbox.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    CREATE TABLE relationships (
        id INTEGER PRIMARY KEY,
        invite_secret BLOB NOT NULL UNIQUE,
        peer_id BLOB,
        state TEXT NOT NULL,
        record TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        timer_at_ms INTEGER
    );
    CREATE INDEX relationships_peer ON relationships (peer_id);
    CREATE INDEX relationships_timer ON relationships (timer_at_ms) WHERE timer_at_ms IS NOT NULL;
    CREATE TABLE seq_counters (peer_id BLOB PRIMARY KEY, last_seq INTEGER NOT NULL);
    CREATE TABLE outbox (
        peer_id BLOB NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        envelope BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        acked_ms INTEGER,
        PRIMARY KEY (peer_id, seq)
    );
    CREATE INDEX outbox_pending ON outbox (peer_id, seq) WHERE acked_ms IS NULL;
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        peer_id BLOB NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        body BLOB NOT NULL,
        envelope BLOB NOT NULL,
        received_ms INTEGER NOT NULL,
        UNIQUE (peer_id, seq)
    );
    CREATE TABLE replay (peer_id BLOB PRIMARY KEY, highest INTEGER NOT NULL, bitmap BLOB NOT NULL);
    CREATE TABLE mailbox (
        id INTEGER PRIMARY KEY,
        recipient BLOB NOT NULL,
        sender BLOB NOT NULL,
        sealed BLOB NOT NULL,
        received_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    CREATE INDEX mailbox_recipient ON mailbox (recipient, id);
    """,
    # 2: terms negotiations (the protocol record as JSON) and the agreements they reached.
    """
    CREATE TABLE negotiations (
        negotiation_id BLOB PRIMARY KEY,
        peer_id BLOB NOT NULL,
        state TEXT NOT NULL,
        record TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        timer_at_ms INTEGER
    );
    CREATE INDEX negotiations_peer ON negotiations (peer_id);
    CREATE INDEX negotiations_timer ON negotiations (timer_at_ms) WHERE timer_at_ms IS NOT NULL;
    CREATE TABLE agreements (
        agreement_id BLOB PRIMARY KEY,
        negotiation_id BLOB NOT NULL UNIQUE REFERENCES negotiations (negotiation_id),
        peer_id BLOB NOT NULL,
        terms_id BLOB NOT NULL,
        agreed_ms INTEGER NOT NULL,
        encoded BLOB NOT NULL,
        superseded_by BLOB
    );
    CREATE INDEX agreements_peer ON agreements (peer_id);
    """,
    # 3: the vault, grants issued and held (values sealed, one row each so deletion is a DELETE),
    # grant requests, receipts, holdings queries and the hash-chained audit log (spec/grants.md).
    """
    CREATE TABLE vault (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        sealed BLOB NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE grants_issued (
        grant_id BLOB PRIMARY KEY,
        peer_id BLOB NOT NULL,
        agreement_id BLOB NOT NULL,
        encoded BLOB NOT NULL,
        issued_ms INTEGER NOT NULL,
        not_after_ms INTEGER NOT NULL,
        revocation BLOB,
        revoked_ms INTEGER
    );
    CREATE INDEX grants_issued_peer ON grants_issued (peer_id);
    CREATE TABLE holdings (
        grant_id BLOB PRIMARY KEY,
        grantor BLOB NOT NULL,
        state TEXT NOT NULL,
        record TEXT NOT NULL,
        timer_at_ms INTEGER,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX holdings_grantor ON holdings (grantor, state);
    CREATE TABLE held_values (
        grant_id BLOB NOT NULL,
        name TEXT NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (grant_id, name)
    );
    CREATE TABLE grant_requests (
        id INTEGER PRIMARY KEY,
        peer_id BLOB NOT NULL,
        outgoing INTEGER NOT NULL,
        body BLOB NOT NULL,
        at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        grant_id BLOB,
        decided_ms INTEGER
    );
    CREATE TABLE grant_receipts (
        id INTEGER PRIMARY KEY,
        peer_id BLOB NOT NULL,
        grant_id BLOB NOT NULL,
        kind TEXT NOT NULL,
        encoded BLOB NOT NULL UNIQUE,
        received_ms INTEGER NOT NULL
    );
    CREATE INDEX grant_receipts_grant ON grant_receipts (grant_id);
    CREATE TABLE holdings_queries (
        query_id BLOB PRIMARY KEY,
        peer_id BLOB NOT NULL,
        asked_ms INTEGER NOT NULL,
        statement BLOB,
        answered_ms INTEGER
    );
    CREATE TABLE audit_log (
        idx INTEGER PRIMARY KEY,
        peer_id BLOB,
        kind TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        entry BLOB NOT NULL
    );
    CREATE INDEX audit_log_peer ON audit_log (peer_id);
    """,
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)


@dataclass(frozen=True, slots=True)
class RelationshipRow:
    """A stored relationship: the protocol record as JSON, with the columns we look it up by."""

    invite_secret: bytes
    peer_id: bytes | None
    state: str
    record: str
    updated_ms: int
    timer_at_ms: int | None = None


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


@dataclass(frozen=True, slots=True)
class NegotiationRow:
    """A stored terms negotiation: the protocol record as JSON, its agreement's bytes if any."""

    negotiation_id: bytes
    peer_id: bytes
    state: str
    record: str
    created_ms: int
    updated_ms: int
    timer_at_ms: int | None = None
    agreement: bytes | None = None


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """A signed agreement (its exact bytes) and the columns it is looked up by."""

    agreement_id: bytes
    negotiation_id: bytes
    peer_id: bytes
    terms_id: bytes
    agreed_ms: int
    encoded: bytes
    superseded_by: bytes | None = None


# -- rows of the vault, grants and audit log (spec/grants.md) --------------------------------------


@dataclass(frozen=True, slots=True)
class VaultRow:
    """A vault field: its name, its type in clear (for listing), its value sealed (§3)."""

    name: str
    type: str
    sealed: bytes
    updated_ms: int


@dataclass(frozen=True, slots=True)
class IssuedGrantRow:
    """A grant we signed (its exact bytes) and, once revoked, the signed revocation."""

    grant_id: bytes
    peer_id: bytes
    agreement_id: bytes
    encoded: bytes
    issued_ms: int
    not_after_ms: int
    revocation: bytes | None = None
    revoked_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HoldingRow:
    """A grant we hold: the holder record as JSON (no values: those are in held_values)."""

    grant_id: bytes
    grantor: bytes
    state: str
    record: str
    timer_at_ms: int | None
    updated_ms: int


@dataclass(frozen=True, slots=True)
class GrantRequestRow:
    """A grant.request we sent (``outgoing``) or received, and what became of it."""

    id: int
    peer_id: bytes
    outgoing: bool
    body: bytes
    at_ms: int
    state: str
    grant_id: bytes | None = None
    decided_ms: int | None = None


@dataclass(frozen=True, slots=True)
class GrantReceiptRow:
    """A signed delivery or deletion receipt a grantee sent us."""

    peer_id: bytes
    grant_id: bytes
    kind: str
    encoded: bytes
    received_ms: int


@dataclass(frozen=True, slots=True)
class HoldingsQueryRow:
    """A "what do you hold about me?" we asked, and the signed statement once it came."""

    query_id: bytes
    peer_id: bytes
    asked_ms: int
    statement: bytes | None = None
    answered_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit log entry (its exact bytes) with the columns it is filtered by."""

    idx: int
    peer_id: bytes | None
    kind: str
    ts_ms: int
    entry: bytes


class Store:
    """One SQLite database. Use as a context manager; writes go through :meth:`transaction`."""

    def __init__(self, path: Path | str) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: with WAL, NORMAL may lose the last commits on power loss; we promise
            # that nothing acknowledged to a peer is lost.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT (or ROLLBACK on error); committed means on disk."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database is schema {version}, newer than this amity ({SCHEMA_VERSION}); "
                "upgrade amity"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _split_sql(_MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

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
            "timer_at_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (invite_secret) DO UPDATE SET "
            "peer_id = excluded.peer_id, state = excluded.state, record = excluded.record, "
            "updated_ms = excluded.updated_ms, timer_at_ms = excluded.timer_at_ms",
            (
                row.invite_secret,
                row.peer_id,
                row.state,
                row.record,
                row.updated_ms,
                row.timer_at_ms,
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
        """Allocate the next sequence number towards ``peer_id`` (call inside a transaction)."""
        row = self._db.execute(
            "INSERT INTO seq_counters (peer_id, last_seq) VALUES (?, 1) "
            "ON CONFLICT (peer_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
            (peer_id,),
        ).fetchone()
        return int(row[0])

    def add_outbox(self, item: OutboxItem) -> None:
        self._db.execute(
            "INSERT INTO outbox (peer_id, seq, type, envelope, created_ms) VALUES (?, ?, ?, ?, ?)",
            (item.peer_id, item.seq, item.type, item.envelope, item.created_ms),
        )

    def pending_outbox(
        self, peer_id: bytes, *, after_seq: int = 0, limit: int = 1000
    ) -> list[OutboxItem]:
        rows = self._db.execute(
            "SELECT peer_id, seq, type, envelope, created_ms FROM outbox "
            "WHERE peer_id = ? AND acked_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (peer_id, after_seq, limit),
        ).fetchall()
        return [OutboxItem(*row) for row in rows]

    def peers_with_pending(self) -> list[bytes]:
        rows = self._db.execute(
            "SELECT DISTINCT peer_id FROM outbox WHERE acked_ms IS NULL"
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def count_pending(self, peer_id: bytes | None = None) -> int:
        if peer_id is None:
            row = self._db.execute("SELECT count(*) FROM outbox WHERE acked_ms IS NULL")
        else:
            row = self._db.execute(
                "SELECT count(*) FROM outbox WHERE acked_ms IS NULL AND peer_id = ?", (peer_id,)
            )
        return int(row.fetchone()[0])

    def ack_outbox(self, peer_id: bytes, seqs: list[int], now_ms: int) -> int:
        cursor = self._db.executemany(
            "UPDATE outbox SET acked_ms = ? WHERE peer_id = ? AND seq = ? AND acked_ms IS NULL",
            [(now_ms, peer_id, seq) for seq in seqs],
        )
        return cursor.rowcount

    # -- inbox and replay windows ------------------------------------------------------------------

    def add_inbox(
        self, peer_id: bytes, seq: int, type_: str, body: bytes, envelope: bytes, now_ms: int
    ) -> bool:
        """Store a received message once; False if (peer, seq) was already stored."""
        cursor = self._db.execute(
            "INSERT INTO inbox (peer_id, seq, type, body, envelope, received_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (peer_id, seq) DO NOTHING",
            (peer_id, seq, type_, body, envelope, now_ms),
        )
        return cursor.rowcount == 1

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

    def save_replay(self, peer_id: bytes, highest: int, bitmap: bytes) -> None:
        self._db.execute(
            "INSERT INTO replay (peer_id, highest, bitmap) VALUES (?, ?, ?) "
            "ON CONFLICT (peer_id) DO UPDATE SET highest = excluded.highest, "
            "bitmap = excluded.bitmap",
            (peer_id, highest, bitmap),
        )

    def load_replay(self) -> list[tuple[bytes, int, bytes]]:
        rows = self._db.execute("SELECT peer_id, highest, bitmap FROM replay").fetchall()
        return [(bytes(p), int(h), bytes(b)) for p, h, b in rows]

    # -- relay mailbox -----------------------------------------------------------------------------

    def add_mail(
        self, recipient: bytes, sender: bytes, sealed: bytes, now_ms: int, expires_ms: int
    ) -> int:
        cursor = self._db.execute(
            "INSERT INTO mailbox (recipient, sender, sealed, received_ms, expires_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (recipient, sender, sealed, now_ms, expires_ms),
        )
        return int(cursor.lastrowid or 0)

    def mail_for(self, recipient: bytes, now_ms: int, limit: int = 500) -> list[MailItem]:
        rows = self._db.execute(
            "SELECT id, recipient, sender, sealed, received_ms, expires_ms FROM mailbox "
            "WHERE recipient = ? AND expires_ms > ? ORDER BY id LIMIT ?",
            (recipient, now_ms, limit),
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

    # -- terms negotiations and agreements ---------------------------------------------------------

    def save_negotiation(self, row: NegotiationRow) -> None:
        """Insert or update a negotiation (its agreement is saved by :meth:`save_agreement`)."""
        self._db.execute(
            "INSERT INTO negotiations (negotiation_id, peer_id, state, record, created_ms, "
            "updated_ms, timer_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (negotiation_id) DO UPDATE SET state = excluded.state, "
            "record = excluded.record, updated_ms = excluded.updated_ms, "
            "timer_at_ms = excluded.timer_at_ms",
            (
                row.negotiation_id,
                row.peer_id,
                row.state,
                row.record,
                row.created_ms,
                row.updated_ms,
                row.timer_at_ms,
            ),
        )

    def negotiation(self, negotiation_id: bytes) -> NegotiationRow | None:
        row = self._db.execute(
            f"SELECT {_NEGOTIATION_COLUMNS} WHERE n.negotiation_id = ?", (negotiation_id,)
        ).fetchone()
        return None if row is None else _negotiation_row(row)

    def negotiations(
        self,
        *,
        peer_id: bytes | None = None,
        id_prefix: str | None = None,
        with_timer: bool = False,
        limit: int = 1000,
    ) -> list[NegotiationRow]:
        """Negotiations, newest first: all, or with ``peer_id``, a hex id prefix, or a timer."""
        query = f"SELECT {_NEGOTIATION_COLUMNS} WHERE 1"
        params: list[object] = []
        if peer_id is not None:
            query += " AND n.peer_id = ?"
            params.append(peer_id)
        if id_prefix is not None:
            query += " AND substr(hex(n.negotiation_id), 1, ?) = upper(?)"
            params += [len(id_prefix), id_prefix]
        if with_timer:
            query += " AND n.timer_at_ms IS NOT NULL"
        query += " ORDER BY n.created_ms DESC, n.rowid DESC LIMIT ?"
        rows = self._db.execute(query, [*params, limit]).fetchall()
        return [_negotiation_row(row) for row in rows]

    def save_agreement(self, row: AgreementRow) -> None:
        """Keep an agreement once (the same bytes may be saved again, e.g. an accept repeated)."""
        self._db.execute(
            "INSERT INTO agreements (agreement_id, negotiation_id, peer_id, terms_id, agreed_ms, "
            "encoded) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agreement_id) DO NOTHING",
            (
                row.agreement_id,
                row.negotiation_id,
                row.peer_id,
                row.terms_id,
                row.agreed_ms,
                row.encoded,
            ),
        )

    def supersede_agreement(self, agreement_id: bytes, by_agreement_id: bytes) -> bool:
        """Mark an agreement as replaced by an amendment; False if we do not hold it."""
        cursor = self._db.execute(
            "UPDATE agreements SET superseded_by = ? WHERE agreement_id = ?",
            (by_agreement_id, agreement_id),
        )
        return cursor.rowcount == 1

    def agreement(self, agreement_id: bytes) -> AgreementRow | None:
        row = self._db.execute(
            f"SELECT {_AGREEMENT_COLUMNS} WHERE agreement_id = ?", (agreement_id,)
        ).fetchone()
        return None if row is None else _agreement_row(row)

    def agreements(
        self, *, peer_id: bytes | None = None, id_prefix: str | None = None, limit: int = 1000
    ) -> list[AgreementRow]:
        """Agreements, newest first: all, or with ``peer_id``, or whose hex id starts so."""
        query = f"SELECT {_AGREEMENT_COLUMNS} WHERE 1"
        params: list[object] = []
        if peer_id is not None:
            query += " AND peer_id = ?"
            params.append(peer_id)
        if id_prefix is not None:
            query += " AND substr(hex(agreement_id), 1, ?) = upper(?)"
            params += [len(id_prefix), id_prefix]
        query += " ORDER BY agreed_ms DESC, rowid DESC LIMIT ?"
        rows = self._db.execute(query, [*params, limit]).fetchall()
        return [_agreement_row(row) for row in rows]

    # -- vault, grants, holdings, receipts and the audit log (spec/grants.md) ---------------------

    def secure_delete(self) -> None:
        """Overwrite deleted rows with zeros, so a deleted grant's values leave the file too."""
        self._db.execute("PRAGMA secure_delete = ON")

    def put_vault(self, row: VaultRow) -> None:
        self._db.execute(
            "INSERT INTO vault (name, type, sealed, updated_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET type = excluded.type, sealed = excluded.sealed, "
            "updated_ms = excluded.updated_ms",
            (row.name, row.type, row.sealed, row.updated_ms),
        )

    def vault(self, name: str | None = None) -> list[VaultRow]:
        """Vault rows by name: the one called ``name``, or all of them."""
        query = "SELECT name, type, sealed, updated_ms FROM vault"
        rows = self._db.execute(
            query + (" WHERE name = ?" if name is not None else " ORDER BY name"),
            () if name is None else (name,),
        ).fetchall()
        return [VaultRow(str(n), str(t), bytes(s), int(u)) for n, t, s, u in rows]

    def delete_vault(self, name: str) -> bool:
        return self._db.execute("DELETE FROM vault WHERE name = ?", (name,)).rowcount == 1

    def save_issued_grant(self, row: IssuedGrantRow) -> None:
        """Insert a grant we issued, or record its revocation."""
        self._db.execute(
            "INSERT INTO grants_issued (grant_id, peer_id, agreement_id, encoded, issued_ms, "
            "not_after_ms, revocation, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (grant_id) DO UPDATE SET revocation = excluded.revocation, "
            "revoked_ms = excluded.revoked_ms",
            (
                row.grant_id,
                row.peer_id,
                row.agreement_id,
                row.encoded,
                row.issued_ms,
                row.not_after_ms,
                row.revocation,
                row.revoked_ms,
            ),
        )

    def issued_grants(
        self, *, peer_id: bytes | None = None, id_prefix: str | None = None, limit: int = 1000
    ) -> list[IssuedGrantRow]:
        """Grants we issued, newest first: all, to ``peer_id``, or whose hex id starts so."""
        query = (
            "SELECT grant_id, peer_id, agreement_id, encoded, issued_ms, not_after_ms, "
            "revocation, revoked_ms FROM grants_issued WHERE 1"
        )
        params: list[object] = []
        if peer_id is not None:
            query += " AND peer_id = ?"
            params.append(peer_id)
        if id_prefix is not None:
            query += " AND substr(hex(grant_id), 1, ?) = upper(?)"
            params += [len(id_prefix), id_prefix]
        query += " ORDER BY issued_ms DESC, rowid DESC LIMIT ?"
        return [
            IssuedGrantRow(bytes(g), bytes(p), bytes(a), bytes(e), int(i), int(n), _opt(r), rm)
            for g, p, a, e, i, n, r, rm in self._db.execute(query, [*params, limit]).fetchall()
        ]

    def save_holding(self, row: HoldingRow) -> None:
        self._db.execute(
            "INSERT INTO holdings (grant_id, grantor, state, record, timer_at_ms, updated_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (grant_id) DO UPDATE SET "
            "state = excluded.state, record = excluded.record, "
            "timer_at_ms = excluded.timer_at_ms, updated_ms = excluded.updated_ms",
            (row.grant_id, row.grantor, row.state, row.record, row.timer_at_ms, row.updated_ms),
        )

    def holdings(
        self,
        *,
        grant_id: bytes | None = None,
        grantor: bytes | None = None,
        state: str | None = None,
        id_prefix: str | None = None,
        with_timer: bool = False,
    ) -> list[HoldingRow]:
        """Holdings, newest first, narrowed by any of the arguments given."""
        query = (
            "SELECT grant_id, grantor, state, record, timer_at_ms, updated_ms FROM holdings WHERE 1"
        )
        params: list[object] = []
        for column, value in (("grant_id", grant_id), ("grantor", grantor), ("state", state)):
            if value is not None:
                query += f" AND {column} = ?"
                params.append(value)
        if id_prefix is not None:
            query += " AND substr(hex(grant_id), 1, ?) = upper(?)"
            params += [len(id_prefix), id_prefix]
        if with_timer:
            query += " AND timer_at_ms IS NOT NULL"
        rows = self._db.execute(query + " ORDER BY rowid DESC", params).fetchall()
        return [
            HoldingRow(bytes(g), bytes(p), str(s), str(r), t, int(u)) for g, p, s, r, t, u in rows
        ]

    def add_held_value(self, grant_id: bytes, name: str, sealed: bytes) -> None:
        """Keep one sealed value of a held grant (the first one stays, as the holder says)."""
        self._db.execute(
            "INSERT INTO held_values (grant_id, name, sealed) VALUES (?, ?, ?) "
            "ON CONFLICT (grant_id, name) DO NOTHING",
            (grant_id, name, sealed),
        )

    def held_values(self, grant_id: bytes) -> list[tuple[str, bytes]]:
        rows = self._db.execute(
            "SELECT name, sealed FROM held_values WHERE grant_id = ? ORDER BY name", (grant_id,)
        ).fetchall()
        return [(str(name), bytes(sealed)) for name, sealed in rows]

    def delete_held_values(self, grant_id: bytes) -> int:
        """Erase every value of a held grant: a real DELETE (secure_delete zeroes the pages)."""
        return self._db.execute("DELETE FROM held_values WHERE grant_id = ?", (grant_id,)).rowcount

    def add_grant_request(self, row: GrantRequestRow) -> int:
        """Store a request sent or received; returns its local id (``row.id`` is ignored)."""
        cursor = self._db.execute(
            "INSERT INTO grant_requests (peer_id, outgoing, body, at_ms, state, grant_id, "
            "decided_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.peer_id,
                int(row.outgoing),
                row.body,
                row.at_ms,
                row.state,
                row.grant_id,
                row.decided_ms,
            ),
        )
        return int(cursor.lastrowid or 0)

    def decide_grant_request(
        self, request_id: int, state: str, grant_id: bytes | None, decided_ms: int
    ) -> bool:
        cursor = self._db.execute(
            "UPDATE grant_requests SET state = ?, grant_id = ?, decided_ms = ? WHERE id = ?",
            (state, grant_id, decided_ms, request_id),
        )
        return cursor.rowcount == 1

    def grant_requests(
        self, *, request_id: int | None = None, state: str | None = None, limit: int = 1000
    ) -> list[GrantRequestRow]:
        """Requests, newest first: all, one by id, or those in ``state``."""
        query = (
            "SELECT id, peer_id, outgoing, body, at_ms, state, grant_id, decided_ms "
            "FROM grant_requests WHERE 1"
        )
        params: list[object] = []
        if request_id is not None:
            query += " AND id = ?"
            params.append(request_id)
        if state is not None:
            query += " AND state = ?"
            params.append(state)
        rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
        return [
            GrantRequestRow(int(i), bytes(p), bool(o), bytes(b), int(a), str(s), _opt(g), d)
            for i, p, o, b, a, s, g, d in rows
        ]

    def add_grant_receipt(self, row: GrantReceiptRow) -> bool:
        """Keep a receipt once (a repeated delivery receipt is byte-identical); False if known."""
        cursor = self._db.execute(
            "INSERT INTO grant_receipts (peer_id, grant_id, kind, encoded, received_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (encoded) DO NOTHING",
            (row.peer_id, row.grant_id, row.kind, row.encoded, row.received_ms),
        )
        return cursor.rowcount == 1

    def grant_receipts(self, grant_id: bytes | None = None) -> list[GrantReceiptRow]:
        """Receipts, oldest first: all, or those about one grant."""
        query = "SELECT peer_id, grant_id, kind, encoded, received_ms FROM grant_receipts"
        if grant_id is not None:
            query += " WHERE grant_id = ?"
        rows = self._db.execute(
            query + " ORDER BY id", () if grant_id is None else (grant_id,)
        ).fetchall()
        return [
            GrantReceiptRow(bytes(p), bytes(g), str(k), bytes(e), int(r)) for p, g, k, e, r in rows
        ]

    def save_holdings_query(self, row: HoldingsQueryRow) -> None:
        """Insert a query we asked, or record the statement that answered it."""
        self._db.execute(
            "INSERT INTO holdings_queries (query_id, peer_id, asked_ms, statement, answered_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (query_id) DO UPDATE SET "
            "statement = excluded.statement, answered_ms = excluded.answered_ms",
            (row.query_id, row.peer_id, row.asked_ms, row.statement, row.answered_ms),
        )

    def holdings_query(self, query_id: bytes) -> HoldingsQueryRow | None:
        row = self._db.execute(
            "SELECT query_id, peer_id, asked_ms, statement, answered_ms FROM holdings_queries "
            "WHERE query_id = ?",
            (query_id,),
        ).fetchone()
        if row is None:
            return None
        qid, peer, asked, statement, answered = row
        return HoldingsQueryRow(bytes(qid), bytes(peer), int(asked), _opt(statement), answered)

    def add_audit(self, row: AuditRow) -> None:
        """Append one audit entry (index ``row.idx``; the caller keeps the head in meta)."""
        self._db.execute(
            "INSERT INTO audit_log (idx, peer_id, kind, ts_ms, entry) VALUES (?, ?, ?, ?, ?)",
            (row.idx, row.peer_id, row.kind, row.ts_ms, row.entry),
        )

    def audit_entries(self) -> list[AuditRow]:
        """The whole audit log in index order (it is verified as one chain)."""
        rows = self._db.execute(
            "SELECT idx, peer_id, kind, ts_ms, entry FROM audit_log ORDER BY idx"
        ).fetchall()
        return [AuditRow(int(i), _opt(p), str(k), int(t), bytes(e)) for i, p, k, t, e in rows]


def _opt(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


_NEGOTIATION_COLUMNS: Final = (
    "n.negotiation_id, n.peer_id, n.state, n.record, n.created_ms, n.updated_ms, "
    "n.timer_at_ms, a.encoded FROM negotiations n "
    "LEFT JOIN agreements a ON a.negotiation_id = n.negotiation_id"
)
_AGREEMENT_COLUMNS: Final = (
    "agreement_id, negotiation_id, peer_id, terms_id, agreed_ms, encoded, superseded_by "
    "FROM agreements"
)


def _negotiation_row(row: tuple[Any, ...]) -> NegotiationRow:
    nid, peer, state, record, created, updated, timer_at, agreement = row
    return NegotiationRow(
        bytes(nid),
        bytes(peer),
        str(state),
        str(record),
        int(created),
        int(updated),
        None if timer_at is None else int(timer_at),
        None if agreement is None else bytes(agreement),
    )


def _agreement_row(row: tuple[Any, ...]) -> AgreementRow:
    aid, nid, peer, terms_id, agreed, encoded, superseded = row
    return AgreementRow(
        bytes(aid),
        bytes(nid),
        bytes(peer),
        bytes(terms_id),
        int(agreed),
        bytes(encoded),
        None if superseded is None else bytes(superseded),
    )
