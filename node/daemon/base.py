"""What every part of the daemon shares: its constants, its clock, who the node says it is."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from amity.protocol.card import NodeKind
from amity.protocol.notes import MSG_NOTE
from amity.protocol.relmessages import MSG_END, MSG_HELLO

log = logging.getLogger("amity.node")
DAY_MS: Final = 24 * 3600 * 1000
CONNECT_WAIT_S: Final = 15.0
BACKOFF_START_S: Final = 0.25
BACKOFF_MAX_S: Final = 30.0
SWEEP_S: Final = 3600.0
#: Settled (ACKed or REFUSEd) envelopes stay in the outbox this long, for inspection (link.md §3).
OUTBOX_KEEP_MS: Final = 7 * DAY_MS
#: Received envelopes are kept this long, and at most this many, by default (link.md §2.1).
INBOX_KEEP_DAYS: Final = 30
INBOX_KEEP_MESSAGES: Final = 10_000
#: A link with no message either way for this long is closed (peers redial on demand).
IDLE_S: Final = 30 * 60.0
#: Per-link message rate (token bucket): beyond it the link is closed as abusive.
RATE_PER_S: Final = 10_000.0
BURST: Final = 20_000
#: A link's reader hands the loop back after this long, so commits and ACKs go out meanwhile.
READ_TURN_S: Final = 0.002
#: Message types a relationship carries today; anything else is refused (envelope.wrong_type).
ACCEPTED_TYPES: Final = frozenset({MSG_HELLO, MSG_END, MSG_NOTE})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Identity:
    """Who this node says it is on its cards."""

    name: str
    kind: NodeKind


def when_written(*args: Any) -> None:
    """``when_written(*actions, future)``: run the actions, in order, once the commit
    ``future`` stands for is on disk (not if it failed)."""
    *actions, future = args
    if not future.cancelled() and future.exception() is None:
        for action in actions:
            action()


def bitmap_bytes(bitmap: int) -> bytes:
    return bitmap.to_bytes((bitmap.bit_length() + 7) // 8 or 1, "big")
