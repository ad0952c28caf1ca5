"""How the node delivers webhooks, from config.toml's ``[webhooks]`` table (spec/webhooks.md §6).

```toml
[webhooks]
timeout_s = 10          # one attempt: connect, send, and the receiver's status line
retry_base_s = 5        # the first retry waits 2.5-5 s, each next one twice as long …
retry_cap_s = 3600      # … but never more than this (jittered down to half)
max_attempts = 15       # then the delivery is dead (amity webhook replay)
max_age_s = 259200      # or once it has waited this long since it was queued (3 days)
concurrency = 8         # attempts under way at once, all subscriptions together
```
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["DeliveryPolicy"]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """The ``[webhooks]`` settings; every one has a default."""

    timeout_s: float = 10.0
    retry_base_s: float = 5.0
    retry_cap_s: float = 3600.0
    max_attempts: int = 15
    max_age_s: float = 3 * 24 * 3600.0
    concurrency: int = 8

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> DeliveryPolicy:
        """The settings of ``[webhooks]``; ValueError names a bad one."""
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in table.items():
            if name not in known:
                raise ValueError(
                    f"[webhooks] has no setting {name!r}; known: {', '.join(sorted(known))}"
                )
            whole = known[name] == "int"
            kinds = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
                what = "a whole number" if whole else "a number of seconds"
                raise ValueError(f"[webhooks] {name} must be {what} above 0, not {value!r}")
            values[name] = value
        policy = cls(**values)
        if policy.retry_cap_s < policy.retry_base_s:
            raise ValueError("[webhooks] retry_cap_s must not be below retry_base_s")
        return policy

    @property
    def base_ms(self) -> int:
        return max(1, round(self.retry_base_s * 1000))

    @property
    def cap_ms(self) -> int:
        return max(self.base_ms, round(self.retry_cap_s * 1000))

    @property
    def max_age_ms(self) -> int:
        return round(self.max_age_s * 1000)
