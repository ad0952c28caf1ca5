"""The node's event bus: every event keeps its own kind, id and time."""

from __future__ import annotations

import asyncio

import pytest

from amity.node.events import EventBus
from amity.protocol.errors import UsageError


async def test_subscribers_get_each_event_with_its_kind() -> None:
    bus = EventBus()
    seen = []
    events = bus.subscribe()

    async def read() -> None:
        async for event in events:
            seen.append(event)

    task = asyncio.create_task(read())
    bus.publish("grant.receipt", {"grant": "ab", "receipt": "deletion"})
    bus.close()
    await task
    (event,) = seen
    assert event["kind"] == "grant.receipt" and event["receipt"] == "deletion"
    assert event["id"] == 1 and isinstance(event["ts_ms"], int)


def test_data_may_not_overwrite_the_events_own_keys() -> None:
    # A receipt event once carried {"kind": "deletion"}, which replaced its kind: the reputation
    # service, waiting for "grant.receipt", never woke for it.
    bus = EventBus()
    for key in ("kind", "id", "ts_ms"):
        with pytest.raises(UsageError, match=key):
            bus.publish("grant.receipt", {key: "x"})
