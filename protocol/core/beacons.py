"""The support beacons' rules (spec/beacons.md §3), sans-IO, for the daemon and any driver.

She raises a beacon to peers she chooses; each may answer her; she answers each back; she
closes it. A peer keeps the beacons raised to it and its own thread with her; she keeps every
thread. Floods are refused: at most ``MAX_OPEN_FROM_ONE`` open beacons from one peer, at most
``MAX_LINES_FROM_ONE`` lines from one peer in one thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Protocol, TypeAlias

from amity.protocol.beacons import (
    MSG_ANSWER,
    MSG_CLOSE,
    MSG_RAISE,
    Answer,
    Close,
    Raise,
    decode_beacon_body,
    encode_beacon_body,
)
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    BeaconClosedError,
    BeaconFloodError,
    BeaconUnknownError,
    NodeError,
    UsageError,
)
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, RelationshipState, SendMessage

__all__ = [
    "MAX_RECIPIENTS",
    "MAX_OPEN_FROM_ONE",
    "MAX_LINES_FROM_ONE",
    "Line",
    "Beacon",
    "SaveBeacon",
    "BeaconEffect",
    "BeaconHost",
    "raise_beacon",
    "answer",
    "close",
    "receive",
]

MAX_RECIPIENTS: Final = 16
MAX_OPEN_FROM_ONE: Final = 8
MAX_LINES_FROM_ONE: Final = 64


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the thread between the raiser and ``peer``, written by ``author``."""

    peer: PeerId
    author: PeerId
    text: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class Beacon:
    beacon_id: bytes
    raiser: PeerId
    mine: bool
    topic: str
    text: str
    about: PeerId | None
    raised_ms: int
    #: Whom she raised it to (on a recipient's node: itself alone).
    recipients: tuple[PeerId, ...]
    lines: tuple[Line, ...] = ()
    closed_ms: int | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_ms is None


@dataclass(frozen=True, slots=True)
class SaveBeacon:
    """Store the beacon (replacing the one there); ``what`` names the event: raised, received,
    answered, closed."""

    beacon: Beacon
    what: str


BeaconEffect: TypeAlias = SaveBeacon | SendMessage


class BeaconHost(Protocol):
    @property
    def keyring(self) -> Keyring: ...

    def relationship(self, peer: PeerId) -> Relationship | None: ...

    def beacon(self, raiser: PeerId, beacon_id: bytes) -> Beacon | None: ...

    def open_from(self, raiser: PeerId) -> int:
        """How many open beacons raised by ``raiser`` this node holds."""
        ...


def _connected(host: BeaconHost, peer: PeerId) -> None:
    rel = host.relationship(peer)
    if rel is None or rel.state is not RelationshipState.CONNECTED:
        raise NodeError(f"no relationship with {peer.short}")


def raise_beacon(
    host: BeaconHost,
    recipients: tuple[PeerId, ...],
    now_ms: int,
    *,
    beacon_id: bytes,
    topic: str,
    text: str = "",
    about: PeerId | None = None,
) -> tuple[Beacon, list[BeaconEffect]]:
    """Raise a beacon to ``recipients`` (peers with a CONNECTED relationship)."""
    unique = tuple(dict.fromkeys(recipients))
    if not 1 <= len(unique) <= MAX_RECIPIENTS:
        raise UsageError(f"a beacon goes to 1 to {MAX_RECIPIENTS} peers")
    for peer in unique:
        _connected(host, peer)
    me = host.keyring.identity.peer_id
    body = encode_beacon_body(Raise(beacon_id, topic, text, about, now_ms))
    beacon = Beacon(beacon_id, me, True, topic, text, about, now_ms, unique)
    sends: list[BeaconEffect] = [SendMessage(p, MSG_RAISE, body) for p in unique]
    return beacon, [SaveBeacon(beacon, "raised"), *sends]


def answer(
    host: BeaconHost,
    raiser: PeerId,
    beacon_id: bytes,
    text: str,
    now_ms: int,
    *,
    to: PeerId | None = None,
) -> tuple[Beacon, list[BeaconEffect]]:
    """A line in a thread: hers to ``to`` (one of her recipients), or a recipient's to her."""
    beacon = host.beacon(raiser, beacon_id)
    if beacon is None:
        raise NodeError(f"no beacon {beacon_id.hex()[:8]}")
    if not beacon.is_open:
        raise NodeError(f"beacon {beacon_id.hex()[:8]} is closed")
    me = host.keyring.identity.peer_id
    if beacon.mine:
        if to is None or to not in beacon.recipients:
            raise UsageError("answer one of the peers the beacon went to (--to PEER)")
        peer = to
    else:
        peer = beacon.raiser
    body = encode_beacon_body(Answer(beacon_id, text, now_ms))
    updated = replace(beacon, lines=(*beacon.lines, Line(peer, me, text, now_ms)))
    return updated, [SaveBeacon(updated, "answered"), SendMessage(peer, MSG_ANSWER, body)]


def close(host: BeaconHost, beacon_id: bytes, now_ms: int) -> tuple[Beacon, list[BeaconEffect]]:
    """She closes her beacon; every recipient is told."""
    me = host.keyring.identity.peer_id
    beacon = host.beacon(me, beacon_id)
    if beacon is None or not beacon.mine:
        raise NodeError(f"no beacon {beacon_id.hex()[:8]} of yours")
    if not beacon.is_open:
        raise NodeError(f"beacon {beacon_id.hex()[:8]} is already closed")
    updated = replace(beacon, closed_ms=now_ms)
    body = encode_beacon_body(Close(beacon_id, now_ms))
    sends: list[BeaconEffect] = [SendMessage(p, MSG_CLOSE, body) for p in beacon.recipients]
    return updated, [SaveBeacon(updated, "closed"), *sends]


def receive(host: BeaconHost, envelope: Envelope, now_ms: int) -> list[BeaconEffect]:
    """A peer's ``beacon.*`` message; raises the AmityError that refuses it."""
    sender, me = envelope.sender, host.keyring.identity.peer_id
    body = decode_beacon_body(envelope.type, envelope.body)
    if isinstance(body, Raise):
        if host.beacon(sender, body.beacon_id) is not None:
            return []  # the same beacon again
        if host.open_from(sender) >= MAX_OPEN_FROM_ONE:
            raise BeaconFloodError(
                f"{sender.short} already has {MAX_OPEN_FROM_ONE} open beacons here",
                hint=BeaconFloodError.code,
            )
        beacon = Beacon(body.beacon_id, sender, False, body.topic, body.text, body.about,
                        body.raised_ms, (me,))  # fmt: skip
        return [SaveBeacon(beacon, "received")]
    if isinstance(body, Answer):
        mine = host.beacon(me, body.beacon_id)
        if mine is not None and sender in mine.recipients:
            beacon, peer = mine, sender
        else:
            theirs = host.beacon(sender, body.beacon_id)
            if theirs is None or theirs.mine:
                raise BeaconUnknownError(f"no beacon {body.beacon_id.hex()[:8]} with you")
            beacon, peer = theirs, sender
        if not beacon.is_open:
            raise BeaconClosedError(f"beacon {body.beacon_id.hex()[:8]} is closed")
        if sum(1 for ln in beacon.lines if ln.author == sender) >= MAX_LINES_FROM_ONE:
            raise BeaconFloodError(
                f"{sender.short} wrote {MAX_LINES_FROM_ONE} lines in this thread",
                hint=BeaconFloodError.code,
            )
        line = Line(peer, sender, body.text, body.at_ms)
        return [SaveBeacon(replace(beacon, lines=(*beacon.lines, line)), "answered")]
    assert isinstance(body, Close)
    theirs = host.beacon(sender, body.beacon_id)
    if theirs is None or theirs.mine:
        raise BeaconUnknownError(f"no beacon {body.beacon_id.hex()[:8]} from you")
    if not theirs.is_open:
        return []
    return [SaveBeacon(replace(theirs, closed_ms=body.closed_ms), "closed")]
