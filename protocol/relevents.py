"""The relationship machine's inputs (events) and outputs (effects), as in wsproto's events.py.

The node tells :func:`~amity.protocol.relationship.step` what happened with an :class:`Event`
and carries out the :class:`Effect` values it gets back, in order. See spec/relationship.md §3
and §6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final

from amity.protocol.card import Card
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId
from amity.protocol.relmessages import HelloBody, check_reason
from amity.protocol.relstate import Relationship

__all__ = [
    "Event",
    "InvitationIssued",
    "InvitationReceived",
    "InvitationAccepted",
    "HandshakeCompleted",
    "HelloReceived",
    "MessageSeen",
    "LocalEnd",
    "CardChanged",
    "PeerEnded",
    "TimerFired",
    "EVENT_TYPES",
    "Effect",
    "SendMessage",
    "Persist",
    "Notify",
    "SetTimer",
    "CancelTimer",
]


# -- events: what the node tells the machine (spec/relationship.md §3) ----------------------------


class Event:
    """Base class of every input to the machine's ``step`` (wsproto style). See §3."""

    __slots__ = ()
    #: Only our own side can cause it: out of place, it is a StateError, not the peer's fault.
    local: ClassVar[bool] = False


def _check_invitation(card: Card) -> None:
    if not isinstance(card, Card) or card.invite_secret is None:
        raise UsageError("an invitation is a Card that carries an invite secret")


@dataclass(frozen=True, slots=True)
class InvitationIssued(Event):
    """We issued ``invitation`` (our own card with a one-time secret); opens a relationship."""

    local: ClassVar[bool] = True
    invitation: Card

    def __post_init__(self) -> None:
        _check_invitation(self.invitation)


@dataclass(frozen=True, slots=True)
class InvitationReceived(Event):
    """We hold a peer's verified ``invitation`` card; opens a relationship."""

    local: ClassVar[bool] = True
    invitation: Card

    def __post_init__(self) -> None:
        _check_invitation(self.invitation)


@dataclass(frozen=True, slots=True)
class InvitationAccepted(Event):
    """The owner accepted the invitation we hold: the node is dialling the inviter now."""

    local: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class HandshakeCompleted(Event):
    """A session with ``peer`` is up; ``own_card`` is the card our rel.hello introduces us with.

    ``ticket`` is the deposit ticket our hello hands the peer (spec/relay.md §6), or None.
    """

    peer: PeerId
    own_card: Card
    ticket: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class HelloReceived(Event):
    """The peer's rel.hello arrived (from :func:`~amity.protocol.relmessages.decode_hello`)."""

    card: Card
    invite_secret: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        HelloBody(self.card, self.invite_secret)  # the same rules as the message body


@dataclass(frozen=True, slots=True)
class MessageSeen(Event):
    """A verified message of another type (``terms.offer``…) arrived from the peer."""

    message_type: str


@dataclass(frozen=True, slots=True)
class LocalEnd(Event):
    """The owner ends the relationship, for ``reason`` (one line, at most 200 bytes)."""

    local: ClassVar[bool] = True
    reason: str

    def __post_init__(self) -> None:
        check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class CardChanged(Event):
    """Our card changed (a new published policy, other relays or endpoints): tell the peer.

    ``own_card`` is the new card, ``ticket`` the deposit ticket the hello hands out, as in
    :class:`HandshakeCompleted`.
    """

    local: ClassVar[bool] = True
    own_card: Card
    ticket: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PeerEnded(Event):
    """The peer's rel.end arrived (from :func:`~amity.protocol.relmessages.decode_end`)."""

    reason: str

    def __post_init__(self) -> None:
        check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    """The timer that a :class:`SetTimer` with ``token`` asked for has come due."""

    local: ClassVar[bool] = True
    token: str


EVENT_TYPES: Final[tuple[type[Event], ...]] = (
    InvitationIssued,
    InvitationReceived,
    InvitationAccepted,
    HandshakeCompleted,
    HelloReceived,
    MessageSeen,
    LocalEnd,
    CardChanged,
    PeerEnded,
    TimerFired,
)


# -- effects: what the machine asks the node to do (spec/relationship.md §6) ----------------------


class Effect:
    """Base class of every output of the machine's ``step``. See spec/relationship.md §6."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SendMessage(Effect):
    """Sign ``body`` as a message of ``type`` to ``to`` and deliver it (live or by mail)."""

    to: PeerId
    type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Persist(Effect):
    """Store ``relationship`` durably before carrying out the effects after this one."""

    relationship: Relationship


@dataclass(frozen=True, slots=True)
class Notify(Effect):
    """Tell the owner: ``kind`` is connected, ended, connect-failed or card-updated."""

    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class SetTimer(Effect):
    """Feed ``TimerFired(token)`` back once the clock reaches ``at_ms``."""

    at_ms: int
    token: str


@dataclass(frozen=True, slots=True)
class CancelTimer(Effect):
    """Forget the timer ``token``; a late ``TimerFired`` for it is ignored anyway."""

    token: str
