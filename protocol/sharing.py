"""Which held attestations may go to a peer, and what a received share adds (sans-IO).

The rules of spec/reputation.md §6.3 (sharing) and §6.4 (receiving), without storage or clock:
the daemon (:mod:`amity.node.reputation.sharing`, :mod:`amity.node.reputation.service`) and the
simulator (:mod:`amity.simulations.services.reputation`) both call these, each over what it holds.

Nothing is shared unless the owner says so for that peer: ``none`` (the default), ``mine`` (her
own approved attestations) or ``all`` (hers, and those she received, each relayed one hop further
while that stays within the peer's hop limit). At most ``per_hour`` attestations go to one peer
in any hour; the holder counts what it sent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from amity.protocol.errors import AttestationExpiredError, ReputationQuotaError, UsageError
from amity.protocol.identity import PeerId
from amity.protocol.reputationmessages import MAX_HOPS, RawItem, Share, SharedItem, read_item

__all__ = [
    "APPROVED",
    "PENDING",
    "WITHHELD",
    "RECEIVED",
    "DEFAULT_MAX_HOPS",
    "DEFAULT_PER_HOUR",
    "HOUR_MS",
    "ShareMode",
    "SharePolicy",
    "Held",
    "hops_out",
    "allowed",
    "Received",
    "accept_share",
]

#: Review states of the owner's own attestations (§6.1), and the state of a received one.
APPROVED: Final = "approved"
PENDING: Final = "pending"
WITHHELD: Final = "withheld"
RECEIVED: Final = "received"
DEFAULT_MAX_HOPS: Final = 1
DEFAULT_PER_HOUR: Final = 500
HOUR_MS: Final = 3_600_000


class ShareMode(enum.Enum):
    NONE = "none"
    MINE = "mine"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class SharePolicy:
    """What one peer may receive from us."""

    mode: ShareMode = ShareMode.NONE
    max_hops: int = DEFAULT_MAX_HOPS
    per_hour: int = DEFAULT_PER_HOUR

    @classmethod
    def make(cls, mode: str, max_hops: int, per_hour: int) -> SharePolicy:
        try:
            shared = ShareMode(mode)
        except ValueError:
            raise UsageError(f"share mode {mode!r:.20} is none, mine or all") from None
        if isinstance(max_hops, bool) or not isinstance(max_hops, int):
            raise UsageError("max_hops is a whole number")
        if not 1 <= max_hops <= MAX_HOPS:
            raise UsageError(f"max_hops is 1 .. {MAX_HOPS} (1: what you received, not further)")
        if isinstance(per_hour, bool) or not isinstance(per_hour, int) or per_hour < 1:
            raise UsageError("per_hour is a whole number >= 1")
        return cls(shared, max_hops, per_hour)


class Held(Protocol):
    """What the rules read of one held attestation (the daemon's store row is one)."""

    @property
    def attester(self) -> bytes: ...

    @property
    def origin(self) -> bytes | None:
        """The peer it came from; ``None`` for the owner's own."""
        ...

    @property
    def hops(self) -> int: ...

    @property
    def expires_ms(self) -> int: ...

    @property
    def review(self) -> str: ...


def hops_out(held: Held) -> int:
    """The hops an item carries when we send it: 0 for ours, one more than it came with."""
    return 0 if held.origin is None else held.hops + 1


def allowed(held: Held, policy: SharePolicy, peer: bytes, now_ms: int) -> bool:
    """Whether ``policy`` lets ``held`` go to ``peer`` (ignoring what was sent and the rate)."""
    if held.expires_ms <= now_ms or peer in (held.attester, held.origin):
        return False
    if held.origin is None:
        return policy.mode is not ShareMode.NONE and held.review == APPROVED
    return policy.mode is ShareMode.ALL and hops_out(held) <= policy.max_hops


@dataclass(frozen=True, slots=True)
class Received:
    """What a share adds: its verified items (the owner's own left out) and the expired count."""

    items: tuple[SharedItem, ...]
    expired: int


def accept_share(
    share: Share,
    *,
    owner: PeerId,
    now_ms: int,
    held_from_sender: int,
    max_from_sender: int,
    read: Callable[[RawItem, int], SharedItem] = read_item,
) -> Received:
    """Verify a share's items as §6.4 says, or refuse it whole.

    Expired items are dropped and counted; any other bad item raises its error (the whole message
    is refused); the owner's own attestations coming back are ignored. A share that would take
    what the node holds from this sender over ``max_from_sender`` raises
    :class:`ReputationQuotaError`. ``read`` verifies one item (:func:`read_item`, or one that
    gives the same answers, such as the simulator's, which remembers bytes it verified).
    """
    kept: list[SharedItem] = []
    expired = 0
    for raw in share.items:
        try:
            item = read(raw, now_ms)
        except AttestationExpiredError:
            expired += 1
            continue
        if item.attestation.attester != owner:  # ours, back again: nothing new
            kept.append(item)
    if held_from_sender + len(kept) > max_from_sender:
        raise ReputationQuotaError(
            f"this node keeps at most {max_from_sender} attestations from one peer; it holds "
            "that many from you",
            hint=ReputationQuotaError.code,
        )
    return Received(tuple(kept), expired)
