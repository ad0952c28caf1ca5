"""What the node core needs from the node that runs it: its state, reached by plain calls.

The daemon answers from SQLite (and the memory in front of it), the simulator from memory; a
later store answers from PostgreSQL. Nothing here does I/O of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from amity.protocol.card import Card, Relay
from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship
from amity.protocol.replay import ReplayGuard
from amity.protocol.ticket import TicketIssuer

__all__ = ["Host", "Service"]


class Service(Protocol):
    """A state machine beyond the relationship (terms, grants, reputation, ...), by message type.

    ``receive`` says what a verified envelope of one of its ``types`` means, from a peer whose
    relationship is CONNECTED (or ENDED, for a type in ``after_end``: a deletion receipt that the
    end itself caused). It returns the answer the driver stages in the same commit as the message
    itself, or raises an :class:`~amity.protocol.errors.AmityError` to refuse it.
    """

    @property
    def types(self) -> frozenset[str]: ...

    @property
    def after_end(self) -> frozenset[str]: ...

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> object: ...


class Host(Protocol):
    """The node as the core sees it."""

    @property
    def peer_id(self) -> PeerId: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def guard(self) -> ReplayGuard: ...

    @property
    def accepted_types(self) -> frozenset[str]:
        """Message types this node handles: the relationship's and every service's."""
        ...

    @property
    def relays(self) -> Sequence[Relay]:
        """The relays our card names (where our peers leave mail for us)."""
        ...

    def relationship(self, peer: PeerId) -> Relationship | None:
        """The live relationship with ``peer``, else the latest ended one, else None."""
        ...

    def by_secret(self, invite_secret: bytes) -> Relationship | None:
        """The relationship an invitation of ours (or one we accepted) opened."""
        ...

    def service(self, message_type: str) -> Service | None:
        """The service that handles ``message_type``, if any."""
        ...

    def card(self) -> Card:
        """Our current peer card."""
        ...

    def ticket_issuer(self) -> TicketIssuer:
        """The issuer of the deposit tickets our hellos carry."""
        ...

    def keeps_body(self, message_type: str) -> bool:
        """Whether the inbox keeps this type's body (a service may store and delete it itself)."""
        ...

    def read_card(self, data: bytes) -> Card:
        """Decode and verify a card (:meth:`Card.decode`, or a memo of it)."""
        ...

    def peer_policy_changed(self, before: Card, relationship: Relationship, now_ms: int) -> object:
        """A connected peer's hello brought a card whose published policy differs from
        ``before``'s (spec/signals.md §4): what to stage with the hello, as a service's answer
        (None: nothing; a node without terms services ignores it)."""
        ...

    def known_peer(self, peer: PeerId) -> PeerId:
        """The node's own copy of ``peer`` (a simulator shares one copy per run)."""
        ...
