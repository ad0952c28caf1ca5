"""Selling a thing (spec/things.md §4): the vectors, and the service's rules driven in memory
between a seller and a buyer with real signed envelopes and real sealing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from amity.protocol.card import Card, NodeKind
from amity.protocol.core import things as core
from amity.protocol.core.things import INCOMING, OFFERED, OWNED, SOLD, SaveThing, ThingRecord
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError, NodeError, NotFoundError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.keyring import Keyring
from amity.protocol.linkcert import LinkKey
from amity.protocol.relationship import Relationship, RelationshipState, Role, SendMessage
from amity.protocol.things import ThingCard
from amity.protocol.thingtransfer import (
    MSG_ACCEPT,
    Handover,
    Sale,
    Transfer,
    decode_accept,
    encode_accept,
    open_handover,
)
from tests.protocol.test_things import things_cases
from tests.vectors import unhex

T0 = 1_800_000_000_000


def _open(vector: dict[str, Any]) -> Handover:
    return open_handover(
        unhex(vector, "body_hex"),
        sender=PeerId(unhex(vector, "seller_hex")),
        me=PeerId(unhex(vector, "buyer_hex")),
        link_key=LinkKey(unhex(vector, "link_seed_hex")),
    )


@pytest.mark.parametrize("vector", **things_cases("transfer", "sale", "handover", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    if vector["operation"] == "transfer":
        transfer = Transfer.decode(unhex(vector, "transfer_hex"))
        assert (transfer.seller.key.hex(), transfer.buyer.key.hex()) == (
            vector["seller_hex"],
            vector["buyer_hex"],
        )
        assert transfer.card_hash.hex() == vector["card_hash_hex"]
    elif vector["operation"] == "sale":
        sale = Sale.decode(unhex(vector, "sale_hex"))
        assert sale.transfer.encoded.hex() == vector["transfer_hex"]
        thing, signature = decode_accept(unhex(vector, "accept_body_hex"))
        assert thing == sale.transfer.thing and signature == sale.accept_signature
    else:
        handover = _open(vector)
        assert handover.transfer.encoded.hex() == vector["transfer_hex"]
        assert handover.card.encoded.hex() == vector["card_hex"]
        assert handover.thing_key.seed.hex() == vector["thing_seed_hex"]


@pytest.mark.parametrize("vector", **things_cases("transfer", "sale", "handover", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as info:
        if vector["operation"] == "transfer":
            Transfer.decode(unhex(vector, "transfer_hex"))
        elif vector["operation"] == "sale":
            Sale.decode(unhex(vector, "sale_hex"))
        else:
            _open(vector)
    assert info.value.code == vector["error"]


# -- the service's rules, two nodes in memory ---------------------------------------------------


@dataclass
class Side:
    """One node as the things service sees it: its keyring, its peer, its things and keys."""

    keyring: Keyring
    peer_card: Card | None = None
    records: dict[bytes, ThingRecord] = field(default_factory=dict)
    keys: dict[bytes, bytes] = field(default_factory=dict)

    def relationship(self, peer: PeerId) -> Relationship | None:
        if self.peer_card is None or self.peer_card.peer_id != peer:
            return None
        return Relationship(
            role=Role.INVITER, state=RelationshipState.CONNECTED, invite_secret=os.urandom(16),
            invite_expires_ms=T0, created_ms=T0, since_ms=T0, peer=peer,
            peer_card=self.peer_card,
        )  # fmt: skip

    def thing(self, key: bytes) -> ThingRecord | None:
        return self.records.get(key)

    def thing_key(self, key: bytes) -> SigningIdentity:
        return SigningIdentity(self.keys[key])

    def apply(self, effects: list[Any]) -> list[SendMessage]:
        for effect in effects:
            if isinstance(effect, SaveThing):
                self.records[effect.record.key] = effect.record
                if effect.seed is not None:
                    self.keys[effect.record.key] = effect.seed
                if effect.forget:
                    self.keys.pop(effect.record.key, None)
        return [e for e in effects if isinstance(e, SendMessage)]

    def card(self) -> Card:
        _, cert = self.keyring.current(T0)
        identity = self.keyring.identity
        return Card.issue(
            identity, link_cert=cert, kind=NodeKind.PERSON, name="x", endpoints=(), relays=(),
            issued_ms=T0, not_after_ms=cert.not_after_ms,
        )  # fmt: skip


def _deliver(sender: Side, receiver: Side, message: SendMessage, seq: int = 1) -> Envelope:
    data = sign_envelope(
        sender.keyring.identity, type=message.type, recipient=message.to, seq=seq, ts_ms=T0,
        nonce=os.urandom(16), body=message.body,
    )  # fmt: skip
    return open_envelope(data, recipient=receiver.keyring.identity.peer_id)


@pytest.fixture
def pair() -> tuple[Side, Side, bytes]:
    alice, bob = Side(Keyring(os.urandom(32))), Side(Keyring(os.urandom(32)))
    alice.peer_card, bob.peer_card = bob.card(), alice.card()
    seed = os.urandom(32)
    card = ThingCard.issue(SigningIdentity(seed), maker="M", model="X", issued_ms=T0)
    alice.records[card.thing.key] = ThingRecord(card, OWNED, T0)
    alice.keys[card.thing.key] = seed
    return alice, bob, card.thing.key


def test_a_sale_goes_through_and_is_signed_by_both(pair: tuple[Side, Side, bytes]) -> None:
    alice, bob, key = pair
    buyer = bob.keyring.identity.peer_id
    record, effects = core.offer(alice, key, buyer, T0, ephemeral_private=os.urandom(32))
    (sent,) = alice.apply(effects)
    assert record.state == OFFERED
    envelope = _deliver(alice, bob, sent)
    bob.apply(core.receive(bob, envelope, T0))
    assert bob.records[key].state == INCOMING and key in bob.keys
    assert core.receive(bob, envelope, T0) == []  # the same offer again: nothing new
    taken, effects = core.accept(bob, key, T0 + 1)
    (answer,) = bob.apply(effects)
    alice.apply(core.receive(alice, _deliver(bob, alice, answer), T0 + 2))
    assert alice.records[key].state == SOLD and key not in alice.keys
    assert alice.records[key].history == taken.history
    assert core.receive(alice, _deliver(bob, alice, answer, seq=2), T0 + 3) == []


def test_an_acceptance_signed_by_another_key_is_refused(pair: tuple[Side, Side, bytes]) -> None:
    alice, bob, key = pair
    _, effects = core.offer(
        alice, key, bob.keyring.identity.peer_id, T0, ephemeral_private=os.urandom(32)
    )
    alice.apply(effects)
    forged = SendMessage(
        alice.keyring.identity.peer_id, MSG_ACCEPT, encode_accept(PeerId(key), bytes(64))
    )
    with pytest.raises(AmityError) as info:
        core.receive(alice, _deliver(bob, alice, forged), T0)
    assert info.value.code == "thing.bad_signature"
    assert alice.records[key].state == OFFERED and key in alice.keys


def test_an_acceptance_of_nothing_offered_is_refused(pair: tuple[Side, Side, bytes]) -> None:
    alice, bob, key = pair
    message = SendMessage(
        alice.keyring.identity.peer_id, MSG_ACCEPT, encode_accept(PeerId(key), bytes(64))
    )
    with pytest.raises(AmityError) as info:
        core.receive(alice, _deliver(bob, alice, message), T0)
    assert info.value.code == "thing.unknown"


def test_she_sells_only_what_she_owns_to_a_peer(pair: tuple[Side, Side, bytes]) -> None:
    alice, bob, key = pair
    stranger = SigningIdentity(os.urandom(32)).peer_id
    with pytest.raises(NodeError):
        core.offer(alice, key, stranger, T0, ephemeral_private=os.urandom(32))
    with pytest.raises(NotFoundError):
        core.offer(alice, bytes(32), bob.keyring.identity.peer_id, T0, ephemeral_private=bytes(32))
    with pytest.raises(NotFoundError):
        core.accept(alice, key, T0)  # nothing offered to her
