"""The vault, grants issued and held, requests, receipts and the audit log (spec/grants.md §14)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from amity.node.store.base import opt_bytes
from amity.node.store.engine import Connection, id_prefix_clause

__all__ = [
    "GrantsTables",
    "VaultRow",
    "IssuedGrantRow",
    "HoldingRow",
    "GrantRequestRow",
    "GrantReceiptRow",
    "HoldingsQueryRow",
    "AuditRow",
]


@dataclass(frozen=True, slots=True)
class VaultRow:
    """A vault field: its name, its type in clear (for listing), its value sealed (§3)."""

    name: str
    type: str
    sealed: bytes
    updated_ms: int


@dataclass(frozen=True, slots=True)
class IssuedGrantRow:
    """A grant we signed (its exact bytes), once revoked the signed revocation, and the newest
    version of its values sent in an update (spec/signals.md §2)."""

    grant_id: bytes
    peer_id: bytes
    agreement_id: bytes
    encoded: bytes
    issued_ms: int
    not_after_ms: int
    revocation: bytes | None = None
    revoked_ms: int | None = None
    update_version: int = 0


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


class GrantsTables:
    """Queries on these tables (mixed into :class:`amity.node.store.Store`)."""

    _db: Connection

    erased: Callable[[], None]  # StoreBase's: the transaction erased data (WAL emptied after)

    # -- vault, grants, holdings, receipts and the audit log (spec/grants.md) ---------------------

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
        self.erased()
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
            "revocation, revoked_ms, update_version FROM grants_issued WHERE TRUE"
        )
        params: list[object] = []
        if peer_id is not None:
            query += " AND peer_id = ?"
            params.append(peer_id)
        if id_prefix is not None:
            clause, values = id_prefix_clause("grant_id", id_prefix)
            query += clause
            params += values
        query += " ORDER BY issued_ms DESC, rowid DESC LIMIT ?"
        return [
            IssuedGrantRow(
                bytes(g), bytes(p), bytes(a), bytes(e), int(i), int(n), opt_bytes(r), rm, int(v)
            )
            for g, p, a, e, i, n, r, rm, v in self._db.execute(query, [*params, limit]).fetchall()
        ]

    def set_update_version(self, grant_id: bytes, version: int) -> None:
        """Record the newest version of a grant's values sent in an update."""
        self._db.execute(
            "UPDATE grants_issued SET update_version = ? WHERE grant_id = ?", (version, grant_id)
        )

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
        query = "SELECT grant_id, grantor, state, record, timer_at_ms, updated_ms FROM holdings WHERE TRUE"
        params: list[object] = []
        for column, value in (("grant_id", grant_id), ("grantor", grantor), ("state", state)):
            if value is not None:
                query += f" AND {column} = ?"
                params.append(value)
        if id_prefix is not None:
            clause, values = id_prefix_clause("grant_id", id_prefix)
            query += clause
            params += values
        if with_timer:
            query += " AND timer_at_ms IS NOT NULL"
        rows = self._db.execute(query + " ORDER BY rowid DESC", params).fetchall()
        return [
            HoldingRow(bytes(g), bytes(p), str(s), str(r), t, int(u)) for g, p, s, r, t, u in rows
        ]

    def holdings_after(self, after: bytes | None, limit: int) -> list[HoldingRow]:
        """Up to ``limit`` holdings in grant-id order, those after ``after`` (a page of an
        export: each page is one seek in the primary key, at any size)."""
        rows = self._db.execute(
            "SELECT grant_id, grantor, state, record, timer_at_ms, updated_ms FROM holdings "
            "WHERE grant_id > ? ORDER BY grant_id LIMIT ?",
            (b"" if after is None else after, limit),
        ).fetchall()
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
        """Erase every value of a held grant: a real DELETE (secure_delete zeroes the pages),
        and the WAL is emptied once the transaction commits (spec/grants.md §8.7)."""
        self.erased()
        return self._db.execute("DELETE FROM held_values WHERE grant_id = ?", (grant_id,)).rowcount

    def add_grant_request(self, row: GrantRequestRow) -> int:
        """Store a request sent or received; returns its local id (``row.id`` is ignored)."""
        cursor = self._db.execute(
            "INSERT INTO grant_requests (peer_id, outgoing, body, at_ms, state, grant_id, "
            "decided_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        return int(cursor.fetchone()[0])

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
            "FROM grant_requests WHERE TRUE"
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
            GrantRequestRow(int(i), bytes(p), bool(o), bytes(b), int(a), str(s), opt_bytes(g), d)
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
        return HoldingsQueryRow(bytes(qid), bytes(peer), int(asked), opt_bytes(statement), answered)

    def add_audit(self, row: AuditRow) -> None:
        """Append one audit entry (index ``row.idx``; the caller keeps the head in meta)."""
        self._db.execute(
            "INSERT INTO audit_log (idx, peer_id, kind, ts_ms, entry) VALUES (?, ?, ?, ?, ?)",
            (row.idx, row.peer_id, row.kind, row.ts_ms, row.entry),
        )

    def audit_entries(self, start: int = 0) -> list[AuditRow]:
        """The audit log in index order, from entry ``start`` (it is verified as one chain)."""
        rows = self._db.execute(
            "SELECT idx, peer_id, kind, ts_ms, entry FROM audit_log WHERE idx >= ? ORDER BY idx",
            (start,),
        ).fetchall()
        return [AuditRow(int(i), opt_bytes(p), str(k), int(t), bytes(e)) for i, p, k, t, e in rows]
