"""What the terms service asks its driver to do: plain values, carried out in the order given.

Besides these, the service passes on two effects of the negotiation machine as they are:
:class:`~amity.protocol.negotiation.Persist` (save the negotiation, and its agreement once
agreed; lookups see it from now on) and :class:`~amity.protocol.relationship.SendMessage` (sign
and queue an envelope). Those, and :class:`Audit`, are staged in the commit of the input that
caused them (one transaction with the message itself); :class:`ArmTimer`, :class:`DisarmTimer`
and :class:`Moved` wait until that commit is on disk. :class:`Answered`, :class:`Waits`,
:class:`AnswerFailed` and :class:`Unreadable` say what the service decided, for the log (the
daemon) or the owner (a simulated person answers after a while). See spec/terms.md §7 and §13.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation, Persist
from amity.protocol.relationship import SendMessage

__all__ = [
    "Effect",
    "TermsEffect",
    "Audit",
    "ArmTimer",
    "DisarmTimer",
    "Moved",
    "Answered",
    "Waits",
    "AnswerFailed",
    "Unreadable",
]


class Effect:
    """Base class of the terms service's own effects."""

    __slots__ = ()


#: Everything the terms service returns.
TermsEffect: TypeAlias = Effect | Persist | SendMessage


# -- in the commit ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Audit(Effect):
    """Append an entry to the node's audit log: ``kind`` about ``peer`` and ``subject`` (a terms
    or agreement id). See spec/grants.md §9."""

    kind: str
    peer: PeerId
    subject: bytes
    detail: str


# -- once the commit is on disk --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArmTimer(Effect):
    """Wake the service at ``at_ms`` with :func:`~amity.protocol.core.terms.service.timer_fired`
    (``negotiation_id``, ``token``); replaces the negotiation's armed timer."""

    negotiation_id: bytes
    token: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class DisarmTimer(Effect):
    """Cancel the negotiation's timer if it is still the one with ``token``."""

    negotiation_id: bytes
    token: str


@dataclass(frozen=True, slots=True)
class Moved(Effect):
    """The negotiation moved (``kind``: offered, countered, agreed, agreed-late, rejected,
    withdrawn, expired): tell the owner's software ``terms.<kind>``."""

    negotiation: Negotiation
    kind: str
    detail: str


# -- what the service decided ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answered(Effect):
    """The owner's policy answered the peer's terms at once (``answer``: Accept, Counter,
    Reject), or, with ``gate``, the reputation cut-off rejected them; ``negotiation`` is where
    the answer left it. Comes last, after the answer's own effects."""

    negotiation: Negotiation
    answer: str
    gate: bool


@dataclass(frozen=True, slots=True)
class Waits(Effect):
    """The peer's terms are on the table and no rule answered them (``why``): a person decides.
    Comes last."""

    negotiation: Negotiation
    why: str


@dataclass(frozen=True, slots=True)
class AnswerFailed(Effect):
    """The policy's answer could not be made (``code``; e.g. the deadline passed as the terms
    arrived): a :class:`Waits` follows."""

    negotiation: Negotiation
    code: str


@dataclass(frozen=True, slots=True)
class Unreadable(Effect):
    """``peer`` offered terms we cannot read (``code``): the offer is rejected, naming why."""

    peer: PeerId
    code: str
