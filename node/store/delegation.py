"""Fourth parties (migration 15, spec/delegation.md): capabilities she issued or this agent
holds, acts asked, handled or received, and revocations a vendor keeps; each as JSON, keyed by
its id (amity.node.delegation.service writes the JSON)."""

from __future__ import annotations

from amity.node.store.engine import Connection

__all__ = ["DelegationTables"]


class DelegationTables:
    _db: Connection

    def put_delegation(self, record_id: bytes, kind: str, at_ms: int, record: str) -> None:
        self._db.execute(
            "INSERT INTO delegations (record_id, kind, at_ms, record) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (record_id) DO UPDATE SET record = excluded.record",
            (record_id, kind, at_ms, record),
        )

    def delegation_rows(self) -> list[tuple[str, str]]:
        """(kind, record) of every row, oldest first."""
        rows = self._db.execute("SELECT kind, record FROM delegations ORDER BY at_ms, record_id")
        return [(str(k), str(r)) for k, r in rows]
