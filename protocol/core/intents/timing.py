"""When her node casts: a random delay, so that the time of a cast links it to nothing.

A hub or a vendor sees when an intent's link comes up and when the intent was cast; a vendor
she has a relationship with also sees when her relationship link is busy, and every party sees
the times of other intents. Cast at once, an intent made right after she talked to a vendor, or
right after another of her intents, is linked to her, or to it, by time alone. Her node can
wait a random time, drawn uniformly between 0 and a most she chooses, before it dials, signs
and casts (the intent's ``cast_ms`` is the time it is really cast). Sans-IO: the randomness
comes from the host, the time from the driver, which waits. See spec/intents.md §7.10.
"""

from __future__ import annotations

from typing import Final, Protocol

from amity.protocol.errors import UsageError

__all__ = ["MAX_CAST_DELAY_MS", "RandomSource", "cast_delay_ms"]

#: The longest a cast may be held back: a day (an intent lives 30 days at most).
MAX_CAST_DELAY_MS: Final = 24 * 3600 * 1000


class RandomSource(Protocol):
    def random_bytes(self, count: int) -> bytes:
        """Fresh random bytes: the OS's in the daemon, the run's seed in the simulator."""
        ...


def cast_delay_ms(host: RandomSource, max_delay_ms: int) -> int:
    """A delay drawn uniformly from ``0..max_delay_ms`` (ms); 0, drawing nothing, for 0.

    Eight random bytes reduced modulo ``max_delay_ms + 1``: below 2^27 values the bias is
    under 2^-37, far below what timing could show."""
    if isinstance(max_delay_ms, bool) or not isinstance(max_delay_ms, int):
        raise UsageError("a cast delay is a whole number of milliseconds")
    if not 0 <= max_delay_ms <= MAX_CAST_DELAY_MS:
        raise UsageError(f"a cast delay is 0..{MAX_CAST_DELAY_MS} ms, not {max_delay_ms}")
    if max_delay_ms == 0:
        return 0
    return int.from_bytes(host.random_bytes(8), "big") % (max_delay_ms + 1)
