"""Support beacons (spec/beacons.md): the vectors, and the rules driven in memory between her,
a maker and a friend with real signed envelopes: threads apart, close, floods refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from amity.protocol.beacons import Answer, decode_beacon_body, encode_beacon_body
from amity.protocol.card import Card, NodeKind
from amity.protocol.core import beacons as core
from amity.protocol.core.beacons import MAX_OPEN_FROM_ONE, Beacon, SaveBeacon
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, RelationshipState, Role, SendMessage
from tests.vectors import unhex, vector_cases

T0 = 1_800_000_000_000


@pytest.mark.parametrize("vector", **vector_cases("beacons", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    body = decode_beacon_body(vector["type"], unhex(vector, "body_hex"))
    assert body.beacon_id.hex() == vector["beacon_id_hex"]
    assert encode_beacon_body(body) == unhex(vector, "body_hex")


@pytest.mark.parametrize("vector", **vector_cases("beacons", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as caught:
        decode_beacon_body(vector["type"], unhex(vector, "body_hex"))
    assert caught.value.code == vector["error"]


@dataclass
class Party:
    keyring: Keyring
    beacons: dict[tuple[PeerId, bytes], Beacon] = field(default_factory=dict)
    rels: dict[PeerId, Relationship] = field(default_factory=dict)
    seq: int = 0

    @property
    def peer_id(self) -> PeerId:
        return self.keyring.identity.peer_id

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.rels.get(peer)

    def beacon(self, raiser: PeerId, beacon_id: bytes) -> Beacon | None:
        return self.beacons.get((raiser, beacon_id))

    def open_from(self, raiser: PeerId) -> int:
        return sum(1 for (r, _), b in self.beacons.items() if r == raiser and b.is_open)

    def apply(self, effects: list[Any]) -> list[SendMessage]:
        for e in effects:
            if isinstance(e, SaveBeacon):
                self.beacons[(e.beacon.raiser, e.beacon.beacon_id)] = e.beacon
        return [e for e in effects if isinstance(e, SendMessage)]

    def envelope(self, send: SendMessage) -> Envelope:
        self.seq += 1
        data = sign_envelope(self.keyring.identity, type=send.type, recipient=send.to,
                             seq=self.seq, ts_ms=T0, nonce=bytes(16), body=send.body)  # fmt: skip
        return open_envelope(data, recipient=send.to)


def _meet(a: Party, b: Party) -> None:
    for me, other in ((a, b), (b, a)):
        _, cert = other.keyring.current(T0)
        card = Card.issue(other.keyring.identity, link_cert=cert, kind=NodeKind.PERSON,
                          name="x", issued_ms=T0, not_after_ms=T0 + 10**9)  # fmt: skip
        me.rels[other.peer_id] = Relationship(
            role=Role.INVITER, state=RelationshipState.CONNECTED, peer=other.peer_id,
            invite_secret=bytes(16), invite_expires_ms=T0, created_ms=T0, since_ms=T0,
            peer_card=card,
        )  # fmt: skip


def _deliver(sender: Party, to: dict[PeerId, Party], sends: list[SendMessage]) -> None:
    for send in sends:
        recipient = to[send.to]
        recipient.apply(core.receive(recipient, sender.envelope(send), T0))


def test_threads_apart_and_close() -> None:
    her, maker, friend = (Party(Keyring(bytes([i]) * 32)) for i in (1, 2, 3))
    _meet(her, maker)
    _meet(her, friend)
    everyone = {p.peer_id: p for p in (her, maker, friend)}
    beacon, effects = core.raise_beacon(her, (maker.peer_id, friend.peer_id), T0,
                                        beacon_id=b"b" * 16, topic="gears slip",
                                        about=maker.peer_id)  # fmt: skip
    _deliver(her, everyone, her.apply(effects))
    bid = beacon.beacon_id
    for peer, text in ((maker, "bring it in"), (friend, "try the barrel adjuster")):
        _, effects = core.answer(peer, her.peer_id, bid, text, T0)
        _deliver(peer, everyone, peer.apply(effects))
    _, effects = core.answer(her, her.peer_id, bid, "thanks, tomorrow?", T0, to=maker.peer_id)
    _deliver(her, everyone, her.apply(effects))
    mine = her.beacons[(her.peer_id, bid)]
    assert [(ln.peer, ln.text) for ln in mine.lines] == [
        (maker.peer_id, "bring it in"),
        (friend.peer_id, "try the barrel adjuster"),
        (maker.peer_id, "thanks, tomorrow?"),
    ]
    friend_view = friend.beacons[(her.peer_id, bid)]
    assert [ln.text for ln in friend_view.lines] == ["try the barrel adjuster"], "threads apart"
    _, effects = core.close(her, bid, T0 + 1)
    _deliver(her, everyone, her.apply(effects))
    assert not maker.beacons[(her.peer_id, bid)].is_open
    with pytest.raises(NodeError, match="closed"):
        core.answer(maker, her.peer_id, bid, "late", T0 + 2)


def test_floods_and_strangers_are_refused() -> None:
    her, maker, stranger = (Party(Keyring(bytes([i]) * 32)) for i in (1, 2, 4))
    _meet(her, maker)
    for i in range(MAX_OPEN_FROM_ONE):
        _, effects = core.raise_beacon(her, (maker.peer_id,), T0, beacon_id=bytes([i]) * 16,
                                       topic="t")  # fmt: skip
        maker.apply(core.receive(maker, her.envelope(her.apply(effects)[0]), T0))
    _, effects = core.raise_beacon(her, (maker.peer_id,), T0, beacon_id=b"z" * 16, topic="t")
    with pytest.raises(AmityError) as caught:
        core.receive(maker, her.envelope(her.apply(effects)[0]), T0)
    assert caught.value.code == "beacon.flood"
    answer = SendMessage(her.peer_id, "beacon.answer",
                         encode_beacon_body(Answer(b"\0" * 16, "hi", T0)))  # fmt: skip
    with pytest.raises(AmityError) as caught:
        core.receive(her, stranger.envelope(answer), T0)
    assert caught.value.code == "beacon.unknown"
