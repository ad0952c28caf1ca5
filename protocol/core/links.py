"""What a node does when a link to a peer comes up (its handshake proved who the peer is), or goes.

If it is a peer of ours and the relationship is not over, the relationship machine hears of the
handshake (a hello with our current card and a fresh deposit ticket goes out); then whatever our
outbox holds for the peer is sent again on the new link, in seq order, from the first envelope
it has not acknowledged (spec/link.md §3): the receiver answers duplicates with an ACK and
stores nothing twice. A CONNECTED relationship whose last hello the peer has not acknowledged
yet, and that carries our current card, does not step: that hello goes out again with the
resend, and links that keep failing before the peer acknowledges would otherwise pile up a hello
each (spec/node.md §5).

When a link goes down and another link to the same peer is still up, whatever the outbox holds
that only the lost link carried is sent again on the one left: an envelope must not wait for the
next message to that peer, or for a new link, to travel again.
"""

from __future__ import annotations

from amity.protocol.core.effects import Effect, Flush, Transition
from amity.protocol.core.host import Host
from amity.protocol.core.tickets import ticket_for
from amity.protocol.envelope import open_envelope
from amity.protocol.identity import PeerId
from amity.protocol.relationship import HandshakeCompleted, RelationshipState, step
from amity.protocol.relmessages import MSG_HELLO, decode_hello

__all__ = ["on_link_down", "on_link_up"]


def on_link_up(
    host: Host, peer: PeerId, now_ms: int, *, pending_hello: bytes | None = None
) -> list[Effect]:
    """A link to ``peer`` is up: the handshake's step of the relationship, then the resend.

    ``pending_hello``: the newest ``rel.hello`` envelope to ``peer`` that the outbox still holds
    unsettled, if any; a CONNECTED relationship sends no other while it carries our current card.
    """
    effects: list[Effect] = []
    rel = host.relationship(peer)
    if rel is None or rel.state is RelationshipState.ENDED:
        return [Flush(peer)]
    if (
        pending_hello is None
        or rel.state is not RelationshipState.CONNECTED
        or not _introduces(host, peer, pending_hello)
    ):
        event = HandshakeCompleted(peer, host.card(), ticket_for(host, peer, now_ms))
        effects.append(Transition(*step(rel, event, now_ms)))
    effects.append(Flush(peer))
    return effects


def _introduces(host: Host, peer: PeerId, hello: bytes) -> bool:
    """Whether our own unsettled ``hello`` to ``peer`` carries the card we have now."""
    envelope = open_envelope(hello, recipient=peer, types=(MSG_HELLO,), known_sender=host.peer_id)
    return decode_hello(envelope.body, host.read_card).card.encoded == host.card().encoded


def on_link_down(peer: PeerId, links_left: int) -> list[Effect]:
    """A link to ``peer`` is gone: if another is still up, the outbox resends on it."""
    return [Flush(peer)] if links_left > 0 else []
