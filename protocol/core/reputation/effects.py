"""What the reputation rules ask a driver to do: plain values, carried out in the order given.

A message's effects are staged in the commit that stores the message (spec/link.md §2): rows
written in it, messages sent with it, and what follows once it is on disk (count the new
attestations in trust, tell the owner). See spec/reputation.md §6.
"""

from __future__ import annotations

from dataclasses import dataclass

from amity.protocol.attestation import Attestation, Rebuttal
from amity.protocol.identity import PeerId
from amity.protocol.reputationmessages import SharedItem

__all__ = [
    "ReputationEffect",
    "KeepReceived",
    "KeepRebuttal",
    "KeepOwn",
    "MarkShared",
    "Answer",
]


class ReputationEffect:
    """Base class of the reputation rules' effects."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class KeepReceived(ReputationEffect):
    """Keep what ``sender`` shared (each item with its hops and rebuttals, origin ``sender``,
    review ``received``) in the message's commit; once it is on disk, count the new ones in
    trust and tell the owner (``reputation.received``). ``query_id`` names the query of ours it
    answers, if any; ``expired`` items were dropped (log them)."""

    sender: PeerId
    items: tuple[SharedItem, ...]
    expired: int
    query_id: bytes | None


@dataclass(frozen=True, slots=True)
class KeepRebuttal(ReputationEffect):
    """Keep ``rebuttal`` beside the attestation it answers; once on disk, tell the owner
    (``reputation.rebutted``) unless ``sender`` is the owner herself. It goes with the
    attestation from then on."""

    attestation_id: bytes
    rebuttal: Rebuttal
    sender: PeerId


@dataclass(frozen=True, slots=True)
class KeepOwn(ReputationEffect):
    """Keep one of the owner's own attestations with its review state (and, for an automatic
    one, the grant it judges), with an ``attestation.made`` audit entry; once on disk, count it
    and tell the owner (``reputation.attested``)."""

    attestation: Attestation
    review: str
    cause: bytes | None


@dataclass(frozen=True, slots=True)
class MarkShared(ReputationEffect):
    """Note in the commit that these attestations went to ``peer`` now (the hourly rate, and
    each attestation to each peer once)."""

    peer: PeerId
    attestation_ids: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Answer(ReputationEffect):
    """Sign and queue a message to ``to`` in the same commit (a query's answer, a share)."""

    to: PeerId
    type: str
    body: bytes
