"""What a capability lets an agent do: small structured scopes, and when one narrows another.

Sans-IO. Four kinds (spec/delegation.md §3): ``grant`` (grant these fields, for these purposes, to
vendors of at least this standing, for at most this many days), ``intent.cast`` (cast intents in
these categories), ``offers.read`` and ``terms.negotiate`` (negotiate, never sign).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import Value, expect_array, expect_int, expect_str
from amity.protocol.errors import SchemaError
from amity.protocol.grants import MAX_PURPOSE_BYTES, PURPOSE_PATTERN, expect_names
from amity.protocol.intentcategory import CATEGORY_PATTERN, MAX_CATEGORY_BYTES

__all__ = [
    "GRANT",
    "INTENT_CAST",
    "OFFERS_READ",
    "TERMS_NEGOTIATE",
    "SCOPE_NAMES",
    "MAX_SCOPES",
    "MAX_DAYS",
    "STANDING_SCALE",
    "Scope",
    "encode_scope",
    "decode_scope",
    "widening",
]

GRANT: Final = "grant"
INTENT_CAST: Final = "intent.cast"
OFFERS_READ: Final = "offers.read"
TERMS_NEGOTIATE: Final = "terms.negotiate"
SCOPE_NAMES: Final = (GRANT, INTENT_CAST, OFFERS_READ, TERMS_NEGOTIATE)
MAX_SCOPES: Final = 4
MAX_PURPOSES: Final = 8
MAX_CATEGORIES: Final = 16
MAX_DAYS: Final = 3650
#: Standing (reputation.md §4.6, -1..1) is written in thousandths: 500 is 0.5.
STANDING_SCALE: Final = 1000


def _sorted_unique(items: tuple[str, ...], what: str) -> tuple[str, ...]:
    if list(items) != sorted(set(items)):
        raise SchemaError(f"{what} must be sorted and without repeats")
    return items


@dataclass(frozen=True, slots=True)
class Scope:
    """One kind of act a capability allows, with its limits (unused limits stay empty)."""

    name: str
    #: ``grant``: the vault fields (and claim kinds) the agent may grant.
    fields: tuple[str, ...] = ()
    #: ``grant``: the purposes it may grant for; empty: any purpose her agreement allows.
    purposes: tuple[str, ...] = ()
    #: ``grant``: the least standing (in thousandths) her own trust must give the vendor;
    #: None: no condition.
    min_standing: int | None = None
    #: ``grant``: the longest grant, in days.
    max_days: int = 0
    #: ``intent.cast``: the categories (or prefixes); empty: every category.
    categories: tuple[str, ...] = ()


def encode_scope(scope: Scope) -> Value:
    if scope.name == GRANT:
        return [
            GRANT, list(scope.fields), list(scope.purposes), scope.min_standing, scope.max_days,
        ]  # fmt: skip
    if scope.name == INTENT_CAST:
        return [INTENT_CAST, list(scope.categories)]
    return [scope.name]


def decode_scope(value: Value, what: str) -> Scope:
    """Read one scope (spec/delegation.md §3): its name first, then the fields that name has."""
    items = expect_array(value, what, max_len=5)
    if not items:
        raise SchemaError(f"{what}: an empty scope")
    name = expect_str(items[0], f"{what} name", max_bytes=32)
    if name == GRANT:
        _, fields, purposes, standing, days = expect_array(items, what, arity=5)
        found = tuple(
            expect_str(p, f"{what} purpose", max_bytes=MAX_PURPOSE_BYTES, pattern=PURPOSE_PATTERN)
            for p in expect_array(purposes, f"{what} purposes", max_len=MAX_PURPOSES)
        )
        least = None
        if standing is not None:
            least = expect_int(standing, f"{what} min_standing", lo=-STANDING_SCALE,
                               hi=STANDING_SCALE)  # fmt: skip
        return Scope(
            GRANT,
            fields=expect_names(fields, f"{what} fields"),
            purposes=_sorted_unique(found, f"{what} purposes"),
            min_standing=least,
            max_days=expect_int(days, f"{what} max_days", lo=1, hi=MAX_DAYS),
        )
    if name == INTENT_CAST:
        _, categories = expect_array(items, what, arity=2)
        cats = tuple(
            expect_str(
                c, f"{what} category", max_bytes=MAX_CATEGORY_BYTES, pattern=CATEGORY_PATTERN
            )
            for c in expect_array(categories, f"{what} categories", max_len=MAX_CATEGORIES)
        )
        return Scope(INTENT_CAST, categories=_sorted_unique(cats, f"{what} categories"))
    if name in (OFFERS_READ, TERMS_NEGOTIATE):
        expect_array(items, what, arity=1)
        return Scope(name)
    raise SchemaError(f"{what}: unknown scope {name!r:.40}")


def _category_covered(child: str, parents: tuple[str, ...]) -> bool:
    return any(child == p or child.startswith(p + ".") for p in parents)


def widening(parent: Scope, child: Scope) -> str | None:
    """Why ``child`` allows more than ``parent`` (same name), or None if it only narrows."""
    if child.name != parent.name:
        return f"{child.name} is not {parent.name}"
    if child.name == GRANT:
        more = sorted(set(child.fields) - set(parent.fields))
        if more:
            return f"grant adds fields {', '.join(more)}"
        if parent.purposes and (
            not child.purposes or not set(child.purposes) <= set(parent.purposes)
        ):
            return "grant allows purposes its parent does not"
        if parent.min_standing is not None and (
            child.min_standing is None or child.min_standing < parent.min_standing
        ):
            return "grant asks less standing of a vendor than its parent"
        if child.max_days > parent.max_days:
            return f"grant allows {child.max_days} days, its parent {parent.max_days}"
    cats = child.categories
    if (
        child.name == INTENT_CAST
        and parent.categories
        and not (cats and all(_category_covered(c, parent.categories) for c in cats))
    ):
        return "intent.cast allows categories its parent does not"
    return None
