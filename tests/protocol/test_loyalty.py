"""Loyalty declarations (spec/loyalty.md): the vectors, and the service's rules driven in memory
between a person and two vendors with real signed envelopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from amity.protocol.card import Card, NodeKind
from amity.protocol.core import loyalty as core
from amity.protocol.core.loyalty import LoyaltyRecord, SaveLoyalty
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.loyalty import MSG_DECLARE, Declaration, LoyaltyRevocation
from amity.protocol.relationship import Relationship, RelationshipState, Role, SendMessage
from tests.vectors import unhex, vector_cases

T0 = 1_800_000_000_000
YEAR = 365 * 24 * 3600 * 1000


def _read(vector: dict[str, Any]) -> Declaration | LoyaltyRevocation:
    if vector["operation"] == "declaration":
        return Declaration.decode(unhex(vector, "declaration_hex"))
    return LoyaltyRevocation.decode(unhex(vector, "revocation_hex"))


@pytest.mark.parametrize("vector", **vector_cases("loyalty", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    found = _read(vector)
    assert found.person.key.hex() == vector["person_hex"]
    assert found.declaration_id.hex() == vector["declaration_id_hex"]
    if isinstance(found, Declaration):
        assert found.vendor.key.hex() == vector["vendor_hex"]
        assert list(found.categories) == vector["categories"]
        assert (found.since_ms, found.until_ms) == (vector["since_ms"], vector["until_ms"])
    else:
        assert found.revoked_ms == vector["revoked_ms"]


@pytest.mark.parametrize("vector", **vector_cases("loyalty", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as caught:
        _read(vector)
    assert caught.value.code == vector["error"]


@dataclass
class Party:
    """A LoyaltyHost in memory, with a CONNECTED relationship to each peer it met."""

    keyring: Keyring
    kind: NodeKind = NodeKind.VENDOR
    records: dict[bytes, LoyaltyRecord] = field(default_factory=dict)
    rels: dict[PeerId, Relationship] = field(default_factory=dict)

    @property
    def peer_id(self) -> PeerId:
        return self.keyring.identity.peer_id

    def loyalty(self, declaration_id: bytes) -> LoyaltyRecord | None:
        return self.records.get(declaration_id)

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.rels.get(peer)

    def apply(self, effects: list[Any]) -> list[SendMessage]:
        for e in effects:
            if isinstance(e, SaveLoyalty):
                self.records[e.record.declaration_id] = e.record
        return [e for e in effects if isinstance(e, SendMessage)]

    def card(self) -> Card:
        _, cert = self.keyring.current(T0)
        return Card.issue(self.keyring.identity, link_cert=cert, kind=self.kind,
                          name="x", issued_ms=T0, not_after_ms=T0 + YEAR)  # fmt: skip


def _meet(a: Party, b: Party) -> None:
    for me, other in ((a, b), (b, a)):
        me.rels[other.peer_id] = Relationship(
            role=Role.INVITER, state=RelationshipState.CONNECTED, peer=other.peer_id,
            invite_secret=bytes(16), invite_expires_ms=T0, created_ms=T0, since_ms=T0,
            peer_card=other.card(),
        )  # fmt: skip


def _envelope(sender: Party, send: SendMessage) -> Envelope:
    data = sign_envelope(sender.keyring.identity, type=send.type, recipient=send.to, seq=1,
                         ts_ms=T0, nonce=bytes(16), body=send.body)  # fmt: skip
    return open_envelope(data, recipient=send.to)


def test_declare_receive_revoke() -> None:
    her, shop, other = (
        Party(Keyring(b"h" * 32), NodeKind.PERSON),
        Party(Keyring(b"s" * 32)),
        Party(Keyring(b"o" * 32)),
    )
    _meet(her, shop)
    with pytest.raises(NodeError, match="no relationship"):
        core.declare(her, other.peer_id, T0, since_ms=T0, until_ms=T0 + YEAR)
    friend = Party(Keyring(b"f" * 32), NodeKind.PERSON)
    _meet(her, friend)
    with pytest.raises(NodeError, match="not a vendor"):
        core.declare(her, friend.peer_id, T0, since_ms=T0, until_ms=T0 + YEAR)
    record, effects = core.declare(her, shop.peer_id, T0, since_ms=T0, until_ms=T0 + YEAR,
                                   categories=("goods",))  # fmt: skip
    (send,) = her.apply(effects)
    envelope = _envelope(her, send)
    got = shop.apply(core.receive(shop, envelope, T0 + 1))
    held = shop.records[record.declaration_id]
    assert got == [] and not held.mine and held.state(T0 + 1) == "live"
    assert core.receive(shop, envelope, T0 + 2) == [], "the same declaration again: nothing"

    _, effects = core.revoke(her, record.declaration_id, T0 + 10)
    (send,) = her.apply(effects)
    with pytest.raises(NodeError, match="already revoked"):
        core.revoke(her, record.declaration_id, T0 + 11)
    shop.apply(core.receive(shop, _envelope(her, send), T0 + 12))
    assert shop.records[record.declaration_id].state(T0 + 12) == "revoked"


def test_the_vendor_refuses_what_is_not_hers_or_not_for_it() -> None:
    her, shop, rival = (
        Party(Keyring(b"h" * 32), NodeKind.PERSON),
        Party(Keyring(b"s" * 32)),
        Party(Keyring(b"r" * 32)),
    )
    _meet(her, shop)
    _meet(her, rival)
    record, effects = core.declare(her, rival.peer_id, T0, since_ms=T0, until_ms=T0 + YEAR)
    (send,) = her.apply(effects)
    to_shop = SendMessage(shop.peer_id, send.type, send.body)  # her declaration to the rival
    with pytest.raises(AmityError) as caught:
        core.receive(shop, _envelope(her, to_shop), T0)
    assert caught.value.code == "loyalty.wrong_party"
    forged = SendMessage(shop.peer_id, MSG_DECLARE, Declaration.create(
        her.keyring.identity, shop.peer_id, since_ms=T0, until_ms=T0 + YEAR, issued_ms=T0
    ).encoded)  # fmt: skip
    with pytest.raises(AmityError) as caught:  # the rival passes on a declaration she made
        core.receive(shop, _envelope(rival, forged), T0)
    assert caught.value.code == "loyalty.wrong_party"
    revocation = LoyaltyRevocation.create(her.keyring.identity, record.declaration, T0)
    with pytest.raises(AmityError) as caught:
        core.receive(shop, _envelope(her, SendMessage(shop.peer_id, "loyalty.revoke",
                                                      revocation.encoded)), T0)  # fmt: skip
    assert caught.value.code == "loyalty.unknown"
