"""Loyalty declarations (migration 10, spec/loyalty.md): hers and those received, each kept whole
(its signed bytes, and its revocation's once there is one)."""

from __future__ import annotations

from amity.node.store.engine import Connection

__all__ = ["LoyaltyTables"]


class LoyaltyTables:
    _db: Connection

    def put_loyalty(
        self, declaration_id: bytes, mine: bool, at_ms: int, declaration: bytes,
        revocation: bytes | None,
    ) -> None:  # fmt: skip
        self._db.execute(
            "INSERT INTO loyalty (declaration_id, mine, at_ms, declaration, revocation) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (declaration_id) DO UPDATE SET "
            "revocation = excluded.revocation",
            (declaration_id, int(mine), at_ms, declaration, revocation),
        )

    def loyalty_rows(self) -> list[tuple[bool, int, bytes, bytes | None]]:
        """(mine, at_ms, declaration, revocation) of every declaration, oldest first."""
        rows = self._db.execute(
            "SELECT mine, at_ms, declaration, revocation FROM loyalty ORDER BY at_ms, rowid"
        )
        return [
            (bool(m), int(at), bytes(d), None if r is None else bytes(r)) for m, at, d, r in rows
        ]
