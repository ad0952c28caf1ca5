"""A relationship as the node stores it: its states, its roles and its one record. Sans-IO.

Only the machine in :mod:`amity.protocol.relationship` makes new records; this module holds
what every part that reads one needs, without the machine. See spec/relationship.md §2 and §4.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from amity.protocol.card import Card
from amity.protocol.identity import PeerId

__all__ = [
    "CONNECT_TIMEOUT_MS",
    "REASON_INVITATION_EXPIRED",
    "TIMER_INVITATION",
    "TIMER_CONNECT",
    "RelationshipState",
    "Role",
    "EndedBy",
    "Relationship",
]

#: From dialling (or a peer dialling in) to both hellos exchanged; then back to INVITED.
CONNECT_TIMEOUT_MS: Final = 30_000
REASON_INVITATION_EXPIRED: Final = "invitation-expired"
TIMER_INVITATION: Final = "invitation"
TIMER_CONNECT: Final = "connect"


class RelationshipState(enum.Enum):
    """Where a relationship stands; ENDED is terminal. See spec/relationship.md §2."""

    INVITED = "invited"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    # Terms negotiation adds AGREED and ACTIVE here, between CONNECTED and ENDED (§9).
    ENDED = "ended"


class Role(enum.Enum):
    """Which side of the invitation this node is on. See spec/relationship.md §2."""

    INVITER = "inviter"
    INVITEE = "invitee"


EndedBy: TypeAlias = Literal["local", "peer", "timer"]


@dataclass(frozen=True, slots=True)
class Relationship:
    """One relationship as the node stores it; only the machine's ``step`` makes new ones. See §4."""

    role: Role
    state: RelationshipState
    #: None only while an invitation we issued waits for someone to use it.
    peer: PeerId | None
    invite_secret: bytes = field(repr=False)
    invite_expires_ms: int
    created_ms: int
    #: When the current state was entered (for ENDED: when this node learned of the end).
    since_ms: int
    #: When the peer last showed itself, by this node's clock; not a reason to persist.
    last_seen_ms: int | None = None
    #: A session with the peer completed in this attempt and our rel.hello went out on it.
    handshake_done: bool = False
    #: The peer's card: the invitation we hold, then the card of its latest rel.hello.
    peer_card: Card | None = field(default=None, repr=False)
    #: The one pending timer (a relationship never has two), and how many were ever armed.
    timer_token: str | None = None
    timer_at_ms: int | None = None
    timers_armed: int = 0
    ended_reason: str | None = None
    ended_by: EndedBy | None = None
