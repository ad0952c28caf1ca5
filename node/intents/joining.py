"""After an accept with reveal: the vendor invites her in, her node joins (spec/intents.md §6.1).

On the vendor's node, the core's :class:`Invite` becomes a one-time invitation (no policy
summary) sent back as a sealed ``intent.welcome``; on hers, :class:`Welcomed` becomes a dial
with that invitation and, once connected, an offer of the intent's terms, which the vendor's
terms service accepts because its offer countersigned them (:meth:`Joining.promised`). Both
steps run after the commit that decided them, and again at start for any the node did not
finish before it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from amity.node.logs import log_event
from amity.protocol.card import Card
from amity.protocol.core.intents import vendor
from amity.protocol.core.intents.effects import IntentEffect, Invite, Welcomed
from amity.protocol.core.intents.records import CastingState, SeenState
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.identity import PeerId
from amity.protocol.intentwelcome import WELCOME_TTL_MS
from amity.protocol.relationship import RelationshipState

if TYPE_CHECKING:
    from amity.node.intents.service import IntentsService

__all__ = ["Joining"]

_log = logging.getLogger("amity.intents")


class Joining:
    """See the module docstring."""

    def __init__(self, service: IntentsService) -> None:
        self.service = service
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(self, effect: IntentEffect) -> None:
        """Called once the commit that produced ``effect`` is on disk."""
        if isinstance(effect, Invite):
            self._spawn(self._welcome(effect.intent_id, effect.not_after_ms))
        elif isinstance(effect, Welcomed):
            self._spawn(self._join(effect))

    def resume(self) -> None:
        """At start: welcomes not sent, and welcomes not yet used to connect."""
        now = self.service.node.clock_ms()
        for intent_id, seen in self.service.vendor.inbox.items():
            if seen.state is SeenState.WON and seen.person is not None:
                self._spawn(self._welcome(intent_id, now + WELCOME_TTL_MS))
        book = self.service.node.book
        for intent_id, c in self.service.caster.castings.items():
            if c.state is not CastingState.ACCEPTED or c.welcome is None:
                continue
            invitation = Card.decode(c.welcome)
            if book.current(invitation.peer_id) is None and now < invitation.not_after_ms:
                self._spawn(self._join(Welcomed(intent_id, invitation, c.intent.terms)))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def promised(self, peer: PeerId, terms_id: bytes, now_ms: int) -> bool:
        """The terms service's question (core TermsHost.promised): did one of our intent offers
        countersign ``terms_id`` for ``peer``, who accepted it and named herself?"""
        return any(
            seen.person == peer
            and seen.offer is not None
            and seen.offer.terms_id == terms_id
            and now_ms < seen.offer.valid_until_ms
            and seen.state in (SeenState.WON, SeenState.WELCOMED)
            for seen in self.service.vendor.inbox.values()
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """A step that failed in a way it did not expect is logged, not left unretrieved."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log_event(_log, "intents.join_step_failed", logging.ERROR,
                      why=repr(task.exception())[:200])  # fmt: skip

    async def _welcome(self, intent_id: bytes, not_after_ms: int) -> None:
        service, node = self.service, self.service.node
        try:
            ttl_ms = max(not_after_ms - node.clock_ms(), 60_000)
            invitation = await node.invite(ttl_ms, with_policy=False)
            effects = vendor.welcome(service.vendor, intent_id, invitation, node.clock_ms())
            await node.commit(service.carrier.stage("vendor", service.vendor, effects))
        except AmityError as exc:
            log_event(
                _log, "intents.welcome_failed", logging.WARNING, intent=intent_id.hex()[:16],
                code=exc.code, why=exc.message,
            )  # fmt: skip
            return
        seen = service.vendor.seen(intent_id)
        person = None if seen is None or seen.person is None else seen.person.did
        log_event(_log, "intents.welcome_sent", intent=intent_id.hex()[:16])
        node.events.publish("intent.welcome_sent", {"intent": intent_id.hex(), "person": person})

    async def _join(self, effect: Welcomed) -> None:
        """Dial with the vendor's invitation, then offer the intent's terms."""
        service, node = self.service, self.service.node
        vendor_card = effect.invitation
        detail: dict[str, Any] = {
            "intent": effect.intent_id.hex(),
            "vendor": vendor_card.peer_id.did,
        }
        try:
            relationship = await node.connect(vendor_card.to_uri())
            if relationship.state is not RelationshipState.CONNECTED:
                raise NodeError(f"the relationship is {relationship.state.value}")
            negotiation = None
            if service.terms is not None:
                negotiation = await service.terms.offer(vendor_card.peer_id, effect.terms.document)
        except AmityError as exc:
            log_event(
                _log, "intents.join_failed", logging.WARNING, intent=effect.intent_id.hex()[:16],
                code=exc.code, why=exc.message,
            )  # fmt: skip
            node.events.publish("intent.join_failed", {**detail, "why": exc.message})
            return
        if negotiation is not None:
            detail["negotiation"] = negotiation.negotiation_id.hex()
        log_event(_log, "intents.joined", intent=effect.intent_id.hex()[:16])
        node.events.publish("intent.joined", detail)
