"""The node: feeds network input and time into the protocol core and carries out its effects.

One :class:`Node` per home directory. It owns the store, the relationship book, the replay
guard, live links and the outbox. Everything a peer is told has been committed to disk first:
an envelope is stored (inbox + replay window + relationship change, one transaction) before its
ACK goes out, and an outgoing envelope is in the outbox before its first send.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from amity.node.book import RelationshipBook
from amity.node.events import EventBus
from amity.node.link import Link, open_link
from amity.node.logs import log_event
from amity.node.store import OutboxItem, Store
from amity.node.transport import Connection, Dialer, TransportClosed, TransportError
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind, Relay
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError, DuplicateError, LocalError, StateError
from amity.protocol.frames import (
    FrameKind,
    decode_ack,
    decode_refuse,
    encode_ack,
    encode_envelope_frame,
    encode_refuse,
    split_frame,
)
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.notes import MSG_NOTE, decode_note, encode_note
from amity.protocol.relationship import (
    CancelTimer,
    Effect,
    Event,
    HandshakeCompleted,
    HelloReceived,
    InvitationAccepted,
    InvitationIssued,
    InvitationReceived,
    LocalEnd,
    MessageSeen,
    Notify,
    PeerEnded,
    Persist,
    Relationship,
    RelationshipState,
    SendMessage,
    SetTimer,
    TimerFired,
    open_relationship,
    step,
)
from amity.protocol.relmessages import MSG_END, MSG_HELLO, decode_end, decode_hello
from amity.protocol.replay import MAIL_POLICY, PeerWindow, ReplayGuard

__all__ = ["Node", "NodeError", "wall_clock_ms"]

_log = logging.getLogger("amity.node")
_DAY_MS: Final = 24 * 3600 * 1000
_CARD_DAYS: Final = 30
_CONNECT_WAIT_S: Final = 15.0
_BACKOFF_START_S: Final = 0.25
_BACKOFF_MAX_S: Final = 30.0
#: Message types a relationship carries today; anything else is refused (envelope.wrong_type).
ACCEPTED_TYPES: Final = frozenset({MSG_HELLO, MSG_END, MSG_NOTE})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NodeError(LocalError):
    """What the owner asked cannot be done (unknown peer, no endpoint…); the message says why."""

    code = "node.error"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who this node says it is on its cards."""

    name: str
    kind: NodeKind


class Node:
    """A running amity node. Start with ``async with``; see amity.node.runner for the servers."""

    def __init__(
        self,
        *,
        seed: bytes,
        store: Store,
        identity: Identity,
        dialer: Dialer,
        clock_ms: Callable[[], int] = wall_clock_ms,
        endpoints: Iterable[str] = (),
        relays: Iterable[Relay] = (),
    ) -> None:
        self.keyring = Keyring(seed)
        self.peer_id: PeerId = self.keyring.identity.peer_id
        self.store = store
        self.book = RelationshipBook(store)
        self.identity = identity
        self.dialer = dialer
        self.clock_ms = clock_ms
        self.endpoints: list[str] = list(endpoints)
        self.relays: list[Relay] = list(relays)
        self.events = EventBus()
        self.guard = ReplayGuard(MAIL_POLICY)
        self.links: dict[PeerId, list[Link]] = defaultdict(list)
        self.rejected = 0
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dialing: set[PeerId] = set()
        self._flush_locks: dict[PeerId, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._sent_upto: dict[int, int] = {}
        self._connected: dict[bytes, asyncio.Event] = defaultdict(asyncio.Event)
        self._card: Card | None = None
        self._closing = False

    # -- lifetime ----------------------------------------------------------------------------------

    async def __aenter__(self) -> Node:
        for peer_key, highest, bitmap in self.store.load_replay():
            window = PeerWindow(highest=highest, bitmap=int.from_bytes(bitmap, "big"))
            self.guard.restore_peer(PeerId(peer_key), window)
        for rel in self.book.with_timers():
            if rel.timer_token is not None and rel.timer_at_ms is not None:
                self._arm(rel.invite_secret, rel.timer_token, rel.timer_at_ms)
        for peer_key in self.store.peers_with_pending():
            self._ensure_link(PeerId(peer_key))
        log_event(_log, "node.started", peer=self.peer_id.short, did=self.peer_id.did)
        return self

    async def close_links(self) -> None:
        """Close every live link (peers see a clean close); no new dialling after this."""
        self._closing = True
        for links in list(self.links.values()):
            for link in list(links):
                await link.close()

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        for handle in self._timers.values():
            handle.cancel()
        await self.close_links()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.events.close()
        log_event(_log, "node.stopped", peer=self.peer_id.short)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what the owner asks (the local API calls these) -------------------------------------------

    def card(self, *, invite_secret: bytes | None = None, ttl_ms: int | None = None) -> Card:
        """Our peer card (with a fresh one-time secret it becomes an invitation)."""
        now = self.clock_ms()
        if (
            invite_secret is None
            and self._card is not None
            and self._card.not_after_ms > now + _DAY_MS
        ):
            return self._card
        _, cert = self.keyring.current(now)
        card = Card.issue(
            self.keyring.identity,
            link_cert=cert,
            kind=self.identity.kind,
            name=self.identity.name,
            endpoints=self.endpoints,
            relays=self.relays,
            issued_ms=now,
            not_after_ms=min(now + (ttl_ms or _CARD_DAYS * _DAY_MS), cert.not_after_ms),
            invite_secret=invite_secret,
        )
        if invite_secret is None:
            self._card = card
        return card

    async def invite(self, ttl_ms: int = 7 * _DAY_MS) -> Card:
        """Issue a one-time invitation, valid for ``ttl_ms``."""
        invitation = self.card(invite_secret=os.urandom(INVITE_SECRET_BYTES), ttl_ms=ttl_ms)
        await self._apply(*open_relationship(InvitationIssued(invitation), self.clock_ms()))
        log_event(_log, "invite.issued", expires_ms=invitation.not_after_ms)
        return invitation

    async def connect(self, uri: str) -> Relationship:
        """Accept an invitation: dial the inviter, handshake, exchange hellos."""
        card = Card.from_uri(uri)
        now = self.clock_ms()
        card.check_valid(now)
        if card.peer_id == self.peer_id:
            raise NodeError("that invitation is your own; give it to the peer you want to meet")
        if not card.is_invitation or card.invite_secret is None:
            raise NodeError(
                "that is a peer card, not an invitation; ask the peer for `amity invite`"
            )
        rel = self.book.by_secret(card.invite_secret)
        if rel is not None and rel.state is RelationshipState.CONNECTED:
            return rel
        if rel is None:
            rel = await self._apply(*open_relationship(InvitationReceived(card), now))
        if rel.state is RelationshipState.INVITED:
            rel = await self._step(rel, InvitationAccepted())
        link = await self._dial(card.endpoints, card.peer_id)
        await self._attach(link)
        try:
            async with asyncio.timeout(_CONNECT_WAIT_S):
                await self._connected[card.invite_secret].wait()
        except TimeoutError:
            raise NodeError(
                f"{card.name or card.peer_id.short} answered the handshake but did not confirm "
                f"the invitation within {_CONNECT_WAIT_S:.0f} s; it may be used up or withdrawn"
            ) from None
        found = self.book.by_secret(card.invite_secret)
        assert found is not None
        return found

    async def send_note(self, peer: PeerId, text: str) -> int:
        """Queue a signed note to ``peer``; returns its sequence number."""
        rel = self._live(peer)
        return await self._enqueue(rel.peer or peer, MSG_NOTE, encode_note(text))

    async def end(self, peer: PeerId, reason: str) -> Relationship:
        """End the relationship with ``peer`` (a signed rel.end goes to the peer)."""
        rel = self.book.current(peer)
        if rel is None:
            raise NodeError(f"no relationship with {peer.short}; `amity peers` lists them")
        return await self._step(rel, LocalEnd(reason))

    def _live(self, peer: PeerId) -> Relationship:
        rel = self.book.current(peer)
        if rel is None or rel.state is not RelationshipState.CONNECTED:
            state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
            raise NodeError(f"cannot send to {peer.short}: {state}")
        return rel

    # -- relationship effects ----------------------------------------------------------------------

    async def _step(self, rel: Relationship, event: Event) -> Relationship:
        return await self._apply(*step(rel, event, self.clock_ms()))

    async def _apply(
        self,
        rel: Relationship,
        effects: list[Effect],
        also_write: Callable[[], None] | None = None,
    ) -> Relationship:
        """Carry out effects: persist and queue sends in one transaction, then the rest.

        ``also_write`` runs inside the same transaction, so a received message and the
        relationship change it causes are stored together or not at all.
        """
        now = self.clock_ms()
        sends: list[SendMessage] = []
        with self.store.transaction():
            if also_write is not None:
                also_write()
            for effect in effects:
                if isinstance(effect, Persist):
                    self.book.save(effect.relationship, now)
                elif isinstance(effect, SendMessage):
                    sends.append(effect)
                    self._queue(effect.to, effect.type, effect.body, now)
        for effect in effects:
            if isinstance(effect, SetTimer):
                self._arm(rel.invite_secret, effect.token, effect.at_ms)
            elif isinstance(effect, CancelTimer):
                handle = self._timers.pop(effect.token, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(effect, Notify):
                self._notify(rel, effect)
        for peer in {send.to for send in sends}:
            self._ensure_link(peer)
            self._spawn(self._flush(peer), f"flush-{peer.short}")
        return rel

    def _notify(self, rel: Relationship, effect: Notify) -> None:
        if effect.kind == "connected":
            self._connected[rel.invite_secret].set()
        log_event(_log, f"relationship.{effect.kind}", peer=rel.peer.short if rel.peer else "-")
        self.events.publish(effect.kind, {"peer": effect.detail, "state": rel.state.value})

    def _arm(self, secret: bytes, token: str, at_ms: int) -> None:
        delay_s = max(0.0, (at_ms - self.clock_ms()) / 1000)
        loop = asyncio.get_running_loop()
        old = self._timers.pop(token, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(token, None)
            self._spawn(self._timer_fired(secret, token), f"timer-{token}")

        self._timers[token] = loop.call_later(delay_s, fire)

    async def _timer_fired(self, secret: bytes, token: str) -> None:
        rel = self.book.by_secret(secret)
        if rel is not None:
            await self._step(rel, TimerFired(token))

    # -- outbox ------------------------------------------------------------------------------------

    async def _enqueue(self, peer: PeerId, type_: str, body: bytes) -> int:
        with self.store.transaction():
            seq = self._queue(peer, type_, body, self.clock_ms())
        self._ensure_link(peer)
        self._spawn(self._flush(peer), f"flush-{peer.short}")
        return seq

    def _queue(self, peer: PeerId, type_: str, body: bytes, now: int) -> int:
        """Sign and store one envelope (inside the caller's transaction)."""
        seq = self.store.next_seq(peer.key)
        envelope = sign_envelope(
            self.keyring.identity,
            type=type_,
            recipient=peer,
            seq=seq,
            ts_ms=now,
            nonce=os.urandom(16),
            body=body,
        )
        self.store.add_outbox(OutboxItem(peer.key, seq, type_, envelope, now))
        return seq

    async def _flush(self, peer: PeerId) -> None:
        """Send every unacknowledged envelope to ``peer`` over its newest link, in order."""
        async with self._flush_locks[peer]:
            links = self.links.get(peer)
            if not links:
                return
            link = links[-1]
            start = self._sent_upto.get(id(link), 0)
            for item in self.store.pending_outbox(peer.key):
                if item.seq <= start:
                    continue
                try:
                    await link.send(encode_envelope_frame(item.envelope))
                except TransportClosed:
                    return
                self._sent_upto[id(link)] = item.seq

    # -- links -------------------------------------------------------------------------------------

    async def _dial(self, endpoints: Iterable[str], peer: PeerId) -> Link:
        problems = []
        for endpoint in endpoints:
            try:
                connection = await self.dialer.dial(endpoint)
            except TransportError as exc:
                problems.append(str(exc))
                continue
            try:
                return await open_link(
                    connection,
                    self.keyring,
                    self.clock_ms,
                    initiator=True,
                    card=self.card(),
                    expected_peer=peer,
                )
            except (AmityError, TransportError, TimeoutError) as exc:
                await connection.close()
                problems.append(f"{endpoint}: handshake failed: {exc}")
        detail = "; ".join(problems) or "its card lists no endpoint"
        raise NodeError(f"cannot reach {peer.short}: {detail}")

    def _ensure_link(self, peer: PeerId) -> None:
        """Keep dialling ``peer`` (with backoff) while we owe it messages and have no link."""
        if self._closing or self.links.get(peer) or peer in self._dialing:
            return
        rel = self.book.current(peer)
        if rel is None or rel.peer_card is None or not rel.peer_card.endpoints:
            return  # it dials us (behind NAT) or we never learnt where it is
        self._dialing.add(peer)
        self._spawn(self._redial(peer, rel.peer_card.endpoints), f"dial-{peer.short}")

    async def _redial(self, peer: PeerId, endpoints: tuple[str, ...]) -> None:
        delay = _BACKOFF_START_S
        try:
            while not self._closing and not self.links.get(peer):
                if self.store.count_pending(peer.key) == 0:
                    return
                try:
                    link = await self._dial(endpoints, peer)
                except NodeError as exc:
                    log_event(_log, "dial.failed", peer=peer.short, retry_s=delay, why=str(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _BACKOFF_MAX_S)
                    continue
                await self._attach(link)
        finally:
            self._dialing.discard(peer)

    async def accept(self, connection: Connection) -> None:
        """Serve one inbound connection until it closes (the peer server calls this)."""
        try:
            link = await open_link(
                connection, self.keyring, self.clock_ms, initiator=False, card=self.card()
            )
        except (AmityError, TransportError, TimeoutError) as exc:
            self.rejected += 1
            code = getattr(exc, "code", type(exc).__name__)
            log_event(_log, "handshake.refused", remote=connection.remote, code=code)
            await connection.close()
            return
        await self._attach(link, read_here=True)

    async def _attach(self, link: Link, *, read_here: bool = False) -> None:
        peer = link.peer
        self.links[peer].append(link)
        log_event(_log, "link.up", peer=peer.short, inbound=link.inbound)
        rel = self.book.current(peer)
        if rel is not None and rel.state is not RelationshipState.ENDED:
            own = self.card()
            await self._step(rel, HandshakeCompleted(peer, own))
        self._spawn(self._flush(peer), f"flush-{peer.short}")
        if read_here:
            await self._read(link)
        else:
            self._spawn(self._read(link), f"read-{peer.short}")

    async def _read(self, link: Link) -> None:
        try:
            while True:
                message = await link.receive()
                await self._on_message(link, message)
        except TransportClosed:
            pass
        except AmityError as exc:  # the session itself broke (tampered frame): drop the link
            self.rejected += 1
            log_event(_log, "link.broken", logging.WARNING, peer=link.peer.short, code=exc.code)
        finally:
            links = self.links.get(link.peer, [])
            if link in links:
                links.remove(link)
            self._sent_upto.pop(id(link), None)
            await link.close()
            log_event(_log, "link.down", peer=link.peer.short)
            if self.store.count_pending(link.peer.key):
                self._ensure_link(link.peer)

    async def _on_message(self, link: Link, message: bytes) -> None:
        try:
            kind, payload = split_frame(message)
            if kind is FrameKind.ACK:
                ack = decode_ack(payload)
                with self.store.transaction():
                    self.store.ack_outbox(link.peer.key, list(ack.seqs), self.clock_ms())
                return
            if kind is FrameKind.REFUSE:
                refusal = decode_refuse(payload)
                with self.store.transaction():
                    self.store.ack_outbox(link.peer.key, [refusal.seq], self.clock_ms())
                log_event(_log, "message.refused_by_peer", peer=link.peer.short, code=refusal.code)
                return
            await self._on_envelope(link, payload)
        except AmityError as exc:
            self.rejected += 1
            log_event(
                _log, "message.rejected", logging.WARNING, peer=link.peer.short, code=exc.code
            )

    async def _on_envelope(self, link: Link, data: bytes) -> None:
        envelope = open_envelope(data, recipient=self.peer_id, types=ACCEPTED_TYPES)
        if envelope.sender != link.peer:
            raise StateError(f"{link.peer.short} forwarded a message signed by someone else")
        now = self.clock_ms()
        try:
            self.guard.check(envelope, now)
        except DuplicateError:
            await link.send(encode_ack([envelope.seq]))  # stored before; our ACK was lost
            return
        try:
            rel, effects = self._dispatch(link, envelope, now)
        except AmityError as exc:
            await link.send(encode_refuse(envelope.seq, exc.code, exc.message))
            raise

        def store_message() -> None:
            self.store.add_inbox(
                envelope.sender.key, envelope.seq, envelope.type, envelope.body, data, now
            )
            self.guard.record(envelope, now)
            window = self.guard.export_peer(envelope.sender)
            if window is not None:
                self.store.save_replay(envelope.sender.key, window.highest, _bitmap_bytes(window))

        await self._apply(rel, effects, also_write=store_message)
        await link.send(encode_ack([envelope.seq]))
        if envelope.type == MSG_NOTE:
            self.events.publish(
                "message", {"peer": envelope.sender.did, "seq": envelope.seq, "type": envelope.type}
            )

    def _dispatch(
        self, link: Link, envelope: Envelope, now: int
    ) -> tuple[Relationship, list[Effect]]:
        """The relationship event ``envelope`` means; raises if the relationship refuses it."""
        if envelope.type == MSG_HELLO:
            hello = decode_hello(envelope.body)
            rel = self.book.current(link.peer)
            if rel is None or rel.state is RelationshipState.ENDED:
                # A stranger: only an invitation we issued, redeemed by its secret, lets it in.
                if hello.invite_secret is None:
                    raise StateError(
                        f"{link.peer.short} is not a peer of ours and has no invitation"
                    )
                rel = self.book.by_secret(hello.invite_secret)
                if rel is None:
                    raise StateError(f"{link.peer.short} presented an unknown invitation")
                rel, first = step(rel, HandshakeCompleted(link.peer, self.card()), now)
                rel, second = step(rel, HelloReceived(hello.card, hello.invite_secret), now)
                return rel, [*first, *second]
            return step(rel, HelloReceived(hello.card, hello.invite_secret), now)
        rel = self.book.current(link.peer)
        if rel is None:
            raise StateError(f"{link.peer.short} is not a peer of ours")
        if envelope.type == MSG_END:
            return step(rel, PeerEnded(decode_end(envelope.body).reason), now)
        if envelope.type == MSG_NOTE:
            decode_note(envelope.body)
        return step(rel, MessageSeen(envelope.type), now)

    # -- what the local API shows ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        online = sorted(peer.did for peer, links in self.links.items() if links)
        return {
            "did": self.peer_id.did,
            "fingerprint": self.peer_id.fingerprint,
            "name": self.identity.name,
            "kind": self.identity.kind.value,
            "endpoints": list(self.endpoints),
            "peers_online": online,
            "relationships": self.store.count_relationships(),
            "outbox_pending": self.store.count_pending(),
            "rejected": self.rejected,
        }


def _bitmap_bytes(window: PeerWindow) -> bytes:
    return window.bitmap.to_bytes((window.bitmap.bit_length() + 7) // 8 or 1, "big")
