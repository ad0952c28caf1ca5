"""Casts held back by a random delay (spec/intents.md §7.10): drawn by the core, waited here.

With a delay her node answers at once that the cast is scheduled; after a time drawn uniformly
from 0 to the most she chose it dials, signs and casts as it would have at once (the intent's
``cast_ms`` is that later time), and says on the event stream how it went: ``intent.cast``, or
``intent.cast_failed`` with the error's code.

Nothing is lost on a stop or a crash: a scheduled cast is written to the store (the meta key
``intents.scheduled``, what to cast and when) before her node answers that it is scheduled, and
taken out once it was cast or refused. A node that starts again casts each one at its time, or at
once if that time went by while it was stopped. A crash between a cast and its removal casts it
again at the next start: a second intent under a key of its own (nothing links the two).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from amity.node.logs import log_event
from amity.node.services import Staged
from amity.protocol.core.intents.timing import cast_delay_ms
from amity.protocol.errors import AmityError, UsageError
from amity.protocol.identity import PeerId
from amity.protocol.intent import Constraints, TermsRef
from amity.protocol.money import Money

if TYPE_CHECKING:
    from amity.node.intents.service import IntentsService

__all__ = ["Scheduled", "CastSchedule"]

_log = logging.getLogger("amity.intents")
#: The store's meta key that holds the casts waiting for their time.
META_KEY: Final = "intents.scheduled"


def cast_to_json(cast: dict[str, Any]) -> dict[str, Any]:
    """What :meth:`IntentsService.cast` is given, as JSON (roster terms only, as the API casts)."""
    c: Constraints = cast["constraints"]
    terms: TermsRef = cast["terms"]
    if terms.roster_name is None:
        raise UsageError("a scheduled cast names roster terms")  # the API gives no other kind
    return {
        **{k: cast[k] for k in ("category", "text", "offers_wanted", "ttl_ms", "direct", "nearby")},
        "budget": None if c.budget is None else str(c.budget),
        "region": c.region,
        "quantity": c.quantity,
        "terms": terms.roster_name,
        "hubs": [h.did for h in cast["hubs"]],
    }


def cast_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`cast_to_json`."""
    budget = data["budget"]
    return {
        **{k: data[k] for k in ("category", "text", "offers_wanted", "ttl_ms", "direct", "nearby")},
        "constraints": Constraints(
            budget=None if budget is None else Money.parse(budget),
            region=data["region"],
            quantity=data["quantity"],
        ),
        "terms": TermsRef.roster(data["terms"]),
        "hubs": tuple(PeerId.from_did(h) for h in data["hubs"]),
    }


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
        #: What the store holds under META_KEY: handle -> {"at_ms", "cast"} (JSON values).
        self._kept: dict[str, dict[str, Any]] = {}

    def _keep(self) -> Staged:
        text = json.dumps(self._kept, sort_keys=True).encode()
        return Staged(writes=[lambda: self.service.node.store.set_meta(META_KEY, text)])

    async def schedule(self, max_delay_ms: int, cast: dict[str, Any]) -> Scheduled:
        """Draw the delay (the core's rule, her node's randomness), keep the cast in the store,
        and cast it after the delay."""
        node = self.service.node
        delay = cast_delay_ms(self.service.caster, max_delay_ms)
        item = Scheduled(os.urandom(8).hex(), node.clock_ms() + delay, cast["category"])
        self._kept[item.handle] = {"at_ms": item.at_ms, "cast": cast_to_json(cast)}
        await node.commit(self._keep())
        self._start(item, cast)
        return item

    def resume(self) -> None:
        """After a start: each cast the store holds, at its time (at once if it went by)."""
        raw = self.service.node.store.get_meta(META_KEY)
        self._kept = {} if raw is None else json.loads(raw)
        for handle, kept in sorted(self._kept.items()):
            cast = cast_from_json(kept["cast"])
            self._start(Scheduled(handle, kept["at_ms"], cast["category"]), cast)
        if self._kept:
            log_event(_log, "intents.schedule_resumed", count=len(self._kept))

    def _start(self, item: Scheduled, cast: dict[str, Any]) -> None:
        node = self.service.node
        self.waiting[item.handle] = item
        delay = max(0, item.at_ms - node.clock_ms())
        node._spawn(self._later(item, delay, cast), f"intent-scheduled-{item.handle}")

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
        self.waiting.pop(item.handle, None)
        self._kept.pop(item.handle, None)
        await node.commit(self._keep())  # done with it: cast, or refused and said

    def close(self) -> None:
        """The node stops: the casts still waiting stay in the store for its next start."""
        if self.waiting:
            log_event(_log, "intents.schedule_kept", count=len(self.waiting))
            self.waiting.clear()
