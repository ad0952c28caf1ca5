"""What the reputation rules need from the node that runs them: what it holds, by plain calls.

The daemon answers from its store (and the trust graph it keeps in memory), the simulator from
its dicts. See spec/reputation.md §6.1 for what a node holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.identity import PeerId
from amity.protocol.reputationmessages import RawItem, SharedItem
from amity.protocol.sharing import Held, SharePolicy

__all__ = ["Holding", "ReputationHost"]


class Holding(Held, Protocol):
    """One attestation a node holds, as the sharing rules read it."""

    @property
    def attestation_id(self) -> bytes: ...

    @property
    def encoded(self) -> bytes: ...


class ReputationHost(Protocol):
    """The node as the reputation rules see it."""

    @property
    def peer_id(self) -> PeerId: ...

    @property
    def policy(self) -> ReputationPolicy:
        """The owner's reputation policy now."""
        ...

    def held_from(self, sender: PeerId) -> int:
        """How many attestations the node keeps that ``sender`` shared (the quota, §6.4)."""
        ...

    def holds(self, attestation_id: bytes) -> bool:
        """Whether the node holds this attestation (its own or received)."""
        ...

    def about(self, subject: PeerId) -> Iterable[Holding]:
        """The attestations held about ``subject``, in the order the node came to hold them."""
        ...

    def share_policy(self, peer: PeerId) -> SharePolicy:
        """What the owner lets ``peer`` be sent (``none`` unless she said otherwise)."""
        ...

    def shared_since(self, peer: PeerId, since_ms: int) -> int:
        """How many attestations went to ``peer`` at or after ``since_ms`` (the hourly rate)."""
        ...

    def rebuttals(self, attestation_id: bytes) -> Sequence[bytes]:
        """The rebuttals kept beside an attestation, oldest first."""
        ...

    def read_item(self, item: RawItem, now_ms: int) -> SharedItem:
        """Verify one shared item (:func:`~amity.protocol.reputationmessages.read_item`, or a
        memo of it that gives the same answers)."""
        ...
