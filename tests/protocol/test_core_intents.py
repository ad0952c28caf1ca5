"""The three intent roles driven together (spec/intents.md): a person, vendors and hubs in
memory, joined by real signed envelopes. Cast, offers, a cut-off vendor hidden, accept revealing
her to one vendor only, withdraw with receipts, expiry, federation, and each refusal's code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.core.intents import caster, vendor
from amity.protocol.core.intents.effects import OfferHidden, OfferShown, ReceiptKept, Won
from amity.protocol.core.intents.memory import Outgoing
from amity.protocol.core.intents.records import CastingState, SeenState
from amity.protocol.core.intents.rule import Quote
from amity.protocol.encoding import encode
from amity.protocol.envelope import sign_envelope
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import Constraints, Intent, TermsRef
from amity.protocol.intentmessages import (
    MSG_CAST,
    MSG_FORWARD,
    MSG_SEALED,
    Cast,
    Forward,
    SealedRelay,
    encode_intent_body,
)
from amity.protocol.intentoffer import MSG_OFFER, OFFER_DOMAIN
from amity.protocol.intentwork import solve_work, work_bits_of
from amity.protocol.money import Money
from amity.protocol.sealed import seal
from amity.protocol.signed import sign_structure
from tests.protocol.intents_world import DAY, HOUR, World, bike_rule, rules

BIKE = Constraints(Money(30000, "EUR"), "FR-69", None, 1)


def _cast(world: World, *, hub_names: tuple[str, ...] = ("hub",), wanted: int = 3, bits: int = 6):
    hubs = tuple(world.hubs[n].peer_id for n in hub_names)
    casting, effects = caster.cast(
        world.person,
        world.now_ms,
        category="goods.bicycles",
        text="A child's bike for a 6-year-old",
        constraints=BIKE,
        terms=TermsRef.roster("P2B1"),
        offers_wanted=wanted,
        ttl_ms=3 * DAY,
        hubs=hubs,
        work_bits=bits,
    )
    world.person.apply(effects)
    return casting


def _subscribe(world: World, name: str, hub_name: str = "hub", cats: tuple[str, ...] = ("goods",)):
    node = world.vendors[name]
    node.apply(vendor.subscribe(world.hubs[hub_name].peer_id, cats))


def _market() -> World:
    """A hub; vendors a (auto, 249 EUR), b (answers by hand), c (auto, 199 EUR, cut off)."""
    world = World.make({"a": bike_rule(24900), "b": None, "c": bike_rule(19900)}, {"hub": rules()})
    for name in "abc":
        _subscribe(world, name)
    assert world.run() == []
    world.person.trust_of.update({world.vendors["a"].peer_id: 0.9, world.vendors["b"].peer_id: 0.5})
    world.person.cut_offs[world.vendors["c"].peer_id] = "breached a grant (standing 0.02 < 0.1)"
    return world


def _all_bytes_to(world: World, peer_key: bytes) -> bytes:
    return b"".join(d.envelope.encoded for d in world.log if d.envelope.recipient.key == peer_key)


def test_cast_offers_cutoff_accept_reveals_to_one_vendor_only() -> None:
    world = _market()
    casting = _cast(world)
    assert world.run() == []
    a, b, c = (world.vendors[n] for n in "abc")
    assert casting.intent_id in b.inbox and b.inbox[casting.intent_id].state is SeenState.NEW
    # b answers by hand, dearer than a
    quote = Quote(Money(27500, "EUR"), "Pick up or delivery", world.now_ms + DAY, DAY)
    b.apply(vendor.answer(b, casting.intent_id, quote, world.now_ms))
    assert world.run() == []

    mine = world.person.castings[casting.intent_id]
    assert len(mine.offers) == 3
    hidden = [k.offer.vendor for k in mine.offers if k.hidden]
    assert hidden == [c.peer_id]  # c is kept (one offer per vendor still holds) but not shown
    shown = mine.shown()
    assert [k.offer.vendor for k in shown] == [a.peer_id, b.peer_id]  # by her trust, not price
    notices = world.person.notices
    assert any(isinstance(n, OfferHidden) and n.vendor == c.peer_id for n in notices)
    assert {n.kept.offer.vendor for n in notices if isinstance(n, OfferShown)} == {
        a.peer_id,
        b.peer_id,
    }

    best = shown[0].offer
    _, effects = caster.accept(world.person, casting.intent_id, best.offer_id, world.now_ms)
    world.person.apply(effects)
    assert world.run() == []
    won = [n for n in a.notices if isinstance(n, Won)]
    assert len(won) == 1 and won[0].accept.reveal is not None
    assert won[0].accept.reveal.person == world.person.peer_id
    assert a.inbox[casting.intent_id].state is SeenState.WON
    assert not any(isinstance(n, Won) for n in (*b.notices, *c.notices))
    # Her identity reached a, and nobody else: not the hub, not b, not c.
    her = world.person.peer_id.key
    for name in ("hub",):
        assert her not in _all_bytes_to(world, world.hubs[name].peer_id.key)
    for other in (b, c):
        assert her not in _all_bytes_to(world, other.peer_id.key)
    # The hub never held an offer in the clear: it stored sealed bytes only.
    held = world.hubs["hub"].intents[casting.intent_id].offers
    assert all(best.encoded not in sealed for _, sealed in held)


def test_accept_may_keep_the_pseudonym() -> None:
    world = _market()
    casting = _cast(world)
    world.run()
    offer = world.person.castings[casting.intent_id].shown()[0].offer
    _, effects = caster.accept(
        world.person, casting.intent_id, offer.offer_id, world.now_ms, reveal=False
    )
    world.person.apply(effects)
    world.run()
    won = [n for n in world.vendors["a"].notices if isinstance(n, Won)]
    assert won and won[0].accept.reveal is None
    with pytest.raises(NodeError):
        caster.accept(world.person, casting.intent_id, offer.offer_id, world.now_ms)


def test_withdraw_deletes_everywhere_with_receipts() -> None:
    world = _market()
    casting = _cast(world)
    world.run()
    _, effects = caster.withdraw(world.person, casting.intent_id, world.now_ms + HOUR)
    world.person.apply(effects)
    assert world.run() == []
    assert all(casting.intent_id not in v.inbox for v in world.vendors.values())
    the_hub = world.hubs["hub"]
    assert casting.intent_id not in the_hub.intents and casting.intent_id in the_hub.tombstones
    receipts = {n.receipt.deleter for n in world.person.notices if isinstance(n, ReceiptKept)}
    # the hub, and the two vendors that answered (b never did: it deletes without a receipt)
    assert receipts == {the_hub.peer_id, world.vendors["a"].peer_id, world.vendors["c"].peer_id}
    assert world.person.castings[casting.intent_id].state is CastingState.WITHDRAWN
    # a second withdraw of the same intent is a replay at the hub
    again = next(d for d in world.log if d.envelope.type == "intent.withdraw")
    assert world.deliver(again.envelope.encoded, the_hub.peer_id) == "intent.replayed"


def test_expiry_deletes_with_receipts_and_late_offers_are_refused() -> None:
    world = _market()
    casting = _cast(world)
    world.run()
    world.advance(3 * DAY)
    assert all(casting.intent_id not in v.inbox for v in world.vendors.values())
    assert casting.intent_id not in world.hubs["hub"].intents
    kept = {n.receipt.deleter for n in world.person.notices if isinstance(n, ReceiptKept)}
    assert world.hubs["hub"].peer_id in kept and world.vendors["a"].peer_id in kept
    assert world.person.castings[casting.intent_id].state is CastingState.EXPIRED
    # b tries to answer late: its inbox no longer has the intent
    with pytest.raises(AmityError) as caught:
        vendor.answer(world.vendors["b"], casting.intent_id, _quote(world), world.now_ms)
    assert caught.value.code == "local.not_found"


def _quote(world: World) -> Quote:
    return Quote(Money(25000, "EUR"), "as agreed", world.now_ms + DAY, DAY)


def test_federation_forwards_once_and_routes_answers_back() -> None:
    world = World.make(
        {"d": bike_rule(22000)},
        {"hub": rules(max_hops=2), "hub2": rules(max_hops=2)},
    )
    one, two = world.hubs["hub"], world.hubs["hub2"]
    one.hub_rules = rules(max_hops=2, peers=(two.peer_id.key,))
    two.hub_rules = rules(max_hops=2, peers=(one.peer_id.key,))
    _subscribe(world, "d", "hub2")
    world.run()
    casting = _cast(world)
    assert world.run() == []
    assert casting.intent_id in two.intents and casting.intent_id in world.vendors["d"].inbox
    mine = world.person.castings[casting.intent_id]
    assert [k.offer.vendor for k in mine.offers] == [world.vendors["d"].peer_id]
    _, effects = caster.accept(world.person, casting.intent_id, mine.offers[0].offer.offer_id,
                               world.now_ms)  # fmt: skip
    world.person.apply(effects)
    assert world.run() == []
    assert world.vendors["d"].inbox[casting.intent_id].state is SeenState.WON
    # withdraw: both hubs and d delete; the receipts find their way back through hub one
    _, effects = caster.withdraw(world.person, casting.intent_id, world.now_ms)
    world.person.apply(effects)
    assert world.run() == []
    kept = {n.receipt.deleter for n in world.person.notices if isinstance(n, ReceiptKept)}
    assert kept == {one.peer_id, two.peer_id, world.vendors["d"].peer_id}
    assert not one.intents and not two.intents and not world.vendors["d"].inbox


# -- refusals, each with its code ------------------------------------------------------------------


def _offer_relay(world: World, casting_id: bytes, vendor_name: str, **changes: object) -> bytes:
    """A sealed offer from a vendor, its fields changed, in an intent.sealed body."""
    node = world.vendors[vendor_name]
    intent = world.person.castings[casting_id].intent
    _, cert = node.keyring.current(world.now_ms)
    fields: dict[str, object] = {
        "signer": node.keyring.identity,
        "terms": intent.terms_id,
        "sale": "x",
    }
    fields.update(changes)
    signer = fields["signer"]
    assert isinstance(signer, SigningIdentity)
    signed = sign_structure(
        [1, node.peer_id.key, intent.intent_id, fields["terms"], [100, "EUR"], 1,  # type: ignore[list-item]
         fields["sale"], world.now_ms, world.now_ms + DAY, world.now_ms, cert.encoded],
        OFFER_DOMAIN,
        signer,
    )  # fmt: skip
    envelope = sign_envelope(
        node.keyring.identity, type=MSG_OFFER, recipient=intent.intent_key, seq=1,
        ts_ms=world.now_ms, nonce=node.random_bytes(16), body=signed,
    )  # fmt: skip
    sealed = seal(envelope, recipient=intent.intent_key, link_public=intent.link_public,
                  ephemeral_private=node.random_bytes(32))  # fmt: skip
    return encode_intent_body(SealedRelay(intent.intent_id, sealed))


def _from_hub_to_her(world: World, casting_id: bytes, body: bytes) -> str | None:
    intent = world.person.castings[casting_id].intent
    the_hub = world.hubs["hub"]
    out = Outgoing(the_hub.keyring.identity, intent.intent_key, MSG_SEALED, body)
    return world.deliver(world.envelope(out), intent.intent_key)


def test_her_node_refuses_bad_offers_with_their_codes() -> None:
    world = World.make({"a": None, "b": None}, {"hub": rules()})
    casting = _cast(world, wanted=1)
    cid = casting.intent_id
    forged = _offer_relay(world, cid, "a", signer=SigningIdentity(bytes(range(32))))
    assert _from_hub_to_her(world, cid, forged) == "intent.bad_signature"
    unsigned_terms = _offer_relay(world, cid, "a", terms=bytes(32))
    assert _from_hub_to_her(world, cid, unsigned_terms) == "intent.terms_not_countersigned"
    good = _offer_relay(world, cid, "a")
    assert _from_hub_to_her(world, cid, good) is None
    assert _from_hub_to_her(world, cid, good) == "intent.replayed"
    second = _offer_relay(world, cid, "a", sale="a better deal")
    assert _from_hub_to_her(world, cid, second) == "intent.duplicate_offer"
    oversized = encode([1, cid, bytes(5000)])
    assert _from_hub_to_her(world, cid, oversized) == "encoding.too_large"
    long_offer = _offer_relay(world, cid, "b", sale="x" * 3500)
    assert _from_hub_to_her(world, cid, long_offer) == "encoding.too_large"
    malformed = encode_intent_body(SealedRelay(cid, b"\x93\x01"))
    assert _from_hub_to_her(world, cid, malformed) == "encoding.malformed"
    world.advance(3 * DAY)
    assert _from_hub_to_her(world, cid, _offer_relay(world, cid, "b")) == "intent.expired"


def test_her_cap_on_offers() -> None:
    names = [f"v{i}" for i in range(6)]
    world = World.make({n: bike_rule(20000 + i) for i, n in enumerate(names)}, {"hub": rules()})
    for n in names:
        _subscribe(world, n)
    world.run()
    casting = _cast(world, wanted=1)
    refused = world.run()
    # the hub relays min(offer_cap, 4 x offers wanted) = 4 offers; the other two are over cap
    assert refused == ["intent.over_cap", "intent.over_cap"]
    assert len(world.person.castings[casting.intent_id].offers) == 4


def test_hub_refuses_replay_duplicates_rate_work_and_quota() -> None:
    world = World.make({"a": bike_rule(24900)}, {"hub": rules(rate_per_hour=1)})
    _subscribe(world, "a")
    world.run()
    first = _cast(world)
    second = _cast(world)
    # a answered the first at once; its answer to the second is over its hourly rate
    assert world.run() == ["intent.rate_limited"]
    the_hub, a = world.hubs["hub"], world.vendors["a"]
    # the same cast again is a replay
    cast_again = next(d for d in world.log if d.envelope.type == MSG_CAST)
    assert world.deliver(cast_again.envelope.encoded, the_hub.peer_id) == "intent.replayed"
    # a's offer for the first intent, sent again: one offer per vendor per intent
    answer = next(
        d for d in world.log if d.envelope.type == MSG_SEALED and d.envelope.sender == a.peer_id
    )
    world.advance(HOUR)
    assert world.deliver(answer.envelope.encoded, the_hub.peer_id) == "intent.duplicate_offer"
    # work short of the hub's difficulty: a stamp that earns fewer than the 6 bits asked
    assert second.intent_id != first.intent_id
    cheap = _cast(world, bits=0)
    short = next(n for n in range(64) if work_bits_of(cheap.intent_id, n.to_bytes(16)) < 6)
    body = encode_intent_body(Cast(cheap.intent.encoded, short.to_bytes(16)))
    out = Outgoing(cheap.signer, the_hub.peer_id, MSG_CAST, body)
    world.person.outbox.clear()
    assert world.deliver(world.envelope(out), the_hub.peer_id) == "intent.bad_work"


def test_hub_quota_per_pseudonym() -> None:
    world = World.make({}, {"hub": rules(work_bits=0)})
    the_hub = world.hubs["hub"]
    key = SigningIdentity(bytes(32))
    codes = []
    for i in range(9):
        intent = Intent.create(
            key,
            link_public=world.person.keyring.current(world.now_ms)[0].public,
            category="goods.toys",
            text=f"toy {i}",
            constraints=Constraints(),
            terms=TermsRef.roster("P2B1"),
            offers_wanted=1,
            cast_ms=world.now_ms,
            expires_ms=world.now_ms + DAY,
        )
        body = encode_intent_body(Cast(intent.encoded, solve_work(intent.intent_id, 0)))
        out = Outgoing(key, the_hub.peer_id, MSG_CAST, body)
        codes.append(world.deliver(world.envelope(out), the_hub.peer_id))
    assert codes == [None] * 8 + ["intent.quota"]


def test_hub_refuses_a_forward_from_a_stranger_and_a_cast_by_another_key() -> None:
    world = World.make({}, {"hub": rules(work_bits=0), "other": rules()})
    casting = _cast(world, bits=0)
    world.run()
    intent = world.person.castings[casting.intent_id].intent
    stranger = world.hubs["other"]
    body = encode_intent_body(Forward(intent.encoded, casting.work_nonce, 1))
    out = Outgoing(stranger.keyring.identity, world.hubs["hub"].peer_id, MSG_FORWARD, body)
    assert world.deliver(world.envelope(out), world.hubs["hub"].peer_id) == "intent.not_a_peer"
    cast = encode_intent_body(Cast(intent.encoded, casting.work_nonce))
    out = Outgoing(stranger.keyring.identity, world.hubs["hub"].peer_id, MSG_CAST, cast)
    assert world.deliver(world.envelope(out), world.hubs["hub"].peer_id) == "intent.bad_signature"


def test_intents_of_one_person_share_no_key() -> None:
    world = _market()
    one, two = _cast(world), _cast(world)
    assert one.intent.intent_key != two.intent.intent_key
    assert one.intent.link_public != two.intent.link_public
    her = world.person.peer_id.key
    for casting in (one, two):
        assert her not in casting.intent.encoded
    world.run()
    hub_saw = _all_bytes_to(world, world.hubs["hub"].peer_id.key)
    assert her not in hub_saw and one.intent.encoded in hub_saw and two.intent.encoded in hub_saw


# -- her cut-off holds whatever the market: no offer from a cut-off vendor is ever shown ----------


@settings(max_examples=15, deadline=None)
@given(
    market=st.lists(
        st.tuples(
            st.integers(15000, 30000),  # unit price in cents
            st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),  # her trust
            st.booleans(),  # cut off
        ),
        min_size=1,
        max_size=6,
    ),
    wanted=st.integers(1, 3),
)
def test_no_cut_off_vendor_is_ever_shown(
    market: list[tuple[int, float | None, bool]], wanted: int
) -> None:
    names = [f"v{i}" for i in range(len(market))]
    world = World.make(
        {n: bike_rule(price) for n, (price, _, _) in zip(names, market, strict=True)},
        {"hub": rules()},
    )
    for name, (_, trust, cut) in zip(names, market, strict=True):
        _subscribe(world, name)
        peer = world.vendors[name].peer_id
        if trust is not None:
            world.person.trust_of[peer] = trust
        if cut:
            world.person.cut_offs[peer] = "below her threshold"
    world.run()
    casting = _cast(world, wanted=wanted)
    world.run()
    mine = world.person.castings[casting.intent_id]
    shown = mine.shown()
    cut_off = set(world.person.cut_offs)
    assert not {k.offer.vendor for k in shown} & cut_off
    assert len(shown) == min(wanted, sum(1 for k in mine.offers if not k.hidden))
    keys = [(k.trust is None, -(k.trust or 0.0), k.offer.price.amount_minor) for k in shown]
    assert keys == sorted(keys)
    assert len(mine.offers) == min(len(market), 4 * wanted)
