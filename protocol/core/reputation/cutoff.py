"""The cut-off gate: which peers the owner's trust cuts off, and what a node refuses them.

A peer is cut off when its standing falls under the policy's threshold on enough trusted
evidence (:meth:`ReputationPolicy.cuts_off`). Nothing a cut-off peer *sends* is refused by the
node core's receive path: a new grant to it is refused locally (``local.cut_off``, with the
reason), and its new terms are answered with ``terms.reject`` (the terms service asks
:func:`declines`). See spec/reputation.md §6.5 and spec/node.md §4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.errors import CutOffError
from amity.protocol.identity import PeerId
from amity.protocol.trust import TrustResult

__all__ = ["DECLINED", "cut_offs", "changes", "check_grant", "declines", "on_existing"]

#: The reason a cut-off peer's new terms are rejected with.
DECLINED: Final = "declined: this node's reputation policy cuts you off"


def cut_offs(policy: ReputationPolicy, result: TrustResult, owner: PeerId) -> dict[PeerId, str]:
    """Every peer ``policy`` cuts off under ``result``, with the reason (never the owner)."""
    return {
        peer: policy.reason(standing)
        for peer, standing in result.standings.items()
        if peer != owner and policy.cuts_off(standing)
    }


def changes(
    before: Mapping[PeerId, str], after: Mapping[PeerId, str]
) -> tuple[list[PeerId], list[PeerId]]:
    """The peers newly cut off, and those restored, each in key order (events go out in it)."""
    newly = sorted(set(after) - set(before), key=lambda p: p.key)
    restored = sorted(set(before) - set(after), key=lambda p: p.key)
    return newly, restored


def check_grant(cut_off: Mapping[PeerId, str], peer: PeerId) -> None:
    """The grantor's gate: raise :class:`CutOffError`, saying why, if ``peer`` is cut off."""
    reason = cut_off.get(peer)
    if reason is not None:
        raise CutOffError(
            f"{peer.short} is cut off by your reputation policy: {reason}. "
            f"`amity reputation {peer.did}` shows why; a vouch, new attestations or "
            "`amity reputation --threshold` change it"
        )


def declines(cut_off: Mapping[PeerId, str], peer: PeerId) -> str | None:
    """The terms gate: the reason a cut-off peer's new terms are rejected with, else None."""
    return DECLINED if peer in cut_off else None


def on_existing(policy: ReputationPolicy, live_grants: int) -> str:
    """What the node does about live grants to a peer it just cut off: none, warn or revoke."""
    return policy.on_existing if live_grants else "none"
