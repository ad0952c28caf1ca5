"""A hub's housekeeping (spec/intents.md §7.7), sans-IO with the time passed in: tombstones
last until the intent's expiry plus a grace, and a pseudonym is forgotten once nothing the hub
keeps names it; what it could send again is refused, never taken twice."""

from __future__ import annotations

from amity.protocol.core.intents import caster, hub
from amity.protocol.core.intents.effects import DropTombstone, ForgetPseudonym
from amity.protocol.core.intents.housekeeping import sweep
from amity.protocol.core.intents.hub import TOMBSTONE_MS
from amity.protocol.core.intents.memory import MemoryHub, Outgoing
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import MSG_CAST
from tests.protocol.intents_world import DAY, HOUR, T0, World, bike_rule, rules, seed
from tests.protocol.test_core_intents import _cast, _subscribe


def _world() -> World:
    world = World.make({"a": bike_rule(24900)}, {"hub": rules()})
    _subscribe(world, "a")
    assert world.run() == []
    return world


def _sweep(the_hub: MemoryHub, pseudonyms: list[PeerId], now_ms: int) -> list[object]:
    effects = sweep(the_hub, pseudonyms, now_ms)
    the_hub.apply(effects)
    return list(effects)


def _cast_and_keep(world: World) -> tuple[bytes, PeerId, Outgoing]:
    """Cast at the hub; the cast as it went (to send again later) and the pseudonym."""
    casting = _cast(world)
    (sent,) = [o for o in world.person.outbox if o.type == MSG_CAST]
    assert world.run() == []
    return casting.intent_id, casting.intent.intent_key, sent


def test_a_live_intent_keeps_its_pseudonym_and_expiry_plus_grace_frees_it() -> None:
    world = _world()
    the_hub = world.hubs["hub"]
    intent_id, pseudonym, _ = _cast_and_keep(world)
    expires = world.person.castings[intent_id].intent.expires_ms
    assert _sweep(the_hub, [pseudonym], world.now_ms) == []

    world.advance(expires - world.now_ms)  # the hub's timer: deleted, tombstone kept
    assert intent_id not in the_hub.intents
    assert the_hub.tombstones[intent_id] == (pseudonym, expires + TOMBSTONE_MS)
    assert _sweep(the_hub, [pseudonym], expires + TOMBSTONE_MS - 1) == []

    done = _sweep(the_hub, [pseudonym], expires + TOMBSTONE_MS)
    assert done == [DropTombstone(intent_id), ForgetPseudonym(pseudonym)]
    assert not the_hub.tombstones and the_hub.forgotten == [pseudonym]


def test_a_withdrawn_intent_is_not_taken_again_while_it_could_live() -> None:
    world = _world()
    the_hub = world.hubs["hub"]
    intent_id, pseudonym, cast = _cast_and_keep(world)
    expires = world.person.castings[intent_id].intent.expires_ms
    world.advance(HOUR)
    _, effects = caster.withdraw(world.person, intent_id, world.now_ms)
    world.person.apply(effects)
    assert world.run() == []
    assert the_hub.tombstones[intent_id][1] == expires + TOMBSTONE_MS, "the tombstone outlives it"

    # A day and more after the withdraw, the intent is not expired: its tombstone stays, and
    # the same cast sent again is refused, not stored and forwarded a second time.
    world.now_ms += 2 * DAY
    assert world.now_ms < expires
    assert _sweep(the_hub, [pseudonym], world.now_ms) == []
    assert world.deliver(world.envelope(cast), cast.to) == "intent.replayed"

    world.now_ms = expires + TOMBSTONE_MS
    assert _sweep(the_hub, [pseudonym], world.now_ms) == [
        DropTombstone(intent_id),
        ForgetPseudonym(pseudonym),
    ]
    # Forgotten: what the pseudonym could send again names an intent that is gone and expired.
    assert world.deliver(world.envelope(cast), cast.to) == "intent.expired"
    assert not the_hub.intents and not world.vendors["a"].outbox


def test_only_pseudonyms_nothing_names_are_forgotten_in_a_stable_order() -> None:
    world = _world()
    the_hub = world.hubs["hub"]
    _, pseudonym, _ = _cast_and_keep(world)
    listed = PeerId(World.make({}, {"other": rules()}).hubs["other"].peer_id.key)
    the_hub.hub_rules = rules(peers=(listed.key,))
    strangers = sorted(PeerId(MemoryHub(seed(f"s{i}")).peer_id.key) for i in range(3))
    done = _sweep(the_hub, [strangers[2], pseudonym, listed, strangers[0], strangers[1]], T0)
    assert done == [ForgetPseudonym(p) for p in strangers]


def test_a_tombstone_from_before_still_names_its_way_back_until_its_time() -> None:
    the_hub = MemoryHub(seed("hub"), hub_rules=rules())
    origin = PeerId(MemoryHub(seed("pseudonym")).peer_id.key)
    the_hub.tombstones[b"\x01" * 32] = (origin, T0 + DAY)
    the_hub.tombstones[b"\x02" * 32] = (origin, T0 + 2 * DAY)
    assert _sweep(the_hub, [origin], T0 + DAY) == [DropTombstone(b"\x01" * 32)]
    assert hub.timer_fired(the_hub, b"\x02" * 32, T0 + DAY) == []
    assert _sweep(the_hub, [origin], T0 + 2 * DAY) == [
        DropTombstone(b"\x02" * 32),
        ForgetPseudonym(origin),
    ]
