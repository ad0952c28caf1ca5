"""Negotiation: message bodies and traces from the spec vectors, the table, automatic answers."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.agreement import Agreement
from amity.protocol.errors import (
    AmityError,
    NegotiationTransitionError,
    RemoteError,
    StateError,
    UsageError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.negotiation import (
    EVENT_TYPES,
    MAX_ROUNDS,
    OPEN_STATES,
    TRANSITIONS,
    Accept,
    Counter,
    Event,
    Negotiation,
    NegotiationState,
    Offer,
    Party,
    Persist,
    Reject,
    TimerFired,
    Withdraw,
    auto_answer,
    open_negotiation,
    received,
    step,
)
from amity.protocol.policy import DecisionKind, Policy, RuleAction, evaluate, parse_policy
from amity.protocol.relationship import CancelTimer, Effect, Notify, SendMessage, SetTimer
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import (
    TERMS_MESSAGE_TYPES,
    RejectReason,
    decode_terms_body,
    encode_terms_body,
)
from tests.protocol.test_policy import policies
from tests.protocol.test_terms import TERMS_FILE, cases, terms_documents
from tests.strategies import arbitrary_bytes, mutated
from tests.vectors import unhex

IDS = {
    n: SigningIdentity(bytes.fromhex(i["seed_hex"])) for n, i in TERMS_FILE["identities"].items()
}
DOCUMENTS = {n: TermsDocument.decode(bytes.fromhex(h)) for n, h in TERMS_FILE["documents"].items()}
POLICIES = {name: parse_policy(text) for name, text in TERMS_FILE["policies"].items()}
T0 = 1_767_225_600_000
DAY = 86_400_000
S = NegotiationState


# -- bodies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **cases("body"))
def test_body_vector(vector: dict[str, Any]) -> None:
    data = unhex(vector, "body_hex")
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            decode_terms_body(vector["type"], data)
        assert info.value.code == vector["error"], info.value
        return
    assert encode_terms_body(decode_terms_body(vector["type"], data)) == data


@given(st.sampled_from(TERMS_MESSAGE_TYPES), arbitrary_bytes(200))
def test_body_decoders_raise_only_remote_errors(message_type: str, data: bytes) -> None:
    with contextlib.suppress(RemoteError):
        decode_terms_body(message_type, data)


_BODIES = [
    (v["type"], unhex(v, "body_hex")) for v in cases("body")["argvalues"] if "error" not in v
]


@given(st.sampled_from(_BODIES).flatmap(lambda b: st.tuples(st.just(b[0]), mutated(st.just(b[1])))))
def test_body_decoders_on_mutated_bodies(pair: tuple[str, bytes]) -> None:
    message_type, data = pair
    with contextlib.suppress(RemoteError):
        assert encode_terms_body(decode_terms_body(message_type, data)) == data


# -- traces ----------------------------------------------------------------------------------------


@dataclass
class Node:
    """One side of a trace: its identity, its negotiation and the messages waiting for it."""

    name: str
    identity: SigningIdentity
    party: Party
    negotiation: Negotiation | None = None
    inbox: list[tuple[str, bytes]] = field(default_factory=list)


def _render(effect: Effect) -> str:
    match effect:
        case Persist():
            return "persist"
        case CancelTimer(token=token):
            return f"cancel-timer {token}"
        case SendMessage(type=message_type):
            return f"send {message_type}"
        case SetTimer(at_ms=at_ms, token=token):
            return f"set-timer {token} at {at_ms}"
        case Notify(kind=kind):
            return f"notify {kind}"
    raise AssertionError(effect)


def _local_event(spec: dict[str, Any]) -> Event:
    name = spec["event"]
    if name == "Offer":
        previous = spec.get("previous_agreement_id_hex")
        return Offer(
            unhex(spec, "negotiation_id_hex"),
            DOCUMENTS[spec["terms"]],
            spec["ttl_ms"],
            bytes.fromhex(previous) if previous else None,
        )
    if name == "Counter":
        return Counter(DOCUMENTS[spec["terms"]], spec.get("ttl_ms", 7 * DAY))
    if name == "Reject":
        return Reject(tuple(RejectReason(c, r) for c, r in spec["reasons"]))
    if name == "TimerFired":
        return TimerFired(spec["token"])
    return {"Accept": Accept, "Withdraw": Withdraw}[name]()


def _apply(nodes: dict[str, Node], spec: dict[str, Any]) -> list[str] | None:
    node = nodes[spec["node"]]
    other = nodes["vendor" if node.name == "person" else "person"]
    now = spec["now_ms"]
    event: Event | None
    if spec["event"] == "deliver":
        event = received(decode_terms_body(*node.inbox.pop(0)))
    elif spec["event"] == "receive":
        event = received(decode_terms_body(spec["type"], unhex(spec, "body_hex")))
    elif spec["event"] == "auto":
        assert node.negotiation is not None
        event = auto_answer(POLICIES[spec["policy"]], node.negotiation)
        assert (type(event).__name__ if event else None) == spec["answer"]
        if "reasons" in spec:  # a Reject's reasons, exactly (spec/terms.md §7.8)
            assert isinstance(event, Reject)
            assert [[r.clause_id, r.reason] for r in event.reasons] == spec["reasons"]
        if event is None:
            return []
    else:
        event = _local_event(spec)
    if node.negotiation is None:
        neg, effects = open_negotiation(
            event,  # type: ignore[arg-type]
            now,
            signer=node.identity,
            peer=other.identity.peer_id,
            we_are=node.party,
        )
    else:
        neg, effects = step(node.negotiation, event, now, signer=node.identity)
    node.negotiation = neg
    for effect in effects:
        if isinstance(effect, SendMessage):
            assert effect.to == other.identity.peer_id
            other.inbox.append((effect.type, effect.body))
        if isinstance(effect, Persist):
            assert effect.negotiation == neg
    return [_render(e) for e in effects]


def _record(neg: Negotiation) -> dict[str, Any]:
    names = {doc.terms_id: name for name, doc in DOCUMENTS.items()}
    return {
        "state": neg.state.value,
        "terms": names[neg.terms.terms_id],
        "proposed_by": neg.proposed_by,
        "rounds": neg.rounds,
        "expires_ms": neg.expires_ms,
        "timer_token": neg.timer_token,
        "agreement_hex": neg.agreement.encoded.hex() if neg.agreement else None,
    }


@pytest.mark.parametrize("vector", **cases("negotiation"))
def test_negotiation_vector(vector: dict[str, Any]) -> None:
    nodes = {
        "person": Node("person", IDS["person"], Party.PERSON),
        "vendor": Node("vendor", IDS["vendor"], Party.VENDOR),
    }
    steps = vector["steps"]
    for index, spec in enumerate(steps):
        if "error" in vector and index == len(steps) - 1:
            with pytest.raises(AmityError) as info:
                _apply(nodes, spec)
            assert info.value.code == vector["error"], info.value
            return
        assert _apply(nodes, spec) == spec["effects"], (index, spec)
    for name, expected in vector["final"].items():
        neg = nodes[name].negotiation
        assert neg is not None
        record = _record(neg)
        if "previous_agreement_id_hex" in expected:
            assert neg.previous_agreement_id is not None
            record["previous_agreement_id_hex"] = neg.previous_agreement_id.hex()
        assert record == expected
        if neg.agreement is not None:
            assert Agreement.decode(neg.agreement.encoded) == neg.agreement


# -- the table -------------------------------------------------------------------------------------

PERSON, VENDOR = IDS["person"], IDS["vendor"]
NID = bytes(16)


def _pair(terms: str = "P2B1") -> tuple[Negotiation, Negotiation]:
    """The person's and the vendor's negotiation right after an offer arrived."""
    person, effects = open_negotiation(
        Offer(NID, DOCUMENTS[terms], DAY),
        T0,
        signer=PERSON,
        peer=VENDOR.peer_id,
        we_are=Party.PERSON,
    )
    send = next(e for e in effects if isinstance(e, SendMessage))
    vendor, _ = open_negotiation(
        received(decode_terms_body(send.type, send.body)),
        T0 + 1,
        signer=VENDOR,
        peer=PERSON.peer_id,
        we_are=Party.VENDOR,
    )
    return person, vendor


def _representatives() -> dict[str, tuple[Negotiation, SigningIdentity]]:
    person, vendor = _pair()
    countered, _ = step(vendor, Counter(DOCUMENTS["d7"], DAY), T0 + 2, signer=VENDOR)
    agreed, _ = step(vendor, Accept(), T0 + 2, signer=VENDOR)
    rejected, _ = step(vendor, Reject(), T0 + 2, signer=VENDOR)
    withdrawn, _ = step(person, Withdraw(), T0 + 2, signer=PERSON)
    expired, _ = step(person, TimerFired("deadline-1"), T0 + DAY, signer=PERSON)
    return {
        "offered-by-us": (person, PERSON),
        "offered-to-us": (vendor, VENDOR),
        "countered-by-us": (countered, VENDOR),
        "agreed": (agreed, VENDOR),
        "rejected": (rejected, VENDOR),
        "withdrawn": (withdrawn, PERSON),
        "expired": (expired, PERSON),
    }


REPRESENTATIVES = _representatives()


def _sample_events(neg: Negotiation) -> list[Event]:
    """One event of every type (remote ones as the peer would send them, where possible)."""
    terms = DOCUMENTS["d14"]
    return [
        Offer(NID, terms),
        Counter(terms),
        Accept(),
        Reject(),
        Withdraw(),
        TimerFired(neg.timer_token or "deadline-9"),
        *[
            received(decode_terms_body(v["type"], unhex(v, "body_hex")))
            for v in cases("body")["argvalues"]
            if "error" not in v and "amending" not in v["name"]
        ],
    ]


def test_representatives_cover_every_state() -> None:
    assert {neg.state for neg, _ in REPRESENTATIVES.values()} == set(NegotiationState)


@pytest.mark.parametrize("label", sorted(REPRESENTATIVES))
def test_every_state_event_pair(label: str) -> None:
    """A pair in the table leads where it says; any other pair is refused, by origin."""
    neg, signer = REPRESENTATIVES[label]
    events = _sample_events(neg)
    assert {type(e) for e in events} == set(EVENT_TYPES)
    for event in events:
        body = getattr(event, "body", None)
        if body is not None and body.negotiation_id != neg.negotiation_id:
            with pytest.raises(UsageError):
                step(neg, event, T0 + 3, signer=signer)
            continue
        transition = TRANSITIONS.get((neg.state, type(event)))
        if transition is None:
            refusal = StateError if type(event).local else NegotiationTransitionError
            with pytest.raises(AmityError) as info:
                step(neg, event, T0 + 3, signer=signer)
            assert type(info.value) is refusal, (label, event)
            continue
        with contextlib.suppress(AmityError):  # a condition inside the row
            new, _ = step(neg, event, T0 + 3, signer=signer)
            assert new.state in transition.targets


def test_terminal_states_only_absorb_or_agree() -> None:
    for (state, _event), transition in TRANSITIONS.items():
        if state not in OPEN_STATES:
            assert transition.targets <= {state, S.AGREED}


def test_step_checks_its_caller() -> None:
    neg, _ = REPRESENTATIVES["offered-to-us"]
    with pytest.raises(UsageError):
        step(neg, Accept(), T0, signer=PERSON)  # not this negotiation's party
    with pytest.raises(UsageError):
        step(neg, Accept(), -1, signer=VENDOR)
    with pytest.raises(UsageError):
        step(neg, Event(), T0, signer=VENDOR)
    with pytest.raises(UsageError):
        Counter(DOCUMENTS["d7"], ttl_ms=31 * DAY)
    with pytest.raises(StateError):
        open_negotiation(Accept(), T0, signer=VENDOR, peer=PERSON.peer_id, we_are=Party.VENDOR)  # type: ignore[arg-type]
    with pytest.raises(UsageError):  # countering with the terms on the table is accepting
        step(neg, Counter(neg.terms), T0 + 5, signer=VENDOR)
    with pytest.raises(StateError):  # past the deadline nobody may accept
        step(neg, Accept(), T0 + DAY, signer=VENDOR)


def test_auto_answer_waits_for_its_turn() -> None:
    policy = POLICIES["accept-all"]
    assert auto_answer(policy, REPRESENTATIVES["offered-by-us"][0]) is None
    assert auto_answer(policy, REPRESENTATIVES["agreed"][0]) is None
    assert auto_answer(POLICIES["bookshop"], REPRESENTATIVES["offered-to-us"][0]) == Counter(
        DOCUMENTS["P2B1-countered"]
    )


# -- properties ------------------------------------------------------------------------------------


def _negotiate(
    terms: TermsDocument, person_policy: Policy | None, vendor_policy: Policy
) -> tuple[Negotiation, Negotiation, int, list[str]]:
    """Run two nodes on automatic answers; a None answer waits for the deadline."""
    person, vendor = _pair_for(terms)
    sides = {"person": [person, PERSON], "vendor": [vendor, VENDOR]}
    policies = {"person": person_policy, "vendor": vendor_policy}
    turn, now, steps, answers = "vendor", T0 + 10, 0, []
    while True:
        neg, me = sides[turn]
        assert isinstance(neg, Negotiation) and isinstance(me, SigningIdentity)
        if neg.state not in OPEN_STATES:
            break
        policy = policies[turn]
        event = auto_answer(policy, neg) if policy is not None else Accept()
        if event is None:  # a person would decide; nobody does: the deadline passes
            for side in sides.values():
                n, signer = side
                assert isinstance(n, Negotiation) and isinstance(signer, SigningIdentity)
                side[0], _ = step(n, TimerFired(n.timer_token or ""), n.expires_ms, signer=signer)
            break
        answers.append(type(event).__name__)
        neg, effects = step(neg, event, now, signer=me)
        sides[turn][0] = neg
        other = "person" if turn == "vendor" else "vendor"
        for effect in effects:
            if isinstance(effect, SendMessage):
                peer_neg, peer_me = sides[other]
                assert isinstance(peer_neg, Negotiation) and isinstance(peer_me, SigningIdentity)
                body = decode_terms_body(effect.type, effect.body)
                sides[other][0], _ = step(peer_neg, received(body), now + 1, signer=peer_me)
        turn, now, steps = other, now + 1_000, steps + 1
    person_end, vendor_end = sides["person"][0], sides["vendor"][0]
    assert isinstance(person_end, Negotiation) and isinstance(vendor_end, Negotiation)
    return person_end, vendor_end, steps, answers


def _pair_for(terms: TermsDocument) -> tuple[Negotiation, Negotiation]:
    person, effects = open_negotiation(
        Offer(NID, terms, DAY), T0, signer=PERSON, peer=VENDOR.peer_id, we_are=Party.PERSON
    )
    send = next(e for e in effects if isinstance(e, SendMessage))
    vendor, _ = open_negotiation(
        received(decode_terms_body(send.type, send.body)),
        T0 + 1,
        signer=VENDOR,
        peer=PERSON.peer_id,
        we_are=Party.VENDOR,
    )
    return person, vendor


@settings(max_examples=60, deadline=None)
@given(terms_documents(), st.none() | policies(), policies())
def test_automatic_negotiation_ends_in_bounded_steps(
    terms: TermsDocument, person_policy: Policy | None, vendor_policy: Policy
) -> None:
    """For any terms and any policies, auto answers end the negotiation within the round limit;
    both sides end in the same state, and an agreement never holds a clause the vendor's
    policy rejects."""
    person, vendor, steps, _ = _negotiate(terms, person_policy, vendor_policy)
    assert steps <= MAX_ROUNDS
    assert person.state not in OPEN_STATES and vendor.state not in OPEN_STATES
    assert person.state == vendor.state
    assert person.rounds <= MAX_ROUNDS
    if person.state is S.AGREED:
        assert person.agreement is not None and vendor.agreement is not None
        assert person.agreement.encoded == vendor.agreement.encoded
        agreed = person.agreement.terms
        assert evaluate(vendor_policy, agreed).kind is DecisionKind.ACCEPT
        for clause in agreed.clauses:
            rule = vendor_policy.rule(clause.clause_id)
            assert (rule.action if rule else vendor_policy.default) is not RuleAction.REJECT


_BOOKSHOP_EVENTS = st.sampled_from(["Accept", "Counter", "Reject", "Withdraw", "Timer"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["person", "vendor"]), _BOOKSHOP_EVENTS), max_size=12))
def test_random_local_events(moves: list[tuple[str, str]]) -> None:
    """Whatever the owners do, only AmityError escapes and terminal states stay put (or agree)."""
    person, vendor = _pair()
    sides = {"person": (person, PERSON), "vendor": (vendor, VENDOR)}
    now = T0 + 10
    for who, move in moves:
        neg, me = sides[who]
        event: Event = {
            "Accept": Accept(),
            "Counter": Counter(DOCUMENTS["d21"] if who == "person" else DOCUMENTS["d28"]),
            "Reject": Reject(),
            "Withdraw": Withdraw(),
            "Timer": TimerFired(neg.timer_token or "deadline-0"),
        }[move]
        try:
            new, effects = step(neg, event, now, signer=me)
        except AmityError:
            continue
        if neg.state not in OPEN_STATES:
            assert new.state is neg.state and effects == []
        persists = [e for e in effects if isinstance(e, Persist)]
        assert not persists or persists == [effects[0]]
        sides[who] = (new, me)
        now += 1_000


def test_opposed_policies_hit_the_round_limit() -> None:
    """Each side counters the other's counter until six proposals are made; then the side
    whose turn it is can only reject."""
    head = 'version = 1\nvocabulary = 1\ndefault = "reject"\n[clause."amity.no-tracking"]\n'
    head += 'action = "accept"\n[clause."amity.delete-on-end"]\naction = "within"\n'
    person_policy = parse_policy(head + "days = { max = 7 }\n")
    vendor_policy = parse_policy(head + "days = { min = 30 }\n")
    person, vendor, steps, answers = _negotiate(DOCUMENTS["d14"], person_policy, vendor_policy)
    assert answers == ["Counter"] * 5 + ["Reject"]
    assert (person.state, vendor.state, person.rounds, steps) == (S.REJECTED, S.REJECTED, 6, 6)
    assert vendor.reasons == person.reasons
    assert person.reasons[0].clause_id == "amity.delete-on-end"
