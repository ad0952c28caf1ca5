"""Where her node casts an intent directly: the vendors it knows, and those LAN discovery sees,
that take intents of its category at their own endpoint (spec/intents.md §7.8, §7.9).

Her relationships name the vendors she knows and where they are (the card each keeps of the
other); discovery names the shops nearby, the categories each announces and where it is. Her
node dials each one's intents path under the intent's own key, as it dials a hub,
and reads in the handshake what that endpoint asks and which categories it serves. A vendor
that serves the category keeps the link for the cast; the others are closed before anything
about the intent is sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from amity.node.logs import log_event
from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.identity import PeerId
from amity.protocol.intentcategory import matches
from amity.protocol.intentmessages import DirectRules
from amity.protocol.relstate import RelationshipState

if TYPE_CHECKING:
    from amity.node.intents.casterlinks import CasterLinks
    from amity.node.net.discovery import NearbyNode
    from amity.node.net.link import Link

__all__ = ["known_vendors", "lan_vendors", "open_direct"]

_log = logging.getLogger("amity.intents")


def known_vendors(links: CasterLinks) -> list[PeerId]:
    """The vendors she has a live relationship with, whose card gives an endpoint."""
    found = []
    for rel in links.node.book.all():
        card = rel.peer_card
        if rel.peer is None or rel.state is RelationshipState.ENDED or card is None:
            continue
        if card.kind is NodeKind.VENDOR and card.endpoints and rel.peer not in found:
            found.append(rel.peer)
    return found


def lan_vendors(nearby: list[NearbyNode], category: str) -> list[PeerId]:
    """The vendors LAN discovery sees that announce ``category`` among those they take
    directly (a hint: the handshake proves the key and says what it really serves)."""
    found = []
    for node in nearby:
        if node.kind != NodeKind.VENDOR.value or not matches(node.intents, category):
            continue
        try:
            found.append(PeerId.from_did(node.did))
        except AmityError:
            continue  # discovery checked it; never trust an announcement twice
    return found


async def open_direct(
    links: CasterLinks, key_seed: bytes, vendors: list[PeerId], category: str
) -> list[tuple[PeerId, Link, DirectRules]]:
    """Links, under the intent key, to those of ``vendors`` whose direct endpoint serves
    ``category``; the others (unreachable, no direct endpoint, other categories) are left."""
    opened = []
    for peer in vendors:
        try:
            link, rules = await links.dial(key_seed, peer, direct=True)
        except NodeError as exc:
            log_event(_log, "intents.direct_unreachable", vendor=peer.short, why=str(exc))
            continue
        assert isinstance(rules, DirectRules)
        if matches(rules.categories, category):
            opened.append((peer, link, rules))
        else:
            log_event(_log, "intents.direct_not_served", vendor=peer.short, category=category)
            await link.close()
    return opened
