"""A simulated node: a driver of the node core (amity.protocol.core) on the virtual clock.

What a message means, what is acknowledged and when, what is refused, what a link's coming up
does: all of it is decided in :mod:`amity.protocol.core`, the code the daemon drives too. This
driver carries the core's effects out with the engine's clock instead of asyncio and memory
instead of SQLite: every message goes into a per-peer outbox before it is first sent and is
resent in ``seq`` order on each new link until the peer ACKs or REFUSEs it (spec/link.md §2-3);
an ACK goes out only after the "commit" of what the message changed (a group commit
``commit_ms`` long); nodes behind NAT (no endpoint) never get dialled and keep links to the peers
they can dial.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ClassVar, Final

from amity.protocol.card import Card, NodeKind, Relay
from amity.protocol.core import commands
from amity.protocol.core.commands import CARD_DAYS, card_is_fresh
from amity.protocol.core.effects import Effect as CoreEffect
from amity.protocol.core.effects import (
    Flush,
    Transition,
)
from amity.protocol.core.host import Service as CoreService
from amity.protocol.core.links import on_link_down, on_link_up
from amity.protocol.identity import PeerId
from amity.protocol.notes import MSG_NOTE
from amity.protocol.relationship import (
    Relationship,
)
from amity.protocol.relmessages import MSG_END, MSG_HELLO
from amity.protocol.replay import MAIL_POLICY
from amity.protocol.termsmessages import TERMS_MESSAGE_TYPES
from amity.protocol.ticket import TicketIssuer
from amity.simulations.context import NodeBehaviour, SimEnv
from amity.simulations.crypto import make_keyring
from amity.simulations.dialer import ENDPOINT_SCHEME, Dialer
from amity.simulations.guard import SimReplayGuard
from amity.simulations.link import SimLink
from amity.simulations.mailbox import SimMailbox
from amity.simulations.outbox import Outbox
from amity.simulations.receiver import Receiver
from amity.simulations.relay import (
    relay_link_down,
    relay_link_up,
)
from amity.simulations.services.grants import GRANT_TYPES, SimGrants
from amity.simulations.services.reputation import REPUTATION_TYPES, SimReputation
from amity.simulations.services.terms import SimTerms
from amity.simulations.world.network import Connection, Network
from amity.simulations.world.streams import ByteSource

__all__ = ["ACCEPTED_TYPES", "CONNECT_WAIT_MS", "SimNode"]

ACCEPTED_TYPES: Final = frozenset(
    {MSG_HELLO, MSG_END, MSG_NOTE, *TERMS_MESSAGE_TYPES, *GRANT_TYPES, *REPUTATION_TYPES}
)
_DAY_MS: Final = 86_400_000
#: As the daemon: how long connect() waits for the relationship to become CONNECTED.
CONNECT_WAIT_MS: Final = 15_000
#: One frame in :attr:`SimNode.traffic`, whose counts are ``frames * _FRAME + bytes``.
_FRAME: Final = 1 << 48


class SimNode(Receiver):
    """One node of the simulated world; see the module docstring for the rules it keeps.

    A large run holds a hundred thousand of these, so a node keeps little of its own: slots, the
    run's shared copies of peer ids, cards, terms and agreements (:class:`SharedValues`), its
    grants service only once it is used, and no empty tables left behind by finished work.
    """

    #: The message types this node handles (a MAIL's envelope is opened with them).
    accepted_types: ClassVar[frozenset[str]] = ACCEPTED_TYPES

    __slots__ = (
        "_card",
        "_grants",
        "_reputation",
        "_tickets",
        "address",
        "behaviour",
        "dialer",
        "endpoints",
        "engine",
        "env",
        "guard",
        "keyring",
        "kind",
        "links",
        "mailbox",
        "name",
        "network",
        "outbox",
        "peer_id",
        "random",
        "reachable",
        "relays",
        "shared",
        "terms",
        "traffic",
    )

    def __init__(
        self,
        env: SimEnv,
        *,
        name: str,
        kind: NodeKind,
        seed: bytes,
        random: ByteSource,
        reachable: bool,
        behaviour: NodeBehaviour | None = None,
    ) -> None:
        super().__init__()
        self.env = env
        self.engine = env.engine
        self.network: Network = env.network
        self.name = name
        self.kind = kind
        self.shared = env.shared
        self.keyring = make_keyring(seed, env.crypto)
        self.peer_id = self.shared.peer(self.keyring.identity.peer_id)
        self.random = random
        self.reachable = reachable
        self.behaviour = behaviour
        self.address = env.network.add_host(self, kind.value)
        self.endpoints = (f"{ENDPOINT_SCHEME}{self.address}",) if reachable else ()
        self.guard = SimReplayGuard(MAIL_POLICY)
        #: Live links to each peer, oldest first (a tuple: most peers have one, most of the time).
        self.links: dict[PeerId, tuple[SimLink, ...]] = {}
        self.terms = SimTerms(self)
        self._grants: SimGrants | None = None
        self._reputation: SimReputation | None = None
        self.outbox = Outbox(self.keyring.identity, self.now_ms, random, name)
        self.dialer = Dialer(self)
        #: Link frames and bytes sent to each host address, packed in one int (see traffic_to).
        self.traffic: dict[int, int] = {}
        #: Relays that hold our mail (on our card; see relay.use_relay), and as a relay our
        #: mailbox (relay.make_relay).
        self.relays: tuple[Relay, ...] = ()
        self.mailbox: SimMailbox | None = None
        self._card: Card | None = None
        #: Deposit tickets our hellos hand our peers, made once our card names a relay.
        self._tickets: TicketIssuer | None = None

    def __repr__(self) -> str:
        return f"SimNode({self.name}, {self.peer_id.short})"

    def now_ms(self) -> int:
        return self.env.start_ms + self.engine.now_ms

    @property
    def grants(self) -> SimGrants:
        """The grants service, made on first use (most nodes of a market never grant)."""
        if self._grants is None:
            self._grants = SimGrants(self)
        return self._grants

    # -- what the owner asks -----------------------------------------------------------------------

    @property
    def reputation(self) -> SimReputation:
        """The reputation service, made on first use (a market's nodes never attest)."""
        if self._reputation is None:
            self._reputation = SimReputation(self)
        return self._reputation

    @property
    def reputation_if_made(self) -> SimReputation | None:
        """The reputation service if something made it (its gates pass everyone otherwise)."""
        return self._reputation

    def card(self, *, invite_secret: bytes | None = None, ttl_ms: int | None = None) -> Card:
        """Our peer card (an invitation with ``invite_secret``), cached as the daemon does."""
        now = self.now_ms()
        cached = self._card
        if invite_secret is None and card_is_fresh(cached, now, self.endpoints, self.relays, None):
            assert cached is not None
            return cached
        _, cert = self.keyring.current(now)
        cert = self.shared.link_cert(cert)
        card = self.shared.card(
            Card.issue(
                self.keyring.identity,
                link_cert=cert,
                kind=self.kind,
                name=self.name,
                endpoints=self.endpoints,
                relays=self.relays,
                issued_ms=now,
                not_after_ms=min(now + (ttl_ms or CARD_DAYS * _DAY_MS), cert.not_after_ms),
                invite_secret=invite_secret,
            )
        )
        if invite_secret is None:
            self._card = card
        return card

    def invite(self, ttl_ms: int = 7 * _DAY_MS) -> Card:
        """Issue a one-time invitation valid for ``ttl_ms``."""
        invitation = self.card(invite_secret=self.random.take(16), ttl_ms=ttl_ms)
        self._transitions(commands.invite(invitation, self.now_ms()))
        return invitation

    def connect(self, invitation: Card, on_done: Callable[[bool, str], None]) -> None:
        """Use ``invitation``: dial the inviter once; ``on_done(ok, why)`` when it is settled."""
        steps = commands.accept_invitation(self, invitation, self.now_ms())
        if steps is None:
            on_done(True, "already connected")
            return
        self._transitions(steps)
        secret = invitation.invite_secret
        assert secret is not None  # accept_invitation checked it
        if secret not in self._connect_waits:
            timer = self.engine.call_later(CONNECT_WAIT_MS, self._connect_done, secret, False, "")
            self._connect_waits[secret] = (timer, on_done)
        fail = functools.partial(self._connect_done, secret, False)
        self.dialer.dial(invitation.peer_id, invitation.endpoints, fail)

    def end(self, peer: PeerId, reason: str) -> Relationship:
        (ended,) = self._transitions(commands.end(self, peer, reason, self.now_ms()))
        return ended

    def announce_card(self) -> None:
        """Our card says something new (a relay): every connected peer gets a hello with it, as
        the daemon's card watch does (spec/relationship.md §3)."""
        self._transitions(commands.announce_card(self, self.relationships(), self.now_ms()))

    def _transitions(self, effects: list[CoreEffect]) -> list[Relationship]:
        """Carry out relationship steps in order (each staged in the current commit)."""
        done = []
        for effect in effects:
            assert isinstance(effect, Transition)
            done.append(self._stage(effect.relationship, effect.effects))
        return done

    def relationship(self, peer: PeerId) -> Relationship | None:
        """The live relationship with ``peer``, else the latest ended one (as the book keeps it)."""
        secret = self._current.get(peer)
        return None if secret is None else self._rels.get(secret)

    def relationships(self) -> list[Relationship]:
        """Every relationship this node holds, oldest first."""
        return list(self._rels.values())

    # -- links -------------------------------------------------------------------------------------

    def accept(self, connection: Connection) -> None:
        """An inbound connection: answer the handshake (the network's Host callback)."""
        self.dialer.open_link(connection, inbound=True)

    def went_offline(self) -> None:
        self.dialer.stop()

    def came_online(self) -> None:
        """Back on the network: dial whoever we owe messages, or must hold a link to."""
        for peer in list(self._current):
            if self.dialer.wants_link(peer):
                self.dialer.ensure(peer)

    def link_up(self, link: SimLink) -> None:
        """The handshake is done: as the daemon's ``_attach``."""
        peer = link.proven_peer
        self.links[peer] = (*self.links.get(peer, ()), link)
        self.dialer.linked(peer)
        effects = on_link_up(
            self, peer, self.now_ms(), pending_hello=self.outbox.pending_hello(peer)
        )
        if self.core_trace is not None:
            self.core_trace.append((peer, effects))
        for effect in effects:
            if isinstance(effect, Transition):
                self._stage(effect.relationship, effect.effects)
            elif isinstance(effect, Flush):
                self._flush(effect.peer)
        if self.mailbox is not None or self.deposits is not None:
            relay_link_up(self, link)

    def _flush(self, peer: PeerId) -> None:
        links = self.links.get(peer)
        if links:
            self.outbox.flush(peer, links[-1])

    def link_down(self, link: SimLink) -> None:
        peer = link.proven_peer
        links = self.links.get(peer, ())
        if link in links:
            others = tuple(other for other in links if other is not link)
            if others:
                self.links[peer] = others
            else:
                del self.links[peer]
            for effect in on_link_down(peer, len(others)):
                if isinstance(effect, Flush):
                    self._flush(effect.peer)
        link.acks_due = None
        if self.mailbox is not None:
            relay_link_down(self, link)
        if self.dialer.wants_link(peer):
            self.dialer.ensure(peer)

    def link_traffic(self, link: SimLink, size: int) -> None:
        self.traffic[link.remote] = self.traffic.get(link.remote, 0) + _FRAME + size

    def traffic_to(self, address: int) -> tuple[int, int]:
        """Link frames and bytes this node sent to host ``address``."""
        return divmod(self.traffic.get(address, 0), _FRAME)

    # -- what the core asks of its host (amity.protocol.core.host.Host) ----------------------------

    def by_secret(self, invite_secret: bytes) -> Relationship | None:
        return self._rels.get(invite_secret)

    def service(self, message_type: str) -> CoreService | None:
        if message_type in TERMS_MESSAGE_TYPES:
            return self.terms
        if message_type in GRANT_TYPES:
            return self.grants
        if message_type in REPUTATION_TYPES:
            return self.reputation
        return None

    def ticket_issuer(self) -> TicketIssuer:
        """Made once our card names a relay (most nodes never hand out a ticket)."""
        if self._tickets is None:
            self._tickets = TicketIssuer(self.keyring.identity)
        return self._tickets

    def keeps_body(self, message_type: str) -> bool:
        return True  # no inbox here: what a message means is all the run keeps

    def read_card(self, data: bytes) -> Card:
        return self.shared.decode_card(data)

    def peer_policy_changed(self, before: Card, relationship: Relationship, now_ms: int) -> None:
        return None  # no terms service here

    def known_peer(self, peer: PeerId) -> PeerId:
        return self.shared.peer(peer)
