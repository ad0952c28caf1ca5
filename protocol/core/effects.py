"""What the node core asks its driver to do: plain values, carried out in the order given.

Each input of :mod:`amity.protocol.core.receive` answers with a list of these. The driver knows
*how* (an asyncio task and a SQLite transaction, or an engine timer and memory); the core says
*what* and *when*: before the next commit, in it, or once it is on disk.

The words "confirm" and "refuse" stand for the answer the input's channel gives: on a live link,
an ACK frame (batched per commit) and a REFUSE frame; for sealed mail a relay handed over, one
MAIL_ACK either way (the relay may delete it); for an envelope posted to the inbox, the HTTP
answer. See spec/link.md §2-§3.
"""

from __future__ import annotations

from dataclasses import dataclass

from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError
from amity.protocol.frames import Deposit
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Effect as RelationshipEffect
from amity.protocol.relationship import Relationship

__all__ = [
    "Effect",
    "Transition",
    "Accepted",
    "Confirm",
    "Refuse",
    "Rejected",
    "Duplicate",
    "KeepTicket",
    "TicketIgnored",
    "Settled",
    "RefusedByPeer",
    "DialOnce",
    "Flush",
    "Publish",
    "DepositAsked",
    "DepositAnswered",
    "MailAcked",
]


class Effect:
    """Base class of the core's effects."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Transition(Effect):
    """Carry out the relationship machine's effects: ``Persist`` and ``SendMessage`` in the next
    commit (the relationship is looked up as changed at once), the rest once it is on disk."""

    relationship: Relationship
    effects: list[RelationshipEffect]


@dataclass(frozen=True, slots=True)
class Accepted(Effect):
    """Store a received envelope in the next commit, with its relationship's change and its
    service's answer (one transaction: all or nothing).

    ``keep_body`` is False for types whose data a service keeps (and deletes) itself: the inbox
    then keeps the row without the body. ``answer`` is what the service's ``receive`` returned.
    ``direct`` is False for sealed mail (a relay handed it over, or it was posted).
    """

    envelope: Envelope
    relationship: Relationship
    effects: list[RelationshipEffect]
    answer: object | None
    keep_body: bool
    direct: bool


@dataclass(frozen=True, slots=True)
class Confirm(Effect):
    """Once what was staged before this is on disk, confirm the input: ACK ``seq`` on a live
    link, or MAIL_ACK ``mail_id`` for mail a relay handed over."""

    seq: int
    mail_id: int | None = None


@dataclass(frozen=True, slots=True)
class Refuse(Effect):
    """Refuse the input now: REFUSE ``seq`` with the error's code on a live link (the sender
    stops resending), or MAIL_ACK ``mail_id`` for mail a relay handed over (it deletes it)."""

    seq: int
    error: AmityError
    mail_id: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected(Effect):
    """The input was bad: count it and log the code (the node keeps serving)."""

    peer: PeerId | None
    error: AmityError


@dataclass(frozen=True, slots=True)
class Duplicate(Effect):
    """The envelope was stored before (or is in the commit being written): nothing changes."""

    envelope: Envelope


@dataclass(frozen=True, slots=True)
class KeepTicket(Effect):
    """Keep the deposit ticket ``peer``'s hello gave us, to show at its relays (relay.md §6)."""

    peer: PeerId
    ticket: bytes
    not_after_ms: int


@dataclass(frozen=True, slots=True)
class TicketIgnored(Effect):
    """A hello carried a ticket we cannot use (the hello itself is fine): log it."""

    peer: PeerId
    error: AmityError


@dataclass(frozen=True, slots=True)
class Settled(Effect):
    """``peer`` stored (ACK) or refused these envelopes of ours: stop resending them."""

    peer: PeerId
    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RefusedByPeer(Effect):
    """``peer`` refused our envelope ``seq`` with ``code``: count and log it."""

    peer: PeerId
    seq: int
    code: str


@dataclass(frozen=True, slots=True)
class DialOnce(Effect):
    """Dial ``peer`` once, if we know where (its outbox resends, our ACKs clear it)."""

    peer: PeerId


@dataclass(frozen=True, slots=True)
class Flush(Effect):
    """Send ``peer`` every unacknowledged envelope its newest link has not carried, in seq order."""

    peer: PeerId


@dataclass(frozen=True, slots=True)
class Publish(Effect):
    """Once the commit is on disk, tell the owner's software (the node's event stream)."""

    event: str
    peer: PeerId
    seq: int
    type: str


@dataclass(frozen=True, slots=True)
class DepositAsked(Effect):
    """``peer`` asks us, a relay, to hold sealed mail (spec/relay.md §2): the mailbox answers."""

    peer: PeerId
    deposit: Deposit


@dataclass(frozen=True, slots=True)
class DepositAnswered(Effect):
    """The relay ``peer`` answered our deposit ``deposit_id`` with ``code`` (``ok`` or why not)."""

    peer: PeerId
    deposit_id: int
    code: str


@dataclass(frozen=True, slots=True)
class MailAcked(Effect):
    """``peer`` has what we, a relay, handed over as these mail ids: the mailbox deletes them."""

    peer: PeerId
    mail_ids: tuple[int, ...]
