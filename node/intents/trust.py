"""Her own view of a vendor, for ranking its offers and hiding those she cut off.

The intents service asks two questions of her reputation service (spec/intents.md §5.1): how
much she trusts a vendor (its standing, -1..1, as 0..1; None without evidence), and whether her
policy cuts it off (and why). These read the reputation service's last result; nothing here
computes trust.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.identity import PeerId

__all__ = ["own_trust", "own_cut_off"]


def own_trust(reputation: Any, vendor: PeerId) -> float | None:
    """Her own trust in ``vendor`` for ranking offers (spec/intents.md §5.1): her reputation
    service's standing of it, -1..1, as 0..1; None when she has no evidence about it."""
    result = reputation.result
    if result is None:
        return None
    value = result.standing(vendor).value
    return None if value is None else (value + 1) / 2


def own_cut_off(reputation: Any, vendor: PeerId) -> str | None:
    """Why her reputation policy cuts ``vendor`` off now, or None."""
    reason: str | None = reputation.cut_off.get(vendor)
    return reason
