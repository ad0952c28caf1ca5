"""The smallest driver of the node core: a node in memory, with nothing but the core's rules.

It keeps relationships and the replay guard in memory, takes no services, and applies what the
core says at once (there is no disk, so every commit is done as soon as it is staged). It is
what the core's own tests and the test vectors of spec/node.md run on; the daemon and the
simulator are the real drivers.
"""

from __future__ import annotations

from collections.abc import Sequence

from amity.protocol.card import Card, NodeKind, Relay
from amity.protocol.core.effects import Accepted, Effect, Transition
from amity.protocol.core.host import Service
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.notes import MSG_NOTE
from amity.protocol.relationship import Persist, Relationship, RelationshipState
from amity.protocol.relmessages import MSG_END, MSG_HELLO
from amity.protocol.replay import MAIL_POLICY, ReplayGuard
from amity.protocol.ticket import TicketIssuer

__all__ = ["MemoryHost"]

_DAY_MS = 24 * 3600 * 1000


class MemoryHost:
    """A node's state in memory, as :class:`~amity.protocol.core.host.Host` asks for it."""

    def __init__(
        self,
        seed: bytes,
        *,
        name: str,
        kind: NodeKind,
        now_ms: int,
        endpoints: Sequence[str] = (),
        relays: Sequence[Relay] = (),
    ) -> None:
        self.keyring = Keyring(seed)
        self.peer_id = self.keyring.identity.peer_id
        self.guard = ReplayGuard(MAIL_POLICY)
        self.accepted_types = frozenset({MSG_HELLO, MSG_END, MSG_NOTE})
        self.relays: tuple[Relay, ...] = tuple(relays)
        self.name, self.kind, self.endpoints = name, kind, tuple(endpoints)
        self.now_ms = now_ms
        self._rels: dict[bytes, Relationship] = {}
        self._current: dict[PeerId, bytes] = {}
        self._tickets = TicketIssuer(self.keyring.identity)
        self._card: Card | None = None

    # -- the Host protocol -------------------------------------------------------------------------

    def relationship(self, peer: PeerId) -> Relationship | None:
        secret = self._current.get(peer)
        return None if secret is None else self._rels[secret]

    def by_secret(self, invite_secret: bytes) -> Relationship | None:
        return self._rels.get(invite_secret)

    def service(self, message_type: str) -> Service | None:
        return None

    def card(self, *, invite_secret: bytes | None = None) -> Card:
        if invite_secret is None and self._card is not None:
            return self._card
        _, cert = self.keyring.current(self.now_ms)
        card = Card.issue(
            self.keyring.identity,
            link_cert=cert,
            kind=self.kind,
            name=self.name,
            endpoints=list(self.endpoints),
            relays=list(self.relays),
            issued_ms=self.now_ms,
            not_after_ms=min(self.now_ms + 30 * _DAY_MS, cert.not_after_ms),
            invite_secret=invite_secret,
        )
        if invite_secret is None:
            self._card = card
        return card

    def ticket_issuer(self) -> TicketIssuer:
        return self._tickets

    def keeps_body(self, message_type: str) -> bool:
        return True

    def read_card(self, data: bytes) -> Card:
        return Card.decode(data)

    def peer_policy_changed(self, before: Card, relationship: Relationship, now_ms: int) -> None:
        return None  # no terms service here

    def known_peer(self, peer: PeerId) -> PeerId:
        return peer

    # -- carrying out ------------------------------------------------------------------------------

    def apply(self, effects: Sequence[Effect]) -> None:
        """Remember every relationship the effects persist (the only state kept here)."""
        for effect in effects:
            if isinstance(effect, Transition | Accepted):
                for step_effect in effect.effects:
                    if isinstance(step_effect, Persist):
                        self._remember(step_effect.relationship)

    def _remember(self, rel: Relationship) -> None:
        self._rels[rel.invite_secret] = rel
        if rel.peer is not None:
            known = self._current.get(rel.peer)
            if known in (None, rel.invite_secret) or rel.state is not RelationshipState.ENDED:
                self._current[rel.peer] = rel.invite_secret
