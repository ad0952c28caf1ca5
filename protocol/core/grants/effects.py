"""What the grants service asks its driver to do: plain values, carried out in the order given.

Effects named as records (``SaveHolding``, ``KeepReceipt``, ``Audit``...) and :class:`Send` are
staged in the commit of the input that caused them (one transaction with the message itself);
:class:`ArmTimer`, :class:`DisarmTimer` and the events (``Held``, ``Deleted``, ``ReceiptCame``...)
run once that commit is on disk. The daemon maps them to SQL rows, asyncio timers, its audit log
and its event stream; the simulator to its dicts, engine timers and the run's observer.
See spec/grants.md §8.4 and §14.
"""

from __future__ import annotations

from dataclasses import dataclass

from amity.protocol.grants import Grant, Revocation
from amity.protocol.holder import Holding
from amity.protocol.identity import PeerId
from amity.protocol.receipts import (
    DeletionReceipt,
    DeliveryReceipt,
    HoldingsStatement,
    UpdateReceipt,
)

__all__ = [
    "Effect",
    "Send",
    "Audit",
    "SaveHolding",
    "DeleteValues",
    "SaveIssued",
    "EndAgreement",
    "SaveRevocation",
    "SaveUpdate",
    "KeepReceipt",
    "SaveQuery",
    "KeepStatement",
    "KeepRequest",
    "DecideRequest",
    "ArmTimer",
    "DisarmTimer",
    "Held",
    "Deleted",
    "Replaced",
    "KeptData",
    "Issued",
    "ReceiptCame",
    "StatementCame",
    "RequestCame",
    "RequestWaits",
]


class Effect:
    """Base class of the grants service's effects."""

    __slots__ = ()


# -- in the commit ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send(Effect):
    """Sign and queue ``body`` as a ``type`` envelope to ``to``, in the same commit."""

    to: PeerId
    type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Audit(Effect):
    """Append an entry to the node's audit log (spec/grants.md §9): ``kind`` about ``peer``."""

    kind: str
    peer: PeerId
    subject: bytes
    detail: str


@dataclass(frozen=True, slots=True)
class SaveHolding(Effect):
    """Store ``holding`` (its values too while HELD); lookups see it from now on."""

    holding: Holding


@dataclass(frozen=True, slots=True)
class DeleteValues(Effect):
    """Erase every held value of ``grant_id`` (spec/grants.md §8.7)."""

    grant_id: bytes


@dataclass(frozen=True, slots=True)
class SaveIssued(Effect):
    """Keep a grant we issued; ``request_id`` is the request it answers, if one."""

    grant: Grant
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class EndAgreement(Effect):
    """Mark an agreement as ended at ``ended_ms``: its relationship ended (terms.md §10)."""

    agreement_id: bytes
    ended_ms: int


@dataclass(frozen=True, slots=True)
class SaveRevocation(Effect):
    """Keep our revocation of a grant we issued."""

    revocation: Revocation


@dataclass(frozen=True, slots=True)
class SaveUpdate(Effect):
    """Record that version ``version`` of grant ``grant_id``'s values went out (spec/signals.md
    §2): the next update of that grant takes the version after it."""

    grant_id: bytes
    version: int


@dataclass(frozen=True, slots=True)
class KeepReceipt(Effect):
    """Keep a delivery or deletion receipt ``peer`` returned for a grant we issued."""

    peer: PeerId
    receipt: DeliveryReceipt | DeletionReceipt | UpdateReceipt


@dataclass(frozen=True, slots=True)
class SaveQuery(Effect):
    """Keep our holdings query ``query_id`` to ``peer`` (the answer is matched against it)."""

    query_id: bytes
    peer: PeerId


@dataclass(frozen=True, slots=True)
class KeepStatement(Effect):
    """Keep ``statement``, the first answer to our holdings query."""

    statement: HoldingsStatement


@dataclass(frozen=True, slots=True)
class KeepRequest(Effect):
    """Keep a grant request (``outgoing``: ours to ``peer``), in ``state`` (pending, approved,
    sent), with the grant that answered it, if one. The driver numbers it."""

    peer: PeerId
    outgoing: bool
    body: bytes
    state: str
    grant_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class DecideRequest(Effect):
    """Record the owner's decision on request ``request_id``."""

    request_id: int
    state: str
    grant_id: bytes | None


# -- once the commit is on disk --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArmTimer(Effect):
    """Wake the service at ``at_ms`` with :func:`~amity.protocol.core.grants.holder.timer_fired`
    (``grant_id``, ``token``); replaces the grant's armed timer."""

    grant_id: bytes
    token: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class DisarmTimer(Effect):
    """Cancel the grant's timer if it is still the one with ``token``."""

    grant_id: bytes
    token: str


@dataclass(frozen=True, slots=True)
class Held(Effect):
    """The node newly holds ``holding`` (tell the owner's software: ``grant.received``)."""

    holding: Holding


@dataclass(frozen=True, slots=True)
class Deleted(Effect):
    """The values of ``holding`` are erased and its deletion receipt sent (``grant.deleted``)."""

    holding: Holding


@dataclass(frozen=True, slots=True)
class Replaced(Effect):
    """The values of ``holding`` were replaced by those of its ``version`` and an update
    receipt sent (``grant.updated``)."""

    holding: Holding


@dataclass(frozen=True, slots=True)
class KeptData(Effect):
    """A deletion fell due, and this node (a test mode that breaks its word) kept the data."""

    grant_id: bytes
    grantor: PeerId


@dataclass(frozen=True, slots=True)
class Issued(Effect):
    """We issued ``grant`` and its delivery is queued (``grant.issued``)."""

    grant: Grant


@dataclass(frozen=True, slots=True)
class ReceiptCame(Effect):
    """``peer`` returned a ``kind`` (delivery, deletion, update) receipt for ``grant_id``
    (``grant.receipt``); ``version`` is an update receipt's."""

    peer: PeerId
    grant_id: bytes
    kind: str
    reason: str
    version: int = 0


@dataclass(frozen=True, slots=True)
class StatementCame(Effect):
    """The answer to our holdings query ``query_id`` is kept (wake whoever waits for it)."""

    query_id: bytes


@dataclass(frozen=True, slots=True)
class RequestCame(Effect):
    """``peer`` asked for a grant; the request is kept in ``state`` (``grant.requested``)."""

    peer: PeerId
    state: str


@dataclass(frozen=True, slots=True)
class RequestWaits(Effect):
    """The owner's rule allowed a request but the vault or agreement could not satisfy it: it
    waits for her (log ``why``)."""

    peer: PeerId
    why: str
