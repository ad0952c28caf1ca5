"""The node: feeds network input and time into the protocol core and carries out its effects.

One :class:`Node` per home directory. It owns the store, the relationship book, the replay
guard, live links and the outbox. Everything a peer is told has been committed to disk first:
an envelope is stored (inbox + replay window + relationship change, one transaction) before its
ACK goes out, and an outgoing envelope is in the outbox before its first send.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from amity.node.book import RelationshipBook
from amity.node.commits import GroupCommit
from amity.node.daemon.base import (
    ACCEPTED_TYPES,
    CONNECT_WAIT_S,
    DAY_MS,
    INBOX_KEEP_DAYS,
    INBOX_KEEP_MESSAGES,
    Identity,
    log,
    wall_clock_ms,
)
from amity.node.daemon.cardwatch import CardWatch
from amity.node.daemon.depositor import Depositor
from amity.node.daemon.net import Net
from amity.node.daemon.receiver import Receiver
from amity.node.daemon.sender import Sender
from amity.node.daemon.steps import Steps
from amity.node.daemon.upkeep import Upkeep
from amity.node.daemon.webhooks import Webhooks
from amity.node.events import EventBus
from amity.node.logs import log_event
from amity.node.mailbox import Mailbox
from amity.node.net.link import HANDSHAKE_TIMEOUT_S, Link
from amity.node.net.linkkeys import load_link_chain
from amity.node.net.transport import Connection, Dialer
from amity.node.services import Service, Staged
from amity.node.store import Store
from amity.protocol.card import INVITE_SECRET_BYTES, Card, Relay
from amity.protocol.core import commands
from amity.protocol.core.commands import CARD_DAYS, card_is_fresh
from amity.protocol.core.effects import Effect as CoreEffect
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    NodeError,
)
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.mailbox import MailboxPolicy
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relationship import (
    LocalEnd,
    Relationship,
    RelationshipState,
)
from amity.protocol.replay import MAIL_POLICY, PeerWindow, ReplayGuard
from amity.protocol.ticket import TicketIssuer

__all__ = ["Node"]


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
        self.inbox_keep_ms = INBOX_KEEP_DAYS * DAY_MS
        self.inbox_keep_messages = INBOX_KEEP_MESSAGES
        self.rejected = 0
        #: When a list: every answer of the core (amity.protocol.core) this node carried out, in
        #: order, as (peer of the input, effects); the sim-daemon cross-check compares them.
        self.core_trace: list[tuple[PeerId | None, list[CoreEffect]]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: connect() calls waiting for their invitation's hello, by invitation secret.
        self._connected: dict[bytes, asyncio.Event] = {}
        #: Of those, by inviter: the secret, and the inviter's refusal code once it refused.
        self._connecting: dict[PeerId, bytes] = {}
        self._refusals: dict[bytes, str] = {}
        self._card: Card | None = None
        #: The policy summary to publish on our card (set by the terms service of a vendor).
        self.card_policy: Callable[[], bytes | None] = lambda: None
        self._closing = False
        #: Set when a commit failed (Steps.fail_stop); each of ``on_failed`` is called then.
        self.failed = False
        self.on_failed: list[Callable[[], None]] = []
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
        #: The parts of the daemon, each a driver of one side of the core.
        self.steps = Steps(self)
        self.commits = GroupCommit(store, on_failure=self.steps.fail_stop)
        self.sender = Sender(self)
        self.receiver = Receiver(self)
        self.net = Net(self)
        self.depositor = Depositor(self)
        self.upkeep = Upkeep(self)
        self.cardwatch = CardWatch(self)
        self.webhooks = Webhooks(self)
        #: Who stages what a peer's changed published policy means (the terms service).
        self._policy_watch: Callable[[Card, Relationship, int], object] | None = None

    async def __aenter__(self) -> Node:
        for peer_key, highest, bitmap in self.store.load_replay():
            window = PeerWindow(highest=highest, bitmap=int.from_bytes(bitmap, "big"))
            self.guard.restore_peer(PeerId(peer_key), window)
        for rel in self.book.with_timers():
            if rel.timer_token is not None and rel.timer_at_ms is not None:
                self.steps.arm(rel.invite_secret, rel.timer_token, rel.timer_at_ms)
        for peer_key in self.store.peers_with_pending():
            self.net.ensure(PeerId(peer_key))
        if not self.reachable:
            for rel in self.book.all():
                if rel.peer is not None and self.net.keep_link(rel.peer, rel):
                    self.net.ensure(rel.peer)
        self._load_relays()
        for relay in self.relays:
            self._spawn(self.net.hold_relay(relay), f"relay-{relay.peer_id.short}")
        self._spawn(self.upkeep.run(), "hourly-sweep")
        self._spawn(self.webhooks.run(), "webhooks")
        for service in set(self._services.values()):
            await service.start()
        log_event(log, "node.started", peer=self.peer_id.short, did=self.peer_id.did)
        return self

    async def close_links(self, *, settle: bool = True) -> None:
        """Close every live link (peers see a clean close); no new dialling after this.

        With ``settle``, what is staged is committed first and the ACKs it owes go out, so the
        peers need not resend what we hold.
        """
        self._closing = True
        if settle:
            written = self.commits.write()
            await asyncio.wait([written])
            if written.exception() is None:  # a failure is logged, and fail-stops the node
                await self.receiver.send_pending_acks()
        for links in list(self.links.values()):
            for link in list(links):
                await link.close()

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        for service in set(self._services.values()):
            await service.stop()
        for handle in self.steps.timers.values():
            handle.cancel()
        # After a failed commit nothing more is committed (GroupCommit.failure): no settling.
        failed = self.commits.failure is not None
        await self.close_links(settle=not failed)
        if not failed:
            await self.commits.write()  # whatever was staged meanwhile reaches the disk first
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.events.close()
        log_event(log, "node.stopped", peer=self.peer_id.short)

    def watch_card(self) -> None:
        """Start telling peers when our card says something new (once ``endpoints`` are final:
        the runner calls this once the peer server listens, or at once without one)."""
        self._spawn(self.cardwatch.run(), "card-watch")

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def card(
        self,
        *,
        invite_secret: bytes | None = None,
        ttl_ms: int | None = None,
        with_policy: bool = True,
    ) -> Card:
        """Our peer card (with a fresh one-time secret it becomes an invitation; without
        ``with_policy`` it carries no policy summary, as in an intent's welcome)."""
        now = self.clock_ms()
        policy = self.card_policy() if with_policy else None
        if invite_secret is None and card_is_fresh(
            self._card, now, self.endpoints, self.relays, policy
        ):
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
            not_after_ms=min(now + (ttl_ms or CARD_DAYS * DAY_MS), cert.not_after_ms),
            invite_secret=invite_secret,
            policy=policy,
        )
        if invite_secret is None:
            self._card = card
        return card

    async def invite(self, ttl_ms: int = 7 * DAY_MS, *, with_policy: bool = True) -> Card:
        """Issue a one-time invitation, valid for ``ttl_ms``."""
        invitation = self.card(
            invite_secret=os.urandom(INVITE_SECRET_BYTES), ttl_ms=ttl_ms, with_policy=with_policy
        )
        await self.steps.transitions(commands.invite(invitation, self.clock_ms()))
        log_event(log, "invite.issued", expires_ms=invitation.not_after_ms)
        return invitation

    async def connect(self, uri: str) -> Relationship:
        """Accept an invitation: dial the inviter, handshake, exchange hellos."""
        card = Card.from_uri(uri)
        steps = commands.accept_invitation(self, card, self.clock_ms())
        current = self.book.current(card.peer_id)
        if steps is None and current is not None:
            return current  # already peers: a second invitation changes nothing
        await self.steps.transitions(steps or [])
        assert card.invite_secret is not None  # accept_invitation checked it
        connected = self._connected.setdefault(card.invite_secret, asyncio.Event())
        self._connecting[card.peer_id] = card.invite_secret
        try:
            link = await self.net.dial(card.endpoints, card.peer_id, name=card.name or None)
            await self.net.attach(link)
            async with asyncio.timeout(CONNECT_WAIT_S):
                await connected.wait()
        except TimeoutError:
            raise NodeError(
                f"{card.name or card.peer_id.short} answered the handshake but did not confirm "
                f"the invitation within {CONNECT_WAIT_S:.0f} s; it may be used up or withdrawn"
            ) from None
        finally:
            self._connected.pop(card.invite_secret, None)
            self._connecting.pop(card.peer_id, None)
            refused = self._refusals.pop(card.invite_secret, None)
        found = self.book.by_secret(card.invite_secret)
        if refused is not None:
            if found is not None and found.state is not RelationshipState.ENDED:
                await self.steps.step(found, LocalEnd("invitation refused by the inviter"))
            raise NodeError(
                f"{card.name or card.peer_id.short} refused this invitation: it was already used, "
                "has expired or was withdrawn; ask for a new one"
            )
        assert found is not None
        return found

    def invitation_refused(self, inviter: PeerId, code: str) -> None:
        """The inviter refused our hello with ``code``: wake the connect() waiting on it."""
        secret = self._connecting.get(inviter)
        waiting = None if secret is None else self._connected.get(secret)
        if secret is not None and waiting is not None:
            self._refusals[secret] = code
            waiting.set()

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
            await self.cardwatch.check()  # and our connected peers hear of it now
            self._spawn(self.net.hold_relay(relay), f"relay-{relay.peer_id.short}")
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
        return await self.sender.enqueue(rel.peer or peer, MSG_NOTE, encode_note(text))

    async def end(self, peer: PeerId, reason: str) -> Relationship:
        """End the relationship with ``peer`` (a signed rel.end goes to the peer)."""
        (ended,) = await self.steps.transitions(commands.end(self, peer, reason, self.clock_ms()))
        return ended

    def _serves(self, peer: PeerId) -> bool:
        """A relay holds mail only for its own CONNECTED peers."""
        rel = self.book.current(peer)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    def _live(self, peer: PeerId) -> Relationship:
        rel = self.book.current(peer)
        if rel is None or rel.state is not RelationshipState.CONNECTED:
            state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
            raise NodeError(f"cannot send to {self.book.name_of(peer)}: {state}")
        return rel

    def register(self, service: Service) -> None:
        """Route ``service.types`` to ``service`` (before the node starts)."""
        for message_type in service.types:
            if message_type in self.accepted_types:
                raise ValueError(f"{message_type} already has a handler")
            self._services[message_type] = service
        self.accepted_types = self.accepted_types | service.types
        self._not_in_inbox |= getattr(service, "not_in_inbox", frozenset()) & service.types
        watch = getattr(service, "peer_policy_changed", None)
        if watch is not None:
            self._policy_watch = watch

    def peer_policy_changed(self, before: Card, relationship: Relationship, now_ms: int) -> object:
        """A connected peer published another policy (spec/signals.md §4): the terms service's
        answer, staged with the hello."""
        watch = self._policy_watch
        return None if watch is None else watch(before, relationship, now_ms)

    def commit(self, staged: Staged) -> asyncio.Future[None]:
        """Stage a service's writes and sends (one transaction); ``after`` runs once on disk."""
        return self.steps.commit(staged)

    async def accept(
        self,
        connection: Connection,
        *,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        on_known: Callable[[], None] = lambda: None,
    ) -> None:
        """Serve one inbound connection until it closes (the peer server calls this)."""
        await self.net.accept(
            connection, handshake_timeout_s=handshake_timeout_s, on_known=on_known
        )

    async def deliver_sealed(self, sealed: bytes) -> Envelope:
        """One-shot sealed mail posted to our inbox: stored (and its effects) once this returns.

        Raises the AmityError that refused it. A duplicate is accepted again without a second
        copy, so a sender may safely retry the POST.
        """
        return await self.receiver.deliver_sealed(sealed)

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
