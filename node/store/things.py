"""Things she owns (migration 13, spec/things.md §3): each thing's signed card and its key's
seed, sealed at rest with the vault key."""

from __future__ import annotations

import sqlite3

__all__ = ["ThingsTables"]


class ThingsTables:
    _db: sqlite3.Connection

    def add_thing(self, thing_id: bytes, added_ms: int, card: bytes, sealed_seed: bytes) -> None:
        self._db.execute(
            "INSERT INTO things (thing_id, added_ms, card, sealed_seed) VALUES (?, ?, ?, ?)",
            (thing_id, added_ms, card, sealed_seed),
        )

    def thing_rows(self) -> list[tuple[bytes, int, bytes, bytes]]:
        """(thing_id, added_ms, card, sealed_seed) of every thing, oldest first."""
        rows = self._db.execute(
            "SELECT thing_id, added_ms, card, sealed_seed FROM things ORDER BY added_ms, rowid"
        )
        return [(bytes(t), int(at), bytes(c), bytes(s)) for t, at, c, s in rows]
