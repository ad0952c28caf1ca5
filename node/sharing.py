"""Which attestations go to which peer: the owner's per-peer share policy. See reputation.md §6.3.

Nothing is shared unless the owner says so for that peer: ``none`` (the default), ``mine`` (her
own approved attestations) or ``all`` (hers, and those she received, each relayed one hop further
while that stays within the peer's hop limit). At most ``per_hour`` attestations go to one peer
in any hour; the rest wait for the next pass.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from amity.node.store import AttestationRow, SharePolicyRow, Store
from amity.protocol.errors import UsageError
from amity.protocol.reputationmessages import MAX_HOPS, MAX_REBUTTALS, RawItem

__all__ = ["ShareMode", "SharePolicy", "APPROVED", "PENDING", "WITHHELD", "RECEIVED", "select"]

APPROVED: Final = "approved"
PENDING: Final = "pending"
WITHHELD: Final = "withheld"
RECEIVED: Final = "received"
_HOUR_MS: Final = 3_600_000
DEFAULT_MAX_HOPS: Final = 1
DEFAULT_PER_HOUR: Final = 500


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

    @classmethod
    def from_row(cls, row: SharePolicyRow) -> SharePolicy:
        return cls(ShareMode(row.mode), row.max_hops, row.per_hour)


def _hops_out(row: AttestationRow) -> int:
    """The hops an item carries when we send it: 0 for ours, one more than it came with."""
    return 0 if row.origin is None else row.hops + 1


def allowed(row: AttestationRow, policy: SharePolicy, peer: bytes, now_ms: int) -> bool:
    """Whether ``policy`` lets ``row`` go to ``peer`` (ignoring what was sent and the rate)."""
    if row.expires_ms <= now_ms or peer in (row.attester, row.origin):
        return False
    if row.origin is None:
        return policy.mode is not ShareMode.NONE and row.review == APPROVED
    return policy.mode is ShareMode.ALL and _hops_out(row) <= policy.max_hops


def select(
    store: Store,
    peer: bytes,
    policy: SharePolicy,
    now_ms: int,
    *,
    rows: Iterable[AttestationRow] | None = None,
    unsent_only: bool = True,
) -> list[tuple[bytes, RawItem]]:
    """(attestation id, item) that ``peer`` may have now: allowed, unsent, within the rate."""
    if policy.mode is ShareMode.NONE:
        return []
    room = policy.per_hour - store.shared_since(peer, now_ms - _HOUR_MS)
    if room <= 0:
        return []
    sent = store.shared_with(peer) if unsent_only else set()
    items = []
    for row in store.attestations() if rows is None else rows:
        if row.attestation_id in sent or not allowed(row, policy, peer, now_ms):
            continue
        rebuttals = tuple(store.rebuttals(row.attestation_id)[:MAX_REBUTTALS])
        items.append((row.attestation_id, RawItem(row.encoded, _hops_out(row), rebuttals)))
        if len(items) >= room:
            break
    return items
