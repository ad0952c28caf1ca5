"""Which peers a simulated node dials, and when: the daemon's ``_ensure_link`` and ``_redial``.

A node dials a peer while it owes it messages, or, behind NAT (no endpoint of its own), to hold a
link to every CONNECTED peer it can dial, since those peers cannot dial it. Retries back off from
0.25 s, doubling to 30 s. A peer whose card lists no endpoint is never dialled: it dials us. While
a peer cannot be reached, each failed round first leaves its mail at the relays on its card
(:func:`~amity.simulations.relay.deposit`), and a node holds a link to each relay it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from amity.protocol.card import Card
from amity.protocol.identity import PeerId
from amity.protocol.relationship import RelationshipState
from amity.simulations.crypto import make_session
from amity.simulations.link import SimLink
from amity.simulations.relay import deposit
from amity.simulations.world.engine import Timer
from amity.simulations.world.network import Connection

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["ENDPOINT_SCHEME", "Dialer"]

ENDPOINT_SCHEME: Final = "sim://"
_BACKOFF_START_MS: Final = 250
_BACKOFF_MAX_MS: Final = 30_000


class Dialer:
    """Dials on behalf of one node, with backoff, and opens links (initiator or responder)."""

    __slots__ = ("_dialing", "_node")

    def __init__(self, node: SimNode) -> None:
        self._node = node
        #: Peers being dialled, with the timer of the next retry (None while a dial is under way).
        self._dialing: dict[PeerId, Timer | None] = {}

    def keep_link(self, peer: PeerId) -> bool:
        """Behind NAT, peers cannot dial us: hold a link to every CONNECTED peer we can dial.

        A link to each relay we use is held too, so that it can hand over our mail.
        """
        node = self._node
        if node.relays and any(relay.peer_id == peer for relay in node.relays):
            return True
        if node.reachable:
            return False
        rel = node.relationship(peer)
        return (
            rel is not None
            and rel.state is RelationshipState.CONNECTED
            and rel.peer_card is not None
            and bool(rel.peer_card.endpoints)
        )

    def wants_link(self, peer: PeerId) -> bool:
        return bool(self._node.outbox.pending(peer)) or self.keep_link(peer)

    def ensure(self, peer: PeerId, *, once: bool = False) -> None:
        """Keep dialling ``peer`` while we owe it messages or must hold a link to it."""
        node = self._node
        if not node.network.is_online(node.address) or node.links.get(peer):
            return
        if peer in self._dialing:
            return
        rel = node.relationship(peer)
        card = rel.peer_card if rel is not None else None
        if card is None or not (card.endpoints or card.relays):
            return  # we never learnt where it is: it will dial us
        self._dialing[peer] = None
        self._redial(peer, card, once, _BACKOFF_START_MS)

    def _redial(self, peer: PeerId, card: Card, once: bool, delay_ms: int) -> None:
        node = self._node
        if (
            not node.network.is_online(node.address)
            or node.links.get(peer)
            or (not once and not self.wants_link(peer))
        ):
            self._forget(peer)
            return
        self._dialing[peer] = None  # a dial (and maybe a deposit) under way, no timer

        def failed(why: str) -> None:
            if once or peer not in self._dialing:
                self._forget(peer)
                return
            retry = min(delay_ms * 2, _BACKOFF_MAX_MS)

            def wait() -> None:  # as the daemon's loop: deposit, then sleep, then dial again
                if self._dialing.get(peer, False) is None:  # still dialling, and no timer yet
                    self._dialing[peer] = node.engine.call_later(
                        delay_ms, self._redial, peer, card, once, retry
                    )

            deposit(node, peer, card, wait)

        if card.endpoints:
            self.dial(peer, card.endpoints, failed)
        else:
            failed("its card lists no endpoint; only its relays can take its mail")

    def linked(self, peer: PeerId) -> None:
        """A link to ``peer`` is up: no retry is needed any more."""
        self._node.engine.cancel(self._forget(peer))

    def _forget(self, peer: PeerId) -> Timer | None:
        timer = self._dialing.pop(peer, None)
        if not self._dialing:
            self._dialing.clear()  # an emptied dict keeps its table until cleared
        return timer

    def stop(self) -> None:
        """We went offline: forget every dial in progress."""
        for timer in self._dialing.values():
            self._node.engine.cancel(timer)
        self._dialing.clear()

    def dial(
        self, peer: PeerId, endpoints: tuple[str, ...], on_fail: Callable[[str], None]
    ) -> None:
        """One attempt: connect to the first endpoint we can dial and run the handshake."""
        node = self._node
        address = next(
            (int(e[len(ENDPOINT_SCHEME) :]) for e in endpoints if e.startswith(ENDPOINT_SCHEME)),
            None,
        )
        if address is None:
            node.engine.call_later(0, on_fail, "no endpoint this network can dial")
            return

        def opened(connection: Connection) -> None:
            self.open_link(connection, inbound=False, expected=peer, on_fail=on_fail)

        node.network.connect(node.address, address, opened, on_fail)

    def open_link(
        self,
        connection: Connection,
        *,
        inbound: bool,
        expected: PeerId | None = None,
        on_fail: Callable[[str], None] | None = None,
    ) -> None:
        """Start the session handshake on ``connection`` (as the daemon's ``open_link``)."""
        node = self._node
        link_key, link_cert = node.keyring.current(node.now_ms())
        session = make_session(
            node.env.crypto,
            initiator=not inbound,
            link_key=link_key,
            link_cert=link_cert,
            ephemeral_private=node.random.take(32),
            expected_peer=expected,
            extra=node.card().encoded,
            read_cert=node.shared.decode_link_cert,
        )
        link = SimLink(node, node.engine, connection, session, inbound=inbound, on_fail=on_fail)
        link.begin()
