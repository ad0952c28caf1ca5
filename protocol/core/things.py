"""The things service's rules (spec/things.md §4.4), sans-IO, for the daemon and any driver.

She offers a thing she owns to a peer (``thing.transfer``: the transfer she signed, the card,
the thing's key and its history, sealed to the buyer's link key); the buyer's node checks it
and keeps it as offered to its owner; once the owner accepts, it signs the transfer and sends
``thing.accept``; her node checks that signature against the transfer it is waiting on, keeps
the sale (both signatures) and forgets the thing's key. Until then the thing is hers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Protocol, TypeAlias

from amity.protocol.delivery import delivery_link_key
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    NodeError,
    NotFoundError,
    SealKeyError,
    ThingPartyError,
    ThingUnknownError,
    WrongTypeError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, RelationshipState, SendMessage
from amity.protocol.things import ThingCard
from amity.protocol.thingtransfer import (
    MAX_HISTORY,
    MSG_ACCEPT,
    MSG_TRANSFER,
    Sale,
    Transfer,
    decode_accept,
    encode_accept,
    open_handover,
    seal_handover,
)

__all__ = [
    "TYPES",
    "OWNED",
    "OFFERED",
    "INCOMING",
    "SOLD",
    "ThingRecord",
    "SaveThing",
    "ThingsEffect",
    "ThingsHost",
    "offer",
    "accept",
    "receive",
]

TYPES: Final = frozenset({MSG_TRANSFER, MSG_ACCEPT})
#: Hers; hers, offered to a buyer who has not accepted yet; offered to her; sold (key forgotten).
OWNED, OFFERED, INCOMING, SOLD = "owned", "offered", "incoming", "sold"


@dataclass(frozen=True, slots=True)
class ThingRecord:
    """One thing as this node knows it: its card, where it stands, the transfer in flight (or
    the last one), and the sales before."""

    card: ThingCard
    state: str
    at_ms: int
    transfer: Transfer | None = None
    history: tuple[Sale, ...] = ()

    @property
    def key(self) -> bytes:
        return self.card.thing.key


@dataclass(frozen=True, slots=True)
class SaveThing:
    """Store (or replace) one record in the commit of the input that made it. ``seed`` is the
    thing's key to keep (sealed at rest) when it comes with the record, ``forget`` drops it."""

    record: ThingRecord
    what: str
    seed: bytes | None = None
    forget: bool = False


ThingsEffect: TypeAlias = SaveThing | SendMessage


class ThingsHost(Protocol):
    @property
    def keyring(self) -> Keyring: ...

    def relationship(self, peer: PeerId) -> Relationship | None: ...

    def thing(self, key: bytes) -> ThingRecord | None: ...

    def thing_key(self, key: bytes) -> SigningIdentity:
        """The thing's key, unsealed (only for a thing this node owns)."""
        ...


def _connected(host: ThingsHost, peer: PeerId) -> Relationship:
    rel = host.relationship(peer)
    if rel is None or rel.state is not RelationshipState.CONNECTED or rel.peer_card is None:
        raise NodeError(f"no relationship with {peer.short}: a thing is sold to a peer")
    return rel


def offer(
    host: ThingsHost, key: bytes, buyer: PeerId, now_ms: int, *, ephemeral_private: bytes
) -> tuple[ThingRecord, list[ThingsEffect]]:
    """Offer a thing she owns to ``buyer``; it stays hers until the buyer accepts. Offering it
    again (to the same buyer or another) replaces the offer: only the newest can be accepted."""
    record = host.thing(key)
    if record is None or record.state not in (OWNED, OFFERED):
        raise NotFoundError(f"no thing {key.hex()[:8]} of yours to sell")
    card = _connected(host, buyer).peer_card
    assert card is not None
    transfer = Transfer.create(host.keyring.identity, record.card, buyer, now_ms)
    body = seal_handover(
        transfer,
        record.card,
        host.thing_key(key),
        record.history,
        link_public=card.link_cert.link_public,
        ephemeral_private=ephemeral_private,
    )
    offered = replace(record, state=OFFERED, transfer=transfer)
    return offered, [SaveThing(offered, "offered"), SendMessage(buyer, MSG_TRANSFER, body)]


def accept(host: ThingsHost, key: bytes, now_ms: int) -> tuple[ThingRecord, list[ThingsEffect]]:
    """She takes a thing offered to her: signs the transfer, tells the seller; it is hers."""
    record = host.thing(key)
    if record is None or record.state != INCOMING or record.transfer is None:
        raise NotFoundError(f"no thing {key.hex()[:8]} offered to you")
    transfer = record.transfer
    signature = transfer.accept(host.keyring.identity)
    history = (*record.history, Sale.of(transfer, signature))[-MAX_HISTORY:]
    owned = replace(record, state=OWNED, at_ms=now_ms, transfer=None, history=history)
    body = encode_accept(transfer.thing, signature)
    return owned, [SaveThing(owned, "accepted"), SendMessage(transfer.seller, MSG_ACCEPT, body)]


def receive(host: ThingsHost, envelope: Envelope, now_ms: int) -> list[ThingsEffect]:
    """A peer's transfer or acceptance; raises the AmityError that refuses it."""
    if envelope.type == MSG_TRANSFER:
        public = delivery_link_key(envelope.body)
        link_key = host.keyring.find_link_key(public, now_ms)
        if link_key is None:
            raise SealKeyError("a thing.transfer sealed to a link key this node does not hold")
        handover = open_handover(
            envelope.body, sender=envelope.sender, me=host.keyring.identity.peer_id,
            link_key=link_key,
        )  # fmt: skip
        held = host.thing(handover.card.thing.key)
        if held is not None and held.state != SOLD:
            if held.state == INCOMING and held.transfer == handover.transfer:
                return []  # the same offer again
            if held.state != INCOMING:
                raise ThingPartyError("this node already owns that thing")
        incoming = ThingRecord(handover.card, INCOMING, now_ms, handover.transfer, handover.history)
        return [SaveThing(incoming, "offered to us", seed=handover.thing_key.seed)]
    if envelope.type == MSG_ACCEPT:
        thing, signature = decode_accept(envelope.body)
        record = host.thing(thing.key)
        if record is not None and record.state == SOLD and record.history:
            last = record.history[-1]
            if last.transfer.buyer == envelope.sender and last.accept_signature == signature:
                return []  # the same acceptance again
        if record is None or record.state != OFFERED or record.transfer is None:
            raise ThingUnknownError(f"no thing {thing.short} offered by this node")
        transfer = record.transfer
        if transfer.buyer != envelope.sender:
            raise ThingPartyError(
                f"thing {thing.short} is offered to {transfer.buyer.short}, "
                f"not {envelope.sender.short}"
            )
        transfer.check_acceptance(signature)
        history = (*record.history, Sale.of(transfer, signature))[-MAX_HISTORY:]
        sold = replace(record, state=SOLD, at_ms=now_ms, transfer=None, history=history)
        return [SaveThing(sold, "sold", forget=True)]
    raise WrongTypeError(f"{envelope.type!r:.40} is not a thing message")
