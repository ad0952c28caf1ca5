"""Deposit tickets between peers: the one our hello gives, and the one we keep from theirs.

A peer's ticket lets our mail use the room its relays keep for its peers, not the strangers'
small budget. We hand one out only while our card names relays (spec/relay.md §6).
"""

from __future__ import annotations

from amity.protocol.core.effects import Effect, KeepTicket, TicketIgnored
from amity.protocol.core.host import Host
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.ticket import check_ticket

__all__ = ["ticket_for", "keep_ticket"]


def ticket_for(host: Host, peer: PeerId, now_ms: int) -> bytes | None:
    """The deposit ticket our next hello hands ``peer``: only while our card names relays."""
    return host.ticket_issuer().for_peer(peer, now_ms) if host.relays else None


def keep_ticket(host: Host, peer: PeerId, data: bytes | None, now_ms: int) -> list[Effect]:
    """What to do with the ticket an accepted hello from ``peer`` carried (``None``: nothing)."""
    if data is None:
        return []
    try:
        ticket = check_ticket(data, recipient=peer, sender=host.peer_id, now_ms=now_ms)
    except AmityError as exc:  # useless to us, but the hello itself is fine
        return [TicketIgnored(peer, exc)]
    return [KeepTicket(peer, data, ticket.not_after_ms)]
