"""The intents service: her castings, a vendor's inbox and, with ``amity run --hub``, a hub.

Vendors and hubs talk over their relationships (``intent.subscribe``, ``.rules``, ``.forward``,
``.sealed``, ``.withdraw``, ``.receipt``: the :class:`~amity.node.services.Service` side); her
node talks to hubs only as an intent key, over pseudonymous links
(:mod:`~amity.node.intents.casterlinks`, :mod:`~amity.node.intents.hublinks`). What every
message means is amity.protocol.core.intents; :mod:`~amity.node.intents.roles` carries out its
effects. See spec/intents.md §7.5 and §10.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from amity.node.daemon.base import SWEEP_S
from amity.node.intents.casterlinks import CasterLinks
from amity.node.intents.hublinks import HubLinks
from amity.node.intents.joining import Joining
from amity.node.intents.roles import Carrier, NodeCaster, NodeHub, NodeVendor, load_roles
from amity.node.intents.scheduling import CastSchedule
from amity.node.intents.targets import known_vendors, lan_vendors, open_direct
from amity.node.logs import log_event
from amity.node.services import Staged
from amity.protocol.core.intents import caster, direct, housekeeping, hub, vendor
from amity.protocol.core.intents.effects import IntentEffect
from amity.protocol.core.intents.records import Casting
from amity.protocol.core.intents.rule import Quote
from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError, NodeError, WrongTypeError, all_error_classes
from amity.protocol.identity import PeerId
from amity.protocol.intent import Constraints, TermsRef
from amity.protocol.intentmessages import DirectRules, HubRules
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship

if TYPE_CHECKING:
    from pathlib import Path

    from amity.node.daemon import Node
    from amity.node.net.discovery import NearbyNode
    from amity.node.net.link import Link
    from amity.node.terms.service import TermsService

__all__ = ["IntentsService"]

_log = logging.getLogger("amity.intents")
#: How long ``cast`` waits for the hubs to say they stored the intent.
CAST_WAIT_S: Final = 15.0


class IntentsService:
    """See the module docstring."""

    types: frozenset[str] = hub.TYPES | vendor.TYPES
    after_end: frozenset[str] = frozenset()
    #: Intents and offers are deleted on withdraw and expiry: no copy stays in the inbox.
    not_in_inbox: frozenset[str] = hub.TYPES | vendor.TYPES

    def __init__(
        self,
        node: Node,
        *,
        rules: HubRules | None = None,
        direct: DirectRules | None = None,
        trust: Callable[[PeerId], float | None] = lambda _peer: None,
        cut_off: Callable[[PeerId], str | None] = lambda _peer: None,
        terms: TermsService | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.node = node
        #: config.toml, where a hub keeps the hubs it lists (hubpeers.change_peer).
        self.config_path = config_path
        #: Her terms service: after an accept, her node offers the intent's terms through it;
        #: a vendor's accepts the terms its offers countersigned (joining.Joining.promised).
        self.terms = terms
        self.caster: NodeCaster
        self.vendor: NodeVendor
        self.hub: NodeHub | None
        self.caster, self.vendor, self.hub = load_roles(node, rules)
        self.vendor.direct_rules = None if self.hub is not None else direct
        self.caster.trust_source = trust
        self.caster.cut_source = cut_off
        if terms is not None:  # its policy file's [[intents.answer]] rules (§5.2)
            self.vendor.rules_source = terms.answer_rules
        self._timers: dict[tuple[str, bytes], asyncio.TimerHandle] = {}
        #: The nodes LAN discovery sees now (set by the driver when discovery runs).
        self.nearby: Callable[[], list[NearbyNode]] = list
        #: Whether this node announces itself on the LAN (its did:key and address) now.
        self.announced: Callable[[], bool] = lambda: False
        self.schedule = CastSchedule(self)
        self.links = CasterLinks(self)
        self.hub_links = HubLinks(self)
        self.joining = Joining(self)
        if terms is not None:
            terms.promises.append(self.joining.promised)
        self.carrier = Carrier(node, arm=self.arm, kick=self.links.kick, follow=self.joining.follow)
        #: Casts waiting for their hubs' answer: (intent, hub) -> future of the refusal code.
        self._waiting: dict[tuple[bytes, PeerId], asyncio.Future[str | None]] = {}

    @property
    def direct_categories(self) -> tuple[str, ...]:
        """What its direct endpoint serves, for its LAN announcement (spec/intents.md §7.9)."""
        rules = self.vendor.direct_rules
        return () if rules is None else rules.categories

    @property
    def serves_intents(self) -> bool:
        """Whether the intents path is served: as a hub, else as a vendor's direct endpoint."""
        return self.hub is not None or self.vendor.direct_rules is not None

    # -- lifetime ------------------------------------------------------------------------------------

    async def start(self) -> None:
        for intent_id, c in self.caster.castings.items():
            self.arm("caster", intent_id, c.intent.expires_ms)
            for hub_peer in c.targets:
                self.links.hold(intent_id, hub_peer)
        for intent_id, s in self.vendor.inbox.items():
            self.arm("vendor", intent_id, s.intent.expires_ms)
        if self.hub is not None:
            for intent_id, r in self.hub.intents.items():
                self.arm("hub", intent_id, r.intent.expires_ms)
            for key in self.hub.rules.peers:
                if self.node.book.current(PeerId(key)) is None:
                    # Forwards to it wait in the outbox until the two hubs meet (§7.6).
                    log_event(
                        _log,
                        "intents.hub_peer_not_met",
                        logging.WARNING,
                        peer=PeerId(key).short,
                        hint="amity invite on one hub, amity connect on the other",
                    )
        if self.serves_intents:
            self.node._spawn(self._housekeeping(), "intents-housekeeping")
        self.joining.resume()
        self.schedule.resume()
        log_event(
            _log,
            "intents.resumed",
            hub=self.hub is not None,
            castings=len(self.caster.castings),
            inbox=len(self.vendor.inbox),
            held=0 if self.hub is None else len(self.hub.intents),
        )

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.schedule.close()
        await self.joining.close()
        await self.links.close()

    def housekeep(self) -> asyncio.Future[None] | None:
        """A hub's housekeeping now (spec/intents.md §7.7): tombstones past their time, and
        pseudonyms nothing here names any more; a direct endpoint's (§7.8): pseudonyms that
        have collected everything and that no intent in the inbox names. None on other nodes."""
        store, own = self.node.store, self.node.peer_id.key
        pseudonyms = [PeerId(k) for k in store.strangers_with_state() if k != own]
        if self.hub is not None:
            effects = housekeeping.sweep(self.hub, pseudonyms, self.node.clock_ms())
            return self.node.commit(self.carrier.stage("hub", self.hub, effects))
        if self.vendor.direct_rules is not None:
            idle = [p for p in pseudonyms if not store.count_pending(p.key)]
            effects = direct.sweep(self.vendor, idle)
            return self.node.commit(self.carrier.stage("vendor", self.vendor, effects))
        return None

    async def _housekeeping(self) -> None:
        while not self.node._closing:
            done = self.housekeep()
            if done is not None:
                await done
            await asyncio.sleep(SWEEP_S)

    def arm(self, role: str, intent_id: bytes, at_ms: int) -> None:
        old = self._timers.pop((role, intent_id), None)
        if old is not None:
            old.cancel()
        delay_s = max(0.0, (at_ms - self.node.clock_ms()) / 1000)
        fire = functools.partial(self._fire, role, intent_id)
        self._timers[(role, intent_id)] = asyncio.get_running_loop().call_later(delay_s, fire)

    def _fire(self, role: str, intent_id: bytes) -> None:
        self._timers.pop((role, intent_id), None)
        now = self.node.clock_ms()
        effects: list[IntentEffect]
        if role == "caster":
            effects = caster.timer_fired(self.caster, intent_id, now)
            self.node.commit(self.carrier.stage(role, self.caster, effects))
        elif role == "vendor":
            effects = vendor.timer_fired(self.vendor, intent_id, now)
            self.node.commit(self.carrier.stage(role, self.vendor, effects))
        elif self.hub is not None:
            effects = hub.timer_fired(self.hub, intent_id, now)
            self.node.commit(self.carrier.stage(role, self.hub, effects))

    def caster_expiry(self, intent_id: bytes) -> int:
        c = self.caster.casting(intent_id)
        return 0 if c is None else c.intent.expires_ms

    # -- peers' messages (the Service protocol) ------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """From a hub we subscribe at: the vendor's; else, at a hub: the hub's."""
        sender = envelope.sender
        if envelope.type in vendor.TYPES and self.vendor.subscribed(sender) is not None:
            effects = vendor.receive(self.vendor, envelope, now_ms)
            return self.carrier.stage("vendor", self.vendor, effects)
        if self.hub is not None and envelope.type in hub.TYPES:
            effects = hub.receive(self.hub, envelope, now_ms)
            return self.carrier.stage("hub", self.hub, effects)
        raise WrongTypeError(f"this node is not a hub and does not subscribe at {sender.short}")

    # -- her side -------------------------------------------------------------------------------------

    def check_nearby(self) -> None:
        """Refuse to cast at shops nearby while this node announces itself on the LAN: a shop
        would see her did:key and the cast's link at one address (spec/intents.md §7.9)."""
        if self.announced():
            raise NodeError(
                "your node announces itself on this LAN (its did:key and address), so a shop "
                "nearby could match the cast to you; browse only (listen on 127.0.0.1) to "
                "cast --nearby, or cast at a hub"
            )

    async def cast(
        self,
        *,
        category: str,
        text: str,
        constraints: Constraints,
        terms: TermsRef,
        offers_wanted: int,
        ttl_ms: int,
        hubs: tuple[PeerId, ...],
        direct: bool = False,
        nearby: bool = False,
    ) -> Casting:
        """Cast an intent at ``hubs`` under a fresh key, and with ``direct`` at every vendor
        she knows that serves its category (spec/intents.md §7.8): open each pseudonymous link
        first (its rules say how much work), solve the work off the event loop, store, send,
        and wait until every hub and vendor stored it (or refused it: raised). With
        ``nearby``, also at the vendors LAN discovery sees that say they serve it (§7.9)."""
        if nearby:
            self.check_nearby()
        key_seed, link_private = os.urandom(32), os.urandom(32)
        opened: list[tuple[PeerId, Link, HubRules | DirectRules]] = []
        try:
            for hub_peer in hubs:
                opened.append((hub_peer, *(await self.links.dial(key_seed, hub_peer))))
            vendors = known_vendors(self.links) if direct else []
            if nearby:
                vendors += lan_vendors(self.nearby(), category)
            vendors = [v for v in dict.fromkeys(vendors) if v not in hubs]
            at_vendors = await open_direct(self.links, key_seed, vendors, category)
        except NodeError:
            for _, link, _ in opened:
                await link.close()
            raise
        opened += at_vendors
        if not opened:
            raise NodeError(
                f"no vendor you know or see nearby takes intents of {category} directly; "
                "cast at a hub"
            )
        targets = tuple(peer for peer, _, _ in opened)
        work_bits = max(r.work_bits for _, _, r in opened)
        now = self.node.clock_ms()
        drawn = _Drawn(self.caster, [key_seed, link_private])
        casting, effects = await asyncio.to_thread(
            functools.partial(
                caster.cast,
                drawn,
                now,
                category=category,
                text=text,
                constraints=constraints,
                terms=terms,
                offers_wanted=offers_wanted,
                ttl_ms=ttl_ms,
                hubs=hubs,
                work_bits=work_bits,
                direct=tuple(peer for peer, _, _ in at_vendors),
            )
        )
        loop = asyncio.get_running_loop()
        waits = {h: loop.create_future() for h in targets}
        for h, future in waits.items():
            self._waiting[(casting.intent_id, h)] = future
        try:
            await self.node.commit(self.carrier.stage("caster", self.caster, effects))
            for hub_peer, link, _ in opened:
                self.links.hold(casting.intent_id, hub_peer, link)
            async with asyncio.timeout(CAST_WAIT_S):
                codes = await asyncio.gather(*waits.values())
        except TimeoutError:
            raise NodeError(
                "the hub did not confirm the intent in time; your node keeps trying"
            ) from None
        finally:
            for h in targets:
                self._waiting.pop((casting.intent_id, h), None)
        for code in codes:
            if code is not None:
                raise _refusal(code)
        return casting

    def settled(
        self, intent_id: bytes, hub_peer: PeerId, seqs: tuple[int, ...], code: str | None
    ) -> None:
        """A hub ACKed (``code`` None) or REFUSEd our envelopes ``seqs`` for ``intent_id``."""
        future = self._waiting.get((intent_id, hub_peer))
        if future is not None and not future.done() and 1 in seqs:
            future.set_result(code)

    def hub_refused(
        self, intent_id: bytes, hub_peer: PeerId, seqs: tuple[int, ...], code: str
    ) -> None:
        log_event(
            _log,
            "intents.hub_refused",
            logging.WARNING,
            hub=hub_peer.short,
            code=code,
            seqs=len(seqs),
        )

    async def accept(self, intent_id: bytes, offer_id: bytes, *, reveal: bool = True) -> Casting:
        updated, effects = caster.accept(
            self.caster, intent_id, offer_id, self.node.clock_ms(), reveal=reveal
        )
        await self.node.commit(self.carrier.stage("caster", self.caster, effects))
        return updated

    async def withdraw(self, intent_id: bytes) -> Casting:
        updated, effects = caster.withdraw(self.caster, intent_id, self.node.clock_ms())
        await self.node.commit(self.carrier.stage("caster", self.caster, effects))
        return updated

    # -- a vendor's side ------------------------------------------------------------------------------

    async def subscribe(self, hub_peer: PeerId, categories: tuple[str, ...]) -> None:
        effects = vendor.subscribe(hub_peer, categories)
        await self.node.commit(self.carrier.stage("vendor", self.vendor, effects))

    async def answer(self, intent_id: bytes, quote: Quote) -> Any:
        effects = vendor.answer(self.vendor, intent_id, quote, self.node.clock_ms())
        await self.node.commit(self.carrier.stage("vendor", self.vendor, effects))
        return self.vendor.seen(intent_id)


class _Drawn:
    """Her host for one cast, run in a worker thread: the intent's keys are those drawn before
    (its links to the hubs run under them already), nothing of her records is read."""

    def __init__(self, host: NodeCaster, drawn: list[bytes]) -> None:
        self._host = host
        self._drawn = drawn

    @property
    def keyring(self) -> Keyring:
        return self._host.keyring

    def random_bytes(self, count: int) -> bytes:
        if self._drawn:
            taken = self._drawn.pop(0)
            assert len(taken) == count, "the cast draws its keys first, 32 bytes each"
            return taken
        return os.urandom(count)

    def casting(self, intent_id: bytes) -> Casting | None:
        return None

    def trust(self, vendor: PeerId) -> float | None:
        return None

    def cut_off(self, vendor: PeerId) -> str | None:
        return None


def _refusal(code: str) -> AmityError:
    """The error a hub's REFUSE named, as ours to raise."""
    for cls in all_error_classes():
        if cls.code == code:
            return cls(f"the hub refused the intent: {code}")
    return NodeError(f"the hub refused the intent: {code}")
