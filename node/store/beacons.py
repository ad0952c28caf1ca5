"""Support beacons (migration 11, spec/beacons.md): each beacon as JSON, keyed by who raised it
and its id (amity.node.beacons.service writes the JSON)."""

from __future__ import annotations

from amity.node.store.engine import Connection

__all__ = ["BeaconsTables"]


class BeaconsTables:
    _db: Connection

    def put_beacon(self, raiser: bytes, beacon_id: bytes, record: str) -> None:
        self._db.execute(
            "INSERT INTO beacons (raiser, beacon_id, record) VALUES (?, ?, ?) "
            "ON CONFLICT (raiser, beacon_id) DO UPDATE SET record = excluded.record",
            (raiser, beacon_id, record),
        )

    def beacon_records(self) -> list[str]:
        return [str(r) for (r,) in self._db.execute("SELECT record FROM beacons ORDER BY rowid")]
