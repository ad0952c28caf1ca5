"""How held mail moves: a relay hands it over, and a sender deposits it, page by page (sans-IO).

However much waits, neither side loads or sends it all at once. A relay sends MAIL frames oldest
first with at most ``HAND_OVER_WINDOW`` of them unacknowledged on one link; each MAIL_ACK makes
room for more, until nothing is left. A sender deposits its pending envelopes ``DEPOSIT_PAGE`` at
a time, in seq order, and waits for a page's DEPOSITED answers before it sends the next. The
daemon (node/mailbox.py, node/daemon/) and the simulator (simulations/relay.py) both follow
these rules. See spec/relay.md §2 and §3.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from amity.protocol.errors import UsageError

__all__ = ["HAND_OVER_WINDOW", "HAND_OVER_PAGE", "DEPOSIT_PAGE", "HandOverWindow"]

#: MAIL frames a relay keeps unacknowledged on one link; a MAIL_ACK frees room for more.
HAND_OVER_WINDOW: Final = 256
#: Items a relay reads from its store at a time (a page of sealed mail is at most ~16 MiB).
HAND_OVER_PAGE: Final = 64
#: Envelopes a sender deposits before it waits for their DEPOSITED answers.
DEPOSIT_PAGE: Final = 256


class HandOverWindow:
    """One link's hand-over: the newest mail id sent on it, and the ids not yet acknowledged.

    A new link starts from nothing (what an earlier link carried but was not acknowledged is
    sent again; the recipient's replay guard sees it once).
    """

    __slots__ = ("after_id", "in_flight", "size")

    def __init__(self, size: int = HAND_OVER_WINDOW) -> None:
        if size < 1:
            raise UsageError("a hand-over window holds at least one item")
        self.size = size
        #: Mail ids up to this one were sent on the link; the next page starts after it.
        self.after_id = 0
        self.in_flight: set[int] = set()

    @property
    def room(self) -> int:
        """How many more MAIL frames may go out before an acknowledgement."""
        return max(self.size - len(self.in_flight), 0)

    def page(self) -> int:
        """How many items to read next: the room left, at most one page."""
        return min(self.room, HAND_OVER_PAGE)

    def sent(self, mail_id: int) -> None:
        """``mail_id`` went out on the link (ids are sent in increasing order)."""
        if mail_id <= self.after_id:
            raise UsageError(f"mail id {mail_id} was handed over after {self.after_id}")
        self.after_id = mail_id
        self.in_flight.add(mail_id)

    def acked(self, mail_ids: Iterable[int]) -> int:
        """The recipient acknowledged these; returns how many were in flight here."""
        before = len(self.in_flight)
        self.in_flight.difference_update(mail_ids)
        return before - len(self.in_flight)
