"""The vendor's console: relationships a page at a time, searched by name, fingerprint or did.

Each search is a prefix of one indexed column (migration 12), and a page is the next (or the
previous) ``limit`` rows in that column's order after a row it names (keyset): a page costs
the same at the first row as at the hundred-thousandth, and nothing loads all rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from amity.node.store.core import RelationshipRow
from amity.node.store.engine import Connection

__all__ = ["CustomersTables", "SEARCH_COLUMNS", "SearchBy", "FoundRow"]

SearchBy = Literal["name", "fingerprint", "did"]

#: The column each search looks in; a page is in its order, then by id.
SEARCH_COLUMNS: Final[dict[SearchBy, str]] = {
    "name": "peer_name",
    "fingerprint": "peer_fingerprint",
    "did": "peer_did",
}
#: Above every character: ``prefix <= column < prefix + _TOP`` is "starts with prefix".
_TOP: Final = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class FoundRow:
    """A relationship found by a search, with its row id (a page's cursor)."""

    id: int
    row: RelationshipRow


class CustomersTables:
    _db: Connection

    def find_relationships(
        self,
        by: SearchBy,
        prefix: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int,
    ) -> list[FoundRow]:
        """Up to ``limit`` relationships whose ``by`` column starts with ``prefix``, in that
        column's order: the first ones, those after the row ``after``, or (``before``) the
        last ones before that row. Relationships without a known peer have no such column."""
        column = SEARCH_COLUMNS[by]
        low, high = prefix, prefix + _TOP
        where = f"{column} >= ? AND {column} < ?"
        cursor = after if after is not None else before
        order = "ASC" if before is None or after is not None else "DESC"
        params: list[object] = []
        if cursor is not None:
            mark = self._db.execute(
                f"SELECT {column} FROM relationships WHERE id = ?", (cursor,)
            ).fetchone()
            if mark is None or mark[0] is None:
                return []
            # The cursor's own value bounds the index range, so SQLite seeks to it instead of
            # walking every row before it; the row value then skips its equals up to its id.
            if order == "ASC":
                low = max(low, mark[0])
                where += f" AND ({column}, id) > (?, ?)"
            else:
                where = f"{column} >= ? AND {column} <= ?"
                high = min(high, mark[0])
                where += f" AND ({column}, id) < (?, ?)"
            params = [mark[0], cursor]
        params = [low, high, *params]
        rows = self._db.execute(
            "SELECT id, invite_secret, peer_id, state, record, updated_ms FROM relationships "
            f"WHERE {where} ORDER BY {column} {order}, id {order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        found = [
            FoundRow(i, RelationshipRow(bytes(s), None if p is None else bytes(p), st, r, u))
            for i, s, p, st, r, u in rows
        ]
        return found if order == "ASC" else found[::-1]

    def count_found_relationships(self, by: SearchBy, prefix: str) -> int:
        """How many relationships :meth:`find_relationships` would find in all its pages."""
        column = SEARCH_COLUMNS[by]
        (count,) = self._db.execute(
            f"SELECT count(*) FROM relationships WHERE {column} >= ? AND {column} < ?",
            (prefix, prefix + _TOP),
        ).fetchone()
        return int(count)

    def connected_after(self, after: int, limit: int) -> list[FoundRow]:
        """Up to ``limit`` CONNECTED relationships with row ids above ``after``, in id order:
        a page of a walk over every connected peer (a card change told to a million customers
        without holding them all in memory)."""
        rows = self._db.execute(
            "SELECT id, invite_secret, peer_id, state, record, updated_ms FROM relationships "
            "WHERE id > ? AND state = ? ORDER BY id LIMIT ?",
            (after, "connected", limit),
        ).fetchall()
        return [
            FoundRow(i, RelationshipRow(bytes(s), None if p is None else bytes(p), st, r, u))
            for i, s, p, st, r, u in rows
        ]

    def unindexed_relationships(self, limit: int) -> list[FoundRow]:
        """Relationships with a peer but no search columns yet (stored before migration 12)."""
        rows = self._db.execute(
            "SELECT id, invite_secret, peer_id, state, record, updated_ms FROM relationships "
            "WHERE peer_id IS NOT NULL AND peer_did IS NULL ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            FoundRow(i, RelationshipRow(bytes(s), bytes(p), st, r, u)) for i, s, p, st, r, u in rows
        ]

    def set_search_columns(self, row_id: int, name: str, fingerprint: str, did: str) -> None:
        self._db.execute(
            "UPDATE relationships SET peer_name = ?, peer_fingerprint = ?, peer_did = ? "
            "WHERE id = ?",
            (name, fingerprint, did, row_id),
        )
