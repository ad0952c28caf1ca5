"""The pseudonymous link's rules (spec/intents.md §7.5), both ends, on real signed frames: what a
hub takes from a pseudonym and what it refuses with which code, duplicates, and her side's
duplicate rule; any frame bytes give an answer, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.core.intents import link
from amity.protocol.core.intents.effects import SaveHubIntent
from amity.protocol.envelope import sign_envelope
from amity.protocol.frames import encode_ack, encode_envelope_frame, encode_refuse
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intentmessages import MSG_SUBSCRIBE, Subscribe, encode_intent_body
from amity.protocol.replay import MAIL_POLICY, ReplayGuard
from tests.protocol.intents_world import World, rules
from tests.protocol.test_core_intents import _cast


def _world() -> World:
    return World.make({}, {"hub": rules()})


def _frame(
    signer: SigningIdentity, to: PeerId, type_: str, body: bytes, seq: int, now: int
) -> bytes:
    envelope = sign_envelope(
        signer, type=type_, recipient=to, seq=seq, ts_ms=now, nonce=bytes([seq]) * 16, body=body
    )
    return encode_envelope_frame(envelope)


def test_a_hub_takes_a_cast_from_its_pseudonym_once() -> None:
    world = _world()
    hub = world.hubs["hub"]
    casting = _cast(world)
    (out,) = [o for o in world.person.outbox]
    frame = _frame(out.signer, out.to, out.type, out.body, 1, world.now_ms)
    guard = ReplayGuard(MAIL_POLICY)
    pseudonym = casting.intent.intent_key

    took = link.at_hub(hub, guard, pseudonym, frame, world.now_ms)
    assert isinstance(took, link.Took) and took.envelope.seq == 1
    assert any(isinstance(e, SaveHubIntent) for e in took.effects)
    hub.apply(took.effects)
    assert link.at_hub(hub, guard, pseudonym, frame, world.now_ms) == link.Duplicate(1)

    # The same cast on a session another key proved: not the signer's link.
    stranger = SigningIdentity(b"\x07" * 32).peer_id
    refused = link.at_hub(hub, ReplayGuard(MAIL_POLICY), stranger, frame, world.now_ms)
    assert isinstance(refused, link.Refused) and refused.error.code == "envelope.wrong_sender"


def test_a_hub_refuses_what_a_pseudonym_may_not_send() -> None:
    world = _world()
    hub = world.hubs["hub"]
    casting = _cast(world)
    body = encode_intent_body(Subscribe(("goods",)))
    frame = _frame(casting.signer, hub.peer_id, MSG_SUBSCRIBE, body, 1, world.now_ms)
    answer = link.at_hub(
        hub, ReplayGuard(MAIL_POLICY), casting.intent.intent_key, frame, world.now_ms
    )
    assert isinstance(answer, link.Refused) and answer.error.code == "envelope.wrong_type"
    assert answer.seq == 1


def test_acks_and_refusals_settle_and_other_frames_break_the_link() -> None:
    world = _world()
    hub = world.hubs["hub"]
    key = SigningIdentity(b"\x09" * 32).peer_id
    guard = ReplayGuard(MAIL_POLICY)
    assert link.at_hub(hub, guard, key, encode_ack([1, 2]), 0) == link.Settled((1, 2))
    refused = link.at_hub(hub, guard, key, encode_refuse(3, "intent.bad_work", "short"), 0)
    assert refused == link.Settled((3,), "intent.bad_work")


def test_her_side_takes_each_seq_once() -> None:
    world = _world()
    hub = world.hubs["hub"]
    casting = _cast(world)
    key = casting.intent.intent_key
    frame = _frame(hub.keyring.identity, key, "intent.receipt", b"\x00", 5, world.now_ms)
    assert link.at_caster(world.person, key, hub.peer_id, 5, frame, world.now_ms) == (
        link.Duplicate(5)
    )
    answer = link.at_caster(world.person, key, hub.peer_id, 4, frame, world.now_ms)
    assert isinstance(answer, link.Refused) and answer.seq == 5  # a body that does not decode
    other = _frame(hub.keyring.identity, key, MSG_SUBSCRIBE, b"\x00", 6, world.now_ms)
    wrong = link.at_caster(world.person, key, hub.peer_id, 5, other, world.now_ms)
    assert isinstance(wrong, link.Refused) and wrong.error.code == "envelope.wrong_type"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_an_answer_never_an_exception(data: bytes) -> None:
    world = _world()
    hub = world.hubs["hub"]
    key = SigningIdentity(b"\x0b" * 32).peer_id
    at_hub = link.at_hub(hub, ReplayGuard(MAIL_POLICY), key, data, world.now_ms)
    at_her = link.at_caster(world.person, key, hub.peer_id, 0, data, world.now_ms)
    for answer in (at_hub, at_her):
        assert isinstance(answer, link.Broken | link.Settled | link.Refused)
