"""What the owner asks of her node: an invitation, accepting one, ending, using a relay.

Each command checks what it is given, says which relationship steps follow (as
:class:`~amity.protocol.core.effects.Transition` effects, carried out in order), and raises a
:class:`~amity.protocol.errors.NodeError` that tells the owner what to do instead. The driver
does the rest: dialling the inviter, waiting for the hello, answering the owner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from amity.protocol.card import Card, NodeKind, Relay
from amity.protocol.core.effects import Effect, Transition
from amity.protocol.core.host import Host
from amity.protocol.core.tickets import ticket_for
from amity.protocol.errors import NodeError
from amity.protocol.identity import PeerId
from amity.protocol.relationship import (
    CardChanged,
    InvitationAccepted,
    InvitationIssued,
    InvitationReceived,
    LocalEnd,
    Relationship,
    RelationshipState,
    open_relationship,
    step,
)

__all__ = [
    "CARD_DAYS",
    "announce_card",
    "card_is_fresh",
    "invite",
    "accept_invitation",
    "check_relay",
    "end",
    "invitation_id",
    "withdraw_invitation",
]

_DAY_MS = 24 * 3600 * 1000
#: A card is issued for this long (at most until its link key certificate ends).
CARD_DAYS = 30


def card_is_fresh(
    card: Card | None,
    now_ms: int,
    endpoints: Sequence[str],
    relays: Sequence[Relay],
    policy: bytes | None,
) -> bool:
    """Whether our cached card can still be handed out: a day left at least, and the endpoints,
    relays and published policy it names are still ours (else the next hello carries a new
    one)."""
    return (
        card is not None
        and card.not_after_ms > now_ms + _DAY_MS
        and tuple(card.endpoints) == tuple(endpoints)
        and tuple(card.relays) == tuple(relays)
        and card.policy == policy
    )


def announce_card(host: Host, relationships: Iterable[Relationship], now_ms: int) -> list[Effect]:
    """Our card changed in what it says (a new published policy, other relays): a hello with
    :meth:`Host.card` to every connected peer among ``relationships``, each with its own
    deposit ticket (spec/relationship.md §3, spec/signals.md §4)."""
    card = host.card()
    out: list[Effect] = []
    for rel in relationships:
        if rel.state is RelationshipState.CONNECTED and rel.peer is not None:
            event = CardChanged(card, ticket_for(host, rel.peer, now_ms))
            out.append(Transition(*step(rel, event, now_ms)))
    return out


def invite(invitation: Card, now_ms: int) -> list[Effect]:
    """Issue ``invitation`` (our card with a fresh one-time secret): its relationship opens."""
    return [Transition(*open_relationship(InvitationIssued(invitation), now_ms))]


def accept_invitation(host: Host, card: Card, now_ms: int) -> list[Effect] | None:
    """Accept someone's invitation: the steps before dialling, or None if we are already peers
    (a second invitation changes nothing). The driver then dials the card's endpoints and waits
    for the relationship to be CONNECTED."""
    card.check_valid(now_ms)
    if card.peer_id == host.peer_id:
        raise NodeError("that invitation is your own; give it to the peer you want to meet")
    secret = card.invite_secret
    if not card.is_invitation or secret is None:
        raise NodeError("that is a peer card, not an invitation; ask the peer for `amity invite`")
    current = host.relationship(card.peer_id)
    if current is not None and current.state is RelationshipState.CONNECTED:
        return None
    effects: list[Effect] = []
    rel = host.by_secret(secret)
    if rel is None:
        rel, opened = open_relationship(InvitationReceived(card), now_ms)
        effects.append(Transition(rel, opened))
    if rel.state is RelationshipState.INVITED:
        rel, accepted = step(rel, InvitationAccepted(), now_ms)
        effects.append(Transition(rel, accepted))
    return effects


def check_relay(card: Card) -> None:
    """A relay we are asked to use is a node of kind relay with an endpoint to dial."""
    if card.kind is not NodeKind.RELAY:
        raise NodeError(f"{card.name or card.peer_id.short} is a {card.kind.value}, not a relay")
    if not card.endpoints:
        raise NodeError("that relay's card lists no endpoint to reach it at")


def end(host: Host, peer: PeerId, reason: str, now_ms: int) -> list[Effect]:
    """End the relationship with ``peer``: a signed ``rel.end`` goes to it."""
    rel = host.relationship(peer)
    if rel is None:
        raise NodeError(f"no relationship with {peer.short}; `amity peers` lists them")
    return [Transition(*step(rel, LocalEnd(reason), now_ms))]


#: What an unused invitation is withdrawn with (its end reason).
REASON_WITHDRAWN = "invitation-withdrawn"


def invitation_id(invite_secret: bytes) -> str:
    """How the owner names an invitation: a hash of its secret (the secret itself never shows)."""
    return hashlib.sha256(invite_secret).hexdigest()[:16]


def withdraw_invitation(rel: Relationship, now_ms: int) -> list[Effect]:
    """Withdraw an invitation nobody has used: whoever holds it can no longer connect with it."""
    if rel.peer is not None or rel.state is not RelationshipState.INVITED:
        raise NodeError(
            f"invitation {invitation_id(rel.invite_secret)[:8]} is not open "
            f"({'used' if rel.peer is not None else rel.ended_reason or rel.state.value}); "
            "only an unused invitation can be withdrawn"
        )
    return [Transition(*step(rel, LocalEnd(REASON_WITHDRAWN), now_ms))]
