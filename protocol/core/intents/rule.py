"""A vendor's auto-answer rule: which intents it answers at once, and with what. Sans-IO.

The rule is plain data (the ``[[intents.answer]]`` tables of a vendor's policy file map onto
it: :mod:`~amity.protocol.core.intents.rulefile`); :meth:`QuoteRule.quote` says what offer it
makes for an intent, or None. See spec/intents.md §5.2.
"""

from __future__ import annotations

from dataclasses import dataclass

from amity.protocol.errors import UsageError
from amity.protocol.intent import Intent
from amity.protocol.intentcategory import matches
from amity.protocol.money import Money

__all__ = ["Quote", "QuoteRule"]


@dataclass(frozen=True, slots=True)
class Quote:
    """What an answer offers: the total price, the terms of sale, when, and for how long."""

    price: Money
    terms_of_sale: str
    available_ms: int
    valid_for_ms: int

    def __post_init__(self) -> None:
        if not isinstance(self.price, Money):
            raise UsageError("a quote's price is Money")
        if self.valid_for_ms <= 0:
            raise UsageError("a quote is valid for some time")


@dataclass(frozen=True, slots=True)
class QuoteRule:
    """Answer intents of ``categories`` whose terms are among ``terms_ids`` (the terms the
    vendor's policy accepts), in ``regions`` (empty: anywhere), at ``unit_price`` per unit,
    when that fits her budget and the delivery lead time meets her deadline."""

    categories: tuple[str, ...]
    terms_ids: frozenset[bytes]
    unit_price: Money
    terms_of_sale: str
    lead_time_ms: int
    valid_for_ms: int
    regions: tuple[str, ...] = ()

    def quote(self, intent: Intent, now_ms: int) -> Quote | None:
        """The offer this rule makes for ``intent``, or None if it does not apply."""
        c = intent.constraints
        if not matches(self.categories, intent.category) or intent.terms_id not in self.terms_ids:
            return None
        served = tuple(_dotted(r) for r in self.regions)
        if served and (c.region is None or not matches(served, _dotted(c.region))):
            return None
        total = self.unit_price.amount_minor * c.quantity
        if c.budget is not None and (
            c.budget.currency != self.unit_price.currency or total > c.budget.amount_minor
        ):
            return None
        available_ms = now_ms + self.lead_time_ms
        if c.deadline_ms is not None and available_ms > c.deadline_ms:
            return None
        valid_for = min(self.valid_for_ms, max(intent.expires_ms - now_ms, 1))
        price = Money(total, self.unit_price.currency)
        return Quote(price, self.terms_of_sale, available_ms, valid_for)


def _dotted(region: str) -> str:
    # "FR-69" falls under a rule region "FR" as a category falls under its family.
    return region.replace("-", ".")
