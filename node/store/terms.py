"""Negotiations and agreements (spec/terms.md §13)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from amity.node.store.engine import Connection, id_prefix_clause

__all__ = ["TermsTables", "NegotiationRow", "AgreementRow"]


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
    #: When it ended with its relationship (spec/terms.md §10); None while in force.
    ended_ms: int | None = None
    #: When this node reached AGREED (its own clock), from the negotiation; ``agreed_ms`` is
    #: the proposer's time, signed into the agreement before the other side accepted.
    concluded_ms: int | None = None


# -- rows of the vault, grants and audit log (spec/grants.md) --------------------------------------


class TermsTables:
    """Queries on these tables (mixed into :class:`amity.node.store.Store`)."""

    _db: Connection

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
        query = f"SELECT {_NEGOTIATION_COLUMNS} WHERE TRUE"
        params: list[object] = []
        if peer_id is not None:
            query += " AND n.peer_id = ?"
            params.append(peer_id)
        if id_prefix is not None:
            clause, values = id_prefix_clause("n.negotiation_id", id_prefix)
            query += clause
            params += values
        if with_timer:
            query += " AND n.timer_at_ms IS NOT NULL"
        query += " ORDER BY n.created_ms DESC, n.rowid DESC"
        if limit >= 0:  # a negative limit: all of them
            query += " LIMIT ?"
            params.append(limit)
        rows = self._db.execute(query, params).fetchall()
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

    def end_agreement(self, agreement_id: bytes, ended_ms: int) -> None:
        """Mark an agreement as ended with its relationship (kept as evidence)."""
        self._db.execute(
            "UPDATE agreements SET ended_ms = ? WHERE agreement_id = ? AND ended_ms IS NULL",
            (ended_ms, agreement_id),
        )

    def agreed_peers(self) -> list[bytes]:
        """The peers with an agreement that has not ended."""
        rows = self._db.execute(
            "SELECT DISTINCT peer_id FROM agreements WHERE ended_ms IS NULL"
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def agreement(self, agreement_id: bytes) -> AgreementRow | None:
        row = self._db.execute(
            f"SELECT {_AGREEMENT_COLUMNS} WHERE agreement_id = ?", (agreement_id,)
        ).fetchone()
        return None if row is None else _agreement_row(row)

    def agreements(
        self, *, peer_id: bytes | None = None, id_prefix: str | None = None, limit: int = 1000
    ) -> list[AgreementRow]:
        """Agreements, newest first: all, or with ``peer_id``, or whose hex id starts so."""
        query = f"SELECT {_AGREEMENT_COLUMNS} WHERE TRUE"
        params: list[object] = []
        if peer_id is not None:
            query += " AND peer_id = ?"
            params.append(peer_id)
        if id_prefix is not None:
            clause, values = id_prefix_clause("agreement_id", id_prefix)
            query += clause
            params += values
        query += " ORDER BY agreed_ms DESC, rowid DESC LIMIT ?"
        rows = self._db.execute(query, [*params, limit]).fetchall()
        return [_agreement_row(row) for row in rows]


_NEGOTIATION_COLUMNS: Final = (
    "n.negotiation_id, n.peer_id, n.state, n.record, n.created_ms, n.updated_ms, "
    "n.timer_at_ms, a.encoded FROM negotiations n "
    "LEFT JOIN agreements a ON a.negotiation_id = n.negotiation_id"
)
_AGREEMENT_COLUMNS: Final = (
    "agreement_id, negotiation_id, peer_id, terms_id, agreed_ms, encoded, superseded_by, "
    "ended_ms, (SELECT n.updated_ms FROM negotiations n "
    "WHERE n.negotiation_id = agreements.negotiation_id) FROM agreements"
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
    aid, nid, peer, terms_id, agreed, encoded, superseded, ended, concluded = row
    return AgreementRow(
        bytes(aid),
        bytes(nid),
        bytes(peer),
        bytes(terms_id),
        int(agreed),
        bytes(encoded),
        None if superseded is None else bytes(superseded),
        None if ended is None else int(ended),
        None if concluded is None else int(concluded),
    )
