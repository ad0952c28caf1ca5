"""What every command spells the same way: a duration, and the one flag per idea that takes it;
a calendar date.

- ``--expires DURATION``: how long the thing made lasts (an invitation, an offer's deadline, a
  grant, the grant a request asks for, a throwaway card, an attestation);
- ``--wait DURATION``: how long the command waits for a peer's answer;
- ``--grace DURATION``: how late something may come before it counts as missing.

A duration is a whole number and a unit: ``90s``, ``10m``, ``2h``, ``30d`` (a bare number is
seconds). Each flag checks its own range and says it in those words, never an API field's name.
A date is ``YYYY-MM-DD``, the start of that day in UTC (:func:`date_ms`).
"""

from __future__ import annotations

import argparse
import datetime
import re
from typing import Final

__all__ = ["Duration", "date_ms", "duration_text"]

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNIT_NAMES: Final = {1: "seconds", 60: "minutes", 3600: "hours", 86400: "days"}
_SYNTAX: Final = "a number and a unit: 90s, 10m, 2h or 30d"


def date_ms(text: str) -> int:
    """An argparse type: ``YYYY-MM-DD`` as ms since the epoch at the start of that day (UTC)."""
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-01-31") from None
    moment = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def duration_text(seconds: int) -> str:
    """``seconds`` in the largest unit that writes it whole: 604800 -> ``7d``."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


class Duration:
    """An argparse ``type``: seconds from a duration, within ``[low_s, high_s]`` and, if
    ``unit_s`` is given, a whole number of that unit (an attestation lasts whole days).

    ``what`` names the thing in the error: ``an invitation lasts 1m to 90d, not 100d``.
    """

    def __init__(self, what: str, low_s: int, high_s: int, unit_s: int = 1) -> None:
        self.what, self.low_s, self.high_s, self.unit_s = what, low_s, high_s, unit_s

    def __call__(self, text: str) -> int:
        found = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
        if found is None:
            raise argparse.ArgumentTypeError(f"{text!r} is not a duration: {_SYNTAX}")
        seconds = int(found[1]) * _UNITS[found[2] or "s"]
        if seconds == 0:
            raise argparse.ArgumentTypeError(f"{text.strip()}: {self.what} must last more than 0")
        if not self.low_s <= seconds <= self.high_s:
            span = f"{duration_text(self.low_s)} to {duration_text(self.high_s)}"
            raise argparse.ArgumentTypeError(f"{self.what} lasts {span}, not {text.strip()}")
        if seconds % self.unit_s:
            raise argparse.ArgumentTypeError(
                f"{self.what} lasts whole {_UNIT_NAMES[self.unit_s]} "
                f"(such as {duration_text(self.unit_s * 30)}), not {text.strip()}"
            )
        return seconds
