"""What a node does when a link to a peer comes up (its handshake proved who the peer is), or goes.

If it is a peer of ours and the relationship is not over, the relationship machine hears of the
handshake (a hello with our current card and a fresh deposit ticket goes out); then whatever our
outbox holds for the peer is sent again on the new link, in seq order, from the first envelope
it has not acknowledged (spec/link.md §3): the receiver answers duplicates with an ACK and
stores nothing twice.

When a link goes down and another link to the same peer is still up, whatever the outbox holds
that only the lost link carried is sent again on the one left: an envelope must not wait for the
next message to that peer, or for a new link, to travel again.
"""

from __future__ import annotations

from amity.protocol.core.effects import Effect, Flush, Transition
from amity.protocol.core.host import Host
from amity.protocol.core.tickets import ticket_for
from amity.protocol.identity import PeerId
from amity.protocol.relationship import HandshakeCompleted, RelationshipState, step

__all__ = ["on_link_down", "on_link_up"]


def on_link_up(host: Host, peer: PeerId, now_ms: int) -> list[Effect]:
    """A link to ``peer`` is up: the handshake's step of the relationship, then the resend."""
    effects: list[Effect] = []
    rel = host.relationship(peer)
    if rel is not None and rel.state is not RelationshipState.ENDED:
        event = HandshakeCompleted(peer, host.card(), ticket_for(host, peer, now_ms))
        effects.append(Transition(*step(rel, event, now_ms)))
    effects.append(Flush(peer))
    return effects


def on_link_down(peer: PeerId, links_left: int) -> list[Effect]:
    """A link to ``peer`` is gone: if another is still up, the outbox resends on it."""
    return [Flush(peer)] if links_left > 0 else []
