"""The node's event stream: what happened, for UIs and scripts (served as SSE by the local API)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncGenerator, Iterable
from typing import Any, Final

from amity.protocol.errors import UsageError

__all__ = ["EventBus"]

_QUEUE_LIMIT: Final = 1000
#: What every event carries; data that used these names would overwrite them.
_OWN_KEYS: Final = frozenset({"id", "kind", "ts_ms"})


class EventBus:
    """Publish dicts; each subscriber gets its own bounded queue (a slow reader loses old events).

    A subscriber may name the kinds it wants; an event nobody wants is not even built (a node
    receiving thousands of messages a second with no UI attached builds none).
    """

    def __init__(self) -> None:
        #: Each subscriber's queue, and the kinds it wants (None: every kind).
        self._subscribers: dict[asyncio.Queue[dict[str, Any] | None], frozenset[str] | None] = {}
        self._ids = itertools.count(1)
        #: The id of the latest event, built or not: a page rendered at ``last_id`` N that
        #: subscribes later learns that it missed something (node/ui/live.py).
        self.last_id = 0

    def wants(self, kind: str) -> bool:
        """True if some subscriber would get an event of ``kind`` (build it only then)."""
        return any(kinds is None or kind in kinds for kinds in self._subscribers.values())

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send ``kind`` with ``data`` to every subscriber that wants it; ``data`` may not use
        the bus's keys."""
        clash = _OWN_KEYS.intersection(data)
        if clash:  # it would overwrite the event's own kind, id or time: a bug in the caller
            raise UsageError(f"event data may not use the keys {', '.join(sorted(clash))}")
        self.last_id = next(self._ids)
        event = {"id": self.last_id, "kind": kind, "ts_ms": time.time_ns() // 1_000_000, **data}
        for queue, kinds in self._subscribers.items():
            if kinds is not None and kind not in kinds:
                continue
            if queue.full():
                queue.get_nowait()  # drop the oldest rather than block the node
            queue.put_nowait(event)

    def skipped(self) -> None:
        """An event happened that nobody :meth:`wants` built: it still counts in ``last_id``."""
        self.last_id = next(self._ids)

    def subscribe(self, kinds: Iterable[str] | None = None) -> AsyncGenerator[dict[str, Any], None]:
        """Events from now on (only of ``kinds``, if given), until :meth:`close`; registered
        before this returns."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(_QUEUE_LIMIT)
        self._subscribers[queue] = None if kinds is None else frozenset(kinds)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[dict[str, Any] | None]
    ) -> AsyncGenerator[dict[str, Any], None]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._subscribers.pop(queue, None)

    def close(self) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
