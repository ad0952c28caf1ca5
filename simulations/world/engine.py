"""The discrete-event engine: a virtual clock in int milliseconds and a heap of timed callbacks.

Events run in ``(time, sequence number)`` order: two events due at the same millisecond run in the
order they were scheduled, so a run is a pure function of what was scheduled. There is no wall
clock, no asyncio and no randomness here; the engine only decides *when* things happen.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any, Final

from amity.protocol.errors import UsageError

__all__ = ["Engine", "Timer"]

#: Cancelled timers stay in the heap until popped; compact it when they are most of it.
_COMPACT_AT: Final = 4096


class Timer:
    """A scheduled callback; :meth:`cancel` keeps it from running (safe to call twice)."""

    __slots__ = ("args", "at_ms", "callback", "cancelled", "seq")

    def __init__(
        self, at_ms: int, seq: int, callback: Callable[..., object], args: tuple[Any, ...]
    ) -> None:
        self.at_ms = at_ms
        self.seq = seq
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"Timer(at_ms={self.at_ms}, seq={self.seq}{state})"


class Engine:
    """A virtual clock (``now_ms``, starting at 0) and the events waiting on it."""

    __slots__ = ("_cancelled", "_heap", "_seq", "_stopped", "events_run", "now_ms")

    def __init__(self) -> None:
        self.now_ms = 0
        #: Events run so far (cancelled ones are not counted).
        self.events_run = 0
        self._heap: list[tuple[int, int, Timer]] = []
        self._seq = 0
        self._cancelled = 0
        self._stopped = False

    def call_at(self, at_ms: int, callback: Callable[..., object], *args: Any) -> Timer:
        """Run ``callback(*args)`` at virtual time ``at_ms`` (not before now)."""
        if at_ms < self.now_ms:
            raise UsageError(
                f"cannot schedule at {at_ms} ms: the clock is already at {self.now_ms}"
            )
        seq = self._seq = self._seq + 1
        timer = Timer(at_ms, seq, callback, args)
        heapq.heappush(self._heap, (at_ms, seq, timer))
        return timer

    def call_later(self, delay_ms: int, callback: Callable[..., object], *args: Any) -> Timer:
        """Run ``callback(*args)`` ``delay_ms`` from now (0: after every event already due now)."""
        if delay_ms < 0:
            raise UsageError(f"a delay is >= 0 ms, got {delay_ms}")
        # call_at's body, inlined: most events are scheduled from here.
        at_ms = self.now_ms + delay_ms
        seq = self._seq = self._seq + 1
        timer = Timer(at_ms, seq, callback, args)
        heapq.heappush(self._heap, (at_ms, seq, timer))
        return timer

    def cancel(self, timer: Timer | None) -> None:
        """Cancel ``timer`` (None and already-run timers are fine)."""
        if timer is None or timer.cancelled:
            return
        timer.cancel()
        self._cancelled += 1
        if self._cancelled > _COMPACT_AT and self._cancelled * 2 > len(self._heap):
            # In place: a running loop holds this very list.
            self._heap[:] = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    @property
    def pending(self) -> int:
        """Events still waiting (cancelled ones may be counted until they are swept)."""
        return len(self._heap)

    def next_time(self) -> int | None:
        """When the next live event is due, or None when nothing is waiting."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0][0] if heap else None

    def stop(self) -> None:
        """Make :meth:`run` return after the event now running."""
        self._stopped = True

    def run(self, until_ms: int | None = None, *, max_events: int | None = None) -> int:
        """Run events due at or before ``until_ms`` (all, if None); return how many ran.

        The clock ends at ``until_ms`` when the run reaches it, so that what is scheduled next
        counts from there; :meth:`stop` and ``max_events`` leave it at the last event run.
        """
        self._stopped = False
        heap = self._heap
        pop = heapq.heappop
        limit = -1 if max_events is None else max_events
        last_ms = math.inf if until_ms is None else until_ms
        ran = 0
        try:
            while heap and ran != limit and not self._stopped:
                at_ms, _, timer = heap[0]
                if at_ms > last_ms:
                    break
                pop(heap)
                if timer.cancelled:
                    self._cancelled -= 1
                    continue
                self.now_ms = at_ms
                timer.cancelled = True  # it ran: a late cancel() is a no-op
                ran += 1
                timer.callback(*timer.args)
        finally:  # an exception (Ctrl-C) in a callback still counts the events that ran
            self.events_run += ran
        finished = not self._stopped and ran != limit
        if until_ms is not None and finished and self.now_ms < until_ms:
            self.now_ms = until_ms
        return ran
