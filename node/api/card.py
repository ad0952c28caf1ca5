"""A peer card's published policy as JSON, for the local API and ``amity card show``."""

from __future__ import annotations

from typing import Any

from amity.protocol.card import Card
from amity.protocol.errors import AmityError

__all__ = ["policy_json"]


def policy_json(card: Card | None) -> dict[str, Any] | None:
    """What the vendor's published policy welcomes, clause by clause; None if it publishes none.

    A policy newer than this node (another vocabulary or format) is shown as unreadable with
    the reason, never in part (spec/card.md §4).
    """
    if card is None:
        return None
    try:
        policy = card.policy_summary()
    except AmityError as exc:
        return {"unreadable": exc.code, "why": exc.message}
    if policy is None:
        return None
    return {
        "default": policy.default.value,
        "clauses": {rule.clause_id: rule.action.value for rule in policy.rules},
    }
