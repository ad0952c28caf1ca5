"""Deposit tickets: a recipient's signed word that one sender may leave mail for it at a relay.

A relay serves strangers from a small budget shared per recipient; mail carrying a ticket that
the recipient signed for the depositing node uses the room reserved for the recipient's own peers.
A node hands a ticket to each peer in its ``rel.hello`` (spec/relationship.md §7.1); the sender
shows it with each DEPOSIT. The relay checks it with the recipient's public key (the peer id in the
sealed mail's header) and the session that proved the sender: it needs no secret and stores
nothing. See spec/relay.md §6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import Value, expect_bytes, expect_int
from amity.protocol.errors import (
    SchemaError,
    TicketExpiredError,
    TicketPeerError,
    TicketSignatureError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PEER_ID_BYTES, PeerId, SigningIdentity
from amity.protocol.signed import SignedParts, sign_structure, split_signed_any_arity

__all__ = [
    "TICKET_DOMAIN",
    "TICKET_VERSION",
    "TICKET_LIFETIME_MS",
    "MAX_TICKET_BYTES",
    "DepositTicket",
    "TicketIssuer",
    "issue_ticket",
    "read_ticket",
    "check_ticket",
]

TICKET_DOMAIN: Final = b"amity/deposit-ticket/v1\x00"
TICKET_VERSION: Final = 1
#: How long a ticket holds; a node hands out a fresh one in every hello once half of it is gone.
TICKET_LIFETIME_MS: Final = 30 * 24 * 3600 * 1000
#: A ticket is 148 bytes at most (two bin32, a uint64, the signature and the headers around them).
MAX_TICKET_BYTES: Final = 192
_ARITY: Final = 4


@dataclass(frozen=True, slots=True)
class DepositTicket:
    """``recipient`` lets ``sender`` deposit mail for it at its relays until ``not_after_ms``."""

    recipient: PeerId
    sender: PeerId
    not_after_ms: int
    encoded: bytes


def issue_ticket(identity: SigningIdentity, *, sender: PeerId, not_after_ms: int) -> bytes:
    """Sign a ticket that lets ``sender`` leave mail for ``identity`` at its relays."""
    if isinstance(not_after_ms, bool) or not isinstance(not_after_ms, int) or not_after_ms < 0:
        raise UsageError("a ticket's not_after_ms is milliseconds since the epoch")
    fields: list[Value] = [TICKET_VERSION, identity.peer_id.key, sender.key, not_after_ms]
    return sign_structure(fields, TICKET_DOMAIN, identity)


def read_ticket(data: bytes) -> DepositTicket:
    """Decode a ticket (steps 1-3 of spec/relay.md §6.2); does NOT check the signature."""
    return _read(data)[0]


def _read(data: bytes) -> tuple[DepositTicket, SignedParts]:
    parts = split_signed_any_arity(data, "deposit ticket", max_bytes=MAX_TICKET_BYTES)
    version = parts.fields[0] if parts.fields else None
    if isinstance(version, bool) or version != TICKET_VERSION:
        raise UnsupportedVersionError(
            f"deposit ticket version {version!r}; this node speaks {TICKET_VERSION}",
            hint="version.unsupported",
        )
    if len(parts.fields) != _ARITY:
        raise SchemaError(f"deposit ticket: expected {_ARITY} fields, got {len(parts.fields)}")
    _, recipient, sender, not_after = parts.fields
    ticket = DepositTicket(
        recipient=PeerId(expect_bytes(recipient, "ticket recipient", size=PEER_ID_BYTES)),
        sender=PeerId(expect_bytes(sender, "ticket sender", size=PEER_ID_BYTES)),
        not_after_ms=expect_int(not_after, "ticket not_after_ms"),
        encoded=data,
    )
    return ticket, parts


def check_ticket(data: bytes, *, recipient: PeerId, sender: PeerId, now_ms: int) -> DepositTicket:
    """What a relay does with a ticket shown with a deposit (spec/relay.md §6.2, in this order).

    ``recipient`` is the sealed mail's recipient, ``sender`` the peer the session proved. The
    cheap checks come before the signature, so a flood of bad tickets costs no verification.
    """
    ticket, parts = _read(data)
    if ticket.recipient != recipient or ticket.sender != sender:
        raise TicketPeerError(
            f"this ticket lets {ticket.sender.short} leave mail for {ticket.recipient.short}, "
            f"not {sender.short} for {recipient.short}"
        )
    if now_ms >= ticket.not_after_ms:
        raise TicketExpiredError(
            f"deposit ticket expired at {format_time_ms(ticket.not_after_ms)}; the recipient's "
            "next hello carries a fresh one",
            hint="ticket.expired",
        )
    parts.verify(
        recipient, TICKET_DOMAIN, error=TicketSignatureError, what="deposit ticket signature"
    )
    return ticket


class TicketIssuer:
    """The tickets a node hands its peers: one per peer, renewed once half its life is gone.

    Reusing a ticket keeps hellos cheap (no signature per session); renewing at half-life means a
    peer that met us recently always holds a ticket that outlives the relay's 14-day mail expiry.
    """

    __slots__ = ("_identity", "_issued", "lifetime_ms")

    def __init__(self, identity: SigningIdentity, lifetime_ms: int = TICKET_LIFETIME_MS) -> None:
        self._identity = identity
        self.lifetime_ms = lifetime_ms
        self._issued: dict[PeerId, tuple[int, bytes]] = {}

    def for_peer(self, peer: PeerId, now_ms: int) -> bytes:
        """The ticket to put in our next hello to ``peer``."""
        held = self._issued.get(peer)
        if held is not None and now_ms < held[0] - self.lifetime_ms // 2:
            return held[1]
        not_after = now_ms + self.lifetime_ms
        ticket = issue_ticket(self._identity, sender=peer, not_after_ms=not_after)
        self._issued[peer] = (not_after, ticket)
        return ticket
