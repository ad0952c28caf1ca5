"""Which attestations go to which peer, read from the store: the owner's per-peer share policy.

The rules themselves (modes, hops, what may go where) are sans-IO, in :mod:`amity.protocol.sharing`,
which the simulator runs too; this module applies them to the store's rows and its record of what
was sent. See spec/reputation.md §6.3.
"""

from __future__ import annotations

from collections.abc import Iterable

from amity.node.store import AttestationRow, SharePolicyRow, Store
from amity.protocol.reputationmessages import MAX_REBUTTALS, RawItem
from amity.protocol.sharing import (
    HOUR_MS,
    ShareMode,
    SharePolicy,
    allowed,
    hops_out,
)

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
    if policy.mode is ShareMode.NONE:
        return []
    room = policy.per_hour - store.shared_since(peer, now_ms - HOUR_MS)
    if room <= 0:
        return []
    sent = store.shared_with(peer) if unsent_only else set()
    items = []
    for row in store.attestations() if rows is None else rows:
        if row.attestation_id in sent or not allowed(row, policy, peer, now_ms):
            continue
        rebuttals = tuple(store.rebuttals(row.attestation_id)[:MAX_REBUTTALS])
        items.append((row.attestation_id, RawItem(row.encoded, hops_out(row), rebuttals)))
        if len(items) >= room:
            break
    return items
