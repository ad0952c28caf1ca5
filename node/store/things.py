"""Things she owns (migrations 13 and 14, spec/things.md §3-4): each thing's signed card, its
key's seed sealed at rest with the vault key (b"" once sold), where it stands, the transfer in
flight and the sales before (a msgpack array of their bytes; NULL for none before migration
14)."""

from __future__ import annotations

from typing import TypeAlias

from amity.node.store.engine import Connection

__all__ = ["ThingRow", "ThingsTables"]

#: (thing_id, at_ms, card, state, transfer, history); the sealed seed is kept beside it.
ThingRow: TypeAlias = tuple[bytes, int, bytes, str, bytes | None, bytes]


class ThingsTables:
    _db: Connection

    def put_thing(self, row: ThingRow, sealed_seed: bytes | None) -> None:
        """Insert or replace one thing; a ``sealed_seed`` of None keeps the one stored."""
        key, at_ms, card, state, transfer, history = row
        self._db.execute(
            "INSERT INTO things (thing_id, added_ms, card, sealed_seed, state, transfer, history) "
            "VALUES (?, ?, ?, coalesce(?, ?), ?, ?, ?) ON CONFLICT (thing_id) DO UPDATE SET "
            "added_ms = excluded.added_ms, card = excluded.card, "
            "sealed_seed = coalesce(?, things.sealed_seed), state = excluded.state, "
            "transfer = excluded.transfer, history = excluded.history",
            (key, at_ms, card, sealed_seed, b"", state, transfer, history, sealed_seed),
        )

    def thing_rows(self) -> list[tuple[ThingRow, bytes]]:
        """Every thing with its sealed seed (b"": none), oldest first."""
        rows = self._db.execute(
            "SELECT thing_id, added_ms, card, sealed_seed, state, transfer, history FROM things "
            "ORDER BY added_ms, rowid"
        )
        return [
            ((bytes(k), int(at), bytes(c), str(st), None if t is None else bytes(t),
              b"\x90" if h is None else bytes(h)), bytes(s))
            for k, at, c, s, st, t, h in rows
        ]  # fmt: skip
