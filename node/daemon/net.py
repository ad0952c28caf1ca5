"""The daemon's links: dialling with backoff, holding links behind NAT and to relays, reading.

A link is a Noise session over a WebSocket (amity.node.net.link). This part keeps the links a node
needs: while it owes a peer messages it dials (and meanwhile leaves the mail at the peer's
relays), behind NAT it holds a link to every peer it can dial, it holds one to each relay it uses,
and it reads each link under an idle timeout and a rate limit, handing every frame to the
receiving side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from amity.node.daemon.base import (
    BACKOFF_MAX_S,
    BACKOFF_START_S,
    BURST,
    IDLE_S,
    RATE_PER_S,
    READ_TURN_S,
    log,
)
from amity.node.logs import log_event
from amity.node.net.link import HANDSHAKE_TIMEOUT_S, Link, open_link
from amity.node.net.transport import Connection, TransportClosed, TransportError
from amity.protocol.card import Card, Relay
from amity.protocol.core.effects import (
    Flush,
    Transition,
)
from amity.protocol.core.links import on_link_down, on_link_up
from amity.protocol.errors import (
    AmityError,
    NodeError,
)
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, RelationshipState
from amity.protocol.relmessages import MSG_HELLO

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Net"]

#: The link reader's watchdog wakes at most this often (a deadline already due, mid-message).
_WATCH_MIN_S: Final = 0.05


class Net:
    """See the module docstring."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._dialing: set[PeerId] = set()

    async def dial(
        self, endpoints: Iterable[str], peer: PeerId, *, name: str | None = None
    ) -> Link:
        problems = []
        for endpoint in endpoints:
            try:
                connection = await self.node.dialer.dial(endpoint)
            except TransportError as exc:
                problems.append(str(exc))
                continue
            try:
                return await open_link(
                    connection,
                    self.node.keyring,
                    self.node.clock_ms,
                    initiator=True,
                    card=self.node.card(),
                    expected_peer=peer,
                )
            except (AmityError, TransportError, TimeoutError) as exc:
                await connection.close()
                problems.append(f"{endpoint}: handshake failed: {exc}")
        detail = "; ".join(problems) or "its card lists no endpoint"
        raise NodeError(f"cannot reach {name or peer.short}: {detail}")

    def keep_link(self, peer: PeerId, rel: Relationship | None = None) -> bool:
        """Behind NAT, peers cannot dial us: hold a link to every CONNECTED peer we can dial
        (``rel``: its relationship, when the caller has it already)."""
        if self.node.reachable:
            return False
        if rel is None:
            rel = self.node.book.current(peer)
        return (
            rel is not None
            and rel.state is RelationshipState.CONNECTED
            and rel.peer_card is not None
            and bool(rel.peer_card.endpoints)
        )

    def ensure(self, peer: PeerId, *, once: bool = False) -> None:
        """Keep trying to reach ``peer`` while we owe it messages (``once``: one try, to ACK)."""
        if self.node._closing or self.node.links.get(peer) or peer in self._dialing:
            return
        rel = self.node.book.current(peer)
        card = rel.peer_card if rel is not None else None
        if card is None or not (card.endpoints or card.relays):
            return  # we never learnt where it is: it will dial us
        self._dialing.add(peer)
        self.node._spawn(self._redial(peer, card, once=once), f"dial-{peer.short}")

    async def _redial(self, peer: PeerId, card: Card, *, once: bool) -> None:
        """Dial with backoff; while the peer is unreachable, leave its mail at its relays."""
        delay = BACKOFF_START_S
        try:
            while not self.node._closing and not self.node.links.get(peer):
                if (
                    not once
                    and not self.node.store.count_pending(peer.key)
                    and not self.keep_link(peer)
                ):
                    return
                if card.endpoints:
                    try:
                        link = await self.dial(card.endpoints, peer)
                    except NodeError as exc:
                        log_event(log, "dial.failed", peer=peer.short, retry_s=delay, why=str(exc))
                    else:
                        await self.attach(link)
                        return
                if once:
                    return
                await self.node.depositor.deposit(peer, card)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
        finally:
            self._dialing.discard(peer)

    def link_to(self, peer: PeerId) -> Link | None:
        links = self.node.links.get(peer)
        return links[-1] if links else None

    async def hold_relay(self, relay: Relay) -> None:
        """Keep a link to a relay we use, so it can hand over mail held for us."""
        delay = BACKOFF_START_S
        while not self.node._closing:
            link = self.link_to(relay.peer_id)
            if link is not None:
                await link.closed.wait()
                delay = BACKOFF_START_S
                continue
            try:
                link = await self.dial([relay.endpoint], relay.peer_id)
            except NodeError as exc:
                log_event(
                    log,
                    "relay.unreachable",
                    relay=relay.peer_id.short,
                    retry_s=delay,
                    why=str(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            await self.attach(link)

    async def accept(
        self,
        connection: Connection,
        *,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        on_known: Callable[[], None] = lambda: None,
    ) -> None:
        """Serve one inbound connection until it closes (the peer server calls this).

        ``on_known`` is called once the handshake proves a peer we have a relationship with
        (the peer server then stops counting the connection as a stranger's).
        """
        try:
            link = await open_link(
                connection,
                self.node.keyring,
                self.node.clock_ms,
                initiator=False,
                card=self.node.card(),
                timeout_s=handshake_timeout_s,
            )
        except (AmityError, TransportError, TimeoutError) as exc:
            self.node.rejected += 1
            code = getattr(exc, "code", type(exc).__name__)
            log_event(log, "handshake.refused", remote=connection.remote, code=code)
            await connection.close()
            return
        if self.node.book.current(link.peer) is not None:
            on_known()
        await self.attach(link, read_here=True)

    async def attach(self, link: Link, *, read_here: bool = False) -> None:
        peer = link.peer
        self.node.links[peer].append(link)
        log_event(log, "link.up", peer=peer.short, inbound=link.inbound)
        hello = self.node.store.newest_pending(peer.key, MSG_HELLO)
        effects = on_link_up(self.node, peer, self.node.clock_ms(), pending_hello=hello)
        if self.node.core_trace is not None:
            self.node.core_trace.append((peer, effects))
        for effect in effects:
            if isinstance(effect, Transition):
                await self.node.steps.apply(effect.relationship, effect.effects)
            elif isinstance(effect, Flush):
                self.node.sender.kick(effect.peer)
        if self.node.mailbox is not None:
            self.node._spawn(self.node.mailbox.hand_over(link), f"mail-{peer.short}")
        if read_here:
            await self._read(link)
        else:
            self.node._spawn(self._read(link), f"read-{peer.short}")

    async def _read(self, link: Link) -> None:
        loop = asyncio.get_running_loop()
        tokens, last = float(BURST), loop.time()
        turn_started = last
        waiting = False
        watchdog: asyncio.TimerHandle | None = None
        try:
            # One deadline for the link's life, moved by a watchdog timer that wakes once per
            # IDLE_S (not a timeout per message): idle, or a link certificate expired, while
            # waiting for a message: close; a redial handshakes afresh.
            async with asyncio.timeout(None) as deadline:

                def watch() -> None:
                    nonlocal watchdog
                    left_s = last + IDLE_S - loop.time()
                    if link.not_after_ms is not None:
                        left_s = min(left_s, (link.not_after_ms - self.node.clock_ms()) / 1000)
                    if left_s <= 0 and waiting:
                        deadline.reschedule(loop.time())  # receive() ends in TimeoutError
                    else:
                        watchdog = loop.call_later(max(left_s, _WATCH_MIN_S), watch)

                watch()
                while True:
                    waiting = True
                    message = await link.receive()
                    waiting = False
                    now = loop.time()
                    tokens = min(float(BURST), tokens + (now - last) * RATE_PER_S)
                    last = now
                    if tokens < 1:
                        self.node.rejected += 1
                        log_event(log, "link.rate_limited", logging.WARNING, peer=link.peer.short)
                        break
                    tokens -= 1
                    await self.node.receiver.on_message(link, message)
                    if link.not_after_ms is not None and self.node.clock_ms() >= link.not_after_ms:
                        raise TimeoutError  # the message was taken; the session ends here
                    if now - turn_started >= READ_TURN_S:
                        # A buffered link never suspends in receive(): without this one reader
                        # would open a whole window before the loop commits, fsyncs or ACKs.
                        await asyncio.sleep(0)
                        turn_started = loop.time()
        except TimeoutError:
            expired = link.not_after_ms is not None and self.node.clock_ms() >= link.not_after_ms
            log_event(log, "link.cert_expired" if expired else "link.idle", peer=link.peer.short)
        except TransportClosed:
            pass
        except TransportError as exc:  # the peer broke the transport (oversized message…)
            self.node.rejected += 1
            log_event(
                log,
                "link.broken",
                logging.WARNING,
                peer=link.peer.short,
                code=exc.code,
                why=str(exc),
            )
        except AmityError as exc:  # the session itself broke (tampered frame): drop the link
            self.node.rejected += 1
            log_event(log, "link.broken", logging.WARNING, peer=link.peer.short, code=exc.code)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            links = self.node.links.get(link.peer, [])
            if link in links:
                links.remove(link)
            link.closed.set()
            self.node.sender.sent_upto.pop(link, None)
            if not self.node._closing:
                for effect in on_link_down(link.peer, len(links)):
                    if isinstance(effect, Flush):
                        self.node.sender.kick(effect.peer)
            if self.node.mailbox is not None:
                self.node.mailbox.link_down(link)
            await link.close()
            log_event(log, "link.down", peer=link.peer.short)
            if self.node.store.count_pending(link.peer.key) or self.keep_link(link.peer):
                self.ensure(link.peer)
