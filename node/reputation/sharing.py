"""Which attestations go to which peer, read from the store: the owner's per-peer share policy.

The rules themselves (modes, hops, what may go where, the rate) are sans-IO, in
:mod:`amity.protocol.sharing` and :mod:`amity.protocol.core.reputation.selection`, which the
simulator runs too; this module applies them to the store's rows and its record of what was sent.
See spec/reputation.md §6.3.
"""

from __future__ import annotations

from collections.abc import Iterable

from amity.node.store import AttestationRow, SharePolicyRow, Store
from amity.protocol.core.reputation.selection import choose, room
from amity.protocol.reputationmessages import RawItem
from amity.protocol.sharing import HOUR_MS, ShareMode, SharePolicy

__all__ = ["policy_of", "select"]


def policy_of(row: SharePolicyRow) -> SharePolicy:
    """The policy a stored row says."""
    return SharePolicy(ShareMode(row.mode), row.max_hops, row.per_hour)


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
    space = room(policy, store.shared_since(peer, now_ms - HOUR_MS))
    if space <= 0:
        return []
    return choose(
        store.attestations() if rows is None else rows,
        policy,
        peer,
        now_ms,
        space=space,
        sent=store.shared_with(peer) if unsent_only else set(),
        rebuttals=store.rebuttals,
    )
