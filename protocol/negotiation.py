"""The terms negotiation state machine: offer, counter, … accept | reject | withdraw | expire. Sans-IO.

``step(negotiation, event, now_ms, signer=…)`` returns the next negotiation and the effects the node
carries out in order, as in spec/relationship.md (persist, cancel timers, send, set timers,
notify). Every proposal carries the proposer's signature over the agreement it would become, so an
accept completes the agreement on both sides at once. :func:`auto_answer` asks a policy for the
next move. As in h11's ``_state.py``, the one transition table is :data:`TRANSITIONS`.
See spec/terms.md §7.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Final, Literal, TypeAlias

from amity.protocol.agreement import (
    Agreement,
    agreement_signed_bytes,
    sign_agreement,
    verify_agreement_signature,
)
from amity.protocol.errors import (
    DeadlineError,
    NegotiationTransitionError,
    RoundLimitError,
    StateError,
    TermsMismatchError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.policy import DecisionKind, Policy, evaluate
from amity.protocol.relationship import CancelTimer, Effect, Notify, SendMessage, SetTimer
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import (
    MAX_REJECT_REASONS,
    MSG_ACCEPT,
    MSG_COUNTER,
    MSG_OFFER,
    MSG_REJECT,
    MSG_WITHDRAW,
    AcceptBody,
    CounterBody,
    OfferBody,
    RejectBody,
    RejectReason,
    TermsBody,
    WithdrawBody,
    encode_terms_body,
)

__all__ = [
    "MAX_ROUNDS",
    "DEFAULT_TTL_MS",
    "MAX_TTL_MS",
    "MAX_CLOCK_SKEW_MS",
    "TIMER_DEADLINE",
    "NegotiationState",
    "OPEN_STATES",
    "Party",
    "Negotiation",
    "Event",
    "Offer",
    "Counter",
    "Accept",
    "Reject",
    "Withdraw",
    "TimerFired",
    "OfferReceived",
    "CounterReceived",
    "AcceptReceived",
    "RejectReceived",
    "WithdrawReceived",
    "EVENT_TYPES",
    "received",
    "Persist",
    "Step",
    "Transition",
    "TRANSITIONS",
    "open_negotiation",
    "step",
    "auto_answer",
]

#: Offers plus counters in one negotiation; the one after that is refused.
MAX_ROUNDS: Final = 6
DEFAULT_TTL_MS: Final = 7 * 86_400_000
MAX_TTL_MS: Final = 30 * 86_400_000
#: How far ahead of our clock a proposal's own time may be.
MAX_CLOCK_SKEW_MS: Final = 300_000
TIMER_DEADLINE: Final = "deadline"
_Side: TypeAlias = Literal["local", "peer"]


class NegotiationState(enum.Enum):
    """Where a negotiation stands; all but OFFERED and COUNTERED are terminal. See §7.1."""

    OFFERED = "offered"
    COUNTERED = "countered"
    AGREED = "agreed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


_S = NegotiationState
OPEN_STATES: Final = frozenset({_S.OFFERED, _S.COUNTERED})


class Party(enum.Enum):
    """Which party of the agreement a node is (the person proffers, IEEE 7012 style)."""

    PERSON = "person"
    VENDOR = "vendor"


@dataclass(frozen=True, slots=True)
class Negotiation:
    """One negotiation as the node stores it; only :func:`step` makes new ones. See §7.2."""

    negotiation_id: bytes
    we_are: Party
    person: PeerId
    vendor: PeerId
    state: NegotiationState
    #: The terms on the table (in a terminal state: the last ones, or the agreed ones).
    terms: TermsDocument
    proposed_by: _Side
    #: The proposer's time for the terms on the table; it becomes the agreement's ``agreed_ms``.
    proposed_ms: int
    #: The proposer's signature over the agreement those terms would become.
    proposal_sig: bytes = field(repr=False)
    expires_ms: int
    #: Offers plus counters so far (the opening offer is round 1).
    rounds: int
    created_ms: int
    since_ms: int
    previous_agreement_id: bytes | None = None
    #: The terms the current counter replaced (a withdraw of those may cross our counter).
    prior_terms_id: bytes | None = field(default=None, repr=False)
    agreement: Agreement | None = field(default=None, repr=False)
    reasons: tuple[RejectReason, ...] = ()
    timer_token: str | None = None
    timer_at_ms: int | None = None
    timers_armed: int = 0

    @property
    def peer(self) -> PeerId:
        return self.vendor if self.we_are is Party.PERSON else self.person

    @property
    def our_turn(self) -> bool:
        """Open, with the peer's terms on the table: ours to accept, counter or reject."""
        return self.state in OPEN_STATES and self.proposed_by == "peer"


# -- events (spec/terms.md §7.3) -------------------------------------------------------------------


class Event:
    """Base class of every input to :func:`step`. See spec/terms.md §7.3."""

    __slots__ = ()
    local: ClassVar[bool] = False


def _check_ttl(ttl_ms: int) -> None:
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or not 0 < ttl_ms <= MAX_TTL_MS:
        raise UsageError(f"ttl_ms is 1..{MAX_TTL_MS} ms (30 days)")


@dataclass(frozen=True, slots=True)
class Offer(Event):
    """Open a negotiation with ``terms``; ``negotiation_id`` is 16 random bytes from the caller."""

    local: ClassVar[bool] = True
    negotiation_id: bytes
    terms: TermsDocument
    ttl_ms: int = DEFAULT_TTL_MS
    previous_agreement_id: bytes | None = None

    def __post_init__(self) -> None:
        _check_ttl(self.ttl_ms)


@dataclass(frozen=True, slots=True)
class Counter(Event):
    """Answer the peer's terms with other ``terms``, open for ``ttl_ms``."""

    local: ClassVar[bool] = True
    terms: TermsDocument
    ttl_ms: int = DEFAULT_TTL_MS

    def __post_init__(self) -> None:
        _check_ttl(self.ttl_ms)


@dataclass(frozen=True, slots=True)
class Accept(Event):
    """Agree to the peer's terms on the table: signs and completes the agreement."""

    local: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Reject(Event):
    """Refuse the peer's terms on the table, ending the negotiation."""

    local: ClassVar[bool] = True
    reasons: tuple[RejectReason, ...] = ()

    def __post_init__(self) -> None:
        RejectBody(bytes(16), bytes(32), self.reasons)  # the same limits as the message


@dataclass(frozen=True, slots=True)
class Withdraw(Event):
    """Take back our own terms on the table, ending the negotiation."""

    local: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    """The timer a :class:`SetTimer` with ``token`` asked for has come due."""

    local: ClassVar[bool] = True
    token: str


@dataclass(frozen=True, slots=True)
class OfferReceived(Event):
    body: OfferBody


@dataclass(frozen=True, slots=True)
class CounterReceived(Event):
    body: CounterBody


@dataclass(frozen=True, slots=True)
class AcceptReceived(Event):
    body: AcceptBody


@dataclass(frozen=True, slots=True)
class RejectReceived(Event):
    body: RejectBody


@dataclass(frozen=True, slots=True)
class WithdrawReceived(Event):
    body: WithdrawBody


EVENT_TYPES: Final[tuple[type[Event], ...]] = (
    Offer,
    Counter,
    Accept,
    Reject,
    Withdraw,
    TimerFired,
    OfferReceived,
    CounterReceived,
    AcceptReceived,
    RejectReceived,
    WithdrawReceived,
)
_RECEIVED: Final[Mapping[type[Any], Callable[[Any], Event]]] = {
    OfferBody: OfferReceived,
    CounterBody: CounterReceived,
    AcceptBody: AcceptReceived,
    RejectBody: RejectReceived,
    WithdrawBody: WithdrawReceived,
}


def received(body: TermsBody) -> Event:
    """The remote event for a decoded ``terms.*`` body (from ``decode_terms_body``)."""
    return _RECEIVED[type(body)](body)


@dataclass(frozen=True, slots=True)
class Persist(Effect):
    """Store ``negotiation`` (and its agreement, if any) durably before the effects after it."""

    negotiation: Negotiation


# -- handlers --------------------------------------------------------------------------------------

Step: TypeAlias = tuple[Negotiation, list[Effect]]
_Handler: TypeAlias = Callable[[Negotiation, Any, int, SigningIdentity], Step]


def _arm(neg: Negotiation, at_ms: int) -> tuple[Negotiation, SetTimer]:
    count = neg.timers_armed + 1
    token = f"{TIMER_DEADLINE}-{count}"
    return replace(neg, timer_token=token, timer_at_ms=at_ms, timers_armed=count), SetTimer(
        at_ms, token
    )


def _disarm(neg: Negotiation) -> Step:
    if neg.timer_token is None:
        return neg, []
    return replace(neg, timer_token=None, timer_at_ms=None), [CancelTimer(neg.timer_token)]


def _enter(neg: Negotiation, state: NegotiationState, now_ms: int, **changes: Any) -> Negotiation:
    return replace(neg, state=state, since_ms=now_ms, **changes)


def _signed(neg: Negotiation, terms: TermsDocument, proposed_ms: int) -> bytes:
    return agreement_signed_bytes(terms, neg.person, neg.vendor, neg.negotiation_id, proposed_ms)


def _send(neg: Negotiation, message_type: str, body: TermsBody) -> SendMessage:
    return SendMessage(neg.peer, message_type, encode_terms_body(body))


def _refuse(neg: Negotiation, why: str) -> NegotiationTransitionError:
    return NegotiationTransitionError(
        f"{why} (negotiation {neg.negotiation_id.hex()[:8]}, {neg.state.value}); drop the message",
        hint=NegotiationTransitionError.code,
    )


def _check_times(offered_ms: int, expires_ms: int, now_ms: int) -> None:
    problem = None
    if offered_ms > now_ms + MAX_CLOCK_SKEW_MS:
        problem = f"is dated {format_time_ms(offered_ms)}, ahead of our clock; check its clock"
    elif expires_ms <= now_ms:
        problem = f"expired at {format_time_ms(expires_ms)} before it arrived; offer again"
    elif not 0 < expires_ms - offered_ms <= MAX_TTL_MS:
        problem = "stays open for more than 30 days (or none); offer a shorter deadline"
    if problem is not None:
        raise DeadlineError(f"the proposal {problem}", hint=DeadlineError.code)


def _my_turn(neg: Negotiation, now_ms: int, what: str) -> None:
    if neg.proposed_by != "peer":
        raise StateError(f"the terms on the table are our own: we cannot {what} them; withdraw")
    if what in ("accept", "counter") and now_ms >= neg.expires_ms:
        raise StateError(f"the peer's terms expired at {format_time_ms(neg.expires_ms)}")


def _propose(
    neg: Negotiation, terms: TermsDocument, ttl_ms: int, now_ms: int, me: SigningIdentity
) -> Negotiation:
    sig = sign_agreement(me, _signed(neg, terms, now_ms))
    return replace(
        neg,
        terms=terms,
        proposed_by="local",
        proposed_ms=now_ms,
        proposal_sig=sig,
        expires_ms=now_ms + ttl_ms,
    )


def _counter(neg: Negotiation, event: Counter, now_ms: int, me: SigningIdentity) -> Step:
    _my_turn(neg, now_ms, "counter")
    if neg.rounds >= MAX_ROUNDS:
        raise StateError(f"{MAX_ROUNDS} offers and counters made: accept or reject these terms")
    if event.terms.terms_id == neg.terms.terms_id:
        raise UsageError("a counter with the same terms is an accept: use Accept")
    prior = neg.terms.terms_id
    neg, effects = _disarm(neg)
    neg = _propose(neg, event.terms, event.ttl_ms, now_ms, me)
    neg = _enter(neg, _S.COUNTERED, now_ms, rounds=neg.rounds + 1, prior_terms_id=prior)
    body = CounterBody(
        neg.negotiation_id, neg.rounds, neg.terms, now_ms, neg.expires_ms, neg.proposal_sig
    )
    neg, timer = _arm(neg, neg.expires_ms)
    return neg, [*effects, _send(neg, MSG_COUNTER, body), timer]


def _counter_received(
    neg: Negotiation, event: CounterReceived, now_ms: int, me: SigningIdentity
) -> Step:
    body = event.body
    if neg.proposed_by != "local":
        raise _refuse(neg, "a counter to the peer's own terms")
    if body.round != neg.rounds + 1:
        raise _refuse(neg, f"a counter for round {body.round}; the next round is {neg.rounds + 1}")
    if body.round > MAX_ROUNDS:
        raise RoundLimitError(
            f"round {body.round}: at most {MAX_ROUNDS} offers and counters; accept or reject",
            hint=RoundLimitError.code,
        )
    _check_times(body.offered_ms, body.expires_ms, now_ms)
    verify_agreement_signature(
        neg.peer,
        _signed(neg, body.terms, body.offered_ms),
        body.signature,
        what="the counter's signature",
    )
    prior = neg.terms.terms_id
    neg, effects = _disarm(neg)
    neg = _enter(
        neg,
        _S.COUNTERED,
        now_ms,
        terms=body.terms,
        proposed_by="peer",
        proposed_ms=body.offered_ms,
        proposal_sig=body.signature,
        expires_ms=body.expires_ms,
        rounds=body.round,
        prior_terms_id=prior,
    )
    neg, timer = _arm(neg, neg.expires_ms)
    return neg, [*effects, timer, Notify("countered", neg.terms.terms_id.hex())]


def _agree(neg: Negotiation, ours: bytes, theirs: bytes, now_ms: int) -> Negotiation:
    signed = _signed(neg, neg.terms, neg.proposed_ms)
    mine, peers = (ours, theirs) if neg.we_are is Party.PERSON else (theirs, ours)
    agreement = Agreement.assemble(signed, mine, peers)
    return _enter(neg, _S.AGREED, now_ms, agreement=agreement, timer_token=None, timer_at_ms=None)


def _accept(neg: Negotiation, event: Accept, now_ms: int, me: SigningIdentity) -> Step:
    _my_turn(neg, now_ms, "accept")
    ours = sign_agreement(me, _signed(neg, neg.terms, neg.proposed_ms))
    neg, effects = _disarm(neg)
    neg = _agree(neg, ours, neg.proposal_sig, now_ms)
    send = _send(neg, MSG_ACCEPT, AcceptBody(neg.negotiation_id, neg.terms.terms_id, ours))
    assert neg.agreement is not None
    return neg, [*effects, send, Notify("agreed", neg.agreement.agreement_id.hex())]


def _accepted(neg: Negotiation, event: AcceptReceived, now_ms: int, me: SigningIdentity) -> Step:
    if neg.proposed_by != "local":
        raise _refuse(neg, "an accept of the peer's own terms")
    if event.body.terms_id != neg.terms.terms_id:
        raise TermsMismatchError(
            f"accept of terms {event.body.terms_id.hex()[:16]}…; ours are "
            f"{neg.terms.terms_id.hex()[:16]}…",
            hint=TermsMismatchError.code,
        )
    verify_agreement_signature(
        neg.peer,
        _signed(neg, neg.terms, neg.proposed_ms),
        event.body.signature,
        what="the accept's signature",
    )
    late = neg.state not in OPEN_STATES
    neg, effects = _disarm(neg)
    neg = _agree(neg, neg.proposal_sig, event.body.signature, now_ms)
    assert neg.agreement is not None
    return neg, [
        *effects,
        Notify("agreed-late" if late else "agreed", neg.agreement.agreement_id.hex()),
    ]


def _reject(neg: Negotiation, event: Reject, now_ms: int, me: SigningIdentity) -> Step:
    _my_turn(neg, now_ms, "reject")
    neg, effects = _disarm(neg)
    neg = _enter(neg, _S.REJECTED, now_ms, reasons=event.reasons)
    body = RejectBody(neg.negotiation_id, neg.terms.terms_id, event.reasons)
    return neg, [*effects, _send(neg, MSG_REJECT, body)]


def _rejected(neg: Negotiation, event: RejectReceived, now_ms: int, me: SigningIdentity) -> Step:
    if neg.proposed_by != "local":
        raise _refuse(neg, "a reject of the peer's own terms")
    if event.body.terms_id != neg.terms.terms_id:
        raise TermsMismatchError(
            "the reject names other terms than ours", hint=TermsMismatchError.code
        )
    neg, effects = _disarm(neg)
    neg = _enter(neg, _S.REJECTED, now_ms, reasons=event.body.reasons)
    detail = "; ".join(f"{r.clause_id or 'terms'}: {r.reason}" for r in neg.reasons)
    return neg, [*effects, Notify("rejected", detail)]


def _withdraw(neg: Negotiation, event: Withdraw, now_ms: int, me: SigningIdentity) -> Step:
    if neg.proposed_by != "local":
        raise StateError("the terms on the table are the peer's: reject them instead")
    neg, effects = _disarm(neg)
    neg = _enter(neg, _S.WITHDRAWN, now_ms)
    body = WithdrawBody(neg.negotiation_id, neg.terms.terms_id)
    return neg, [*effects, _send(neg, MSG_WITHDRAW, body)]


def _withdrawn(neg: Negotiation, event: WithdrawReceived, now_ms: int, me: SigningIdentity) -> Step:
    if neg.proposed_by == "local" and (
        neg.prior_terms_id is None or event.body.terms_id != neg.prior_terms_id
    ):  # our terms on the table: the peer can only have withdrawn the ones our counter answered
        raise _refuse(neg, "a withdraw of terms the peer did not propose")
    if neg.proposed_by == "peer" and event.body.terms_id != neg.terms.terms_id:
        raise TermsMismatchError(
            "the withdraw names other terms than the peer's on the table",
            hint=TermsMismatchError.code,
        )
    neg, effects = _disarm(neg)
    neg = _enter(neg, _S.WITHDRAWN, now_ms)
    return neg, [*effects, Notify("withdrawn", event.body.terms_id.hex())]


def _timer_fired(neg: Negotiation, event: TimerFired, now_ms: int, me: SigningIdentity) -> Step:
    if event.token != neg.timer_token:  # cancelled or superseded: it lost a race
        return neg, []
    neg = _enter(neg, _S.EXPIRED, now_ms, timer_token=None, timer_at_ms=None)
    return neg, [Notify("expired", neg.terms.terms_id.hex())]


def _ignore(neg: Negotiation, event: Event, now_ms: int, me: SigningIdentity) -> Step:
    return neg, []


# -- the table (spec/terms.md §7.4) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: the handler for an event, and the states it may lead to."""

    handler: _Handler
    targets: frozenset[NegotiationState]


def _to(handler: _Handler, *targets: NegotiationState) -> Transition:
    return Transition(handler, frozenset(targets))


_OPEN_ROWS: Final[Mapping[type[Event], Transition]] = {
    Counter: _to(_counter, _S.COUNTERED),
    Accept: _to(_accept, _S.AGREED),
    Reject: _to(_reject, _S.REJECTED),
    Withdraw: _to(_withdraw, _S.WITHDRAWN),
    TimerFired: _to(_timer_fired, _S.OFFERED, _S.COUNTERED, _S.EXPIRED),
    CounterReceived: _to(_counter_received, _S.COUNTERED),
    AcceptReceived: _to(_accepted, _S.AGREED),
    RejectReceived: _to(_rejected, _S.REJECTED),
    WithdrawReceived: _to(_withdrawn, _S.WITHDRAWN),
}

#: (state, event type) -> transition. A missing pair is refused: StateError for a local event,
#: NegotiationTransitionError for a peer's. Terminal rows only absorb messages that crossed ours.
TRANSITIONS: Final[Mapping[tuple[NegotiationState, type[Event]], Transition]] = {
    **{(state, event): row for state in OPEN_STATES for event, row in _OPEN_ROWS.items()},
    (_S.AGREED, AcceptReceived): _to(_ignore, _S.AGREED),
    (_S.AGREED, WithdrawReceived): _to(_ignore, _S.AGREED),
    (_S.AGREED, TimerFired): _to(_ignore, _S.AGREED),
    (_S.REJECTED, WithdrawReceived): _to(_ignore, _S.REJECTED),
    (_S.REJECTED, TimerFired): _to(_ignore, _S.REJECTED),
    (_S.WITHDRAWN, AcceptReceived): _to(_accepted, _S.AGREED),
    (_S.WITHDRAWN, CounterReceived): _to(_ignore, _S.WITHDRAWN),
    (_S.WITHDRAWN, RejectReceived): _to(_ignore, _S.WITHDRAWN),
    (_S.WITHDRAWN, TimerFired): _to(_ignore, _S.WITHDRAWN),
    (_S.EXPIRED, AcceptReceived): _to(_accepted, _S.AGREED),
    (_S.EXPIRED, CounterReceived): _to(_ignore, _S.EXPIRED),
    (_S.EXPIRED, RejectReceived): _to(_ignore, _S.EXPIRED),
    (_S.EXPIRED, WithdrawReceived): _to(_ignore, _S.EXPIRED),
    (_S.EXPIRED, TimerFired): _to(_ignore, _S.EXPIRED),
}


def _check_call(now_ms: int, signer: SigningIdentity) -> None:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or now_ms < 0:
        raise UsageError("now_ms is an int of milliseconds since the epoch")
    if not isinstance(signer, SigningIdentity):
        raise UsageError("signer is this node's SigningIdentity")


def open_negotiation(
    event: Offer | OfferReceived,
    now_ms: int,
    *,
    signer: SigningIdentity,
    peer: PeerId,
    we_are: Party,
) -> Step:
    """Start a negotiation with ``peer`` from our Offer or the peer's. See spec/terms.md §7.4."""
    _check_call(now_ms, signer)
    if signer.peer_id == peer:
        raise UsageError("a negotiation is with another node")
    us_person = we_are is Party.PERSON
    person, vendor = (signer.peer_id, peer) if us_person else (peer, signer.peer_id)
    by: _Side
    if isinstance(event, Offer):
        nid, terms, previous = event.negotiation_id, event.terms, event.previous_agreement_id
        by, proposed_ms, sig, expires_ms = "local", now_ms, b"", now_ms
    elif isinstance(event, OfferReceived):
        b = event.body
        _check_times(b.offered_ms, b.expires_ms, now_ms)
        nid, terms, previous = b.negotiation_id, b.terms, b.previous_agreement_id
        by, proposed_ms, sig, expires_ms = "peer", b.offered_ms, b.signature, b.expires_ms
    else:
        raise StateError(f"{type(event).__name__} does not start a negotiation; an offer does")
    neg = Negotiation(
        negotiation_id=nid,
        we_are=we_are,
        person=person,
        vendor=vendor,
        state=_S.OFFERED,
        terms=terms,
        proposed_by=by,
        proposed_ms=proposed_ms,
        proposal_sig=sig,
        expires_ms=expires_ms,
        rounds=1,
        created_ms=now_ms,
        since_ms=now_ms,
        previous_agreement_id=previous,
    )
    if isinstance(event, Offer):
        neg = _propose(neg, terms, event.ttl_ms, now_ms, signer)
        body = OfferBody(nid, terms, now_ms, neg.expires_ms, neg.proposal_sig, previous)
        neg, timer = _arm(neg, neg.expires_ms)
        return neg, [Persist(neg), _send(neg, MSG_OFFER, body), timer]
    signed = _signed(neg, terms, proposed_ms)
    verify_agreement_signature(peer, signed, sig, what="the offer's signature")
    neg, timer = _arm(neg, neg.expires_ms)
    return neg, [Persist(neg), timer, Notify("offered", terms.terms_id.hex())]


def step(neg: Negotiation, event: Event, now_ms: int, *, signer: SigningIdentity) -> Step:
    """Apply one event at ``now_ms``; ``signer`` is this node's identity. See spec/terms.md §7.4."""
    _check_call(now_ms, signer)
    if not isinstance(neg, Negotiation) or type(event) not in EVENT_TYPES:
        raise UsageError("step() takes a Negotiation and one of the EVENT_TYPES")
    ours = neg.person if neg.we_are is Party.PERSON else neg.vendor
    if signer.peer_id != ours:
        raise UsageError("signer is not this negotiation's own party")
    body = getattr(event, "body", None)
    if body is not None and body.negotiation_id != neg.negotiation_id:
        raise UsageError("route terms messages by their negotiation id")
    transition = TRANSITIONS.get((neg.state, type(event)))
    if transition is None:
        name = type(event).__name__
        if type(event).local:
            raise StateError(f"{name} is not allowed while the negotiation is {neg.state.value}")
        raise _refuse(neg, f"{name} is out of place")
    new, effects = transition.handler(neg, event, now_ms, signer)
    assert new.state in transition.targets, f"{transition.handler.__name__} left the table"
    if new != neg:
        effects.insert(0, Persist(new))
    return new, effects


def auto_answer(policy: Policy, negotiation: Negotiation) -> Event | None:
    """The policy's answer to the peer's terms on the table, or None: a person decides. See §6."""
    if not negotiation.our_turn:
        return None
    decision = evaluate(policy, negotiation.terms)
    if decision.kind is DecisionKind.ACCEPT:
        return Accept()
    if decision.kind is DecisionKind.REJECT:
        return Reject(decision.reasons[:MAX_REJECT_REASONS])
    if decision.kind is DecisionKind.ASK_HUMAN:
        return None
    assert decision.counter is not None
    if negotiation.rounds < MAX_ROUNDS:
        return Counter(decision.counter)
    why = f"outside the policy, and all {MAX_ROUNDS} rounds are used"
    return Reject(tuple(RejectReason(c, why) for c in decision.countered[:MAX_REJECT_REASONS]))
