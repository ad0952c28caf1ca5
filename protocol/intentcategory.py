"""The intent taxonomy: a small, versioned list of categories with room for extensions. Sans-IO.

A category is a dotted lower-case id (``goods.bicycles``); ``x.<reverse-dns>.<name>`` is an
extension valid in every version. A subscription names categories or whole families (``goods``).
See spec/intents.md §2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from amity.protocol.errors import UnknownCategoryError

__all__ = [
    "TAXONOMY_VERSION",
    "MAX_CATEGORY_BYTES",
    "CATEGORY_PATTERN",
    "TAXONOMIES",
    "check_category",
    "is_extension",
    "matches",
    "check_subscription",
]

TAXONOMY_VERSION: Final = 1
MAX_CATEGORY_BYTES: Final = 64
#: Any dotted lower-case id; the taxonomy decides whether it is known.
CATEGORY_PATTERN: Final = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")
_EXTENSION: Final = re.compile(r"x(\.[a-z0-9-]+){2,}")

#: Taxonomy version -> category -> the schema.org type it maps to (spec/intents.md §2).
TAXONOMIES: Final[Mapping[int, Mapping[str, str]]] = {
    1: {
        "goods.bicycles": "Product",
        "goods.books": "Book",
        "goods.clothing": "Product",
        "goods.electronics": "Product",
        "goods.furniture": "Product",
        "goods.groceries": "Product",
        "goods.toys": "Product",
        "goods.vehicles": "Vehicle",
        "services.delivery": "DeliveryEvent",
        "services.energy": "Service",
        "services.finance": "FinancialProduct",
        "services.home": "HomeAndConstructionBusiness",
        "services.insurance": "InsuranceAgency",
        "services.repair": "AutoRepair",
        "services.telecom": "Service",
        "services.travel": "Trip",
    }
}


def is_extension(category: str) -> bool:
    """Whether ``category`` is an extension id, ``x.<reverse-dns>.<name>``."""
    return bool(_EXTENSION.fullmatch(category))


def check_category(version: int, category: str) -> None:
    """Raise ``intent.unknown_category`` unless ``version`` lists ``category`` or it is an
    extension (in a version this node speaks)."""
    known = TAXONOMIES.get(version)
    if known is None:
        raise UnknownCategoryError(
            f"taxonomy version {version}; this node speaks {', '.join(map(str, TAXONOMIES))}",
            hint=UnknownCategoryError.code,
        )
    if category not in known and not is_extension(category):
        raise UnknownCategoryError(
            f"{category!r:.70} is not a category of taxonomy v{version} nor an extension "
            "(x.<reverse-dns>.<name>)",
            hint=UnknownCategoryError.code,
        )


def _families(version: int) -> frozenset[str]:
    return frozenset(c.split(".", 1)[0] for c in TAXONOMIES.get(version, {}))


def check_subscription(version: int, entry: str) -> None:
    """A subscription entry is a category, a family of ``version``, or an extension prefix."""
    if entry in _families(version) or (entry.startswith("x.") and entry.count(".") >= 1):
        return
    check_category(version, entry)


def matches(subscription: Iterable[str], category: str) -> bool:
    """Whether a category falls under any entry of a subscription (itself, or a prefix at a dot)."""
    return any(category == entry or category.startswith(entry + ".") for entry in subscription)
