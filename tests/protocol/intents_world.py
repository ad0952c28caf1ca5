"""A small world for the intent services: a person, vendors and hubs in memory, joined by real
signed envelopes (signed by the sender, opened and verified by the recipient), so the three
roles of amity.protocol.core.intents run together exactly as their drivers will run them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from amity.protocol.core.intents import caster, direct, hub, vendor
from amity.protocol.core.intents.memory import MemoryCaster, MemoryHub, MemoryVendor, Outgoing
from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import HubRules
from amity.protocol.money import Money
from amity.protocol.terms import ROSTER

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3600 * 1000
DAY = 24 * HOUR
P2B1 = ROSTER["P2B1"].document.terms_id


def seed(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def rules(**changes: object) -> HubRules:
    base: dict[str, object] = {
        "work_bits": 6,
        "offer_cap": 64,
        "max_ttl_ms": 7 * DAY,
        "rate_per_hour": 100,
        "max_hops": 0,
        "peers": (),
    }
    base.update(changes)
    return HubRules(**base)  # type: ignore[arg-type]


def bike_rule(unit_minor: int, *, lead_ms: int = DAY) -> QuoteRule:
    return QuoteRule(
        categories=("goods.bicycles",),
        terms_ids=frozenset({P2B1}),
        unit_price=Money(unit_minor, "EUR"),
        terms_of_sale="Delivered to your door; 30-day returns.",
        lead_time_ms=lead_ms,
        valid_for_ms=2 * DAY,
    )


@dataclass
class Delivered:
    """One message as it passed: who signed it, to whom, and what the recipient made of it."""

    envelope: Envelope
    refused: str | None


@dataclass
class World:
    person: MemoryCaster
    vendors: dict[str, MemoryVendor]
    hubs: dict[str, MemoryHub]
    now_ms: int = T0
    log: list[Delivered] = field(default_factory=list)
    _seq: dict[tuple[PeerId, PeerId], int] = field(default_factory=dict)

    @classmethod
    def make(cls, vendors: dict[str, QuoteRule | None], hubs: dict[str, HubRules]) -> World:
        return cls(
            MemoryCaster(seed("person")),
            {n: MemoryVendor(seed(n), rule=r) for n, r in vendors.items()},
            {n: MemoryHub(seed(n), hub_rules=r) for n, r in hubs.items()},
        )

    def _node(self, peer: PeerId) -> MemoryCaster | MemoryVendor | MemoryHub:
        for node in (*self.vendors.values(), *self.hubs.values()):
            if node.peer_id == peer:
                return node
        if self._is_pseudonym(peer):
            return self.person
        raise AssertionError(f"nobody is {peer.short}")

    def _is_pseudonym(self, peer: PeerId) -> bool:
        return any(c.intent.intent_key == peer for c in self.person.castings.values())

    def envelope(self, out: Outgoing) -> bytes:
        """Sign ``out`` as its sender's driver would: the next seq, a fresh nonce, the time."""
        key = (out.signer.peer_id, out.to)
        self._seq[key] = self._seq.get(key, 0) + 1
        nonce = hashlib.sha256(b"nonce" + bytes(key[0].key) + self._seq[key].to_bytes(8)).digest()
        return sign_envelope(
            out.signer,
            type=out.type,
            recipient=out.to,
            seq=self._seq[key],
            ts_ms=self.now_ms,
            nonce=nonce[:16],
            body=out.body,
        )

    def deliver(self, data: bytes, to: PeerId) -> str | None:
        """Open ``data`` at ``to`` and hand it to its role; the refusal's code, if any."""
        node = self._node(to)
        envelope = open_envelope(data, recipient=to)
        try:
            if isinstance(node, MemoryCaster):
                effects = caster.receive(node, envelope, self.now_ms)
            elif isinstance(node, MemoryVendor) and self._is_pseudonym(envelope.sender):
                effects = direct.receive(node, envelope, self.now_ms)  # cast at it directly
            elif isinstance(node, MemoryVendor):
                effects = vendor.receive(node, envelope, self.now_ms)
            else:
                effects = hub.receive(node, envelope, self.now_ms)
        except AmityError as exc:
            self.log.append(Delivered(envelope, exc.code))
            return exc.code
        self.log.append(Delivered(envelope, None))
        node.apply(effects)
        return None

    def run(self) -> list[str]:
        """Deliver every queued message until the world is quiet; the refusals' codes."""
        refused: list[str] = []
        nodes = [self.person, *self.vendors.values(), *self.hubs.values()]
        while any(n.outbox for n in nodes):
            for node in nodes:
                queued, node.outbox[:] = list(node.outbox), []
                for out in queued:
                    code = self.deliver(self.envelope(out), out.to)
                    if code is not None:
                        refused.append(code)
        return refused

    def advance(self, ms: int) -> None:
        """Move the clock and fire the timers that fall due, in every role."""
        self.now_ms += ms
        for node in (self.person, *self.vendors.values(), *self.hubs.values()):
            for intent_id, at in sorted(node.timers.items()):
                if at <= self.now_ms:
                    del node.timers[intent_id]
                    if isinstance(node, MemoryCaster):
                        node.apply(caster.timer_fired(node, intent_id, self.now_ms))
                    elif isinstance(node, MemoryVendor):
                        node.apply(vendor.timer_fired(node, intent_id, self.now_ms))
                    else:
                        node.apply(hub.timer_fired(node, intent_id, self.now_ms))
        self.run()
