"""The terms service's rules: what a peer's ``terms.*`` message means, what the owner's policy
answers, whether the owner's own move may be made, and what a deadline does. See spec/terms.md §13.

Messages are routed by negotiation id to the negotiation *with their sender*; an offer opens one.
The owner's policy (or, before it, the reputation cut-off) answers the peer's terms at once, in
the same commit as the message (§13.3). Each function takes the time and returns effects
(:mod:`amity.protocol.core.terms.effects`, with the negotiation machine's ``Persist`` and
``SendMessage``) for the driver to carry out; an input to refuse raises an AmityError.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from amity.protocol.card import NodeKind
from amity.protocol.core.terms.effects import (
    Answered,
    AnswerFailed,
    ArmTimer,
    Audit,
    DisarmTimer,
    Moved,
    TermsEffect,
    Unreadable,
    Waits,
)
from amity.protocol.core.terms.host import TermsHost
from amity.protocol.encoding import decode
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    AmityError,
    NegotiationTransitionError,
    NodeError,
    NotFoundError,
    TermsError,
)
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import (
    DEFAULT_TTL_MS,
    MAX_TTL_MS,
    Accept,
    Counter,
    Event,
    Negotiation,
    NegotiationState,
    Offer,
    OfferReceived,
    Party,
    Persist,
    Reject,
    TimerFired,
    auto_answer,
    open_negotiation,
    received,
    step,
)
from amity.protocol.relationship import (
    CancelTimer,
    Notify,
    Relationship,
    RelationshipState,
    SendMessage,
    SetTimer,
)
from amity.protocol.relationship import Effect as MachineEffect
from amity.protocol.terms import TermsDocument, terms_id_of
from amity.protocol.termsmessages import (
    MAX_PROPOSAL_BYTES,
    MSG_OFFER,
    MSG_REJECT,
    NEGOTIATION_ID_BYTES,
    TERMS_MESSAGE_TYPES,
    OfferBody,
    RejectBody,
    RejectReason,
    decode_terms_body,
    encode_terms_body,
)

__all__ = ["TYPES", "receive", "offer", "move", "timer_fired"]

#: The message types the terms service handles.
TYPES: Final = frozenset(TERMS_MESSAGE_TYPES)
_CLOSED: Final = frozenset(
    {NegotiationState.REJECTED, NegotiationState.WITHDRAWN, NegotiationState.EXPIRED}
)


# -- peers' messages -------------------------------------------------------------------------------


def receive(
    host: TermsHost, envelope: Envelope, relationship: Relationship, now_ms: int
) -> list[TermsEffect]:
    """What a ``terms.*`` message from a connected peer means, with the policy's answer."""
    try:
        body = decode_terms_body(envelope.type, envelope.body)
    except TermsError as exc:
        refusal = _reject_unreadable(host, envelope, exc) if envelope.type == MSG_OFFER else None
        if refusal is None:
            raise
        return refusal
    sender = envelope.sender
    me = host.keyring.identity
    found: Negotiation | None = None
    if isinstance(body, OfferBody):
        if host.negotiation_by_id(body.negotiation_id) is not None:
            raise _out_of_place("an offer reuses the id of an existing negotiation")
        we_are = _party(host.kind, relationship)
        if we_are is None:
            raise _out_of_place("terms are agreed between a person and a vendor")
        neg, effects = open_negotiation(
            OfferReceived(body), now_ms, signer=me, peer=sender, we_are=we_are
        )
    else:
        found = host.negotiation_by_id(body.negotiation_id)
        if found is None or found.peer != sender:
            raise _out_of_place(f"no negotiation {body.negotiation_id.hex()[:8]} with us")
        neg, effects = step(found, received(body), now_ms, signer=me)
    return _answer(host, found, neg, effects, now_ms)


def _answer(
    host: TermsHost,
    before: Negotiation | None,
    neg: Negotiation,
    effects: list[MachineEffect],
    now_ms: int,
) -> list[TermsEffect]:
    """The peer's move, then the policy's answer fed back at once (spec/terms.md §7.8)."""
    if not neg.our_turn:
        return _carry_out(before, neg, effects)
    refused = host.cut_off(neg.peer)
    event: Event | None
    if refused is not None:  # the reputation cut-off answers before the terms policy
        event = Reject((RejectReason("", refused),))
    elif host.promised(neg.peer, neg.terms.terms_id, now_ms):
        event = Accept()  # our intent offer countersigned these terms and she took it (§13.3)
    else:
        policy = host.policy_in_force()
        if policy is None:
            return [*_carry_out(before, neg, effects), Waits(neg, "no policy in force")]
        event = auto_answer(policy, neg)
        if event is None:
            why = "the policy leaves it to a person"
            return [*_carry_out(before, neg, effects), Waits(neg, why)]
        if isinstance(event, Counter):  # give the peer the time it gave us
            ttl_ms = min(max(neg.expires_ms - neg.proposed_ms, 1), MAX_TTL_MS)
            event = replace(event, ttl_ms=ttl_ms)
    try:
        answered, answer = step(neg, event, now_ms, signer=host.keyring.identity)
    except AmityError as exc:  # e.g. the deadline passed as it arrived: a person decides
        failed = AnswerFailed(neg, exc.code)
        return [*_carry_out(before, neg, effects), failed, Waits(neg, "the answer failed")]
    out = _carry_out(before, neg, effects + answer)
    out.append(Answered(answered, type(event).__name__, refused is not None))
    return out


def _reject_unreadable(
    host: TermsHost, envelope: Envelope, error: TermsError
) -> list[TermsEffect] | None:
    """Answer an offer whose terms we cannot read with a reject naming why (§7.8, §13.1)."""
    try:
        fields = decode(envelope.body, max_bytes=MAX_PROPOSAL_BYTES)
    except AmityError:
        return None
    if not (isinstance(fields, list) and len(fields) > 2):
        return None
    nid, terms = fields[1], fields[2]
    if not (isinstance(nid, bytes) and len(nid) == NEGOTIATION_ID_BYTES):
        return None
    if not isinstance(terms, bytes) or host.negotiation_by_id(nid) is not None:
        return None
    reject = RejectBody(nid, terms_id_of(terms), (RejectReason("", error.code),))
    send = SendMessage(envelope.sender, MSG_REJECT, encode_terms_body(reject))
    return [send, Unreadable(envelope.sender, error.code)]


def _party(kind: NodeKind, relationship: Relationship) -> Party | None:
    """Which party a ``kind`` node is with this peer, or None when the two are not a person
    and a vendor (§13.1)."""
    card = relationship.peer_card
    kinds = (kind, None if card is None else card.kind)
    if kinds == (NodeKind.PERSON, NodeKind.VENDOR):
        return Party.PERSON
    if kinds == (NodeKind.VENDOR, NodeKind.PERSON):
        return Party.VENDOR
    return None


# -- what the owner asks ---------------------------------------------------------------------------


def offer(
    host: TermsHost,
    peer: PeerId,
    terms: TermsDocument,
    now_ms: int,
    *,
    negotiation_id: bytes,
    ttl_ms: int = DEFAULT_TTL_MS,
    amends: bytes | None = None,
) -> tuple[Negotiation, list[TermsEffect]]:
    """Open negotiation ``negotiation_id`` (fresh random bytes) with ``peer`` by offering
    ``terms``; with ``amends``, as an amendment of that agreement with ``peer`` (§10)."""
    we_are = _party(host.kind, _connected(host, peer))
    if we_are is None:
        raise NodeError(
            f"{peer.short} and this node are not a person and a vendor; "
            "terms are agreed between the two"
        )
    if amends is not None and not host.holds_agreement(amends, peer):
        raise NotFoundError(f"no agreement {amends.hex()[:16]}… with {peer.short} to amend")
    event = Offer(negotiation_id, terms, ttl_ms, amends)
    neg, effects = open_negotiation(
        event, now_ms, signer=host.keyring.identity, peer=peer, we_are=we_are
    )
    return neg, _carry_out(None, neg, effects)


def move(
    host: TermsHost, negotiation_id: bytes, event: Event, now_ms: int
) -> tuple[Negotiation, list[TermsEffect]]:
    """The owner's own move (Counter, Accept, Reject, Withdraw) on one negotiation."""
    before = host.negotiation_by_id(negotiation_id)
    if before is None:
        raise NotFoundError(f"no negotiation {negotiation_id.hex()[:8]}")
    _connected(host, before.peer)
    neg, effects = step(before, event, now_ms, signer=host.keyring.identity)
    return neg, _carry_out(before, before, effects)


def _connected(host: TermsHost, peer: PeerId) -> Relationship:
    rel = host.relationship(peer)
    if rel is None or rel.state is not RelationshipState.CONNECTED:
        state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
        raise NodeError(f"cannot negotiate with {peer.short}: {state}")
    return rel


# -- timers ----------------------------------------------------------------------------------------


def timer_fired(
    host: TermsHost, negotiation_id: bytes, token: str, now_ms: int
) -> list[TermsEffect]:
    """A deadline armed by :class:`~amity.protocol.core.terms.effects.ArmTimer` is due (a
    stale one changes nothing). Raises only on a bug: the machine's table absorbs the rest."""
    neg = host.negotiation_by_id(negotiation_id)
    if neg is None:
        return []
    _, effects = step(neg, TimerFired(token), now_ms, signer=host.keyring.identity)
    return _carry_out(neg, neg, effects)


# -- effects ---------------------------------------------------------------------------------------


def _carry_out(
    before: Negotiation | None, neg: Negotiation, effects: list[MachineEffect]
) -> list[TermsEffect]:
    """The machine's effects on ``neg`` as the service's: each ``Persist`` after the audit
    entries of its change, timers and notices named by the negotiation they belong to."""
    out: list[TermsEffect] = []
    nid = neg.negotiation_id
    for effect in effects:
        if isinstance(effect, Persist):
            neg = effect.negotiation  # what later notices describe
            out += _audit(before, neg)
            before = neg
            out.append(effect)
        elif isinstance(effect, SendMessage):
            out.append(effect)
        elif isinstance(effect, SetTimer):
            out.append(ArmTimer(nid, effect.token, effect.at_ms))
        elif isinstance(effect, CancelTimer):
            out.append(DisarmTimer(nid, effect.token))
        elif isinstance(effect, Notify):
            out.append(Moved(neg, effect.kind, effect.detail))
    return out


def _audit(before: Negotiation | None, after: Negotiation) -> list[TermsEffect]:
    """Audit entries for a change: a new proposal, an agreement, a closed negotiation."""
    entries: list[TermsEffect] = []
    nid = after.negotiation_id.hex()[:8]
    if before is None or before.terms.terms_id != after.terms.terms_id:
        who = "we" if after.proposed_by == "local" else "they"
        title = after.terms.title or "untitled terms"
        detail = f"{who} proposed {title!r} (negotiation {nid}, round {after.rounds})"
        entries.append(Audit("terms.offer", after.peer, after.terms.terms_id, detail))
    if after.agreement is not None and (before is None or before.agreement is None):
        detail = f"both signed {after.terms.title or 'the terms'} (negotiation {nid})"
        entries.append(Audit("agreement", after.peer, after.agreement.agreement_id, detail))
    if after.state in _CLOSED and (before is None or before.state is not after.state):
        detail = f"negotiation {nid} {after.state.value}"
        entries.append(Audit("terms.closed", after.peer, after.terms.terms_id, detail))
    return entries


def _out_of_place(why: str) -> NegotiationTransitionError:
    return NegotiationTransitionError(
        f"{why}; drop the message", hint=NegotiationTransitionError.code
    )
