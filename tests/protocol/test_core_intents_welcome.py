"""After an accept with reveal, the vendor invites her in (spec/intents.md §6.1): the welcome
goes back through the hubs, sealed; her node takes it once, only from the vendor she accepted;
a hub lets that vendor send one sealed message more, and no other."""

from __future__ import annotations

from dataclasses import replace

import pytest

from amity.protocol.card import Card, NodeKind
from amity.protocol.core.intents import caster, vendor
from amity.protocol.core.intents.effects import Invite, Welcomed
from amity.protocol.core.intents.memory import MemoryVendor
from amity.protocol.core.intents.records import SeenState
from amity.protocol.errors import NodeError, NotFoundError
from amity.protocol.intentwelcome import WELCOME_TTL_MS
from tests.protocol.intents_world import DAY, World, bike_rule, rules
from tests.protocol.test_core_intents import _cast, _market, _subscribe


def _invitation(node: MemoryVendor, now_ms: int, *, secret: bytes = b"\x01" * 16) -> Card:
    _, cert = node.keyring.current(now_ms)
    return Card.issue(
        node.keyring.identity,
        link_cert=cert,
        kind=NodeKind.VENDOR,
        name="Corner Bikes",
        endpoints=["ws://127.0.0.1:9/amity/v1/ws"],
        issued_ms=now_ms,
        not_after_ms=now_ms + DAY,
        invite_secret=secret,
    )


def _accepted(world: World, *, reveal: bool = True) -> tuple[bytes, MemoryVendor]:
    casting = _cast(world)
    world.run()
    best = world.person.castings[casting.intent_id].shown()[0].offer
    _, effects = caster.accept(
        world.person, casting.intent_id, best.offer_id, world.now_ms, reveal=reveal
    )
    world.person.apply(effects)
    assert world.run() == []
    winner = next(v for v in world.vendors.values() if v.peer_id == best.vendor)
    return casting.intent_id, winner


def test_the_winner_is_asked_to_invite_her_and_her_node_takes_the_welcome_once() -> None:
    world = _market()
    intent_id, winner = _accepted(world)
    (invite,) = [n for n in winner.notices if isinstance(n, Invite)]
    assert invite.person == world.person.peer_id
    assert invite.not_after_ms == world.now_ms + WELCOME_TTL_MS
    card = _invitation(winner, world.now_ms)
    winner.apply(vendor.welcome(winner, intent_id, card, world.now_ms))
    assert winner.inbox[intent_id].state is SeenState.WELCOMED
    assert world.run() == []
    (welcomed,) = [n for n in world.person.notices if isinstance(n, Welcomed)]
    assert welcomed.invitation == card and welcomed.terms.roster_name == "P2B1"
    assert world.person.castings[intent_id].welcome == card.encoded
    with pytest.raises(NodeError):  # the vendor's own rule: one welcome
        vendor.welcome(winner, intent_id, card, world.now_ms)


def test_no_invite_without_a_reveal() -> None:
    world = _market()
    intent_id, winner = _accepted(world, reveal=False)
    assert not [n for n in winner.notices if isinstance(n, Invite)]
    with pytest.raises(NotFoundError, match="revealed"):
        vendor.welcome(winner, intent_id, _invitation(winner, world.now_ms), world.now_ms)


def test_a_second_welcome_or_one_from_a_loser_is_refused() -> None:
    world = _market()
    intent_id, winner = _accepted(world)
    card = _invitation(winner, world.now_ms)
    effects = vendor.welcome(winner, intent_id, card, world.now_ms)
    winner.apply(effects)
    winner.apply(effects)  # the same welcome sent twice: the hub passes it once, she keeps one
    codes = world.run()
    assert codes == ["intent.duplicate_offer"]
    assert len([n for n in world.person.notices if isinstance(n, Welcomed)]) == 1
    # a vendor she did not accept cannot send one: the hub refuses its second sealed message
    loser = next(v for v in world.vendors.values() if v is not winner and intent_id in v.inbox
                 and v.inbox[intent_id].offer is not None)  # fmt: skip
    # (as if it believed it had won: its own rule would not let it welcome otherwise)
    seen = loser.inbox[intent_id]
    loser.inbox[intent_id] = replace(seen, state=SeenState.WON, person=world.person.peer_id)
    loser.apply(vendor.welcome(loser, intent_id, _invitation(loser, world.now_ms), world.now_ms))
    assert world.run() == ["intent.duplicate_offer"]


def test_a_replayed_accept_is_refused() -> None:
    world = _market()
    _, winner = _accepted(world)
    (accept,) = [d for d in world.log if d.envelope.recipient == winner.peer_id
                 and d.envelope.type == "intent.sealed"]  # fmt: skip
    assert world.deliver(accept.envelope.encoded, winner.peer_id) == "intent.replayed"


def test_the_welcome_finds_her_through_federated_hubs() -> None:
    world = World.make({"d": bike_rule(22000)}, {"hub": rules(), "hub2": rules()})
    one, two = world.hubs["hub"], world.hubs["hub2"]
    one.hub_rules = rules(max_hops=2, peers=(two.peer_id.key,))
    two.hub_rules = rules(max_hops=2, peers=(one.peer_id.key,))
    _subscribe(world, "d", "hub2")
    world.run()
    intent_id, winner = _accepted(world)
    card = _invitation(winner, world.now_ms)
    winner.apply(vendor.welcome(winner, intent_id, card, world.now_ms))
    assert world.run() == []
    assert [n.invitation for n in world.person.notices if isinstance(n, Welcomed)] == [card]


def test_a_welcome_does_not_count_against_the_hourly_offer_rate() -> None:
    """A vendor that used its hourly offers still welcomes the person who accepted it (the
    intent-market simulation lost 65 of 1 494 welcomes to intent.rate_limited before)."""
    world = World.make({"a": bike_rule(24900)}, {"hub": rules(rate_per_hour=1)})
    _subscribe(world, "a")
    world.run()
    intent_id, winner = _accepted(world)
    card = _invitation(winner, world.now_ms)
    winner.apply(vendor.welcome(winner, intent_id, card, world.now_ms))
    assert world.run() == []
    assert [n.invitation for n in world.person.notices if isinstance(n, Welcomed)] == [card]
