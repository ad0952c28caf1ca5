"""The relationship state machine: this node and one peer, from invitation to end. Sans-IO.

``step(relationship, event, now_ms)`` returns the next relationship and the effects the caller
must carry out, in order (persist, cancel timers, send, set timers, notify). As in h11's
``_state.py``, every rule that moves the machine lives here: the handlers, the timers and the one
transition table, :data:`TRANSITIONS`; the record and its states are in
:mod:`~amity.protocol.relstate`, the events and effects in :mod:`~amity.protocol.relevents`
(both re-exported here). Signing, sequence numbers and nonces are the node's job: a
:class:`SendMessage` names a type and a body, and the node wraps it in an envelope.
See spec/relationship.md.
"""

from __future__ import annotations

import hmac
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, TypeAlias

from amity.protocol.card import Card
from amity.protocol.errors import (
    IllegalTransitionError,
    SessionIdentityError,
    StateError,
    UsageError,
)
from amity.protocol.identity import PeerId
from amity.protocol.relevents import (
    EVENT_TYPES,
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
    SendMessage,
    SetTimer,
    TimerFired,
)
from amity.protocol.relmessages import (
    MSG_END,
    MSG_HELLO,
    EndBody,
    HelloBody,
    encode_end,
    encode_hello,
)
from amity.protocol.relstate import (
    CONNECT_TIMEOUT_MS,
    REASON_INVITATION_EXPIRED,
    TIMER_CONNECT,
    TIMER_INVITATION,
    EndedBy,
    Relationship,
    RelationshipState,
    Role,
)

__all__ = [
    "CONNECT_TIMEOUT_MS",
    "REASON_INVITATION_EXPIRED",
    "TIMER_INVITATION",
    "TIMER_CONNECT",
    "RelationshipState",
    "Role",
    "EndedBy",
    "Relationship",
    "Event",
    "InvitationIssued",
    "InvitationReceived",
    "InvitationAccepted",
    "HandshakeCompleted",
    "HelloReceived",
    "MessageSeen",
    "LocalEnd",
    "CardChanged",
    "PeerEnded",
    "TimerFired",
    "EVENT_TYPES",
    "Effect",
    "SendMessage",
    "Persist",
    "Notify",
    "SetTimer",
    "CancelTimer",
    "Step",
    "Transition",
    "TRANSITIONS",
    "OPENERS",
    "TIMER_ACTIONS",
    "open_relationship",
    "step",
]

# -- handlers: one per kind of transition; the table below says which applies when ---------------

Step: TypeAlias = tuple[Relationship, list[Effect]]
_S = RelationshipState


#: Relationship's fields in the order its __init__ takes them.
_FIELD_NAMES: Final = tuple(f.name for f in fields(Relationship))
_FIELD_INDEX: Final = {name: index for index, name in enumerate(_FIELD_NAMES)}
_ALL_FIELDS: Final = operator.attrgetter(*_FIELD_NAMES)


def _evolve(rel: Relationship, **changes: Any) -> Relationship:
    """``dataclasses.replace(rel, **changes)`` at half the cost: every message seen makes one."""
    values = list(_ALL_FIELDS(rel))
    for name, value in changes.items():
        values[_FIELD_INDEX[name]] = value
    return Relationship(*values)


def _enter(
    rel: Relationship, state: RelationshipState, now_ms: int, **changes: Any
) -> Relationship:
    since_ms = rel.since_ms if state is rel.state else now_ms
    return _evolve(rel, state=state, since_ms=since_ms, **changes)


def _arm(rel: Relationship, kind: str, at_ms: int) -> tuple[Relationship, SetTimer]:
    count = rel.timers_armed + 1
    token = f"{kind}-{count}"
    return _evolve(rel, timer_token=token, timer_at_ms=at_ms, timers_armed=count), SetTimer(
        at_ms, token
    )


def _disarm(rel: Relationship) -> Step:
    if rel.timer_token is None:
        return rel, []
    return _evolve(rel, timer_token=None, timer_at_ms=None), [CancelTimer(rel.timer_token)]


def _bound_peer(rel: Relationship, peer: PeerId) -> PeerId:
    if rel.peer is not None and rel.peer != peer:
        raise SessionIdentityError(
            f"this relationship is with {rel.peer.short}, but the session proved "
            f"{peer.short}; route the session to that peer's relationship or close it"
        )
    return peer


def _hello(
    event: HandshakeCompleted | CardChanged, peer: PeerId, secret: bytes | None
) -> SendMessage:
    body = HelloBody(event.own_card, secret, event.ticket)
    return SendMessage(peer, MSG_HELLO, encode_hello(body))


def _issue(event: InvitationIssued, now_ms: int) -> Step:
    if event.invitation.not_after_ms <= now_ms:
        raise UsageError("this invitation card has already expired; issue a fresh one")
    return _open(Role.INVITER, event.invitation, now_ms)


def _receive(event: InvitationReceived, now_ms: int) -> Step:
    event.invitation.check_valid(now_ms)  # expired: CardExpiredError, "ask for a new invitation"
    return _open(Role.INVITEE, event.invitation, now_ms)


def _open(role: Role, card: Card, now_ms: int) -> Step:
    assert card.invite_secret is not None  # checked by the event
    invitee = role is Role.INVITEE
    rel = Relationship(
        role=role,
        state=_S.INVITED,
        peer=card.peer_id if invitee else None,
        invite_secret=card.invite_secret,
        invite_expires_ms=card.not_after_ms,
        created_ms=now_ms,
        since_ms=now_ms,
        peer_card=card if invitee else None,
    )
    rel, timer = _arm(rel, TIMER_INVITATION, card.not_after_ms)
    return rel, [timer]


def _dial(rel: Relationship, event: InvitationAccepted, now_ms: int) -> Step:
    if rel.role is Role.INVITER:
        raise StateError("we issued this invitation: the invitee dials us, not the other way")
    rel, effects = _disarm(rel)
    rel, timer = _arm(
        _enter(rel, _S.CONNECTING, now_ms), TIMER_CONNECT, now_ms + CONNECT_TIMEOUT_MS
    )
    return rel, [*effects, timer]


def _dialled_in(rel: Relationship, event: HandshakeCompleted, now_ms: int) -> Step:
    peer = _bound_peer(rel, event.peer)
    rel, effects = _disarm(rel)
    rel = _enter(rel, _S.CONNECTING, now_ms, peer=peer, handshake_done=True, last_seen_ms=now_ms)
    rel, timer = _arm(rel, TIMER_CONNECT, now_ms + CONNECT_TIMEOUT_MS)
    secret = rel.invite_secret if rel.role is Role.INVITEE else None
    return rel, [*effects, _hello(event, peer, secret), timer]


def _handshake_done(rel: Relationship, event: HandshakeCompleted, now_ms: int) -> Step:
    peer = _bound_peer(rel, event.peer)
    rel = _evolve(rel, peer=peer, handshake_done=True, last_seen_ms=now_ms)
    secret = rel.invite_secret if rel.role is Role.INVITEE else None
    return rel, [_hello(event, peer, secret)]


def _check_hello(rel: Relationship, event: HelloReceived, now_ms: int, *, first: bool) -> PeerId:
    if rel.peer is None or not rel.handshake_done:
        raise IllegalTransitionError(
            "rel.hello arrived before the session handshake completed; close the session",
            hint=IllegalTransitionError.code,
        )
    if event.card.peer_id != rel.peer:
        raise SessionIdentityError(
            f"rel.hello from {rel.peer.short} carries the card of {event.card.peer_id.short}"
        )
    event.card.check_valid(now_ms)
    secret = event.invite_secret
    if secret is None and first and rel.role is Role.INVITER:
        raise IllegalTransitionError(
            f"the first rel.hello from {rel.peer.short} must present the invitation secret",
            hint=IllegalTransitionError.code,
        )
    if secret is not None and not hmac.compare_digest(secret, rel.invite_secret):
        raise IllegalTransitionError(  # no hint: a wrong secret may be someone guessing
            f"rel.hello from {rel.peer.short} presents another invitation's secret"
        )
    return rel.peer


def _first_hello(rel: Relationship, event: HelloReceived, now_ms: int) -> Step:
    peer = _check_hello(rel, event, now_ms, first=True)
    rel, effects = _disarm(rel)
    rel = _enter(rel, _S.CONNECTED, now_ms, peer_card=event.card, last_seen_ms=now_ms)
    return rel, [*effects, Notify("connected", peer.did)]


def _hello_again(rel: Relationship, event: HelloReceived, now_ms: int) -> Step:
    peer = _check_hello(rel, event, now_ms, first=False)
    changed = rel.peer_card != event.card
    rel = _evolve(rel, peer_card=event.card, last_seen_ms=now_ms)
    return rel, [Notify("card-updated", peer.did)] if changed else []


def _handshake_again(rel: Relationship, event: HandshakeCompleted, now_ms: int) -> Step:
    peer = _bound_peer(rel, event.peer)
    return _evolve(rel, last_seen_ms=now_ms), [_hello(event, peer, None)]


def _announce(rel: Relationship, event: CardChanged, now_ms: int) -> Step:
    assert rel.peer is not None  # CONNECTED
    return rel, [_hello(event, rel.peer, None)]


def _seen(rel: Relationship, event: MessageSeen, now_ms: int) -> Step:
    if rel.last_seen_ms == now_ms:  # a burst of messages in one ms: nothing new to say
        return rel, []
    return _evolve(rel, last_seen_ms=now_ms), []


def _end_locally(rel: Relationship, event: LocalEnd, now_ms: int) -> Step:
    rel, effects = _disarm(rel)
    if rel.peer is not None and rel.handshake_done:  # the peer knows us: tell it
        body = encode_end(EndBody(event.reason, now_ms))
        effects.append(SendMessage(rel.peer, MSG_END, body))
    rel = _enter(rel, _S.ENDED, now_ms, ended_reason=event.reason, ended_by="local")
    return rel, [*effects, Notify("ended", event.reason)]


def _end_by_peer(rel: Relationship, event: PeerEnded, now_ms: int) -> Step:
    if not rel.handshake_done:
        raise IllegalTransitionError(
            "rel.end arrived before any session with this peer completed",
            hint=IllegalTransitionError.code,
        )
    rel, effects = _disarm(rel)
    rel = _enter(
        rel, _S.ENDED, now_ms, ended_reason=event.reason, ended_by="peer", last_seen_ms=now_ms
    )
    return rel, [*effects, Notify("ended", event.reason)]


def _ignore(rel: Relationship, event: Event, now_ms: int) -> Step:
    return rel, []


def _timer_fired(rel: Relationship, event: TimerFired, now_ms: int) -> Step:
    if event.token != rel.timer_token:  # cancelled or superseded: it lost a race, nothing to do
        return rel, []
    kind = event.token.rpartition("-")[0]
    return TIMER_ACTIONS[kind](_evolve(rel, timer_token=None, timer_at_ms=None), now_ms)


def _invitation_expired(rel: Relationship, now_ms: int) -> Step:
    reason = REASON_INVITATION_EXPIRED
    rel = _enter(rel, _S.ENDED, now_ms, ended_reason=reason, ended_by="timer")
    return rel, [Notify("ended", reason)]


def _connect_timed_out(rel: Relationship, now_ms: int) -> Step:
    if now_ms >= rel.invite_expires_ms:
        return _invitation_expired(rel, now_ms)
    # An invitee keeps the inviter; an inviter reopens its invitation to whoever holds it.
    peer = rel.peer if rel.role is Role.INVITEE else None
    rel = _enter(rel, _S.INVITED, now_ms, peer=peer, handshake_done=False)
    rel, timer = _arm(rel, TIMER_INVITATION, rel.invite_expires_ms)
    detail = f"no rel.hello within {CONNECT_TIMEOUT_MS} ms; the invitation is still open"
    return rel, [timer, Notify("connect-failed", detail)]


# -- the table: everything that moves a relationship (spec/relationship.md §5) --------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: the handler for an event, and the states it may lead to."""

    handler: Callable[[Relationship, Any, int], Step]
    targets: frozenset[RelationshipState]


def _to(handler: Callable[[Relationship, Any, int], Step], *targets: _S) -> Transition:
    return Transition(handler, frozenset(targets))


#: (state, event type) -> transition. A pair that is missing is refused: StateError for a local
#: event, IllegalTransitionError for one the peer caused. AGREED and ACTIVE will repeat the
#: CONNECTED rows (with themselves as target) and add the terms events.
TRANSITIONS: Final[Mapping[tuple[RelationshipState, type[Event]], Transition]] = {
    (_S.INVITED, InvitationAccepted): _to(_dial, _S.CONNECTING),
    (_S.INVITED, HandshakeCompleted): _to(_dialled_in, _S.CONNECTING),
    (_S.INVITED, LocalEnd): _to(_end_locally, _S.ENDED),
    (_S.INVITED, TimerFired): _to(_timer_fired, _S.INVITED, _S.ENDED),
    (_S.CONNECTING, HandshakeCompleted): _to(_handshake_done, _S.CONNECTING),
    (_S.CONNECTING, HelloReceived): _to(_first_hello, _S.CONNECTED),
    (_S.CONNECTING, PeerEnded): _to(_end_by_peer, _S.ENDED),
    (_S.CONNECTING, LocalEnd): _to(_end_locally, _S.ENDED),
    (_S.CONNECTING, TimerFired): _to(_timer_fired, _S.CONNECTING, _S.INVITED, _S.ENDED),
    (_S.CONNECTED, HandshakeCompleted): _to(_handshake_again, _S.CONNECTED),
    (_S.CONNECTED, HelloReceived): _to(_hello_again, _S.CONNECTED),
    (_S.CONNECTED, MessageSeen): _to(_seen, _S.CONNECTED),
    (_S.CONNECTED, CardChanged): _to(_announce, _S.CONNECTED),
    (_S.CONNECTED, PeerEnded): _to(_end_by_peer, _S.ENDED),
    (_S.CONNECTED, LocalEnd): _to(_end_locally, _S.ENDED),
    (_S.CONNECTED, TimerFired): _to(_timer_fired, _S.CONNECTED),
    (_S.ENDED, PeerEnded): _to(_ignore, _S.ENDED),
    (_S.ENDED, LocalEnd): _to(_ignore, _S.ENDED),
    (_S.ENDED, TimerFired): _to(_ignore, _S.ENDED),
    (_S.INVITED, CardChanged): _to(_ignore, _S.INVITED),
    (_S.CONNECTING, CardChanged): _to(_ignore, _S.CONNECTING),
    (_S.ENDED, CardChanged): _to(_ignore, _S.ENDED),
}

#: Event types that start a relationship (no state yet), for :func:`open_relationship`.
OPENERS: Final[Mapping[type[Event], Callable[[Any, int], Step]]] = {
    InvitationIssued: _issue,
    InvitationReceived: _receive,
}

#: What a due timer does, by the kind its token names (``invitation-1`` -> ``invitation``).
TIMER_ACTIONS: Final[Mapping[str, Callable[[Relationship, int], Step]]] = {
    TIMER_INVITATION: _invitation_expired,
    TIMER_CONNECT: _connect_timed_out,
}


def open_relationship(event: Event, now_ms: int) -> Step:
    """Start a relationship from InvitationIssued or InvitationReceived. See §5."""
    _check_now(now_ms)
    opener = OPENERS.get(type(event))
    if opener is None:
        raise StateError(
            f"{type(event).__name__} does not start a relationship; "
            "start one with InvitationIssued or InvitationReceived"
        )
    rel, effects = opener(event, now_ms)
    return rel, [Persist(rel), *effects]


def step(rel: Relationship, event: Event, now_ms: int) -> Step:
    """Apply one event at ``now_ms``: the next relationship and the effects, in order. See §5."""
    _check_now(now_ms)
    if not isinstance(rel, Relationship) or type(event) not in EVENT_TYPES:
        raise UsageError("step() takes a Relationship and one of the EVENT_TYPES")
    transition = TRANSITIONS.get((rel.state, type(event)))
    if transition is None:
        raise _refusal(rel, event)
    new, effects = transition.handler(rel, event, now_ms)
    assert new.state in transition.targets, f"{transition.handler.__name__} left the table"
    # Persist whenever anything but the advisory last_seen_ms changed, before any other effect.
    if new is not rel and _persisted_change(new, rel):
        effects.insert(0, Persist(new))
    return new, effects


#: Every field but the advisory last_seen_ms: a change to any of them is persisted.
_PERSISTED_FIELDS: Final = operator.attrgetter(
    *(name for name in _FIELD_NAMES if name != "last_seen_ms")
)


def _persisted_change(new: Relationship, old: Relationship) -> bool:
    # One tuple comparison (identity first, then ==, field by field): every message seen
    # comes through here.
    return bool(_PERSISTED_FIELDS(new) != _PERSISTED_FIELDS(old))


def _refusal(rel: Relationship, event: Event) -> StateError | IllegalTransitionError:
    name = type(event).__name__
    if type(event).local:
        return StateError(f"{name} is not allowed while the relationship is {rel.state.value}")
    who = rel.peer.short if rel.peer is not None else "an unknown peer"
    if rel.state is _S.ENDED:
        what = f"the relationship ended ({rel.ended_reason}); drop it and close the session"
    else:
        what = f"the relationship is {rel.state.value}; drop it"
    return IllegalTransitionError(
        f"{name} from {who} is out of place: {what}", hint=IllegalTransitionError.code
    )


def _check_now(now_ms: int) -> None:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or now_ms < 0:
        raise UsageError("now_ms is an int of milliseconds since the epoch")
