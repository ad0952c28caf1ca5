"""Scenario 5, the intent market: persons cast intents at federated hubs, vendors answer.

Hubs list each other (a full mesh, ``max_hops`` deep); each vendor subscribes by category at one
hub; each person casts a few intents at a hub under a fresh key each, her node ranks the offers
by her own trust view and hides the vendors she has cut off, then accepts the best (revealing
herself to that vendor, or not), withdraws, or lets it expire. Spamming vendors answer every
intent and try extra offers; Sybils flood the hubs with intents by one of four strategies. Every
rule is the core's (:mod:`amity.protocol.core.intents`); this module only decides who does what
and when, and records what came of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.core.intents import caster, vendor
from amity.protocol.core.intents.effects import (
    IntentEffect,
    Invite,
    OfferHidden,
    OfferSent,
    OfferShown,
    ReceiptKept,
    Welcomed,
    Won,
)
from amity.protocol.core.intents.memory import Outgoing
from amity.protocol.core.intents.records import CastingState, SeenState
from amity.protocol.core.intents.rule import Quote
from amity.protocol.core.intents.timing import cast_delay_ms
from amity.protocol.errors import AmityError
from amity.protocol.intent import Constraints, TermsRef
from amity.protocol.intentmessages import MSG_CAST, Cast, encode_intent_body
from amity.protocol.money import Money
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.scenarios.intents.nodes import Node, SimCaster, SimHub, SimVendor, Wire
from amity.simulations.scenarios.intents.population import CURRENCY, TERMS, Person, populate
from amity.simulations.scenarios.intents.scenario import CATEGORIES, IntentsScenario
from amity.simulations.world.engine import Engine
from amity.simulations.world.streams import RandomStreams

__all__ = ["CastRecord", "IntentsWorld", "headline"]


@dataclass(slots=True)
class CastRecord:
    """One intent cast (by a person or a Sybil), and what came of it. Ground truth: the
    adversary never sees this."""

    intent_id: bytes
    owner: str  # "person" or "sybil"
    who: int  # the person's (or Sybil's) index
    strategy: str  # "person" or the Sybil's strategy
    hub: str
    cast_ms: int
    category: str
    region: str
    hub_code: str | None = None  # the hub's answer to the cast: None (stored) or a refusal code
    answered: bool = False
    first_offer_ms: int | None = None
    shown_events: int = 0
    hidden: int = 0
    shown_cut_off: int = 0
    outcome: str = "open"
    revealed: bool = False
    won_at_vendor: bool = False
    #: The vendor she accepted sent her its invitation (after a reveal); it reached her.
    welcome_sent: bool = False
    welcomed: bool = False
    won_by_spammer: bool = False
    receipts: int = 0
    kept: int = 0
    shown: int = 0


class IntentsWorld:
    """One run of the intent market for a seed and crypto mode."""

    def __init__(self, scenario: IntentsScenario, *, seed: int, crypto: CryptoMode) -> None:
        self.scenario = scenario
        self.seed = seed
        self.crypto = crypto
        self.interrupted = False
        self.engine = Engine()
        self.streams = RandomStreams(seed)
        self.casts: dict[bytes, CastRecord] = {}
        self.wins: list[tuple[int, str, bytes, bytes | None, str | None]] = []
        self.spam_tries = 0
        self.hashes_paid: dict[str, int] = {}
        self._decided: set[bytes] = set()
        sc = scenario
        self.wire = Wire(
            self.engine,
            sc.start_ms,
            sc.latency,
            self.streams.stream("intents/latency"),
            self.streams.bytes_source("intents/nonces"),
            exits=8,
            on_notice=self._notice,
            on_link_result=self._link_result,
        )
        people = populate(scenario, self.streams, crypto)
        self.hubs: list[SimHub] = people.hubs
        self.vendors: list[SimVendor] = people.vendors
        self.persons: list[Person] = people.persons
        self.sybils: list[SimCaster] = people.sybils
        for node in self.hubs:
            self.wire.add(node, "hub")
        for vendor_node, at_hub in zip(self.vendors, people.vendor_hubs, strict=True):
            self.wire.add(vendor_node, "spammer" if vendor_node.spammer else "vendor")
            assert vendor_node.rule is not None
            self.engine.call_at(
                0, self._subscribe, vendor_node, at_hub, vendor_node.rule.categories
            )
        self.persons_by_key = {p.node.peer_id.key: p for p in self.persons}
        self._schedule_casts()

    def _schedule_casts(self) -> None:
        sc, rng = self.scenario, self.streams.stream("intents/casts")
        for person in self.persons:
            count = rng.randint(sc.persons.intents_lo, sc.persons.intents_hi)
            if rng.random() < sc.persons.burst_share:
                at = rng.randrange(sc.cast_window_ms)
                times = []
                for _ in range(count):
                    times.append(at)
                    at += sc.persons.gap.sample(rng)
            else:
                times = sorted(rng.randrange(sc.cast_window_ms) for _ in range(count))
            for at in times:
                self.engine.call_at(at, self._person_casts, person)
        for sybil in self.sybils:
            strategy = sc.sybils.strategies[sybil.index % len(sc.sybils.strategies)]
            at = rng.randrange(sc.cast_window_ms)
            for n in range(sc.sybils.intents_each):
                self.engine.call_at(at, self._sybil_casts, sybil, strategy, n)
                at += sc.sybils.gap.sample(rng)

    # -- what persons and Sybils do ---------------------------------------------------------------

    def _subscribe(self, node: SimVendor, at_hub: SimHub, categories: tuple[str, ...]) -> None:
        self.wire.apply(node, vendor.subscribe(at_hub.peer_id, categories))

    def _cast(
        self,
        node: SimCaster,
        at_hub: SimHub,
        category: str,
        region: str,
        terms: str,
        *,
        owner: str,
        strategy: str,
        work_bits: int,
    ) -> bytes:
        sc, rng = self.scenario, self.streams.stream("intents/content")
        budget = rng.randint(sc.persons.budget_lo_minor, sc.persons.budget_hi_minor)
        now = self.wire.now_ms
        casting, effects = caster.cast(
            node,
            now,
            category=category,
            text=f"looking for {category.split('.')[1]}",
            constraints=Constraints(budget=Money(budget, CURRENCY), region=region),
            terms=TermsRef.roster(terms),
            offers_wanted=rng.randint(sc.persons.offers_wanted_lo, sc.persons.offers_wanted_hi),
            ttl_ms=sc.persons.ttl_ms,
            hubs=(at_hub.peer_id,),
            work_bits=work_bits,
        )
        self.casts[casting.intent_id] = CastRecord(
            casting.intent_id, owner, node.index, strategy, at_hub.name, now, category, region
        )
        self.hashes_paid[owner] = self.hashes_paid.get(owner, 0) + (1 << work_bits)
        self.wire.casting = casting.intent_id
        self.wire.apply(node, effects)
        self.wire.casting = None
        return casting.intent_id

    def _person_casts(self, person: Person, held: bool = False) -> None:
        sc = self.scenario
        if sc.persons.cast_delay_max_ms and not held:  # her node holds it back (§7.10)
            delay = cast_delay_ms(person.node, sc.persons.cast_delay_max_ms)
            self.engine.call_later(delay, self._person_casts, person, True)
            return
        rng = self.streams.stream("intents/habits")
        if sc.persons.habits:
            at_hub, region, terms = person.hub, person.region, person.terms
            category = rng.choice(person.interests)
        else:
            at_hub = self.hubs[rng.randrange(len(self.hubs))]
            region, terms = rng.choice(sc.persons.regions), rng.choice(TERMS)
            category = rng.choice(CATEGORIES)
        if sc.reuse_key:  # the leaky control: one intent key (and link key) for all her intents
            node = person.node
            node.pending_keys = [
                self.streams.key(f"reused/{node.index}"),
                self.streams.key(f"reused-link/{node.index}"),
            ]
        self._cast(
            person.node,
            at_hub,
            category,
            region,
            terms,
            owner="person",
            strategy="person",
            work_bits=sc.hubs.work_bits,
        )

    def _sybil_casts(self, sybil: SimCaster, strategy: str, n: int) -> None:
        sc, rng = self.scenario, self.streams.stream("intents/sybils")
        at_hub = self.hubs[sybil.index % len(self.hubs)]  # each Sybil floods one hub
        category, region = rng.choice(CATEGORIES), rng.choice(sc.persons.regions)
        if strategy == "replay" and n > 0:
            first = next(c for c in sybil.castings.values())
            body = encode_intent_body(Cast(first.intent.encoded, first.work_nonce))
            again = first.intent_id + n.to_bytes(4, "big")  # its own record, the same intent
            self.casts[again] = replace(
                self.casts[first.intent_id],
                hub=at_hub.name,
                cast_ms=self.wire.now_ms,
                hub_code=None,
            )
            self.wire.casting = again
            self.wire.send(sybil, Outgoing(first.signer, at_hub.peer_id, MSG_CAST, body))
            self.wire.casting = None
            return
        if strategy == "one_key":
            sybil.pending_keys = [
                self.streams.key(f"sybil-key/{sybil.index}"),
                self.streams.key(f"sybil-link/{sybil.index}"),
            ]
        bits = 0 if strategy == "no_work" else sc.hubs.work_bits
        self._cast(
            sybil,
            at_hub,
            category,
            region,
            "P2B1",
            owner="sybil",
            strategy=strategy,
            work_bits=bits,
        )

    def _decide(self, person: SimCaster, intent_id: bytes) -> None:
        sc, rng = self.scenario.persons, self.streams.stream("intents/decisions")
        casting = person.casting(intent_id)
        if casting is None or casting.state is not CastingState.OPEN:
            return
        draw, now = rng.random(), self.wire.now_ms
        record = self.casts[intent_id]
        try:
            if draw < sc.accept and casting.shown():
                reveal = rng.random() < sc.reveal
                best = casting.shown()[0].offer.offer_id
                _, effects = caster.accept(person, intent_id, best, now, reveal=reveal)
                record.outcome, record.revealed = "accepted", reveal
            elif draw < sc.accept + sc.withdraw:
                _, effects = caster.withdraw(person, intent_id, now)
                record.outcome = "withdrawn"
            else:
                return
        except AmityError:
            record.outcome = "accept failed"
            return
        self.wire.apply(person, effects)

    def _spam_again(self, node: SimVendor, intent_id: bytes, tries: int) -> None:
        """A spammer ignores its own core's one-offer rule: it forgets it answered and answers
        again at a lower price; the hub refuses the extra offer (intent.duplicate_offer)."""
        seen = node.seen(intent_id)
        if seen is None or seen.offer is None:
            return
        now = self.wire.now_ms
        price = Money(max(seen.offer.price.amount_minor - tries, 0), seen.offer.price.currency)
        node.inbox[intent_id] = replace(seen, state=SeenState.NEW)
        try:
            effects = vendor.answer(
                node, intent_id, Quote(price, "EVEN BETTER!!!", now, 3_600_000), now
            )
        except AmityError:
            node.inbox[intent_id] = seen
            return
        self.spam_tries += 1
        node.apply(effects)
        node.inbox[intent_id] = seen  # keep the first offer: the one that reached her, if any
        node.notices.clear()
        self.wire.apply(node, [])

    def _welcome(self, node: SimVendor, invite: Invite) -> None:
        """As the daemon's vendor does on :class:`Invite`: a one-time invitation, no policy
        summary, sealed back to her intent key (spec/intents.md §6.1)."""
        now = self.wire.now_ms
        _, cert = node.keyring.current(now)
        invitation = Card.issue(
            node.keyring.identity,
            link_cert=cert,
            kind=NodeKind.VENDOR,
            name=node.name,
            issued_ms=now,
            not_after_ms=invite.not_after_ms,
            invite_secret=node.random_bytes(INVITE_SECRET_BYTES),
        )
        effects = vendor.welcome(node, invite.intent_id, invitation, now)
        record = self.casts.get(invite.intent_id)
        if record is not None:
            record.welcome_sent = True
        self.wire.apply(node, effects)

    # -- what the roles told us -------------------------------------------------------------------

    def _link_result(self, cast_key: bytes, code: str | None) -> None:
        record = self.casts.get(cast_key)
        if record is not None:
            record.hub_code = code

    def _notice(self, node: Node, notice: IntentEffect) -> None:
        now = self.wire.now_ms
        if isinstance(node, SimCaster):
            record = self.casts.get(getattr(notice, "intent_id", b""))
            if isinstance(notice, OfferShown) and record is not None:
                record.shown_events += 1
                record.shown_cut_off += notice.kept.offer.vendor in node.cut_offs
                if record.first_offer_ms is None:
                    record.first_offer_ms = now
                    if record.owner == "person" and notice.intent_id not in self._decided:
                        self._decided.add(notice.intent_id)
                        think = self.scenario.persons.think.sample(
                            self.streams.stream("intents/think")
                        )
                        self.engine.call_later(think, self._decide, node, notice.intent_id)
            elif isinstance(notice, OfferHidden) and record is not None:
                record.hidden += 1
            elif isinstance(notice, Welcomed) and record is not None:
                record.welcomed = True  # her node would now dial with the invitation
            elif isinstance(notice, ReceiptKept):
                found = self.casts.get(notice.receipt.intent_id)
                if found is not None:
                    found.receipts += 1
        elif isinstance(node, SimVendor):
            if isinstance(notice, OfferSent):
                record = self.casts.get(notice.intent_id)
                if record is not None:
                    record.answered = True
                if node.spammer:
                    for tries in range(1, self.scenario.vendors.spam_extra + 1):
                        self.engine.call_later(
                            tries * 1_000, self._spam_again, node, notice.intent_id, tries
                        )
            elif isinstance(notice, Won):
                record = self.casts.get(notice.intent_id)
                if record is not None:
                    record.won_at_vendor, record.won_by_spammer = True, node.spammer
                reveal = notice.accept.reveal
                person = None if reveal is None else reveal.person.key
                address = None
                if reveal is not None:  # she now dials the vendor as herself, from her address
                    address = self.persons_by_key[reveal.person.key].node.address
                self.wins.append((now, node.name, notice.intent_id, person, address))
            elif isinstance(notice, Invite):
                self.engine.call_later(0, self._welcome, node, notice)

    # -- running ----------------------------------------------------------------------------------

    def run(self, on_progress: Callable[[Any], None] | None = None) -> None:
        chunk = 5_000
        with crypto_mode(self.crypto):
            self._run(on_progress, chunk)

    def _run(self, on_progress: Callable[[Any], None] | None, chunk: int) -> None:
        try:
            while True:
                ran = self.engine.run(self.scenario.duration_ms, max_events=chunk)
                if on_progress is not None:
                    on_progress(self)
                if ran < chunk:
                    break
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        finally:
            self._settle()

    def _settle(self) -> None:
        everyone = [*(p.node for p in self.persons), *self.sybils]
        for node in everyone:
            for intent_id, casting in node.castings.items():
                record = self.casts.get(intent_id)
                if record is None:
                    continue
                record.kept = len(casting.offers)
                record.shown = len(casting.shown())
                if record.outcome == "open" and casting.state is CastingState.EXPIRED:
                    record.outcome = "expired"


def headline(world: IntentsWorld) -> str:
    people = [c for c in world.casts.values() if c.owner == "person"]
    offered = sum(c.first_offer_ms is not None for c in people)
    return f"{len(people)} intents cast, {offered} with an offer shown"
