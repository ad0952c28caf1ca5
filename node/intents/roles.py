"""The three intent roles' hosts on a daemon: state in memory, mirrored to SQLite in each commit.

Each host answers its Protocol (amity.protocol.core.intents.host) from memory, loaded from the
store at start; :class:`Carrier` turns the core's effects into one staged commit: the records
change in memory at once (the next input sees them) and on disk in the commit, messages join the
outbox in it, and timers, link kicks and events wait until it is on disk.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from amity.node.intents import records as rec
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.webhooks.events import intent_received
from amity.protocol.core.intents.effects import (
    AcceptSent,
    ArmExpiry,
    DropHubIntent,
    DropSeen,
    DropTombstone,
    ForgetPseudonym,
    IntentArrived,
    IntentEffect,
    Invite,
    OfferHidden,
    OfferSent,
    OfferShown,
    ReceiptKept,
    Relayed,
    SaveCasting,
    SaveHubIntent,
    SaveSeen,
    SaveSubscriber,
    SaveSubscription,
    SendAsIntent,
    Welcomed,
    Won,
)
from amity.protocol.core.intents.memory import MemoryCaster, MemoryHub, MemoryVendor
from amity.protocol.core.intents.rule import Quote, QuoteRule
from amity.protocol.envelope import sign_envelope
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentmessages import HubRules
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import SendMessage
from amity.protocol.vault import vault_key

if TYPE_CHECKING:
    from amity.node.daemon import Node

_log = logging.getLogger("amity.intents")
#: What a hub did that its operator may want to see in the log: federation's own cases.
_LOGGED: Final = frozenset({"duplicate", "out-of-hops", "cast-again"})

__all__ = ["NodeCaster", "NodeVendor", "NodeHub", "Carrier", "load_roles"]


@dataclass
class NodeCaster(MemoryCaster):
    """Her node: trust and cut-off from the reputation service; keys drawn from the OS."""

    node_keyring: Keyring | None = None
    #: Seals the castings' secret keys at rest (records.keys_key).
    seal_key: bytes = b""
    trust_source: Callable[[PeerId], float | None] = lambda _peer: None
    cut_source: Callable[[PeerId], str | None] = lambda _peer: None

    @property
    def keyring(self) -> Keyring:
        assert self.node_keyring is not None
        return self.node_keyring

    def random_bytes(self, count: int) -> bytes:
        return os.urandom(count)

    def trust(self, vendor: PeerId) -> float | None:
        return self.trust_source(vendor)

    def cut_off(self, vendor: PeerId) -> str | None:
        return self.cut_source(vendor)


@dataclass
class NodeVendor(MemoryVendor):
    node_keyring: Keyring | None = None
    #: The auto-answer rules of the policy file in force (read again when it changes).
    rules_source: Callable[[], tuple[QuoteRule, ...]] = lambda: ()

    def quote(self, intent: Intent, now_ms: int) -> Quote | None:
        """The first rule of the policy file that answers ``intent`` (spec/intents.md §5.2)."""
        for rule in self.rules_source():
            quote = rule.quote(intent, now_ms)
            if quote is not None:
                return quote
        return None

    @property
    def keyring(self) -> Keyring:
        assert self.node_keyring is not None
        return self.node_keyring

    def random_bytes(self, count: int) -> bytes:
        return os.urandom(count)


@dataclass
class NodeHub(MemoryHub):
    node_keyring: Keyring | None = None

    @property
    def keyring(self) -> Keyring:
        assert self.node_keyring is not None
        return self.node_keyring

    def random_bytes(self, count: int) -> bytes:
        return os.urandom(count)


def load_roles(node: Node, rules: HubRules | None) -> tuple[NodeCaster, NodeVendor, NodeHub | None]:
    """The three hosts with what the store holds (a hub only if this node runs as one)."""
    store, seed = node.store, node.keyring.identity.seed
    caster = NodeCaster(seed, node_keyring=node.keyring, seal_key=rec.keys_key(vault_key(seed)))
    for key, text in store.intent_records("intent_castings"):
        caster.castings[key] = rec.casting_from(text, caster.seal_key)
    vendor = NodeVendor(seed, node_keyring=node.keyring)
    for key, text in store.intent_records("intent_seen"):
        vendor.inbox[key] = rec.seen_from(text)
    for key, text in store.intent_records("intent_subscriptions"):
        vendor.subscriptions[PeerId(key)] = tuple(json.loads(text))
    if rules is None:
        return caster, vendor, None
    hub = NodeHub(seed, hub_rules=rules, node_keyring=node.keyring)
    for key, text in store.intent_records("intent_hub"):
        hub.intents[key] = rec.hub_intent_from(text)
    for key, text in store.intent_records("intent_tombstones"):
        d = json.loads(text)
        hub.tombstones[key] = (PeerId(bytes.fromhex(d["origin"])), int(d["until_ms"]))
    for key, text in store.intent_records("intent_subscribers"):
        hub.subscribers[PeerId(key)] = rec.subscriber_from(text)
    return caster, vendor, hub


class Carrier:
    """Turns one role's effects into a staged commit (see the module docstring)."""

    def __init__(
        self,
        node: Node,
        *,
        arm: Callable[[str, bytes, int], None],
        kick: Callable[[bytes], None],
        follow: Callable[[IntentEffect], None],
    ) -> None:
        self.node = node
        self._arm = arm
        self._kick = kick
        self._follow = follow

    def stage(
        self, role: str, host: NodeCaster | NodeVendor | NodeHub, effects: list[IntentEffect]
    ) -> Staged:
        staged = Staged()
        store = self.node.store
        now = self.node.clock_ms()
        for effect in effects:
            if isinstance(effect, SendMessage):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, SendAsIntent):
                assert isinstance(host, NodeCaster)
                staged.writes.append(functools.partial(self._as_intent, host, effect))
                staged.after.append(functools.partial(self._kick, effect.intent_id))
            elif isinstance(effect, ArmExpiry):
                staged.after.append(
                    functools.partial(self._arm, role, effect.intent_id, effect.at_ms)
                )
            elif isinstance(effect, SaveCasting):
                host._store(effect)
                assert isinstance(host, NodeCaster)
                text = rec.casting_text(effect.casting, host.seal_key)
                key = effect.casting.intent_id
                staged.writes.append(
                    functools.partial(store.put_intent_record, "intent_castings", key, text)
                )
            elif isinstance(effect, SaveSeen):
                host._store(effect)
                assert isinstance(host, NodeVendor)
                staged.writes.append(self._seen_write(host, effect.seen.intent_id))
            elif isinstance(effect, DropSeen):
                host._store(effect)
                assert isinstance(host, NodeVendor)
                staged.writes.append(
                    functools.partial(store.drop_intent_record, "intent_seen", effect.intent_id)
                )
            elif isinstance(effect, SaveSubscription):
                host._store(effect)
                text = json.dumps(list(effect.categories))
                staged.writes.append(
                    functools.partial(
                        store.put_intent_record, "intent_subscriptions", effect.hub.key, text
                    )
                )
            elif isinstance(effect, SaveHubIntent):
                host._store(effect)
                text = rec.hub_intent_text(effect.record)
                key = effect.record.intent_id
                staged.writes.append(
                    functools.partial(store.put_intent_record, "intent_hub", key, text)
                )
            elif isinstance(effect, DropHubIntent):
                host._store(effect)
                tomb = json.dumps({"origin": effect.origin.key.hex(), "until_ms": effect.until_ms})
                key = effect.intent_id
                staged.writes.append(functools.partial(self._drop_hub, key, tomb))
            elif isinstance(effect, DropTombstone):
                host._store(effect)
                staged.writes.append(
                    functools.partial(
                        store.drop_intent_record, "intent_tombstones", effect.intent_id
                    )
                )
            elif isinstance(effect, ForgetPseudonym):
                self._forget(effect.pseudonym)
                staged.writes.append(functools.partial(self._forget_stored, effect.pseudonym))
            elif isinstance(effect, SaveSubscriber):
                host._store(effect)
                text = rec.subscriber_text(effect.subscriber)
                staged.writes.append(
                    functools.partial(
                        store.put_intent_record,
                        "intent_subscribers",
                        effect.subscriber.peer.key,
                        text,
                    )
                )
            elif isinstance(effect, Invite | Welcomed):
                staged.after.append(functools.partial(self._follow, effect))
            elif isinstance(effect, IntentArrived):
                staged.writes.append(intent_received(self.node.webhooks, effect.seen, now))
                staged.after.append(functools.partial(self._publish, effect))
            elif isinstance(effect, Won):
                staged.after.append(functools.partial(self._publish, effect))
            else:
                staged.after.append(functools.partial(self._publish, effect))
        return staged

    def _seen_write(self, host: NodeVendor, intent_id: bytes) -> Callable[[], None]:
        seen = host.inbox.get(intent_id)
        if seen is None:
            return lambda: None
        return functools.partial(
            self.node.store.put_intent_record, "intent_seen", intent_id, rec.seen_text(seen)
        )

    def _forget(self, pseudonym: PeerId) -> None:
        """In memory, at once: its replay window and what the sender keeps for it."""
        self.node.guard.forget(pseudonym)
        self.node.sender.forget(pseudonym)

    def _forget_stored(self, pseudonym: PeerId) -> None:
        uncollected = self.node.store.forget_stranger(pseudonym.key)
        log_event(
            _log, "intents.pseudonym_forgotten", peer=pseudonym.short, uncollected=uncollected
        )

    def _drop_hub(self, intent_id: bytes, tomb: str) -> None:
        self.node.store.drop_intent_record("intent_hub", intent_id)
        self.node.store.put_intent_record("intent_tombstones", intent_id, tomb)

    def _as_intent(self, host: NodeCaster, effect: SendAsIntent) -> None:
        """Sign as the intent key, with this link's next seq, and keep it until the hub ACKs."""
        casting = host.castings[effect.intent_id]
        store = self.node.store
        seq = store.next_intent_seq(effect.intent_id, effect.to.key)
        envelope = sign_envelope(
            casting.signer,
            type=effect.type,
            recipient=effect.to,
            seq=seq,
            ts_ms=self.node.clock_ms(),
            nonce=os.urandom(16),
            body=effect.body,
        )
        store.add_intent_outbox(effect.intent_id, effect.to.key, seq, envelope)

    def _publish(self, effect: IntentEffect) -> None:
        if isinstance(effect, Relayed) and effect.what in _LOGGED:
            log_event(_log, "intents.relayed", intent=effect.intent_id.hex()[:16], what=effect.what)
        kind, detail = event_of(effect)
        self.node.events.publish(kind, detail)


def event_of(effect: IntentEffect) -> tuple[str, dict[str, Any]]:
    """The event-stream form of a notice (node/events.py)."""
    if isinstance(effect, OfferShown):
        offer = effect.kept.offer
        return "intent.offer_shown", {
            "intent": effect.intent_id.hex(),
            "offer": offer.offer_id.hex(),
            "vendor": offer.vendor.did,
            "rank": effect.rank,
        }
    if isinstance(effect, OfferHidden):
        return "intent.offer_hidden", {
            "intent": effect.intent_id.hex(),
            "vendor": effect.vendor.did,
            "why": effect.why,
        }
    if isinstance(effect, AcceptSent):
        return "intent.accepted", {
            "intent": effect.intent_id.hex(),
            "offer": effect.offer.offer_id.hex(),
            "vendor": effect.offer.vendor.did,
            "revealed": effect.revealed,
        }
    if isinstance(effect, ReceiptKept):
        r = effect.receipt
        return "intent.receipt", {
            "intent": r.intent_id.hex(),
            "deleter": r.deleter.did,
            "reason": r.reason.value,
        }
    if isinstance(effect, IntentArrived):
        return "intent.arrived", {"intent": effect.seen.intent_id.hex()}
    if isinstance(effect, OfferSent):
        return "intent.offer_sent", {"intent": effect.intent_id.hex(), "auto": effect.auto}
    if isinstance(effect, Won):
        reveal = effect.accept.reveal
        return "intent.won", {
            "intent": effect.intent_id.hex(),
            "revealed": None if reveal is None else reveal.person.did,
        }
    if isinstance(effect, Relayed):
        return "intent.relayed", {
            "intent": effect.intent_id.hex(),
            "what": effect.what,
            "count": effect.count,
        }
    return "intent.notice", {"what": type(effect).__name__}


def arm_later(
    timers: dict[tuple[str, bytes], asyncio.TimerHandle],
    key: tuple[str, bytes],
    delay_s: float,
    fire: Callable[[], None],
) -> None:
    old = timers.pop(key, None)
    if old is not None:
        old.cancel()
    timers[key] = asyncio.get_running_loop().call_later(max(delay_s, 0.0), fire)
