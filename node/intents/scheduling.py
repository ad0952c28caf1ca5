"""Casts held back by a random delay (spec/intents.md §7.10): drawn by the core, waited here.

With a delay her node answers at once that the cast is scheduled; after a time drawn uniformly
from 0 to the most she chose it dials, signs and casts as it would have at once (the intent's
``cast_ms`` is that later time), and says on the event stream how it went: ``intent.cast``, or
``intent.cast_failed`` with the error's code. A scheduled cast lives in memory only: one the
node stops before is not cast (``intents.schedule_dropped`` in the log, with the count).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from amity.node.logs import log_event
from amity.protocol.core.intents.timing import cast_delay_ms
from amity.protocol.errors import AmityError

if TYPE_CHECKING:
    from amity.node.intents.service import IntentsService

__all__ = ["Scheduled", "CastSchedule"]

_log = logging.getLogger("amity.intents")


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A cast waiting for its time: a handle (never sent anywhere), when, and what."""

    handle: str
    at_ms: int
    category: str


class CastSchedule:
    """See the module docstring."""

    def __init__(self, service: IntentsService) -> None:
        self.service = service
        self.waiting: dict[str, Scheduled] = {}

    def schedule(self, max_delay_ms: int, cast: dict[str, Any]) -> Scheduled:
        """Draw the delay (the core's rule, her node's randomness) and cast after it."""
        node = self.service.node
        delay = cast_delay_ms(self.service.caster, max_delay_ms)
        item = Scheduled(os.urandom(8).hex(), node.clock_ms() + delay, cast["category"])
        self.waiting[item.handle] = item
        node._spawn(self._later(item, delay, cast), f"intent-scheduled-{item.handle}")
        return item

    async def _later(self, item: Scheduled, delay_ms: int, cast: dict[str, Any]) -> None:
        node = self.service.node
        try:
            await asyncio.sleep(delay_ms / 1000)
            casting = await self.service.cast(**cast)
        except AmityError as exc:
            log_event(_log, "intents.scheduled_cast_failed", logging.WARNING, code=exc.code)
            node.events.publish(
                "intent.cast_failed",
                {"scheduled": item.handle, "code": exc.code, "message": exc.message},
            )
        else:
            node.events.publish(
                "intent.cast",
                {
                    "scheduled": item.handle,
                    "intent": casting.intent_id.hex(),
                    "direct": [v.did for v in casting.direct],
                },
            )
        finally:
            self.waiting.pop(item.handle, None)

    def close(self) -> None:
        if self.waiting:
            log_event(_log, "intents.schedule_dropped", count=len(self.waiting))
            self.waiting.clear()
