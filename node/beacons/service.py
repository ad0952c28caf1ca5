"""The support beacons service on a daemon: beacons in memory, mirrored to SQLite per commit.

What each message means is amity.protocol.core.beacons; here its effects become one staged
commit (the beacon as JSON, the messages in the outbox) and, once on disk, an event.
"""

from __future__ import annotations

import functools
import json
import os
from typing import TYPE_CHECKING, Any

from amity.node.services import SmallService, Staged
from amity.protocol.beacons import BEACON_ID_BYTES, BEACON_TYPES
from amity.protocol.core import beacons as core
from amity.protocol.core.beacons import Beacon, BeaconEffect, Line, SaveBeacon
from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, SendMessage

if TYPE_CHECKING:
    from amity.node.daemon import Node

__all__ = ["BeaconsService", "beacon_text", "beacon_from"]


class BeaconsService(SmallService):
    """See the module docstring; the host of amity.protocol.core.beacons too."""

    types: frozenset[str] = BEACON_TYPES

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.beacons: dict[tuple[PeerId, bytes], Beacon] = {}
        for text in node.store.beacon_records():
            b = beacon_from(text)
            self.beacons[(b.raiser, b.beacon_id)] = b

    # -- the host (with SmallService's keyring and relationship) ------------------------------------

    def beacon(self, raiser: PeerId, beacon_id: bytes) -> Beacon | None:
        return self.beacons.get((raiser, beacon_id))

    def open_from(self, raiser: PeerId) -> int:
        return sum(1 for (r, _), b in self.beacons.items() if r == raiser and b.is_open)

    # -- the Service protocol -----------------------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        return self._stage(core.receive(self, envelope, now_ms))

    # -- what the owner asks ------------------------------------------------------------------------

    async def raise_beacon(
        self, recipients: tuple[PeerId, ...], topic: str, text: str, about: PeerId | None
    ) -> Beacon:
        beacon, effects = core.raise_beacon(
            self, recipients, self.node.clock_ms(), beacon_id=os.urandom(BEACON_ID_BYTES),
            topic=topic, text=text, about=about,
        )  # fmt: skip
        await self.node.commit(self._stage(effects))
        return beacon

    async def answer(self, beacon: Beacon, text: str, to: PeerId | None) -> Beacon:
        updated, effects = core.answer(
            self, beacon.raiser, beacon.beacon_id, text, self.node.clock_ms(), to=to
        )
        await self.node.commit(self._stage(effects))
        return updated

    async def close(self, beacon: Beacon) -> Beacon:
        updated, effects = core.close(self, beacon.beacon_id, self.node.clock_ms())
        await self.node.commit(self._stage(effects))
        return updated

    def _stage(self, effects: list[BeaconEffect]) -> Staged:
        saved = []
        for effect in effects:
            if not isinstance(effect, SaveBeacon):
                continue
            b = effect.beacon
            self.beacons[(b.raiser, b.beacon_id)] = b
            text = beacon_text(b)
            write = functools.partial(self.node.store.put_beacon, b.raiser.key, b.beacon_id, text)
            detail: dict[str, object] = {
                "beacon": b.beacon_id.hex(), "raiser": b.raiser.did, "topic": b.topic,
            }  # fmt: skip
            saved.append((write, f"beacon.{effect.what}", detail))
        return self.stage_saved([e for e in effects if isinstance(e, SendMessage)], saved)


def beacon_text(b: Beacon) -> str:
    data: dict[str, Any] = {
        "id": b.beacon_id.hex(),
        "raiser": b.raiser.key.hex(),
        "mine": b.mine,
        "topic": b.topic,
        "text": b.text,
        "about": None if b.about is None else b.about.key.hex(),
        "raised_ms": b.raised_ms,
        "recipients": [p.key.hex() for p in b.recipients],
        "lines": [[ln.peer.key.hex(), ln.author.key.hex(), ln.text, ln.at_ms] for ln in b.lines],
        "closed_ms": b.closed_ms,
    }
    return json.dumps(data)


def beacon_from(text: str) -> Beacon:
    d = json.loads(text)

    def peer(hex_key: str) -> PeerId:
        return PeerId(bytes.fromhex(hex_key))

    return Beacon(
        beacon_id=bytes.fromhex(d["id"]),
        raiser=peer(d["raiser"]),
        mine=bool(d["mine"]),
        topic=d["topic"],
        text=d["text"],
        about=None if d["about"] is None else peer(d["about"]),
        raised_ms=int(d["raised_ms"]),
        recipients=tuple(peer(p) for p in d["recipients"]),
        lines=tuple(Line(peer(p), peer(a), t, int(at)) for p, a, t, at in d["lines"]),
        closed_ms=d["closed_ms"],
    )
