"""Intents cast at a vendor directly (spec/intents.md §7.8): the vendor's endpoint runs a hub's
checks for itself alone, answers on the pseudonym's way back, takes her accept and withdraw,
sends receipts, never learns who she is unless she reveals herself; each refusal's code."""

from __future__ import annotations

import pytest

from amity.protocol.core.intents import caster, direct
from amity.protocol.core.intents.effects import ForgetPseudonym, ReceiptKept, SendAsIntent, Won
from amity.protocol.core.intents.memory import Outgoing
from amity.protocol.core.intents.records import CastingState, SeenState
from amity.protocol.envelope import open_envelope, sign_envelope
from amity.protocol.errors import AmityError, UsageError
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import TermsRef
from amity.protocol.intentmessages import (
    MSG_CAST,
    MSG_WITHDRAW,
    DirectRules,
)
from tests.protocol.intents_world import DAY, HOUR, World, bike_rule, rules
from tests.protocol.test_core_intents import BIKE

SERVES = DirectRules(work_bits=6, max_ttl_ms=7 * DAY, categories=("goods.bicycles",))


def _world(**direct: DirectRules | None) -> World:
    world = World.make({"a": bike_rule(24900), "b": None}, {"hub": rules()})
    for name, served in direct.items():
        world.vendors[name].direct_rules = served
    return world


def _cast_direct(world: World, *names: str, bits: int = 6, ttl_ms: int = 3 * DAY, cat: str = ""):
    casting, effects = caster.cast(
        world.person,
        world.now_ms,
        category=cat or "goods.bicycles",
        text="A child's bike",
        constraints=BIKE,
        terms=TermsRef.roster("P2B1"),
        offers_wanted=3,
        ttl_ms=ttl_ms,
        hubs=(),
        work_bits=bits,
        direct=tuple(world.vendors[n].peer_id for n in names),
    )
    world.person.apply(effects)
    return casting


def test_a_direct_cast_is_answered_accepted_and_withdrawn_under_the_pseudonym_only() -> None:
    world = _world(a=SERVES)
    a = world.vendors["a"]
    casting = _cast_direct(world, "a")
    assert world.run() == []
    seen = a.inbox[casting.intent_id]
    assert (
        seen.direct and seen.via == casting.intent.intent_key and seen.state is SeenState.ANSWERED
    )
    kept = world.person.castings[casting.intent_id].offers
    assert [k.offer.vendor for k in kept] == [a.peer_id] and kept[0].via == a.peer_id
    her = world.person.peer_id.key
    sent_to_a = b"".join(d.envelope.encoded for d in world.log if d.envelope.recipient == a.peer_id)
    assert sent_to_a and her not in sent_to_a  # only the pseudonym signed what reached the vendor

    _, effects = caster.accept(
        world.person, casting.intent_id, kept[0].offer.offer_id, world.now_ms, reveal=False
    )
    world.person.apply(effects)
    assert world.run() == []
    won = [n for n in a.notices if isinstance(n, Won)]
    assert len(won) == 1 and won[0].accept.reveal is None
    assert a.inbox[casting.intent_id].person is None

    _, effects = caster.withdraw(world.person, casting.intent_id, world.now_ms + HOUR)
    world.person.apply(effects)
    assert world.run() == []
    assert casting.intent_id not in a.inbox
    kept_receipts = [n.receipt.deleter for n in world.person.notices if isinstance(n, ReceiptKept)]
    assert kept_receipts == [a.peer_id]
    assert world.person.castings[casting.intent_id].state is CastingState.WITHDRAWN


def test_a_direct_cast_left_unanswered_still_brings_a_receipt_on_expiry() -> None:
    world = _world(b=SERVES)
    casting = _cast_direct(world, "b")
    assert world.run() == []
    assert world.vendors["b"].inbox[casting.intent_id].state is SeenState.NEW
    world.advance(3 * DAY)
    assert casting.intent_id not in world.vendors["b"].inbox
    deleters = [n.receipt.deleter for n in world.person.notices if isinstance(n, ReceiptKept)]
    assert deleters == [world.vendors["b"].peer_id]


def test_the_direct_endpoint_refuses_with_the_codes_of_a_hub() -> None:
    world = _world(a=SERVES)
    _cast_direct(world, "a", cat="goods.books")
    assert world.run() == ["intent.unknown_category"]  # not a category it serves
    world = _world(a=SERVES)
    _cast_direct(world, "a", bits=2)
    assert world.run() == ["intent.bad_work"]
    world = _world(a=SERVES)
    _cast_direct(world, "a", ttl_ms=8 * DAY)
    assert world.run() == ["intent.bad_constraint"]


def test_a_replayed_cast_is_refused() -> None:
    world = _world(a=SERVES)
    a = world.vendors["a"]
    casting = _cast_direct(world, "a")
    assert world.run() == []
    first = next(d for d in world.log if d.envelope.type == MSG_CAST)
    # the same cast again, as a new envelope of the same pseudonym: refused, not taken twice
    again = world.envelope(Outgoing(casting.signer, a.peer_id, MSG_CAST, first.envelope.body))
    assert world.deliver(again, a.peer_id) == "intent.replayed"
    assert len(a.inbox) == 1


def test_a_stranger_cannot_accept_or_withdraw_an_intent_cast_by_another_key() -> None:
    world = _world(a=SERVES)
    a = world.vendors["a"]
    casting = _cast_direct(world, "a")
    world.run()
    intruder = SigningIdentity(b"\x05" * 32)
    _, effects = caster.withdraw(world.person, casting.intent_id, world.now_ms)
    (send,) = [e for e in effects if isinstance(e, SendAsIntent)]
    forged = sign_envelope(
        intruder,
        type=MSG_WITHDRAW,
        recipient=a.peer_id,
        seq=1,
        ts_ms=world.now_ms,
        nonce=b"\x01" * 16,
        body=send.body,
    )
    with pytest.raises(AmityError) as caught:
        direct.receive(a, open_envelope(forged, recipient=a.peer_id), world.now_ms)
    assert caught.value.code == "intent.unknown_intent"
    assert casting.intent_id in a.inbox
    # and a node with no direct rules takes nothing directly: a driver's mistake, said so
    with pytest.raises(UsageError):
        direct.receive(world.vendors["b"], open_envelope(forged, recipient=a.peer_id), 0)


def test_a_pseudonym_is_forgotten_once_no_intent_in_the_inbox_names_it() -> None:
    world = _world(a=SERVES)
    a = world.vendors["a"]
    casting = _cast_direct(world, "a")
    world.run()
    pseudonym, stranger = casting.intent.intent_key, SigningIdentity(b"\x06" * 32).peer_id
    # while the intent is in the inbox, its pseudonym stays; a pseudonym nothing names goes
    assert direct.sweep(a, [pseudonym, stranger]) == [ForgetPseudonym(stranger)]
    _, effects = caster.withdraw(world.person, casting.intent_id, world.now_ms)
    world.person.apply(effects)
    assert world.run() == []
    assert direct.sweep(a, [pseudonym]) == [ForgetPseudonym(pseudonym)]
