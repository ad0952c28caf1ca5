"""Relationships: the spec vectors, every (state, event) pair, random event sequences, fuzzing."""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol import relationship
from amity.protocol.card import Card, NodeKind
from amity.protocol.encoding import encode
from amity.protocol.errors import (
    AmityError,
    IllegalTransitionError,
    RemoteError,
    StateError,
    UsageError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.relationship import (
    EVENT_TYPES,
    TRANSITIONS,
    CancelTimer,
    CardChanged,
    Effect,
    Event,
    HandshakeCompleted,
    HelloReceived,
    InvitationAccepted,
    InvitationIssued,
    InvitationReceived,
    LocalEnd,
    MessageSeen,
    Notify,
    PeerEnded,
    Persist,
    Relationship,
    RelationshipState,
    Role,
    SendMessage,
    SetTimer,
    TimerFired,
    _evolve,
    open_relationship,
    step,
)
from amity.protocol.relmessages import (
    MAX_REASON_BYTES,
    MSG_END,
    MSG_HELLO,
    EndBody,
    HelloBody,
    check_reason,
    decode_end,
    decode_hello,
    encode_end,
    encode_hello,
)
from tests.vectors import load_vector_file, unhex, vector_cases

T0 = 1_700_000_000_000
DAY_MS = 86_400_000
CARD_INPUTS: dict[str, dict[str, Any]] = load_vector_file("relationship")["cards"]
CARDS = {name: Card.decode(bytes.fromhex(c["card_hex"])) for name, c in CARD_INPUTS.items()}
INVITATION = CARDS["vendor-invitation"]
assert INVITATION.invite_secret is not None
SECRET = INVITATION.invite_secret
PERSON, VENDOR, MALLORY = CARDS["person"], CARDS["vendor"], CARDS["mallory"]
S = RelationshipState


# -- reading and writing the vector notation ------------------------------------------------------


def _secret(spec: dict[str, Any]) -> bytes | None:
    return None if spec["invite_secret_hex"] is None else unhex(spec, "invite_secret_hex")


def _peer(spec: dict[str, Any]) -> Any:
    return SigningIdentity(unhex(spec, "peer_seed_hex")).peer_id


EVENT_READERS: dict[str, Callable[[dict[str, Any]], Event]] = {
    "InvitationIssued": lambda e: InvitationIssued(CARDS[e["invitation"]]),
    "InvitationReceived": lambda e: InvitationReceived(CARDS[e["invitation"]]),
    "InvitationAccepted": lambda e: InvitationAccepted(),
    "HandshakeCompleted": lambda e: HandshakeCompleted(_peer(e), CARDS[e["own_card"]]),
    "HelloReceived": lambda e: HelloReceived(CARDS[e["card"]], _secret(e)),
    "MessageSeen": lambda e: MessageSeen(e["message_type"]),
    "LocalEnd": lambda e: LocalEnd(e["reason"]),
    "CardChanged": lambda e: CardChanged(CARDS[e["own_card"]]),
    "PeerEnded": lambda e: PeerEnded(e["reason"]),
    "TimerFired": lambda e: TimerFired(e["token"]),
}


def _render(effect: Effect) -> str:
    match effect:
        case Persist():
            return "persist"
        case CancelTimer(token=token):
            return f"cancel-timer {token}"
        case SetTimer(at_ms=at_ms, token=token):
            return f"set-timer {token} at {at_ms}"
        case SendMessage(type="rel.hello", body=body):
            return "send rel.hello" + (" with-secret" if decode_hello(body).invite_secret else "")
        case SendMessage(type="rel.end", body=body):
            return f"send rel.end {body.hex()}"
        case Notify(kind=kind):
            return f"notify {kind}"
    raise AssertionError(f"unexpected effect {effect!r}")


def _summary(rel: Relationship) -> dict[str, Any]:
    peer_seed = None
    if rel.peer is not None:
        seeds = {c["identity_seed_hex"] for c in CARD_INPUTS.values()}
        peer_seed = next(s for s in seeds if SigningIdentity(bytes.fromhex(s)).peer_id == rel.peer)
    return {
        "state": rel.state.value,
        "role": rel.role.value,
        "peer_seed_hex": peer_seed,
        "since_ms": rel.since_ms,
        "last_seen_ms": rel.last_seen_ms,
        "handshake_done": rel.handshake_done,
        "timer_token": rel.timer_token,
        "timer_at_ms": rel.timer_at_ms,
        "ended_reason": rel.ended_reason,
        "ended_by": rel.ended_by,
    }


def _apply(rel: Relationship | None, spec: dict[str, Any]) -> tuple[Relationship, list[Effect]]:
    event = EVENT_READERS[spec["event"]](spec)
    if rel is None:
        return open_relationship(event, spec["now_ms"])
    return step(rel, event, spec["now_ms"])


def _run_trace(vector: dict[str, Any]) -> None:
    rel: Relationship | None = None
    events = vector["events"]
    for index, spec in enumerate(events):
        if "error" in vector and index == len(events) - 1:
            with pytest.raises(AmityError) as info:
                _apply(rel, spec)
            assert info.value.code == vector["error"], info.value
            return
        new, effects = _apply(rel, spec)
        assert [_render(e) for e in effects] == vector["effects"][index], spec
        for effect in effects:
            if isinstance(effect, Persist):
                assert effect.relationship == new
            if isinstance(effect, SendMessage):
                assert effect.to == new.peer
        rel = new
    assert rel is not None
    assert _summary(rel) == vector["final"]


@pytest.mark.parametrize("vector", **vector_cases("relationship"))
def test_relationship_vector(vector: dict[str, Any]) -> None:
    operation = vector["operation"]
    if operation == "trace":
        _run_trace(vector)
        return
    body = unhex(vector, "body_hex")
    decoder = decode_hello if operation == "hello-body" else decode_end
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            decoder(body)
        assert info.value.code == vector["error"], info.value
        return
    if operation == "hello-body":
        ticket = vector["deposit_ticket_hex"]
        hello = HelloBody(
            CARDS[vector["card"]], _secret(vector), bytes.fromhex(ticket) if ticket else None
        )
        assert encode_hello(hello) == body
        assert decode_hello(body) == hello
    else:
        end = EndBody(vector["reason"], vector["ts_ms"])
        assert encode_end(end) == body
        assert decode_end(body) == end


def test_vector_cards_follow_from_their_inputs() -> None:
    for name, inputs in CARD_INPUTS.items():
        identity = SigningIdentity(bytes.fromhex(inputs["identity_seed_hex"]))
        link = LinkKey(bytes.fromhex(inputs["link_seed_hex"]))
        cert = LinkCert.issue(
            identity, link.public, inputs["cert_not_before_ms"], inputs["cert_not_after_ms"]
        )
        secret = inputs["invite_secret_hex"]
        card = Card.issue(
            identity,
            link_cert=cert,
            kind=NodeKind(inputs["kind"]),
            name=inputs["name"],
            endpoints=inputs["endpoints"],
            issued_ms=inputs["issued_ms"],
            not_after_ms=inputs["not_after_ms"],
            invite_secret=bytes.fromhex(secret) if secret else None,
        )
        assert card.encoded.hex() == inputs["card_hex"], name


# -- the table itself -----------------------------------------------------------------------------


def _walk(rel: Relationship, *events: tuple[Event, int]) -> Relationship:
    for event, now_ms in events:
        rel, _ = step(rel, event, now_ms)
    return rel


def _representatives() -> dict[str, Relationship]:
    """One relationship in every state (and sub-state) the machine can reach."""
    inviter, _ = open_relationship(InvitationIssued(INVITATION), T0)
    invitee, _ = open_relationship(InvitationReceived(INVITATION), T0)
    dialling = _walk(invitee, (InvitationAccepted(), T0 + 1))
    handshaken = _walk(dialling, (HandshakeCompleted(VENDOR.peer_id, PERSON), T0 + 2))
    dialled_in = _walk(inviter, (HandshakeCompleted(PERSON.peer_id, VENDOR), T0 + 2))
    connected = _walk(handshaken, (HelloReceived(VENDOR), T0 + 3))
    inviter_connected = _walk(dialled_in, (HelloReceived(PERSON, SECRET), T0 + 3))
    return {
        "invited-inviter": inviter,
        "invited-invitee": invitee,
        "connecting-dialling": dialling,
        "connecting-handshaken": handshaken,
        "connecting-dialled-in": dialled_in,
        "connected-invitee": connected,
        "connected-inviter": inviter_connected,
        "ended-local": _walk(connected, (LocalEnd("bye"), T0 + 4)),
        "ended-peer": _walk(inviter_connected, (PeerEnded("bye"), T0 + 4)),
        "ended-timer": _walk(inviter, (TimerFired("invitation-1"), INVITATION.not_after_ms)),
    }


REPRESENTATIVES = _representatives()
SAMPLE_EVENTS: dict[type[Event], list[Event]] = {
    InvitationIssued: [InvitationIssued(INVITATION)],
    InvitationReceived: [InvitationReceived(INVITATION)],
    InvitationAccepted: [InvitationAccepted()],
    HandshakeCompleted: [
        HandshakeCompleted(VENDOR.peer_id, PERSON),
        HandshakeCompleted(PERSON.peer_id, VENDOR),
    ],
    HelloReceived: [HelloReceived(VENDOR), HelloReceived(PERSON, SECRET)],
    MessageSeen: [MessageSeen("terms.offer")],
    LocalEnd: [LocalEnd("bye")],
    CardChanged: [CardChanged(PERSON), CardChanged(VENDOR, b"ticket")],
    PeerEnded: [PeerEnded("bye")],
    TimerFired: [TimerFired("invitation-1"), TimerFired("connect-2")],
}


def test_representatives_cover_every_state() -> None:
    assert {rel.state for rel in REPRESENTATIVES.values()} == set(RelationshipState)
    # Every Event class the module defines is listed (not __subclasses__(): slots=True makes a
    # second class per dataclass, and the first lingers there until collected).
    defined = {
        value
        for value in vars(relationship).values()
        if isinstance(value, type) and issubclass(value, Event) and value is not Event
    }
    assert set(SAMPLE_EVENTS) == set(EVENT_TYPES) == defined


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.__name__)
def test_every_state_event_pair(event_type: type[Event]) -> None:
    """A pair in the table leads where the table says; any other pair is refused, by origin."""
    for label, rel in REPRESENTATIVES.items():
        transition = TRANSITIONS.get((rel.state, event_type))
        for event in SAMPLE_EVENTS[event_type]:
            now_ms = T0 + 10_000
            if transition is None:
                refusal = StateError if event_type.local else IllegalTransitionError
                with pytest.raises(AmityError) as info:
                    step(rel, event, now_ms)
                assert type(info.value) is refusal, (label, event)
                continue
            try:
                new, _ = step(rel, event, now_ms)
            except AmityError:
                continue  # a condition inside the row (wrong peer, no handshake yet…)
            assert new.state in transition.targets, (label, event)


def test_table_handlers_take_the_event_they_are_filed_under() -> None:
    for (state, event_type), transition in TRANSITIONS.items():
        hints = typing.get_type_hints(transition.handler)
        assert hints["event"] in (event_type, Event), (state, event_type)
        assert state in RelationshipState


def test_ended_accepts_only_ends_and_timers() -> None:
    rows = {event for state, event in TRANSITIONS if state is S.ENDED}
    assert rows == {PeerEnded, LocalEnd, TimerFired, CardChanged}
    for (state, _), transition in TRANSITIONS.items():
        if state is S.ENDED:
            assert transition.targets == {S.ENDED}


def test_a_changed_card_reaches_a_connected_peer_only() -> None:
    """CONNECTED: a hello with the new card, no secret, the ticket given; elsewhere nothing
    (the hello at the next handshake carries the card; an ended peer gets nothing)."""
    rel = REPRESENTATIVES["connected-invitee"]
    new_card = CARDS["vendor-renamed"]
    after, effects = step(rel, CardChanged(new_card, b"t" * 8), T0 + 10_000)
    assert after == rel
    assert len(effects) == 1 and isinstance(effects[0], SendMessage)
    assert effects[0].to == rel.peer and effects[0].type == "rel.hello"
    hello = decode_hello(effects[0].body)
    assert hello.card == new_card and hello.invite_secret is None
    assert hello.deposit_ticket == b"t" * 8
    for label in ("invited-inviter", "connecting-dialling", "ended-local", "ended-peer"):
        other = REPRESENTATIVES[label]
        assert step(other, CardChanged(new_card), T0 + 10_000) == (other, []), label


def test_step_rejects_what_is_not_an_event() -> None:
    rel = REPRESENTATIVES["connected-invitee"]
    with pytest.raises(UsageError):
        step(rel, Event(), T0)
    with pytest.raises(UsageError):
        step(rel, MessageSeen("terms.offer"), -1)


def test_secret_is_not_in_repr() -> None:
    rel = REPRESENTATIVES["invited-inviter"]
    assert SECRET.hex() not in repr(rel) and repr(SECRET) not in repr(rel)
    assert repr(SECRET) not in repr(HelloReceived(PERSON, SECRET))


# -- properties -----------------------------------------------------------------------------------

HELLO_CARDS = [PERSON, VENDOR, MALLORY, CARDS["vendor-renamed"], CARDS["vendor-short-lived"]]
OTHER_SECRET = bytes(16)


def _event_strategy(rel: Relationship) -> st.SearchStrategy[Event]:
    # Weighted towards the events that move a relationship forward, with the right peer and
    # card most of the time, so that sequences reach CONNECTED and beyond as well as ENDED.
    partner = VENDOR if rel.role is Role.INVITEE else PERSON
    own = PERSON if partner is VENDOR else VENDOR
    tokens = [rel.timer_token or "connect-9"] * 3 + ["invitation-1", "connect-2", "bogus"]
    secrets = [SECRET, SECRET, None, OTHER_SECRET]
    choices: list[st.SearchStrategy[Event]] = [
        st.just(InvitationAccepted()),
        st.builds(
            HandshakeCompleted,
            st.sampled_from([partner.peer_id] * 3 + [MALLORY.peer_id]),
            st.just(own),
        ),
        st.builds(
            HelloReceived,
            st.sampled_from([partner] * 3 + HELLO_CARDS),
            st.sampled_from(secrets),
        ),
        st.builds(MessageSeen, st.sampled_from(["terms.offer", "grant.data"])),
        st.builds(TimerFired, st.sampled_from(tokens)),
    ]
    rare: list[st.SearchStrategy[Event]] = [
        st.builds(LocalEnd, st.sampled_from(["", "bye", "moving away"])),
        st.builds(PeerEnded, st.sampled_from(["", "closing down"])),
        st.just(InvitationIssued(INVITATION)),
    ]
    return st.integers(0, 9).flatmap(lambda n: st.one_of(*choices) if n < 8 else st.one_of(*rare))


@given(st.data())
def test_random_event_sequences(data: st.DataObject) -> None:
    """Only AmityError escapes; ENDED is never left; timers and persistence stay consistent."""
    opener = data.draw(st.sampled_from([InvitationIssued, InvitationReceived]))
    now_ms = T0
    rel, _ = open_relationship(opener(INVITATION), now_ms)
    for _ in range(data.draw(st.integers(0, 30))):
        now_ms += data.draw(st.sampled_from([0, 1, 500, 29_999, 30_000, 3_600_000, DAY_MS // 2]))
        event = data.draw(_event_strategy(rel))
        try:
            new, effects = step(rel, event, now_ms)
        except AmityError:
            continue
        if rel.state is S.ENDED:
            assert new.state is S.ENDED and effects == []
        persists = [e for e in effects if isinstance(e, Persist)]
        changed = (new.state, new.timer_token, new.peer, new.peer_card) != (
            rel.state,
            rel.timer_token,
            rel.peer,
            rel.peer_card,
        )
        assert len(persists) <= 1 and (not changed or persists == [effects[0]])
        set_timers = [e for e in effects if isinstance(e, SetTimer)]
        cancelled = [e.token for e in effects if isinstance(e, CancelTimer)]
        assert len(set_timers) <= 1
        if set_timers:
            assert set_timers[0].token == new.timer_token
        assert cancelled in ([], [rel.timer_token])
        for effect in effects:
            if isinstance(effect, SendMessage):
                assert effect.to == new.peer and effect.type in (MSG_HELLO, MSG_END)
        rel = new


@given(st.binary(max_size=512))
def test_decoders_raise_only_remote_errors(data: bytes) -> None:
    for decoder in (decode_hello, decode_end):
        with contextlib.suppress(RemoteError):
            decoder(data)


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(_values, max_size=4), st.sampled_from([decode_hello, decode_end]))
def test_decoders_on_well_formed_values(fields: list[Any], decoder: Any) -> None:
    with contextlib.suppress(RemoteError):
        decoder(encode(fields))


@given(st.integers(0, 700), st.integers(1, 255))
def test_decode_hello_on_damaged_bodies(position: int, flip: int) -> None:
    body = bytearray(encode_hello(HelloBody(PERSON, SECRET)))
    body[position % len(body)] ^= flip
    with contextlib.suppress(RemoteError):
        decode_hello(bytes(body))


@given(st.text(max_size=120), st.integers(0, 2**64 - 1))
def test_end_body_round_trip(reason: str, ts_ms: int) -> None:
    try:
        check_reason(reason)
    except UsageError:
        with pytest.raises(UsageError):
            EndBody(reason, ts_ms)
        return
    body = EndBody(reason, ts_ms)
    assert decode_end(encode_end(body)) == body


def test_reason_limit_is_in_bytes() -> None:
    check_reason("é" * (MAX_REASON_BYTES // 2))
    with pytest.raises(UsageError):
        check_reason("é" * (MAX_REASON_BYTES // 2) + "x")
    with pytest.raises(UsageError):
        LocalEnd("bye\x1b[2J")


def test_evolve_is_dataclasses_replace_for_every_field() -> None:
    """The state machine's own replace builds positionally: the field order must hold."""
    rel = Relationship(
        role=Role.INVITER,
        state=RelationshipState.CONNECTED,
        peer=None,
        invite_secret=bytes(16),
        invite_expires_ms=5,
        created_ms=1,
        since_ms=2,
    )
    assert all(f.init for f in fields(Relationship))
    for index, f in enumerate(fields(Relationship)):
        marker = object()  # a value no field holds: it must land in this field and no other
        changed = _evolve(rel, **{f.name: marker})
        assert changed == replace(rel, **{f.name: marker})
        assert [getattr(changed, g.name) is marker for g in fields(Relationship)] == [
            i == index for i in range(len(fields(Relationship)))
        ]
    assert _evolve(rel) == rel
