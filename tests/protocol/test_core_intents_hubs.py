"""Hubs among themselves, in memory (spec/intents.md §7.3, §7.6): an intent cast at two hubs
that list each other, in either order of the cast and the crossing forward."""

from __future__ import annotations

from amity.protocol.core.intents import caster
from amity.protocol.core.intents.effects import Relayed
from amity.protocol.core.intents.memory import MemoryHub
from amity.protocol.intent import Constraints, TermsRef
from amity.protocol.money import Money
from tests.protocol.intents_world import DAY, World, bike_rule, rules
from tests.protocol.test_core_intents import _subscribe


def _federated() -> World:
    """Hubs one and two list each other; vendor d at hub one answers by its rule."""
    world = World.make({"d": bike_rule(22000)}, {"one": rules(), "two": rules()})
    one, two = world.hubs["one"], world.hubs["two"]
    one.hub_rules = rules(max_hops=2, peers=(two.peer_id.key,))
    two.hub_rules = rules(max_hops=2, peers=(one.peer_id.key,))
    _subscribe(world, "d", "one")
    assert world.run() == []
    return world


def _cast_at_both(world: World) -> bytes:
    hubs = (world.hubs["one"].peer_id, world.hubs["two"].peer_id)
    casting, effects = caster.cast(
        world.person,
        world.now_ms,
        category="goods.bicycles",
        text="a bike",
        constraints=Constraints(Money(30000, "EUR"), "FR", None, 1),
        terms=TermsRef.roster("P2B1"),
        offers_wanted=3,
        ttl_ms=DAY,
        hubs=hubs,
        work_bits=6,
    )
    world.person.apply(effects)
    return casting.intent_id


def _whats(hub: MemoryHub) -> list[str]:
    return [n.what for n in hub.notices if isinstance(n, Relayed)]


def test_her_cast_that_meets_a_forwarded_copy_is_taken_and_she_becomes_its_way_back() -> None:
    world = _federated()
    one, two = world.hubs["one"], world.hubs["two"]
    intent_id = _cast_at_both(world)
    to_one, to_two = world.person.outbox
    world.person.outbox.clear()
    assert world.deliver(world.envelope(to_one), to_one.to) is None
    (forward,) = [o for o in one.outbox if o.to == two.peer_id]
    assert world.deliver(world.envelope(forward), two.peer_id) is None  # before her cast
    assert two.intents[intent_id].origin == one.peer_id
    one.outbox.remove(forward)
    assert world.deliver(world.envelope(to_two), two.peer_id) is None, "her cast is refused"
    assert two.intents[intent_id].origin == world.person.castings[intent_id].intent.intent_key
    assert one.peer_id in two.intents[intent_id].sent_to, "a withdraw at two still reaches one"
    assert _whats(two) == ["forwarded", "cast-again"]
    assert world.run() == []
    mine = world.person.castings[intent_id]
    assert [k.offer.vendor for k in mine.offers] == [world.vendors["d"].peer_id]


def test_a_forward_that_meets_her_cast_is_dropped_once_each_way() -> None:
    world = _federated()
    one, two = world.hubs["one"], world.hubs["two"]
    intent_id = _cast_at_both(world)
    for out in list(world.person.outbox):  # both casts first, then the crossing forwards
        assert world.deliver(world.envelope(out), out.to) is None
    world.person.outbox.clear()
    assert world.run() == []
    assert _whats(one).count("duplicate") == 1 and _whats(two).count("duplicate") == 1
    assert one.intents[intent_id].origin == two.intents[intent_id].origin
    assert len(world.person.castings[intent_id].offers) == 1


def test_a_cast_again_is_still_her_own_and_counts_for_her_quota() -> None:
    world = _federated()
    one, two = world.hubs["one"], world.hubs["two"]
    intent_id = _cast_at_both(world)
    to_one, to_two = world.person.outbox
    world.person.outbox.clear()
    world.deliver(world.envelope(to_one), one.peer_id)
    (forward,) = [o for o in one.outbox if o.to == two.peer_id]
    world.deliver(world.envelope(forward), two.peer_id)
    # The same cast signed by someone else's key is not hers to take over.
    stranger = world.vendors["d"].keyring.identity
    forged = type(to_two)(stranger, two.peer_id, to_two.type, to_two.body)
    assert world.deliver(world.envelope(forged), two.peer_id) == "intent.bad_signature"
    assert two.intents[intent_id].origin == one.peer_id
    world.deliver(world.envelope(to_two), two.peer_id)
    assert two.live_intents_from(two.intents[intent_id].origin) == 1


def _chain(middle_hops: int) -> tuple[World, bytes]:
    """Hubs one - two - three in a line (each lists its neighbours); cast at one (max_hops 2)."""
    world = World.make({}, {"one": rules(), "two": rules(), "three": rules()})
    one, two, three = (world.hubs[n] for n in ("one", "two", "three"))
    one.hub_rules = rules(max_hops=2, peers=(two.peer_id.key,))
    two.hub_rules = rules(max_hops=middle_hops, peers=(one.peer_id.key, three.peer_id.key))
    three.hub_rules = rules(max_hops=2, peers=(two.peer_id.key,))
    casting, effects = caster.cast(
        world.person,
        world.now_ms,
        category="goods.bicycles",
        text="a bike",
        constraints=Constraints(None, None, None, 1),
        terms=TermsRef.roster("P2B1"),
        offers_wanted=3,
        ttl_ms=DAY,
        hubs=(one.peer_id,),
        work_bits=6,
    )
    world.person.apply(effects)
    assert world.run() == []
    return world, casting.intent_id


def test_max_hops_of_the_casting_hub_and_of_each_hub_on_the_way() -> None:
    world, intent_id = _chain(middle_hops=2)
    assert [world.hubs[n].intents[intent_id].hops_left for n in ("one", "two", "three")] == [
        2,
        1,
        0,
    ]
    world, intent_id = _chain(middle_hops=0)  # two takes it, and sends it no further
    assert world.hubs["two"].intents[intent_id].hops_left == 0
    assert intent_id not in world.hubs["three"].intents
