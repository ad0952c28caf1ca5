"""The three intent roles in memory: hosts that keep records in dicts and apply effects at once.

What the core's tests drive, and what a simulator can start from: each host answers its
Protocol from memory, carries out the records' effects, and collects what must leave the node
(``outbox``: the signer, the recipient, the type and the body), the armed timers and the
notices. Randomness is a deterministic stream from a seed, so runs repeat exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from amity.protocol.core.intents.effects import (
    ArmExpiry,
    DropHubIntent,
    DropSeen,
    DropTombstone,
    ForgetPseudonym,
    IntentEffect,
    SaveCasting,
    SaveHubIntent,
    SaveSeen,
    SaveSubscriber,
    SaveSubscription,
    SendAsIntent,
)
from amity.protocol.core.intents.records import Casting, HubIntent, Seen, Subscriber
from amity.protocol.core.intents.rule import Quote, QuoteRule
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import Intent
from amity.protocol.intentcategory import matches
from amity.protocol.intentmessages import DirectRules, HubRules
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import SendMessage

__all__ = ["Outgoing", "MemoryCaster", "MemoryVendor", "MemoryHub"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to sign with ``signer`` and deliver to ``to``."""

    signer: SigningIdentity
    to: PeerId
    type: str
    body: bytes


@dataclass
class _Memory:
    seed: bytes
    outbox: list[Outgoing] = field(default_factory=list)
    timers: dict[bytes, int] = field(default_factory=dict)
    notices: list[IntentEffect] = field(default_factory=list)
    _drawn: int = 0

    def __post_init__(self) -> None:
        self._keyring = Keyring(self.seed)

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def peer_id(self) -> PeerId:
        return self._keyring.identity.peer_id

    def random_bytes(self, count: int) -> bytes:
        """A deterministic stream: BLAKE2b(seed, counter), as much as asked."""
        out = b""
        while len(out) < count:
            self._drawn += 1
            key = self.seed + self._drawn.to_bytes(8, "big")
            out += hashlib.blake2b(b"amity/memory-rng\x00", key=key[:64], digest_size=64).digest()
        return out[:count]

    def apply(self, effects: Iterable[IntentEffect]) -> None:
        for effect in effects:
            if isinstance(effect, SendMessage):
                self.outbox.append(
                    Outgoing(self._keyring.identity, effect.to, effect.type, effect.body)
                )
            elif isinstance(effect, ArmExpiry):
                self.timers[effect.intent_id] = effect.at_ms
            elif not self._store(effect):
                self.notices.append(effect)

    def _store(self, effect: IntentEffect) -> bool:
        return False


@dataclass
class MemoryCaster(_Memory):
    """Her node: castings, and her trust and cut-offs as plain dicts."""

    castings: dict[bytes, Casting] = field(default_factory=dict)
    trust_of: dict[PeerId, float] = field(default_factory=dict)
    cut_offs: dict[PeerId, str] = field(default_factory=dict)

    def casting(self, intent_id: bytes) -> Casting | None:
        return self.castings.get(intent_id)

    def trust(self, vendor: PeerId) -> float | None:
        return self.trust_of.get(vendor)

    def cut_off(self, vendor: PeerId) -> str | None:
        return self.cut_offs.get(vendor)

    def _store(self, effect: IntentEffect) -> bool:
        if isinstance(effect, SaveCasting):
            self.castings[effect.casting.intent_id] = effect.casting
        elif isinstance(effect, SendAsIntent):
            signer = self.castings[effect.intent_id].signer
            self.outbox.append(Outgoing(signer, effect.to, effect.type, effect.body))
        else:
            return False
        return True


@dataclass
class MemoryVendor(_Memory):
    """A vendor: its inbox, its subscriptions, and its auto-answer rule (if any)."""

    rule: QuoteRule | None = None
    inbox: dict[bytes, Seen] = field(default_factory=dict)
    subscriptions: dict[PeerId, tuple[str, ...]] = field(default_factory=dict)
    #: Its direct endpoint's rules (spec/intents.md §7.8); None: it takes no direct intents.
    direct_rules: DirectRules | None = None

    def live_direct_from(self, pseudonym: PeerId) -> int:
        return sum(1 for s in self.inbox.values() if s.direct and s.via == pseudonym)

    def seen(self, intent_id: bytes) -> Seen | None:
        return self.inbox.get(intent_id)

    def subscribed(self, hub: PeerId) -> Sequence[str] | None:
        return self.subscriptions.get(hub)

    def quote(self, intent: Intent, now_ms: int) -> Quote | None:
        return None if self.rule is None else self.rule.quote(intent, now_ms)

    def _store(self, effect: IntentEffect) -> bool:
        if isinstance(effect, SaveSeen):
            self.inbox[effect.seen.intent_id] = effect.seen
        elif isinstance(effect, DropSeen):
            self.inbox.pop(effect.intent_id, None)
            self.timers.pop(effect.intent_id, None)
        elif isinstance(effect, SaveSubscription):
            self.subscriptions[effect.hub] = effect.categories
        else:
            return False
        return True


@dataclass
class MemoryHub(_Memory):
    """A hub: live intents, tombstones and subscribers."""

    hub_rules: HubRules | None = None
    intents: dict[bytes, HubIntent] = field(default_factory=dict)
    tombstones: dict[bytes, tuple[PeerId, int]] = field(default_factory=dict)
    subscribers: dict[PeerId, Subscriber] = field(default_factory=dict)
    #: Pseudonyms housekeeping told this hub to forget (a driver drops their state).
    forgotten: list[PeerId] = field(default_factory=list)

    @property
    def rules(self) -> HubRules:
        assert self.hub_rules is not None, "a MemoryHub needs its rules"
        return self.hub_rules

    def hub_intent(self, intent_id: bytes) -> HubIntent | None:
        return self.intents.get(intent_id)

    def tombstone(self, intent_id: bytes) -> PeerId | None:
        found = self.tombstones.get(intent_id)
        return None if found is None else found[0]

    def kept_tombstones(self) -> Sequence[tuple[bytes, PeerId, int]]:
        return [(k, origin, until) for k, (origin, until) in sorted(self.tombstones.items())]

    def live_intents_from(self, origin: PeerId) -> int:
        return sum(1 for r in self.intents.values() if r.origin == origin)

    def subscriber(self, peer: PeerId) -> Subscriber | None:
        return self.subscribers.get(peer)

    def subscribers_for(self, category: str) -> Sequence[PeerId]:
        found = [s.peer for s in self.subscribers.values() if matches(s.categories, category)]
        return sorted(found)

    def live_intents(self) -> Sequence[HubIntent]:
        return [self.intents[k] for k in sorted(self.intents)]

    def _store(self, effect: IntentEffect) -> bool:
        if isinstance(effect, SaveHubIntent):
            self.intents[effect.record.intent_id] = effect.record
        elif isinstance(effect, DropHubIntent):
            self.intents.pop(effect.intent_id, None)
            self.timers.pop(effect.intent_id, None)
            self.tombstones[effect.intent_id] = (effect.origin, effect.until_ms)
        elif isinstance(effect, DropTombstone):
            self.tombstones.pop(effect.intent_id, None)
        elif isinstance(effect, ForgetPseudonym):
            self.forgotten.append(effect.pseudonym)
        elif isinstance(effect, SaveSubscriber):
            self.subscribers[effect.subscriber.peer] = effect.subscriber
        else:
            return False
        return True
