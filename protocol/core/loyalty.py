"""The loyalty service's rules (spec/loyalty.md §4), sans-IO, for the daemon and any driver.

Her side declares and revokes; the vendor's side takes a declaration only from the person it
names and only if it names this node, and a revocation only from that person. There is no
message by which a vendor asks for a declaration: loyalty is declared, never requested.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Protocol, TypeAlias

from amity.protocol.card import NodeKind
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    LoyaltyPartyError,
    LoyaltyUnknownError,
    NodeError,
    NotFoundError,
    WrongTypeError,
)
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.loyalty import MSG_DECLARE, MSG_REVOKE, Declaration, LoyaltyRevocation
from amity.protocol.relationship import Relationship, RelationshipState, SendMessage

__all__ = [
    "TYPES",
    "LoyaltyRecord",
    "LoyaltyHost",
    "SaveLoyalty",
    "LoyaltyEffect",
    "declare",
    "revoke",
    "receive",
]

TYPES: Final = frozenset({MSG_DECLARE, MSG_REVOKE})


@dataclass(frozen=True, slots=True)
class LoyaltyRecord:
    """A declaration this node made (``mine``) or received, with its revocation once there is one."""

    declaration: Declaration
    mine: bool
    at_ms: int
    revocation: LoyaltyRevocation | None = None

    @property
    def declaration_id(self) -> bytes:
        return self.declaration.declaration_id

    def state(self, now_ms: int) -> str:
        if self.revocation is not None:
            return "revoked"
        if now_ms >= self.declaration.until_ms:
            return "expired"
        return "live" if self.declaration.live_at(now_ms) else "not yet"


@dataclass(frozen=True, slots=True)
class SaveLoyalty:
    """Store (or replace) one record, in the commit of the input that made it."""

    record: LoyaltyRecord
    #: What happened, for the owner's event stream: declared, received, revoked.
    what: str


LoyaltyEffect: TypeAlias = SaveLoyalty | SendMessage


class LoyaltyHost(Protocol):
    @property
    def keyring(self) -> Keyring: ...

    def loyalty(self, declaration_id: bytes) -> LoyaltyRecord | None: ...

    def relationship(self, peer: PeerId) -> Relationship | None: ...


def declare(
    host: LoyaltyHost,
    vendor: PeerId,
    now_ms: int,
    *,
    since_ms: int,
    until_ms: int,
    categories: tuple[str, ...] = (),
    note: str = "",
) -> tuple[LoyaltyRecord, list[LoyaltyEffect]]:
    """Sign a declaration of loyalty to ``vendor`` and send it over the relationship."""
    rel = host.relationship(vendor)
    if rel is None or rel.state is not RelationshipState.CONNECTED:
        raise NodeError(f"no relationship with {vendor.short}: loyalty is declared to a peer")
    if rel.peer_card is None or rel.peer_card.kind is not NodeKind.VENDOR:
        raise NodeError(f"{vendor.short} is not a vendor: loyalty is declared to a vendor")
    declaration = Declaration.create(
        host.keyring.identity, vendor, since_ms=since_ms, until_ms=until_ms,
        categories=categories, note=note, issued_ms=now_ms,
    )  # fmt: skip
    record = LoyaltyRecord(declaration, True, now_ms)
    return record, [
        SaveLoyalty(record, "declared"),
        SendMessage(vendor, MSG_DECLARE, declaration.encoded),
    ]


def revoke(
    host: LoyaltyHost, declaration_id: bytes, now_ms: int
) -> tuple[LoyaltyRecord, list[LoyaltyEffect]]:
    """Take back one of her declarations; the vendor is told (the outbox delivers it later if
    the vendor is away)."""
    record = host.loyalty(declaration_id)
    if record is None or not record.mine:
        raise NotFoundError(f"no declaration {declaration_id.hex()[:8]} of yours")
    if record.revocation is not None:
        raise NodeError(f"declaration {declaration_id.hex()[:8]} is already revoked")
    revocation = LoyaltyRevocation.create(host.keyring.identity, record.declaration, now_ms)
    updated = replace(record, revocation=revocation)
    vendor = record.declaration.vendor
    return updated, [
        SaveLoyalty(updated, "revoked"),
        SendMessage(vendor, MSG_REVOKE, revocation.encoded),
    ]


def receive(host: LoyaltyHost, envelope: Envelope, now_ms: int) -> list[LoyaltyEffect]:
    """A peer's declaration or revocation; raises the AmityError that refuses it."""
    me = host.keyring.identity.peer_id
    if envelope.type == MSG_DECLARE:
        declaration = Declaration.decode(envelope.body)
        if declaration.person != envelope.sender:
            raise LoyaltyPartyError(
                f"a declaration by {declaration.person.short} sent by {envelope.sender.short}"
            )
        if declaration.vendor != me:
            raise LoyaltyPartyError(f"a declaration of loyalty to {declaration.vendor.short}")
        rel = host.relationship(envelope.sender)
        if rel is None or rel.peer_card is None or rel.peer_card.kind is not NodeKind.PERSON:
            raise LoyaltyPartyError("loyalty is declared by a person, to a vendor")
        if host.loyalty(declaration.declaration_id) is not None:
            return []  # the same declaration again: nothing new
        return [SaveLoyalty(LoyaltyRecord(declaration, False, now_ms), "received")]
    if envelope.type == MSG_REVOKE:
        revocation = LoyaltyRevocation.decode(envelope.body)
        record = host.loyalty(revocation.declaration_id)
        if record is None or record.mine:
            raise LoyaltyUnknownError(
                f"no declaration {revocation.declaration_id.hex()[:8]} held from "
                f"{envelope.sender.short}"
            )
        person = record.declaration.person
        if revocation.person != person or envelope.sender != person:
            raise LoyaltyPartyError("only the person who declared loyalty revokes it")
        if record.revocation is not None:
            return []
        return [SaveLoyalty(replace(record, revocation=revocation), "revoked")]
    raise WrongTypeError(f"{envelope.type!r:.40} is not a loyalty message")
