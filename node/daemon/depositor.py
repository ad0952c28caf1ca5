"""The daemon's deposits: the mail of an unreachable peer left at its relays, page by page.

The rules (which relays, which ticket, what a page's answers mean) are amity.protocol.core.deposits;
this part seals, sends, and waits for the DEPOSITED answers.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import TYPE_CHECKING

from amity.node.daemon.base import (
    CONNECT_WAIT_S,
    log,
)
from amity.node.logs import log_event
from amity.node.net.link import Link
from amity.node.net.transport import TransportClosed
from amity.protocol.card import Card, Relay
from amity.protocol.core.deposits import (
    PageOutcome,
    page_outcome,
    relays_to_try,
    ticket_to_show,
    undeposited,
)
from amity.protocol.errors import (
    NodeError,
)
from amity.protocol.frames import (
    encode_deposit,
)
from amity.protocol.handover import DEPOSIT_PAGE
from amity.protocol.identity import PeerId
from amity.protocol.sealed import seal

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Depositor"]


class Depositor:
    """See the module docstring."""

    def __init__(self, node: Node) -> None:
        self.node = node
        #: (relay, deposit id) -> the DEPOSITED answer awaited.
        self.answers: dict[tuple[PeerId, int], asyncio.Future[str]] = {}
        self._last_id = 0
        #: (peer, seq) of envelopes a relay holds; forgotten once the peer ACKs them.
        self.deposited: set[tuple[PeerId, int]] = set()

    async def deposit(self, peer: PeerId, card: Card) -> None:
        """Seal each undeposited outbox envelope to ``peer`` and leave it at one of its relays.

        Pages of DEPOSIT_PAGE envelopes, in seq order, each answered before the next is sent
        (spec/relay.md §2); a relay that does not hold a whole page leaves the rest to the next.
        """
        now = self.node.clock_ms()
        relays = relays_to_try(card, now)
        # The peer's ticket, if it gave us one: our mail then uses the room it keeps for its
        # peers at the relay, not the strangers' small budget (spec/relay.md §6).
        ticket = ticket_to_show(self.node.store.deposit_ticket(peer.key), now)
        for relay in relays if self._undeposited(peer, 0) else ():
            try:
                link = self.node.net.link_to(relay.peer_id) or await self.node.net.dial(
                    [relay.endpoint], relay.peer_id
                )
            except NodeError as exc:
                log_event(log, "relay.unreachable", relay=relay.peer_id.short, why=str(exc))
                continue
            if link not in self.node.links.get(relay.peer_id, []):
                await self.node.net.attach(link)
            after, held, whole = 0, 0, True
            while whole and (items := self._undeposited(peer, after)):
                after = items[-1][0]
                outcome = await self._deposit_page(link, relay, peer, card, items, ticket)
                self.deposited.update((peer, seq) for seq in outcome.held)
                held += len(outcome.held)
                whole = outcome.whole
                if ticket is not None and outcome.ticket_refused:
                    ticket = None
                    self.node.commits.write(
                        functools.partial(self.node.store.forget_deposit_ticket, peer.key)
                    )
            log_event(log, "relay.deposited", relay=relay.peer_id.short, to=peer.short, items=held)
            if whole:
                return

    def _undeposited(self, peer: PeerId, after_seq: int) -> list[tuple[int, bytes]]:
        """The next page of ``peer``'s pending envelopes after ``after_seq`` no relay holds."""
        while True:
            page = self.node.store.pending_outbox(peer.key, after_seq=after_seq, limit=DEPOSIT_PAGE)
            if not page:
                return []
            items = undeposited(((i.seq, i.envelope) for i in page), self.deposited, peer)
            if items:
                return items
            after_seq = page[-1].seq

    async def _deposit_page(
        self,
        link: Link,
        relay: Relay,
        peer: PeerId,
        card: Card,
        items: list[tuple[int, bytes]],
        ticket: bytes | None,
    ) -> PageOutcome:
        """Deposit ``items`` at ``relay`` over ``link``, with ``peer``'s ticket if we hold one."""
        if not self.node.commits.durable():  # as the flusher: no envelope leaves before its fsync
            await self.node.commits.write()
        answers = {}
        for seq, envelope in items:
            self._last_id += 1
            answers[seq] = future = asyncio.get_running_loop().create_future()
            self.answers[(relay.peer_id, self._last_id)] = future
            sealed = seal(
                envelope,
                recipient=peer,
                link_public=card.link_cert.link_public,
                ephemeral_private=os.urandom(32),
            )
            try:
                await link.send(encode_deposit(self._last_id, sealed, ticket))
            except TransportClosed:
                return page_outcome(None, len(items))
        try:
            async with asyncio.timeout(CONNECT_WAIT_S):
                codes = {seq: await answer for seq, answer in answers.items()}
        except TimeoutError:
            return page_outcome(None, len(items))
        return page_outcome(codes, len(items))
