"""The node's event stream: what happened, for UIs and scripts (served as SSE by the local API)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any, Final

from amity.protocol.errors import UsageError

__all__ = ["EventBus"]

_QUEUE_LIMIT: Final = 1000
#: What every event carries; data that used these names would overwrite them.
_OWN_KEYS: Final = frozenset({"id", "kind", "ts_ms"})


class EventBus:
    """Publish dicts; each subscriber gets its own bounded queue (a slow reader loses old events)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._ids = itertools.count(1)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send ``kind`` with ``data`` to every subscriber; ``data`` may not use the bus's keys."""
        clash = _OWN_KEYS.intersection(data)
        if clash:  # it would overwrite the event's own kind, id or time: a bug in the caller
            raise UsageError(f"event data may not use the keys {', '.join(sorted(clash))}")
        event = {"id": next(self._ids), "kind": kind, "ts_ms": time.time_ns() // 1_000_000, **data}
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # drop the oldest rather than block the node
            queue.put_nowait(event)

    def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Events from now on, until :meth:`close`; registered before this returns."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(_QUEUE_LIMIT)
        self._subscribers.add(queue)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[dict[str, Any] | None]
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
