"""The person's rule for grant requests: which ones her node answers for her, and how far.

A request carries no data and creates no obligation (spec/grants.md §4.4). Without a rule, each
waits for her; with auto-approve on, a request within the rule's fields and purposes is granted
at once, for at most ``max_ms`` (30 days unless she says otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from amity.protocol.errors import UsageError

__all__ = ["SharingRule", "MAX_AUTO_MS"]

_DAY_MS: Final = 24 * 3600 * 1000
#: An automatically approved grant lasts at most this long, whatever the vendor asked.
MAX_AUTO_MS: Final = 30 * _DAY_MS


@dataclass(frozen=True, slots=True)
class SharingRule:
    """The person's rule for requests: answer for her, within these fields, purposes and time.

    ``fields``/``purposes`` None means any. A request asking for more gets the subset the rule
    allows (a partial grant); one the rule allows nothing of waits for her.
    """

    auto_approve: bool = False
    fields: tuple[str, ...] | None = None
    purposes: tuple[str, ...] | None = None
    max_ms: int = MAX_AUTO_MS

    def allows(self, fields: tuple[str, ...] | list[str], purpose: str) -> list[str]:
        """The requested fields this rule grants at once (empty: ask the owner)."""
        if not self.auto_approve or (self.purposes is not None and purpose not in self.purposes):
            return []
        return [f for f in fields if self.fields is None or f in self.fields]

    def to_json(self) -> dict[str, Any]:
        return {
            "auto_approve": self.auto_approve,
            "fields": None if self.fields is None else list(self.fields),
            "purposes": None if self.purposes is None else list(self.purposes),
            "max_days": self.max_ms / _DAY_MS,
        }

    @classmethod
    def from_json(cls, data: Any) -> SharingRule:
        """From the API's JSON; raises UsageError with what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("auto_approve"), bool):
            raise UsageError("the rule needs auto_approve: true or false")

        def names(key: str) -> tuple[str, ...] | None:
            value = data.get(key)
            if value is None:
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{key} is a list of names, or null for any")
            return tuple(value)

        days = data.get("max_days", MAX_AUTO_MS / _DAY_MS)
        if isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= 365:
            raise UsageError("max_days is more than 0 and at most 365")
        return cls(data["auto_approve"], names("fields"), names("purposes"), int(days * _DAY_MS))
