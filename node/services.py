"""Services: state machines beyond the relationship (terms, grants…) plugged into the node.

A service names the message types it handles. For each verified envelope of those types from a
peer in a CONNECTED relationship, the node asks the service what the message means and stages
the answer in the same transaction as the message itself: nothing a peer is told is acknowledged
before the service's own records are on disk (spec/link.md §2).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, SendMessage

if TYPE_CHECKING:
    from amity.node.daemon import Node

__all__ = ["Outgoing", "Staged", "Service", "SmallService"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to sign and queue in the outbox within the same transaction."""

    to: PeerId
    type: str
    body: bytes


@dataclass(slots=True)
class Staged:
    """What a service wants done: writes inside the commit, sends with it, actions after it."""

    writes: list[Callable[[], None]] = field(default_factory=list)
    sends: list[Outgoing] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)

    def extend(self, other: Staged) -> None:
        self.writes += other.writes
        self.sends += other.sends
        self.after += other.after


class Service(Protocol):
    """What the node needs from a service."""

    #: Message types this service handles (dotted names, e.g. ``terms.offer``).
    types: frozenset[str]
    #: Of those, the ones still accepted after the relationship ended (e.g. deletion receipts
    #: the end itself caused). A service without the attribute accepts none.
    after_end: frozenset[str]
    # A service may also name ``not_in_inbox: frozenset[str]``: of its types, those whose body
    # the node's inbox must not keep, because they carry data the service stores (and deletes)
    # itself and a copy in the inbox would outlive its deletion (spec/link.md §2). Without it
    # the inbox keeps every body.

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """What ``envelope`` means; raise an AmityError to refuse it (the sender is told)."""
        ...

    async def start(self) -> None:
        """Called once the node runs (re-arm timers, resume work)."""
        ...

    async def stop(self) -> None:
        """Called before the node stops."""
        ...


class SmallService:
    """What a service with no timers and nothing to resume shares: the node, its keyring and
    relationships for the core's host protocol, and a start and stop with nothing to do."""

    after_end: frozenset[str] = frozenset()

    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def keyring(self) -> Keyring:
        return self.node.keyring

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.node.book.current(peer)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def stage_saved(
        self,
        sends: Sequence[SendMessage],
        saved: Sequence[tuple[Callable[[], None], str, dict[str, object]]],
    ) -> Staged:
        """One commit: each (write, event kind, detail) written in it and published after it,
        each message queued in the outbox with it."""
        staged = Staged(sends=[Outgoing(m.to, m.type, m.body) for m in sends])
        for write, kind, detail in saved:
            staged.writes.append(write)
            staged.after.append(functools.partial(self.node.events.publish, kind, detail))
        return staged
