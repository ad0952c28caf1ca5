"""Attestations, rebuttals, what was shared with whom, share policies and vouches (migration 4).

See spec/reputation.md §6: the node keeps the exact bytes of every attestation it made or
received, with where it came from (``origin`` None for its own), how far it travelled and, for
its own, the owner's review (pending, approved, withheld).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amity.node.store.base import opt_bytes
from amity.node.store.engine import Connection, id_prefix_clause

__all__ = ["ReputationTables", "AttestationRow", "SharePolicyRow"]

_COLUMNS = (
    "attestation_id, attester, subject, verdict, encoded, issued_ms, expires_ms, origin, hops, "
    "review, cause, received_ms"
)


@dataclass(frozen=True, slots=True)
class AttestationRow:
    """An attestation we hold: ours (``origin`` None) or received from ``origin``."""

    attestation_id: bytes
    attester: bytes
    subject: bytes
    verdict: str
    encoded: bytes
    issued_ms: int
    expires_ms: int
    origin: bytes | None
    hops: int
    #: Ours: pending | approved | withheld. Received: received.
    review: str
    #: For an automatic attestation, the grant it is about (one per grant).
    cause: bytes | None
    received_ms: int


@dataclass(frozen=True, slots=True)
class SharePolicyRow:
    """What we share with one peer: none | mine | all, how far relayed ones may go, how fast."""

    peer_id: bytes
    mode: str
    max_hops: int
    per_hour: int
    updated_ms: int


def _row(values: Any) -> AttestationRow:
    aid, attester, subject, verdict, encoded, issued, expires, origin, hops, review, cause, at = (
        values
    )
    return AttestationRow(
        bytes(aid),
        bytes(attester),
        bytes(subject),
        str(verdict),
        bytes(encoded),
        int(issued),
        int(expires),
        opt_bytes(origin),
        int(hops),
        str(review),
        opt_bytes(cause),
        int(at),
    )


class ReputationTables:
    """Queries on the reputation tables (mixed into :class:`amity.node.store.Store`)."""

    _db: Connection

    def add_attestation(self, row: AttestationRow) -> bool:
        """Insert unless held already (same id, or an automatic one for the same cause)."""
        cursor = self._db.execute(
            f"INSERT INTO attestations ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                row.attestation_id,
                row.attester,
                row.subject,
                row.verdict,
                row.encoded,
                row.issued_ms,
                row.expires_ms,
                row.origin,
                row.hops,
                row.review,
                row.cause,
                row.received_ms,
            ),
        )
        return cursor.rowcount == 1

    def set_review(self, attestation_id: bytes, review: str) -> None:
        self._db.execute(
            "UPDATE attestations SET review = ? WHERE attestation_id = ? AND origin IS NULL",
            (review, attestation_id),
        )

    def attestations(
        self,
        *,
        subject: bytes | None = None,
        origin: bytes | None = None,
        mine: bool | None = None,
        review: str | None = None,
        id_prefix: str | None = None,
        limit: int = 100_000,
        newest: bool = False,
    ) -> list[AttestationRow]:
        """Attestations held, oldest first (``newest``: newest first), narrowed by any of the
        arguments given."""
        query = f"SELECT {_COLUMNS} FROM attestations WHERE TRUE"
        params: list[object] = []
        for column, value in (("subject", subject), ("origin", origin), ("review", review)):
            if value is not None:
                query += f" AND {column} = ?"
                params.append(value)
        if mine is not None:
            query += " AND origin IS NULL" if mine else " AND origin IS NOT NULL"
        if id_prefix is not None:
            clause, values = id_prefix_clause("attestation_id", id_prefix)
            query += clause
            params += values
        order = "DESC" if newest else "ASC"
        query += f" ORDER BY received_ms {order}, rowid {order} LIMIT ?"
        return [_row(v) for v in self._db.execute(query, [*params, limit]).fetchall()]

    def caused(self) -> set[bytes]:
        """The grants that an automatic attestation is about already."""
        rows = self._db.execute("SELECT cause FROM attestations WHERE cause IS NOT NULL")
        return {bytes(c) for (c,) in rows.fetchall()}

    def count_from(self, origin: bytes) -> int:
        (count,) = self._db.execute(
            "SELECT count(*) FROM attestations WHERE origin = ?", (origin,)
        ).fetchone()
        return int(count)

    def delete_expired_attestations(self, now_ms: int) -> int:
        expired = "SELECT attestation_id FROM attestations WHERE expires_ms <= ?"
        self._db.execute(f"DELETE FROM rebuttals WHERE attestation_id IN ({expired})", (now_ms,))
        self._db.execute(f"DELETE FROM shared WHERE attestation_id IN ({expired})", (now_ms,))
        return self._db.execute(
            "DELETE FROM attestations WHERE expires_ms <= ?", (now_ms,)
        ).rowcount

    def add_rebuttal(self, attestation_id: bytes, encoded: bytes, now_ms: int) -> bool:
        cursor = self._db.execute(
            "INSERT INTO rebuttals (attestation_id, encoded, received_ms) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (attestation_id, encoded, now_ms),
        )
        return cursor.rowcount == 1

    def rebuttals(self, attestation_id: bytes) -> list[bytes]:
        rows = self._db.execute(
            "SELECT encoded FROM rebuttals WHERE attestation_id = ? ORDER BY rowid",
            (attestation_id,),
        )
        return [bytes(e) for (e,) in rows.fetchall()]

    def mark_shared(self, peer_id: bytes, attestation_ids: list[bytes], now_ms: int) -> None:
        self._db.executemany(
            "INSERT INTO shared (peer_id, attestation_id, shared_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (peer_id, attestation_id) DO UPDATE SET shared_ms = excluded.shared_ms",
            [(peer_id, aid, now_ms) for aid in attestation_ids],
        )

    def shared_with(self, peer_id: bytes) -> set[bytes]:
        rows = self._db.execute("SELECT attestation_id FROM shared WHERE peer_id = ?", (peer_id,))
        return {bytes(a) for (a,) in rows.fetchall()}

    def shared_since(self, peer_id: bytes, since_ms: int) -> int:
        (count,) = self._db.execute(
            "SELECT count(*) FROM shared WHERE peer_id = ? AND shared_ms >= ?",
            (peer_id, since_ms),
        ).fetchone()
        return int(count)

    def save_share_policy(self, row: SharePolicyRow) -> None:
        self._db.execute(
            "INSERT INTO share_policies (peer_id, mode, max_hops, per_hour, updated_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (peer_id) DO UPDATE SET mode = excluded.mode, "
            "max_hops = excluded.max_hops, per_hour = excluded.per_hour, "
            "updated_ms = excluded.updated_ms",
            (row.peer_id, row.mode, row.max_hops, row.per_hour, row.updated_ms),
        )

    def share_policies(self) -> list[SharePolicyRow]:
        rows = self._db.execute(
            "SELECT peer_id, mode, max_hops, per_hour, updated_ms FROM share_policies "
            "ORDER BY peer_id"
        )
        return [SharePolicyRow(bytes(p), str(m), int(h), int(r), int(u)) for p, m, h, r, u in rows]

    def set_vouch(self, peer_id: bytes, at_ms: int | None) -> None:
        """Vouch for ``peer_id`` (``at_ms``), or withdraw the vouch (None)."""
        if at_ms is None:
            self._db.execute("DELETE FROM vouches WHERE peer_id = ?", (peer_id,))
        else:
            self._db.execute(
                "INSERT INTO vouches (peer_id, at_ms) VALUES (?, ?) "
                "ON CONFLICT (peer_id) DO UPDATE SET at_ms = excluded.at_ms",
                (peer_id, at_ms),
            )

    def vouches(self) -> list[bytes]:
        rows = self._db.execute("SELECT peer_id FROM vouches ORDER BY peer_id")
        return [bytes(p) for (p,) in rows.fetchall()]
