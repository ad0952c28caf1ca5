"""The node: feeds network input and time into the protocol core and carries out its effects.

One :class:`Node` per home directory. It owns the store, the relationship book, the replay
guard, live links and the outbox. Everything a peer is told has been committed to disk first:
an envelope is stored (inbox + replay window + relationship change, one transaction) before its
ACK goes out, and an outgoing envelope is in the outbox before its first send.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from amity.node.book import RelationshipBook
from amity.node.commits import GroupCommit
from amity.node.events import EventBus
from amity.node.logs import log_event
from amity.node.mailbox import Mailbox
from amity.node.net.link import HANDSHAKE_TIMEOUT_S, Link, open_link
from amity.node.net.linkkeys import load_link_chain, store_link_chain
from amity.node.net.transport import Connection, Dialer, TransportClosed, TransportError
from amity.node.services import Service, Staged
from amity.node.store import OutboxItem, Store
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind, Relay
from amity.protocol.core import commands
from amity.protocol.core.commands import CARD_DAYS, card_is_fresh
from amity.protocol.core.deposits import (
    PageOutcome,
    page_outcome,
    relays_to_try,
    ticket_to_show,
    undeposited,
)
from amity.protocol.core.effects import (
    Accepted,
    Confirm,
    DepositAnswered,
    DepositAsked,
    DialOnce,
    Flush,
    KeepTicket,
    MailAcked,
    Publish,
    Refuse,
    RefusedByPeer,
    Rejected,
    Settled,
    TicketIgnored,
    Transition,
)
from amity.protocol.core.effects import Effect as CoreEffect
from amity.protocol.core.links import on_link_up
from amity.protocol.core.receive import ack_frames, on_frame, open_posted, receive
from amity.protocol.envelope import Envelope, sign_envelope
from amity.protocol.errors import (
    AmityError,
    NodeError,
)
from amity.protocol.frames import (
    encode_deposit,
    encode_deposited,
    encode_envelope_frame,
    encode_mail_ack,
    encode_refuse,
)
from amity.protocol.handover import DEPOSIT_PAGE
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.mailbox import MailboxPolicy
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relationship import (
    CancelTimer,
    Effect,
    Event,
    Notify,
    Persist,
    Relationship,
    RelationshipState,
    SendMessage,
    SetTimer,
    TimerFired,
    step,
)
from amity.protocol.relmessages import MSG_END, MSG_HELLO
from amity.protocol.replay import MAIL_POLICY, PeerWindow, ReplayGuard
from amity.protocol.sealed import seal
from amity.protocol.ticket import TicketIssuer

__all__ = ["Node", "NodeError", "wall_clock_ms"]

_log = logging.getLogger("amity.node")
_DAY_MS: Final = 24 * 3600 * 1000
_CONNECT_WAIT_S: Final = 15.0
_BACKOFF_START_S: Final = 0.25
_BACKOFF_MAX_S: Final = 30.0
_SWEEP_S: Final = 3600.0
#: Settled (ACKed or REFUSEd) envelopes stay in the outbox this long, for inspection (link.md §3).
_OUTBOX_KEEP_MS: Final = 7 * _DAY_MS
#: Received envelopes are kept this long, and at most this many, by default (link.md §2.1).
INBOX_KEEP_DAYS: Final = 30
INBOX_KEEP_MESSAGES: Final = 10_000
#: A link with no message either way for this long is closed (peers redial on demand).
_IDLE_S: Final = 30 * 60.0
#: Per-link message rate (token bucket): beyond it the link is closed as abusive.
_RATE_PER_S: Final = 10_000.0
_BURST: Final = 20_000
#: Message types a relationship carries today; anything else is refused (envelope.wrong_type).
ACCEPTED_TYPES: Final = frozenset({MSG_HELLO, MSG_END, MSG_NOTE})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


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
        relay_mode: bool = False,
        relay_policy: MailboxPolicy | None = None,
        reachable: bool = True,
    ) -> None:
        self.keyring = Keyring(seed, load_link_chain(store, clock_ms()))
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
        #: Message types this node handles: the relationship's, plus every registered service's.
        self.accepted_types: frozenset[str] = ACCEPTED_TYPES
        #: Types whose body the inbox does not keep (a service stores and deletes the data).
        self._not_in_inbox: frozenset[str] = frozenset()
        self._services: dict[str, Service] = {}
        #: False behind NAT (no peer endpoint): we keep links to our peers open ourselves.
        self.reachable = reachable
        #: Test modes that make this node break its word (``keep-data``); see ``amity run --help``.
        self.misbehave: frozenset[str] = frozenset()
        #: Inbox retention (config ``[inbox]``): the hourly sweep deletes what is older or more.
        self.inbox_keep_ms = INBOX_KEEP_DAYS * _DAY_MS
        self.inbox_keep_messages = INBOX_KEEP_MESSAGES
        self.rejected = 0
        #: When a list: every answer of the core (amity.protocol.core) this node carried out, in
        #: order, as (peer of the input, effects); the sim-daemon cross-check compares them.
        self.core_trace: list[tuple[PeerId | None, list[CoreEffect]]] | None = None
        #: Relationship timers by (invitation secret, token): tokens repeat across relationships.
        self._timers: dict[tuple[bytes, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dialing: set[PeerId] = set()
        self.commits = GroupCommit(store)
        self._flushing: set[PeerId] = set()
        self._dirty: set[PeerId] = set()
        self._acks: dict[Link, list[int]] = {}
        #: Highest outbox seq already sent on each live link (a new link starts from zero).
        self._sent_upto: dict[Link, int] = {}
        #: connect() calls waiting for their invitation's hello, by invitation secret.
        self._connected: dict[bytes, asyncio.Event] = {}
        self._card: Card | None = None
        #: The policy summary to publish on our card (set by the terms service of a vendor).
        self.card_policy: Callable[[], bytes | None] = lambda: None
        self._closing = False
        self.mailbox = (
            Mailbox(
                store,
                serves=self._serves,
                clock_ms=clock_ms,
                policy=relay_policy or MailboxPolicy(),
            )
            if relay_mode
            else None
        )
        #: Deposit tickets our hellos hand our peers (spec/relay.md §6).
        self._tickets = TicketIssuer(self.keyring.identity)
        self._deposits: dict[tuple[PeerId, int], asyncio.Future[str]] = {}
        self._deposit_ids = 0
        self._deposited: set[tuple[PeerId, int]] = set()

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
        if not self.reachable:
            for rel in self.book.all():
                if rel.peer is not None and self._keep_link(rel.peer):
                    self._ensure_link(rel.peer)
        self._load_relays()
        for relay in self.relays:
            self._spawn(self._hold_relay_link(relay), f"relay-{relay.peer_id.short}")
        self._spawn(self._sweep(), "hourly-sweep")
        for service in set(self._services.values()):
            await service.start()
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
        for service in set(self._services.values()):
            await service.stop()
        for handle in self._timers.values():
            handle.cancel()
        await self.close_links()
        await self.commits.write()  # whatever is staged reaches the disk before we go
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
        policy = self.card_policy()
        if invite_secret is None and card_is_fresh(self._card, now, self.relays, policy):
            assert self._card is not None
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
            not_after_ms=min(now + (ttl_ms or CARD_DAYS * _DAY_MS), cert.not_after_ms),
            invite_secret=invite_secret,
            policy=policy,
        )
        if invite_secret is None:
            self._card = card
        return card

    async def invite(self, ttl_ms: int = 7 * _DAY_MS) -> Card:
        """Issue a one-time invitation, valid for ``ttl_ms``."""
        invitation = self.card(invite_secret=os.urandom(INVITE_SECRET_BYTES), ttl_ms=ttl_ms)
        await self._transitions(commands.invite(invitation, self.clock_ms()))
        log_event(_log, "invite.issued", expires_ms=invitation.not_after_ms)
        return invitation

    async def connect(self, uri: str) -> Relationship:
        """Accept an invitation: dial the inviter, handshake, exchange hellos."""
        card = Card.from_uri(uri)
        steps = commands.accept_invitation(self, card, self.clock_ms())
        current = self.book.current(card.peer_id)
        if steps is None and current is not None:
            return current  # already peers: a second invitation changes nothing
        await self._transitions(steps or [])
        assert card.invite_secret is not None  # accept_invitation checked it
        connected = self._connected.setdefault(card.invite_secret, asyncio.Event())
        try:
            link = await self._dial(card.endpoints, card.peer_id)
            await self._attach(link)
            async with asyncio.timeout(_CONNECT_WAIT_S):
                await connected.wait()
        except TimeoutError:
            raise NodeError(
                f"{card.name or card.peer_id.short} answered the handshake but did not confirm "
                f"the invitation within {_CONNECT_WAIT_S:.0f} s; it may be used up or withdrawn"
            ) from None
        finally:
            self._connected.pop(card.invite_secret, None)
        found = self.book.by_secret(card.invite_secret)
        assert found is not None
        return found

    async def use_relay(self, uri: str) -> Relationship:
        """Meet a relay by its invitation and list it on our card, so peers leave mail there."""
        card = Card.from_uri(uri)
        commands.check_relay(card)
        rel = await self.connect(uri)
        if all(r.peer_id != card.peer_id for r in self.relays):
            relay = Relay(card.peer_id, card.endpoints[0])
            self.relays.append(relay)
            self._save_relays()
            self._card = None  # our card changes: the next hello carries the relay
            self._spawn(self._hold_relay_link(relay), f"relay-{relay.peer_id.short}")
        return rel

    def _save_relays(self) -> None:
        data = json.dumps([{"did": r.peer_id.did, "endpoint": r.endpoint} for r in self.relays])
        with self.store.transaction():
            self.store.set_meta("relays", data.encode())

    def _load_relays(self) -> None:
        raw = self.store.get_meta("relays")
        for item in json.loads(raw) if raw else []:
            relay = Relay(PeerId.from_did(item["did"]), item["endpoint"])
            if all(r.peer_id != relay.peer_id for r in self.relays):
                self.relays.append(relay)

    async def send_note(self, peer: PeerId, text: str) -> int:
        """Queue a signed note to ``peer``; returns its sequence number."""
        rel = self._live(peer)
        return await self._enqueue(rel.peer or peer, MSG_NOTE, encode_note(text))

    async def end(self, peer: PeerId, reason: str) -> Relationship:
        """End the relationship with ``peer`` (a signed rel.end goes to the peer)."""
        (ended,) = await self._transitions(commands.end(self, peer, reason, self.clock_ms()))
        return ended

    def _serves(self, peer: PeerId) -> bool:
        """A relay holds mail only for its own CONNECTED peers."""
        rel = self.book.current(peer)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    async def _sweep(self) -> None:
        """At start and hourly: expire held mail (a relay), drop outbox envelopes settled over a
        week ago so the outbox does not grow forever, and apply the inbox retention."""
        while not self._closing:
            if self.mailbox is not None:
                self.mailbox.expire()
            writes = [self._prune_outbox, self._prune_inbox, self._advance_link_chain]
            await self.commit(Staged(writes=writes))
            await asyncio.sleep(_SWEEP_S)

    def _advance_link_chain(self) -> None:
        """Forget link keys whose mail window is over (spec/identity.md §6.2)."""
        moved = self.keyring.advance(self.clock_ms())
        if moved is not None:
            store_link_chain(self.store, moved)
            log_event(_log, "link.keys_forgotten", before_epoch=moved.epoch)

    def _prune_inbox(self) -> None:
        before = self.clock_ms() - self.inbox_keep_ms
        pruned = self.store.prune_inbox(before, self.inbox_keep_messages)
        if pruned:
            log_event(_log, "inbox.pruned", items=pruned)

    def _prune_outbox(self) -> None:
        pruned = self.store.prune_outbox(self.clock_ms() - _OUTBOX_KEEP_MS)
        if pruned:
            log_event(_log, "outbox.pruned", items=pruned)

    def _live(self, peer: PeerId) -> Relationship:
        rel = self.book.current(peer)
        if rel is None or rel.state is not RelationshipState.CONNECTED:
            state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
            raise NodeError(f"cannot send to {peer.short}: {state}")
        return rel

    # -- relationship effects ----------------------------------------------------------------------

    async def _transitions(self, effects: list[CoreEffect]) -> list[Relationship]:
        """Carry out relationship steps one after another, each on disk before the next."""
        done = []
        for effect in effects:
            assert isinstance(effect, Transition)
            done.append(await self._apply(effect.relationship, effect.effects))
        return done

    async def _step(self, rel: Relationship, event: Event) -> Relationship:
        return await self._apply(*step(rel, event, self.clock_ms()))

    async def _apply(self, rel: Relationship, effects: list[Effect]) -> Relationship:
        """Carry out effects and wait until their writes are on disk."""
        await self._stage(rel, effects)
        return rel

    def register(self, service: Service) -> None:
        """Route ``service.types`` to ``service`` (before the node starts)."""
        for message_type in service.types:
            if message_type in self.accepted_types:
                raise ValueError(f"{message_type} already has a handler")
            self._services[message_type] = service
        self.accepted_types = self.accepted_types | service.types
        self._not_in_inbox |= getattr(service, "not_in_inbox", frozenset()) & service.types

    def commit(self, staged: Staged) -> asyncio.Future[None]:
        """Stage a service's writes and sends (one transaction); ``after`` runs once on disk."""
        now = self.clock_ms()

        def write() -> None:
            for fn in staged.writes:
                fn()
            for out in staged.sends:
                self._queue(out.to, out.type, out.body, now)

        def committed(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                self._fail_stop()
                return
            for fn in staged.after:
                fn()
            for peer in {out.to for out in staged.sends}:
                self._ensure_link(peer)
                self._kick(peer)

        future = self.commits.write(write)
        future.add_done_callback(committed)
        return future

    def _stage(
        self,
        rel: Relationship,
        effects: list[Effect],
        also_write: Callable[[], None] | None = None,
    ) -> asyncio.Future[None]:
        """Stage effects: persist and queue sends in the next group commit, the rest after it.

        ``also_write`` joins the same transaction, so a received message and the relationship
        change it causes are stored together or not at all. Lookups see the new relationship
        at once (the book remembers it); timers, notifications and sends wait for the commit.
        """
        now = self.clock_ms()
        for effect in effects:
            if isinstance(effect, Persist):
                self.book.remember(effect.relationship)

        def write() -> None:
            if also_write is not None:
                also_write()
            for effect in effects:
                if isinstance(effect, Persist):
                    self.book.save(effect.relationship, now)
                elif isinstance(effect, SendMessage):
                    self._queue(effect.to, effect.type, effect.body, now)

        def committed(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                self._fail_stop()
                return
            for effect in effects:
                if isinstance(effect, SetTimer):
                    self._arm(rel.invite_secret, effect.token, effect.at_ms)
                elif isinstance(effect, CancelTimer):
                    handle = self._timers.pop((rel.invite_secret, effect.token), None)
                    if handle is not None:
                        handle.cancel()
                elif isinstance(effect, Notify):
                    self._notify(rel, effect)
            for peer in {e.to for e in effects if isinstance(e, SendMessage)}:
                self._ensure_link(peer)
                self._kick(peer)

        future = self.commits.write(write)
        future.add_done_callback(committed)
        return future

    def _fail_stop(self) -> None:
        """A commit failed: memory is ahead of the disk, so stop acknowledging anything."""
        if not self._closing:
            log_event(_log, "node.failed", logging.ERROR, why="a database commit failed")
            self._spawn(self.close_links(), "fail-stop")

    def _notify(self, rel: Relationship, effect: Notify) -> None:
        waiting = self._connected.get(rel.invite_secret)
        if effect.kind == "connected" and waiting is not None:
            waiting.set()
        log_event(_log, f"relationship.{effect.kind}", peer=rel.peer.short if rel.peer else "-")
        self.events.publish(
            effect.kind,
            {
                "peer": rel.peer.did if rel.peer else None,
                "detail": effect.detail,
                "state": rel.state.value,
            },
        )

    def _arm(self, secret: bytes, token: str, at_ms: int) -> None:
        delay_s = max(0.0, (at_ms - self.clock_ms()) / 1000)
        loop = asyncio.get_running_loop()
        key = (secret, token)
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self._spawn(self._timer_fired(secret, token), f"timer-{token}")

        self._timers[key] = loop.call_later(delay_s, fire)

    async def _timer_fired(self, secret: bytes, token: str) -> None:
        rel = self.book.by_secret(secret)
        if rel is not None:
            await self._step(rel, TimerFired(token))

    # -- outbox ------------------------------------------------------------------------------------

    async def _enqueue(self, peer: PeerId, type_: str, body: bytes) -> int:
        """Sign and store one envelope (group commit), then start delivering it."""
        seqs: list[int] = []
        await self.commits.write(
            lambda: seqs.append(self._queue(peer, type_, body, self.clock_ms()))
        )
        self._ensure_link(peer)
        self._kick(peer)
        return seqs[0]

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

    def _kick(self, peer: PeerId) -> None:
        """Make sure a flusher is sending ``peer``'s outbox (one per peer at a time)."""
        self._dirty.add(peer)
        if peer not in self._flushing and self.links.get(peer):
            self._flushing.add(peer)
            self._spawn(self._flusher(peer), f"flush-{peer.short}")

    async def _flusher(self, peer: PeerId) -> None:
        """Send every unacknowledged envelope to ``peer`` over its newest link, in seq order.

        Reads the outbox in pages; a new link starts again from the first unacknowledged
        envelope (the receiver answers duplicates with an ACK and stores nothing twice).
        """
        try:
            while True:
                link = self._link_to(peer)
                if link is None:
                    return
                self._dirty.discard(peer)
                last = self._sent_upto.get(link, 0)
                items = self.store.pending_outbox(peer.key, after_seq=last, limit=512)
                if not items:
                    if peer in self._dirty:
                        continue
                    return
                for item in items:
                    try:
                        await link.send(encode_envelope_frame(item.envelope))
                    except TransportClosed:
                        return  # the link is dying; the next link's attach flushes again
                    self._sent_upto[link] = item.seq
        finally:
            self._flushing.discard(peer)

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

    def _keep_link(self, peer: PeerId) -> bool:
        """Behind NAT, peers cannot dial us: hold a link to every CONNECTED peer we can dial."""
        if self.reachable:
            return False
        rel = self.book.current(peer)
        return (
            rel is not None
            and rel.state is RelationshipState.CONNECTED
            and rel.peer_card is not None
            and bool(rel.peer_card.endpoints)
        )

    def _ensure_link(self, peer: PeerId, *, once: bool = False) -> None:
        """Keep trying to reach ``peer`` while we owe it messages (``once``: one try, to ACK)."""
        if self._closing or self.links.get(peer) or peer in self._dialing:
            return
        rel = self.book.current(peer)
        card = rel.peer_card if rel is not None else None
        if card is None or not (card.endpoints or card.relays):
            return  # we never learnt where it is: it will dial us
        self._dialing.add(peer)
        self._spawn(self._redial(peer, card, once=once), f"dial-{peer.short}")

    async def _redial(self, peer: PeerId, card: Card, *, once: bool) -> None:
        """Dial with backoff; while the peer is unreachable, leave its mail at its relays."""
        delay = _BACKOFF_START_S
        try:
            while not self._closing and not self.links.get(peer):
                if (
                    not once
                    and not self.store.count_pending(peer.key)
                    and not self._keep_link(peer)
                ):
                    return
                if card.endpoints:
                    try:
                        link = await self._dial(card.endpoints, peer)
                    except NodeError as exc:
                        log_event(_log, "dial.failed", peer=peer.short, retry_s=delay, why=str(exc))
                    else:
                        await self._attach(link)
                        return
                if once:
                    return
                await self._deposit(peer, card)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
        finally:
            self._dialing.discard(peer)

    async def _deposit(self, peer: PeerId, card: Card) -> None:
        """Seal each undeposited outbox envelope to ``peer`` and leave it at one of its relays.

        Pages of DEPOSIT_PAGE envelopes, in seq order, each answered before the next is sent
        (spec/relay.md §2); a relay that does not hold a whole page leaves the rest to the next.
        """
        now = self.clock_ms()
        relays = relays_to_try(card, now)
        # The peer's ticket, if it gave us one: our mail then uses the room it keeps for its
        # peers at the relay, not the strangers' small budget (spec/relay.md §6).
        ticket = ticket_to_show(self.store.deposit_ticket(peer.key), now)
        for relay in relays if self._undeposited(peer, 0) else ():
            try:
                link = self._link_to(relay.peer_id) or await self._dial(
                    [relay.endpoint], relay.peer_id
                )
            except NodeError as exc:
                log_event(_log, "relay.unreachable", relay=relay.peer_id.short, why=str(exc))
                continue
            if link not in self.links.get(relay.peer_id, []):
                await self._attach(link)
            after, held, whole = 0, 0, True
            while whole and (items := self._undeposited(peer, after)):
                after = items[-1][0]
                outcome = await self._deposit_page(link, relay, peer, card, items, ticket)
                self._deposited.update((peer, seq) for seq in outcome.held)
                held += len(outcome.held)
                whole = outcome.whole
                if ticket is not None and outcome.ticket_refused:
                    ticket = None
                    self.commits.write(
                        functools.partial(self.store.forget_deposit_ticket, peer.key)
                    )
            log_event(_log, "relay.deposited", relay=relay.peer_id.short, to=peer.short, items=held)
            if whole:
                return

    def _undeposited(self, peer: PeerId, after_seq: int) -> list[tuple[int, bytes]]:
        """The next page of ``peer``'s pending envelopes after ``after_seq`` no relay holds."""
        while True:
            page = self.store.pending_outbox(peer.key, after_seq=after_seq, limit=DEPOSIT_PAGE)
            if not page:
                return []
            items = undeposited(((i.seq, i.envelope) for i in page), self._deposited, peer)
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
        answers = {}
        for seq, envelope in items:
            self._deposit_ids += 1
            answers[seq] = future = asyncio.get_running_loop().create_future()
            self._deposits[(relay.peer_id, self._deposit_ids)] = future
            sealed = seal(
                envelope,
                recipient=peer,
                link_public=card.link_cert.link_public,
                ephemeral_private=os.urandom(32),
            )
            try:
                await link.send(encode_deposit(self._deposit_ids, sealed, ticket))
            except TransportClosed:
                return page_outcome(None, len(items))
        try:
            async with asyncio.timeout(_CONNECT_WAIT_S):
                codes = {seq: await answer for seq, answer in answers.items()}
        except TimeoutError:
            return page_outcome(None, len(items))
        return page_outcome(codes, len(items))

    def _link_to(self, peer: PeerId) -> Link | None:
        links = self.links.get(peer)
        return links[-1] if links else None

    async def _hold_relay_link(self, relay: Relay) -> None:
        """Keep a link to a relay we use, so it can hand over mail held for us."""
        delay = _BACKOFF_START_S
        while not self._closing:
            link = self._link_to(relay.peer_id)
            if link is not None:
                await link.closed.wait()
                delay = _BACKOFF_START_S
                continue
            try:
                link = await self._dial([relay.endpoint], relay.peer_id)
            except NodeError as exc:
                log_event(
                    _log,
                    "relay.unreachable",
                    relay=relay.peer_id.short,
                    retry_s=delay,
                    why=str(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
                continue
            await self._attach(link)

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
                self.keyring,
                self.clock_ms,
                initiator=False,
                card=self.card(),
                timeout_s=handshake_timeout_s,
            )
        except (AmityError, TransportError, TimeoutError) as exc:
            self.rejected += 1
            code = getattr(exc, "code", type(exc).__name__)
            log_event(_log, "handshake.refused", remote=connection.remote, code=code)
            await connection.close()
            return
        if self.book.current(link.peer) is not None:
            on_known()
        await self._attach(link, read_here=True)

    async def _attach(self, link: Link, *, read_here: bool = False) -> None:
        peer = link.peer
        self.links[peer].append(link)
        log_event(_log, "link.up", peer=peer.short, inbound=link.inbound)
        effects = on_link_up(self, peer, self.clock_ms())
        if self.core_trace is not None:
            self.core_trace.append((peer, effects))
        for effect in effects:
            if isinstance(effect, Transition):
                await self._apply(effect.relationship, effect.effects)
            elif isinstance(effect, Flush):
                self._kick(effect.peer)
        if self.mailbox is not None:
            self._spawn(self.mailbox.hand_over(link), f"mail-{peer.short}")
        if read_here:
            await self._read(link)
        else:
            self._spawn(self._read(link), f"read-{peer.short}")

    async def _read(self, link: Link) -> None:
        loop = asyncio.get_running_loop()
        tokens, last = float(_BURST), loop.time()
        try:
            while True:
                left_s = _IDLE_S
                if link.not_after_ms is not None:
                    left_s = min(left_s, (link.not_after_ms - self.clock_ms()) / 1000)
                try:
                    async with asyncio.timeout(max(left_s, 0.0)):
                        message = await link.receive()
                except TimeoutError:
                    # Idle, or a link certificate expires: close; a redial handshakes afresh.
                    expired = link.not_after_ms is not None and self.clock_ms() >= link.not_after_ms
                    event = "link.cert_expired" if expired else "link.idle"
                    log_event(_log, event, peer=link.peer.short)
                    break
                now = loop.time()
                tokens = min(float(_BURST), tokens + (now - last) * _RATE_PER_S)
                last = now
                if tokens < 1:
                    self.rejected += 1
                    log_event(_log, "link.rate_limited", logging.WARNING, peer=link.peer.short)
                    break
                tokens -= 1
                await self._on_message(link, message)
        except TransportClosed:
            pass
        except TransportError as exc:  # the peer broke the transport (oversized message…)
            self.rejected += 1
            log_event(
                _log,
                "link.broken",
                logging.WARNING,
                peer=link.peer.short,
                code=exc.code,
                why=str(exc),
            )
        except AmityError as exc:  # the session itself broke (tampered frame): drop the link
            self.rejected += 1
            log_event(_log, "link.broken", logging.WARNING, peer=link.peer.short, code=exc.code)
        finally:
            links = self.links.get(link.peer, [])
            if link in links:
                links.remove(link)
            link.closed.set()
            self._sent_upto.pop(link, None)
            if self.mailbox is not None:
                self.mailbox.link_down(link)
            await link.close()
            log_event(_log, "link.down", peer=link.peer.short)
            if self.store.count_pending(link.peer.key) or self._keep_link(link.peer):
                self._ensure_link(link.peer)

    async def _on_message(self, link: Link, message: bytes) -> None:
        now = self.clock_ms()
        effects = on_frame(self, link.peer, message, now)
        if effects and isinstance(effects[0], DepositAsked):
            if self.core_trace is not None:  # carried out here, not by _carry_out
                self.core_trace.append((link.peer, effects))
            await self._on_deposit(link, effects[0])
        else:
            self._carry_out(effects, now, link=link)

    async def _on_deposit(self, link: Link, asked: DepositAsked) -> None:
        if self.mailbox is None:
            await link.send(encode_deposited(asked.deposit.deposit_id, "relay.not_a_relay"))
            return
        recipient = await self.mailbox.answer(link, asked.deposit)
        target = self._link_to(recipient) if recipient is not None else None
        if target is not None:  # it may wait for the recipient's MAIL_ACKs: not on this link
            self._spawn(self.mailbox.hand_over(target), f"mail-{target.peer.short}")

    def _carry_out(
        self,
        effects: list[CoreEffect],
        now: int,
        *,
        link: Link | None = None,
        posted: asyncio.Future[None] | None = None,
    ) -> AmityError | None:
        """Carry out the core's answer to one input (a frame on ``link``, or ``posted`` mail).

        Returns the error that rejected the input, if one did.
        """
        if self.core_trace is not None:
            self.core_trace.append((link.peer if link is not None else None, effects))
        stored: asyncio.Future[None] | None = None  # the commit holding what came before
        rejected = None
        for effect in effects:
            if isinstance(effect, Accepted):
                stored = self._store(effect, now)
            elif isinstance(effect, Confirm | Publish):
                action = self._confirmer(effect, link, posted)
                (stored or self.commits.write()).add_done_callback(
                    functools.partial(_when_written, action)
                )
            elif isinstance(effect, Refuse):
                if link is not None:
                    frame = (
                        encode_refuse(effect.seq, effect.error.code, effect.error.message)
                        if effect.mail_id is None
                        else encode_mail_ack([effect.mail_id])
                    )
                    self._spawn(link.send(frame), "refuse")
            elif isinstance(effect, Rejected):
                rejected = effect.error
                self.rejected += 1
                peer = effect.peer.short if effect.peer is not None else "-"
                log_event(
                    _log, "message.rejected", logging.WARNING, peer=peer, code=effect.error.code
                )
            elif isinstance(effect, Settled):
                self._mark_acked(effect.peer, list(effect.seqs))
            elif isinstance(effect, RefusedByPeer):
                log_event(_log, "message.refused_by_peer", peer=effect.peer.short, code=effect.code)
            elif isinstance(effect, KeepTicket):
                self.commits.write(
                    functools.partial(
                        self.store.set_deposit_ticket,
                        effect.peer.key,
                        effect.ticket,
                        effect.not_after_ms,
                    )
                )
            elif isinstance(effect, TicketIgnored):
                log_event(
                    _log,
                    "ticket.ignored",
                    logging.WARNING,
                    peer=effect.peer.short,
                    code=effect.error.code,
                )
            elif isinstance(effect, DialOnce):
                self._ensure_link(effect.peer, once=True)
            elif isinstance(effect, DepositAnswered):
                future = self._deposits.pop((effect.peer, effect.deposit_id), None)
                if future is not None and not future.done():
                    future.set_result(effect.code)
            elif isinstance(effect, MailAcked):
                if self.mailbox is not None and link is not None:
                    self.mailbox.acked(link.peer, effect.mail_ids)
            elif isinstance(effect, Transition):
                self._stage(effect.relationship, effect.effects)
        return rejected

    def _confirmer(
        self,
        effect: Confirm | Publish,
        link: Link | None,
        posted: asyncio.Future[None] | None,
    ) -> Callable[[], None]:
        """What confirms an input once its commit is on disk (or tells the owner of it)."""
        if isinstance(effect, Publish):
            detail = {"peer": effect.peer.did, "seq": effect.seq, "type": effect.type}
            return functools.partial(self.events.publish, effect.event, detail)
        if link is None:
            return lambda: None if posted is None or posted.done() else posted.set_result(None)
        if effect.mail_id is not None:
            frame = encode_mail_ack([effect.mail_id])
            return lambda: self._spawn(link.send(frame), "mail-ack")
        return functools.partial(self._ack_later, link, effect.seq)

    async def deliver_sealed(self, sealed: bytes) -> Envelope:
        """One-shot sealed mail posted to our inbox: stored (and its effects) once this returns.

        Raises the AmityError that refused it. A duplicate is accepted again without a second
        copy, so a sender may safely retry the POST.
        """
        now = self.clock_ms()
        envelope = open_posted(self, sealed, now)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        effects = receive(self, envelope, now, direct=False, via=envelope.sender)
        for effect in effects:  # the POST's answer says why; nothing to count or log here
            if isinstance(effect, Rejected):
                raise effect.error
        self._carry_out(effects, now, posted=done)
        await done
        return envelope

    def _store(self, effect: Accepted, now: int) -> asyncio.Future[None]:
        """Stage a received envelope with what it changed in the next commit (one transaction).

        The relationship book changes in memory at once (the core's next input sees it); the
        disk catches up at the commit, and only then is the sender told the message is safe.
        """
        envelope = effect.envelope
        sender = envelope.sender

        def store_message() -> None:
            body, encoded = (envelope.body, envelope.encoded) if effect.keep_body else (b"", b"")
            self.store.add_inbox(sender.key, envelope.seq, envelope.type, body, encoded, now)
            window = self.guard.sequence_window(sender)
            if window is not None:
                self.store.save_replay(sender.key, window[0], _bitmap_bytes(window[1]))

        staged = effect.answer
        if not isinstance(staged, Staged):
            return self._stage(effect.relationship, effect.effects, also_write=store_message)
        service_writes = staged.writes + [
            functools.partial(self._queue, out.to, out.type, out.body, now) for out in staged.sends
        ]

        def store_with_service() -> None:
            store_message()
            for fn in service_writes:
                fn()

        def service_after(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            for fn in staged.after:
                fn()
            for peer in {out.to for out in staged.sends}:
                self._ensure_link(peer)
                self._kick(peer)

        future = self._stage(effect.relationship, effect.effects, also_write=store_with_service)
        future.add_done_callback(service_after)
        return future

    def _ack_later(self, link: Link, seq: int) -> None:
        """Queue an ACK; all ACKs for one link from one commit go out as one frame."""
        pending = self._acks.setdefault(link, [])
        pending.append(seq)
        if len(pending) == 1:
            self._spawn(self._send_acks(link), "acks")

    async def _send_acks(self, link: Link) -> None:
        await asyncio.sleep(0)  # let every ACK of this commit join the frame
        for frame in ack_frames(self._acks.pop(link, [])):
            try:
                await link.send(frame)
            except TransportClosed:
                return  # the sender resends; we answer the duplicates with ACKs then

    def _mark_acked(self, peer: PeerId, seqs: list[int]) -> None:
        """The peer stored these: mark them in the next commit (no need to wait for it).

        Losing the mark in a crash is harmless: the envelope is resent and the peer ACKs it again.
        """
        now = self.clock_ms()
        self._deposited.difference_update((peer, seq) for seq in seqs)  # done with: forget

        def mark() -> None:
            self.store.ack_outbox(peer.key, seqs, now)

        self.commits.write(mark)

    # -- what the core asks of its host (amity.protocol.core.host.Host) ----------------------------

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.book.current(peer)

    def by_secret(self, invite_secret: bytes) -> Relationship | None:
        return self.book.by_secret(invite_secret)

    def service(self, message_type: str) -> Service | None:
        return self._services.get(message_type)

    def ticket_issuer(self) -> TicketIssuer:
        return self._tickets

    def keeps_body(self, message_type: str) -> bool:
        return message_type not in self._not_in_inbox

    def read_card(self, data: bytes) -> Card:
        return Card.decode(data)

    def known_peer(self, peer: PeerId) -> PeerId:
        return peer

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


def _when_written(action: Callable[[], None], future: asyncio.Future[None]) -> None:
    """Run ``action`` once the commit ``future`` stands for is on disk (not if it failed)."""
    if not future.cancelled() and future.exception() is None:
        action()


def _bitmap_bytes(bitmap: int) -> bytes:
    return bitmap.to_bytes((bitmap.bit_length() + 7) // 8 or 1, "big")
