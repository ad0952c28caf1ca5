"""Selling a thing: the transfer both owners sign, and the messages that carry it. Sans-IO.
See spec/things.md §4.

The owner signs a *transfer* naming the thing, herself, the new owner and the card; it travels
to the new owner in ``thing.transfer``, sealed to the new owner's link key together with the
thing's key (its seed), its card and its history (the transfers before). The new owner checks
all of it, and once it accepts, signs the same bytes; that signature goes back in
``thing.accept``. The transfer with both signatures is the record of the sale, and the first
entry of the history the thing takes to its next owner. Her vault, grants and identity never
travel: only what is the thing's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.delivery import open_sealed, seal_to_link
from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
)
from amity.protocol.errors import (
    SchemaError,
    ThingPartyError,
    ThingSignatureError,
    UsageError,
)
from amity.protocol.grants import expect_peer, read_body, read_signed
from amity.protocol.identity import PeerId, SigningIdentity, verify_signature
from amity.protocol.linkcert import LinkKey
from amity.protocol.signed import sign_structure
from amity.protocol.things import MAX_THING_CARD_BYTES, ThingCard

__all__ = [
    "MSG_TRANSFER",
    "MSG_ACCEPT",
    "TRANSFER_DOMAIN",
    "ACCEPT_DOMAIN",
    "MAX_HISTORY",
    "Transfer",
    "Sale",
    "Handover",
    "seal_handover",
    "open_handover",
    "encode_accept",
    "decode_accept",
]

MSG_TRANSFER: Final = "thing.transfer"
MSG_ACCEPT: Final = "thing.accept"
TRANSFER_DOMAIN: Final = b"amity/thing-transfer/v1\x00"
ACCEPT_DOMAIN: Final = b"amity/thing-accept/v1\x00"
#: The sales a thing remembers (the oldest are dropped first when it is sold again).
MAX_HISTORY: Final = 32
MAX_TRANSFER_BYTES: Final = 256
MAX_SALE_BYTES: Final = 384
_MAX_HANDOVER_BYTES: Final = 64 + MAX_THING_CARD_BYTES + MAX_TRANSFER_BYTES + 32 * 400
_MAX_MS: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Transfer:
    """The owner's signed offer of a thing to a new owner (spec/things.md §4.1)."""

    thing: PeerId
    seller: PeerId
    buyer: PeerId
    offered_ms: int
    #: SHA-256 of the card that goes with it.
    card_hash: bytes
    encoded: bytes = field(repr=False)
    signed_bytes: bytes = field(repr=False)

    @classmethod
    def create(
        cls, seller: SigningIdentity, card: ThingCard, buyer: PeerId, offered_ms: int
    ) -> Transfer:
        if buyer == seller.peer_id:
            raise UsageError("a thing is sold to someone else")
        fields: list[Value] = [
            1,
            card.thing.key,
            seller.peer_id.key,
            buyer.key,
            offered_ms,
            hashlib.sha256(card.encoded).digest(),
        ]
        return cls.decode(sign_structure(fields, TRANSFER_DOMAIN, seller))

    @classmethod
    def decode(cls, data: bytes) -> Transfer:
        what = "thing transfer"
        parts = read_signed(data, what, arity=6, max_bytes=MAX_TRANSFER_BYTES)
        _, thing, seller, buyer, offered, card_hash = parts.fields
        transfer = cls(
            expect_peer(thing, f"{what} thing"),
            expect_peer(seller, f"{what} seller"),
            expect_peer(buyer, f"{what} buyer"),
            expect_int(offered, f"{what} offered_ms", hi=_MAX_MS),
            expect_bytes(card_hash, f"{what} card hash", size=32),
            bytes(data),
            parts.signed_bytes,
        )
        if len({transfer.thing, transfer.seller, transfer.buyer}) != 3:
            raise SchemaError(f"{what}: the thing, the seller and the buyer are three keys")
        parts.verify(transfer.seller, TRANSFER_DOMAIN, error=ThingSignatureError, what=what)
        return transfer

    def check_acceptance(self, signature: bytes) -> None:
        """ThingSignatureError unless ``signature`` is the buyer's over this transfer."""
        verify_signature(
            self.buyer,
            ACCEPT_DOMAIN,
            self.signed_bytes,
            signature,
            error=ThingSignatureError,
            what="the buyer's acceptance of a thing transfer",
        )

    def accept(self, buyer: SigningIdentity) -> bytes:
        """The buyer's signature over the transfer: it takes the thing."""
        if buyer.peer_id != self.buyer:
            raise UsageError("only the buyer a transfer names accepts it")
        return buyer.sign(ACCEPT_DOMAIN, self.signed_bytes)


@dataclass(frozen=True, slots=True)
class Sale:
    """A transfer with both owners' signatures: the record of one sale (spec/things.md §4.2)."""

    transfer: Transfer
    accept_signature: bytes = field(repr=False)
    encoded: bytes = field(repr=False)

    @classmethod
    def of(cls, transfer: Transfer, accept_signature: bytes) -> Sale:
        return cls.decode(encode([transfer.encoded, accept_signature]))

    @classmethod
    def decode(cls, data: bytes) -> Sale:
        what = "thing sale"
        fields = expect_array(decode(data, max_bytes=MAX_SALE_BYTES), what, arity=2)
        transfer = Transfer.decode(
            expect_bytes(fields[0], f"{what} transfer", max_size=MAX_TRANSFER_BYTES)
        )
        signature = expect_bytes(fields[1], f"{what} buyer's signature", size=64)
        transfer.check_acceptance(signature)
        return cls(transfer, signature, bytes(data))


@dataclass(frozen=True, slots=True)
class Handover:
    """What ``thing.transfer`` carries, opened and checked (spec/things.md §4.3)."""

    transfer: Transfer
    card: ThingCard
    thing_key: SigningIdentity = field(repr=False)
    #: The earlier sales of this thing, oldest first.
    history: tuple[Sale, ...]


def seal_handover(
    transfer: Transfer,
    card: ThingCard,
    thing_key: SigningIdentity,
    history: tuple[Sale, ...],
    *,
    link_public: bytes,
    ephemeral_private: bytes,
) -> bytes:
    """The ``thing.transfer`` body, sealed to the buyer's link key."""
    if thing_key.peer_id != card.thing or transfer.thing != card.thing:
        raise UsageError("the transfer, the card and the key are of one thing")
    plaintext = encode(
        [1, transfer.encoded, card.encoded, thing_key.seed, [s.encoded for s in history]]
    )
    return seal_to_link(plaintext, link_public, ephemeral_private)


def open_handover(body: bytes, *, sender: PeerId, me: PeerId, link_key: LinkKey) -> Handover:
    """Open a ``thing.transfer`` and check it in the order of §4.3; raises the AmityError."""
    what = "thing.transfer"
    plaintext = open_sealed(body, link_key, what)
    _, transfer_bytes, card_bytes, seed, sales = read_body(
        plaintext, what, arity=5, max_bytes=_MAX_HANDOVER_BYTES
    )
    transfer = Transfer.decode(
        expect_bytes(transfer_bytes, f"{what} transfer", max_size=MAX_TRANSFER_BYTES)
    )
    if transfer.seller != sender or transfer.buyer != me:
        raise ThingPartyError(
            f"a transfer from {transfer.seller.short} to {transfer.buyer.short}, sent by "
            f"{sender.short} to this node"
        )
    card = ThingCard.decode(expect_bytes(card_bytes, f"{what} card", max_size=MAX_THING_CARD_BYTES))
    if hashlib.sha256(card.encoded).digest() != transfer.card_hash or card.thing != transfer.thing:
        raise ThingPartyError(f"{what}: the card is not the one the transfer names")
    thing_key = SigningIdentity(expect_bytes(seed, f"{what} key", size=32))
    if thing_key.peer_id != card.thing:
        raise ThingPartyError(f"{what}: the key that came with it is not the thing's")
    history = tuple(
        Sale.decode(expect_bytes(item, f"{what} history entry", max_size=MAX_SALE_BYTES))
        for item in expect_array(sales, f"{what} history", max_len=MAX_HISTORY)
    )
    if any(sale.transfer.thing != card.thing for sale in history):
        raise ThingPartyError(f"{what}: a sale in its history is of another thing")
    return Handover(transfer, card, thing_key, history)


def encode_accept(thing: PeerId, signature: bytes) -> bytes:
    """The ``thing.accept`` body: ``[1, thing bin32, buyer's signature bin64]``."""
    return encode([1, thing.key, signature])


def decode_accept(body: bytes) -> tuple[PeerId, bytes]:
    """Read a ``thing.accept`` body; the signature is checked against the pending transfer."""
    _, thing, signature = read_body(body, MSG_ACCEPT, arity=3, max_bytes=128)
    return expect_peer(thing, f"{MSG_ACCEPT} thing"), expect_bytes(
        signature, f"{MSG_ACCEPT} signature", size=64
    )
