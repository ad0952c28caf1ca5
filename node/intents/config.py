"""A hub's rules from config.toml's ``[hub]`` table (spec/intents.md §7.1), with defaults.

```toml
[hub]
work_bits = 16          # proof of work per intent: about 2^16 hashes
offer_cap = 64          # sealed offers held per intent
max_ttl = "30d"         # the longest an intent may live here
rate_per_hour = 600     # offers one subscriber may send per hour
max_hops = 2            # how far an intent goes through listed hubs
peers = []              # the hubs this one forwards to, by did:key
```

and a vendor's direct endpoint from the ``[direct]`` table (spec/intents.md §7.8):

```toml
[direct]
categories = ["goods.bicycles"]   # what it serves: intents of these are taken directly
work_bits = 16                    # proof of work per intent
max_ttl = "30d"                   # the longest an intent may live here
```
"""

from __future__ import annotations

from typing import Any, Final

from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.intentcategory import TAXONOMY_VERSION, check_subscription
from amity.protocol.intentmessages import DirectRules, HubRules

__all__ = ["DEFAULTS", "DIRECT_DEFAULTS", "hub_rules", "direct_rules"]

DEFAULTS: Final[dict[str, Any]] = {
    "work_bits": 16,
    "offer_cap": 64,
    "max_ttl": "30d",
    "rate_per_hour": 600,
    "max_hops": 2,
    "peers": [],
}
DIRECT_DEFAULTS: Final[dict[str, Any]] = {"categories": [], "work_bits": 16, "max_ttl": "30d"}
_UNITS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _ms(text: Any, table: str = "hub") -> int:
    value = str(text).strip()
    if len(value) < 2 or value[-1] not in _UNITS or not value[:-1].isdigit():
        raise ValueError(f"[{table}] max_ttl must be like 30d, 12h or 90m, not {text!r}")
    return int(value[:-1]) * _UNITS[value[-1]]


def _int(table: dict[str, Any], name: str, where: str = "hub") -> int:
    value = table[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"[{where}] {name} must be an integer, not {value!r}")
    return value


def hub_rules(table: dict[str, Any]) -> HubRules:
    """The rules of ``[hub]``; ValueError names a bad setting."""
    unknown = set(table) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"[hub] has no setting {sorted(unknown)[0]!r}; known: {', '.join(sorted(DEFAULTS))}"
        )
    merged = {**DEFAULTS, **table}
    peers = merged["peers"]
    if not isinstance(peers, list):
        raise ValueError("[hub] peers must be a list of did:key strings")
    keys = []
    for peer in peers:
        try:
            keys.append(PeerId.from_did(str(peer)).key)
        except AmityError as exc:
            why = f"[hub] peers holds {peer!r}, not a hub's did:key ({exc.message})"
            raise ValueError(why) from None
    try:
        return HubRules(
            work_bits=_int(merged, "work_bits"),
            offer_cap=_int(merged, "offer_cap"),
            max_ttl_ms=_ms(merged["max_ttl"]),
            rate_per_hour=_int(merged, "rate_per_hour"),
            max_hops=_int(merged, "max_hops"),
            peers=tuple(keys),
        )
    except AmityError as exc:
        raise ValueError(f"[hub] {exc.message}") from None


def direct_rules(table: dict[str, Any]) -> DirectRules | None:
    """The rules of ``[direct]``, or None when it names no category (no direct endpoint);
    ValueError names a bad setting."""
    unknown = set(table) - set(DIRECT_DEFAULTS)
    if unknown:
        known = ", ".join(sorted(DIRECT_DEFAULTS))
        raise ValueError(f"[direct] has no setting {sorted(unknown)[0]!r}; known: {known}")
    merged = {**DIRECT_DEFAULTS, **table}
    categories = merged["categories"]
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ValueError("[direct] categories must be a list of categories, e.g. goods.bicycles")
    if not categories:
        return None
    for category in categories:
        try:
            check_subscription(TAXONOMY_VERSION, category)
        except AmityError as exc:
            raise ValueError(f"[direct] categories holds {exc.message}") from None
    try:
        return DirectRules(
            work_bits=_int(merged, "work_bits", "direct"),
            max_ttl_ms=_ms(merged["max_ttl"], "direct"),
            categories=tuple(categories),
        )
    except AmityError as exc:
        raise ValueError(f"[direct] {exc.message}") from None
