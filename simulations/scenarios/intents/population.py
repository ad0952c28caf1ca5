"""Who is in the intent market: hubs and the hubs they list, vendors with their auto-answer
rules (honest or spamming) and the hub each subscribes at, persons with their habits and their
own trust view, and Sybils. Drawn from the run's seed; nothing here happens in time.

Her trust view is deliberately simple (the reputation scenarios compute the real one): for each
vendor she has either cut it off (each spammer with ``cut_spammers``, each honest vendor with
``cut_honest``), or holds a trust figure in 0.2..1 for it (``knows_vendor``), or knows nothing
of it. Her node hides the cut-off ones and ranks the rest by that figure (spec/intents.md §5.1).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final, NamedTuple

from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.money import Money
from amity.protocol.terms import ROSTER
from amity.simulations.crypto import CryptoMode
from amity.simulations.scenarios.intents.nodes import SimCaster, SimHub, SimVendor
from amity.simulations.scenarios.intents.scenario import CATEGORIES, IntentsScenario
from amity.simulations.world.streams import RandomStreams

__all__ = ["TERMS", "CURRENCY", "Person", "Population", "populate"]

#: The terms persons cast with (roster names); every vendor accepts P2B1, some the others too.
TERMS: Final[tuple[str, ...]] = tuple(sorted(ROSTER))
CURRENCY: Final = "EUR"


@dataclass(slots=True)
class Person:
    """Her node and her habits: the hub she casts at, her region, her terms, her interests."""

    node: SimCaster
    hub: SimHub
    region: str
    terms: str
    interests: tuple[str, ...]


class Population(NamedTuple):
    hubs: list[SimHub]
    vendors: list[SimVendor]
    persons: list[Person]
    sybils: list[SimCaster]
    #: The hub each vendor subscribes at, in the order of ``vendors``.
    vendor_hubs: list[SimHub]


def populate(scenario: IntentsScenario, streams: RandomStreams, crypto: CryptoMode) -> Population:
    sc, rng = scenario, streams.stream("intents/build")
    hubs = [
        SimHub(streams.key(f"hub/{i}"), name=f"hub-{i}", crypto=crypto)
        for i in range(sc.hubs.count)
    ]
    keys = tuple(h.peer_id.key for h in hubs)
    for h in hubs:  # every hub lists every other: a full mesh
        h.hub_rules = sc.hubs.rules(tuple(k for k in keys if k != h.peer_id.key))
    vendors, vendor_hubs = [], []
    for i in range(sc.vendors.honest + sc.vendors.spammers):
        spammer = i >= sc.vendors.honest
        node = SimVendor(
            streams.key(f"vendor/{i}"), name=f"vendor-{i}", spammer=spammer, crypto=crypto
        )
        node.rule = _spam_rule(scenario) if spammer else _honest_rule(scenario, rng)
        vendors.append(node)
        vendor_hubs.append(hubs[rng.randrange(len(hubs))])
    persons = [
        _person(scenario, streams, rng, i, hubs, vendors, crypto) for i in range(sc.persons.count)
    ]
    sybils = [
        SimCaster(
            streams.key(f"sybil/{i}"),
            name=f"sybil-{i}",
            index=i,
            address=f"sybil-{i}",
            crypto=crypto,
        )
        for i in range(sc.sybils.count)
    ]
    return Population(hubs, vendors, persons, sybils, vendor_hubs)


def _honest_rule(scenario: IntentsScenario, rng: random.Random) -> QuoteRule:
    sc = scenario.vendors
    count = rng.randint(sc.categories_lo, sc.categories_hi)
    categories = tuple(sorted(rng.sample(CATEGORIES, count)))
    accepted = ["P2B1", *(t for t in TERMS if t != "P2B1" and rng.random() < 0.5)]
    return QuoteRule(
        categories=categories,
        terms_ids=frozenset(ROSTER[t].document.terms_id for t in accepted),
        unit_price=Money(rng.randint(sc.unit_lo_minor, sc.unit_hi_minor), CURRENCY),
        terms_of_sale="Delivered; 30-day returns.",
        lead_time_ms=sc.lead.sample(rng),
        valid_for_ms=sc.valid_for_ms,
    )


def _spam_rule(scenario: IntentsScenario) -> QuoteRule:
    """Every category, every terms, the lowest price, within the hour: it answers everything."""
    return QuoteRule(
        categories=("goods", "services"),
        terms_ids=frozenset(ROSTER[t].document.terms_id for t in TERMS),
        unit_price=Money(scenario.vendors.unit_lo_minor, CURRENCY),
        terms_of_sale="BEST DEAL!!!",
        lead_time_ms=3_600_000,
        valid_for_ms=scenario.vendors.valid_for_ms,
    )


def _person(
    scenario: IntentsScenario,
    streams: RandomStreams,
    rng: random.Random,
    index: int,
    hubs: list[SimHub],
    vendors: list[SimVendor],
    crypto: CryptoMode,
) -> Person:
    sc = scenario.persons
    node = SimCaster(
        streams.key(f"person/{index}"),
        name=f"person-{index}",
        index=index,
        address=f"addr-{index}",
        crypto=crypto,
    )
    for v in vendors:
        if rng.random() < (sc.cut_spammers if v.spammer else sc.cut_honest):
            node.cut_offs[v.peer_id] = "below her cut-off"
        elif rng.random() < sc.knows_vendor:
            node.trust_of[v.peer_id] = round(rng.uniform(0.2, 1.0), 3)
    interests = tuple(rng.sample(CATEGORIES, 3))
    home = hubs[rng.randrange(len(hubs))]
    return Person(node, home, rng.choice(sc.regions), rng.choice(TERMS), interests)
