"""The simulated node's terms service: the negotiation machine, as node/terms/service.py drives it.

``terms.*`` messages are routed by negotiation id, fed to :func:`~amity.protocol.negotiation.step`
(or :func:`~amity.protocol.negotiation.open_negotiation` for an offer), and the owner's policy
answers at once through :func:`~amity.protocol.negotiation.auto_answer`, inside the same commit as
the message, as in the daemon. Where the policy leaves the decision to a person, the node's
behaviour is asked (a person in the simulation answers after a while, the daemon waits for the
CLI). Every persisted record is shown to the run's observer.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING

from amity.protocol.card import NodeKind
from amity.protocol.encoding import decode
from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError, NegotiationTransitionError, StateError, TermsError
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import (
    DEFAULT_TTL_MS,
    MAX_TTL_MS,
    Counter,
    Event,
    Negotiation,
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
from amity.protocol.policy import Policy
from amity.protocol.relationship import (
    CancelTimer,
    Effect,
    Notify,
    Relationship,
    RelationshipState,
    SendMessage,
    SetTimer,
)
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
from amity.simulations.context import Staged
from amity.simulations.services.negotiation_book import NegotiationBook
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["SimTerms"]


class SimTerms:
    """The negotiations of one simulated node with its peers."""

    __slots__ = ("_timers", "negotiations", "node")

    types: frozenset[str] = frozenset(TERMS_MESSAGE_TYPES)
    #: Of those, the types still taken once the relationship ended (the core's after-end rule).
    after_end: frozenset[str] = frozenset()

    def __init__(self, node: SimNode) -> None:
        self.node = node
        #: Every negotiation this node took part in; finished ones packed (see NegotiationBook).
        self.negotiations = NegotiationBook(node.peer_id)
        self._timers: dict[bytes, tuple[str, Timer]] = {}

    @property
    def policy(self) -> Policy | None:
        behaviour = self.node.behaviour
        return None if behaviour is None else behaviour.policy

    # -- peers' messages ---------------------------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """What a ``terms.*`` message means, with our policy's answer, as one staged commit."""
        try:
            body = decode_terms_body(envelope.type, envelope.body)
        except TermsError as exc:
            refusal = self._reject_unreadable(envelope, exc) if envelope.type == MSG_OFFER else None
            if refusal is None:
                raise
            return refusal
        sender = envelope.sender
        me = self.node.keyring.identity
        if isinstance(body, OfferBody):
            if body.negotiation_id in self.negotiations:
                raise _out_of_place("an offer reuses the id of an existing negotiation")
            party = self._party(relationship)
            if party is None:
                raise _out_of_place("terms are agreed between a person and a vendor")
            neg, effects = open_negotiation(
                OfferReceived(body), now_ms, signer=me, peer=sender, we_are=party
            )
        else:
            found = self.negotiations.get(body.negotiation_id)
            if found is None or found.peer != sender:
                raise _out_of_place(f"no negotiation {body.negotiation_id.hex()[:8]} with us")
            neg, effects = step(found, received(body), now_ms, signer=me)
        answered, answer = self._auto_answer(neg, now_ms)
        staged = self._perform(neg, effects + answer)
        if answered.our_turn and not answer:
            staged.after.append(functools.partial(self._ask_owner, answered.negotiation_id))
        return staged

    def _auto_answer(self, neg: Negotiation, now_ms: int) -> tuple[Negotiation, list[Effect]]:
        """The policy's move on the peer's terms, fed back at once (spec/terms.md §7.8)."""
        reputation = self.node.reputation_if_made
        refused = None if reputation is None or not neg.our_turn else reputation.declines(neg.peer)
        policy = self.policy if neg.our_turn else None
        event: Event | None
        if refused is not None:  # the cut-off gate answers before the terms policy (§6.5)
            event = Reject((RejectReason("", refused),))
        elif policy is None:
            return neg, []
        else:
            event = auto_answer(policy, neg)
        if event is None:
            return neg, []
        if isinstance(event, Counter):  # give the peer the time it gave us
            ttl_ms = min(max(neg.expires_ms - neg.proposed_ms, 1), MAX_TTL_MS)
            event = replace(event, ttl_ms=ttl_ms)
        try:
            return step(neg, event, now_ms, signer=self.node.keyring.identity)
        except AmityError as exc:  # e.g. the deadline passed as it arrived: a person decides
            self.node.env.observer.record(self.node, "terms.auto_failed", neg.peer, exc.code)
            return neg, []

    def _ask_owner(self, negotiation_id: bytes) -> None:
        neg = self.negotiations.get(negotiation_id)
        behaviour = self.node.behaviour
        if neg is not None and neg.our_turn and behaviour is not None:
            behaviour.on_waiting(self.node, neg)

    def _reject_unreadable(self, envelope: Envelope, error: TermsError) -> Staged | None:
        """Answer an offer whose terms we cannot read with a reject naming why (§7.8)."""
        try:
            fields = decode(envelope.body, max_bytes=MAX_PROPOSAL_BYTES)
        except AmityError:
            return None
        if not (isinstance(fields, list) and len(fields) > 2):
            return None
        nid, terms = fields[1], fields[2]
        if not (isinstance(nid, bytes) and len(nid) == NEGOTIATION_ID_BYTES):
            return None
        if not isinstance(terms, bytes) or nid in self.negotiations:
            return None
        reject = RejectBody(nid, terms_id_of(terms), (RejectReason("", error.code),))
        return Staged(sends=[SendMessage(envelope.sender, MSG_REJECT, encode_terms_body(reject))])

    def _party(self, relationship: Relationship) -> Party | None:
        card = relationship.peer_card
        kinds = (self.node.kind, None if card is None else card.kind)
        if kinds == (NodeKind.PERSON, NodeKind.VENDOR):
            return Party.PERSON
        if kinds == (NodeKind.VENDOR, NodeKind.PERSON):
            return Party.VENDOR
        return None

    # -- what the owner asks -----------------------------------------------------------------------

    def offer(
        self, peer: PeerId, terms: TermsDocument, *, ttl_ms: int = DEFAULT_TTL_MS
    ) -> Negotiation:
        """Open a negotiation with ``peer`` by offering ``terms``."""
        party = self._party(self._connected(peer))
        if party is None:
            raise StateError(f"{peer.short} and this node are not a person and a vendor")
        event = Offer(self.node.random.take(NEGOTIATION_ID_BYTES), terms, ttl_ms)
        me = self.node.keyring.identity
        neg, effects = open_negotiation(
            event, self.node.now_ms(), signer=me, peer=peer, we_are=party
        )
        self.node.commit(self._perform(neg, effects))
        return neg

    def move(self, negotiation_id: bytes, event: Event) -> Negotiation:
        """The owner's own move (Accept, Counter, Reject, Withdraw) on one negotiation."""
        before = self.negotiations[negotiation_id]
        self._connected(before.peer)
        neg, effects = step(before, event, self.node.now_ms(), signer=self.node.keyring.identity)
        self.node.commit(self._perform(before, effects))
        return neg

    def _connected(self, peer: PeerId) -> Relationship:
        rel = self.node.relationship(peer)
        if rel is None or rel.state is not RelationshipState.CONNECTED:
            state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
            raise StateError(f"cannot negotiate with {peer.short}: {state}")
        return rel

    # -- effects -----------------------------------------------------------------------------------

    def _perform(self, neg: Negotiation, effects: list[Effect]) -> Staged:
        """The core's effects on ``neg``: records now, sends with the commit, the rest after it."""
        staged = Staged()
        nid = neg.negotiation_id
        for effect in effects:
            if isinstance(effect, Persist):
                # Kept with the run's copies of its terms and parties (equal values).
                neg = self.node.shared.negotiation(effect.negotiation)
                self.negotiations[nid] = neg
                staged.after.append(functools.partial(self._persisted, neg))
            elif isinstance(effect, SendMessage):
                staged.sends.append(effect)
            elif isinstance(effect, SetTimer):
                staged.after.append(functools.partial(self._arm, nid, effect.token, effect.at_ms))
            elif isinstance(effect, CancelTimer):
                staged.after.append(functools.partial(self._disarm, nid, effect.token))
            elif isinstance(effect, Notify):
                staged.after.append(functools.partial(self._notify, neg, effect))
        return staged

    def _persisted(self, neg: Negotiation) -> None:
        self.node.env.observer.negotiation_changed(self.node, neg)

    def _notify(self, neg: Negotiation, effect: Notify) -> None:
        self.node.env.observer.record(self.node, f"terms.{effect.kind}", neg.peer, effect.detail)

    def _arm(self, nid: bytes, token: str, at_ms: int) -> None:
        self._disarm(nid)
        engine = self.node.engine
        delay = max(0, at_ms - self.node.now_ms())
        self._timers[nid] = (token, engine.call_later(delay, self._fire, nid, token))

    def _disarm(self, nid: bytes, token: str | None = None) -> None:
        armed = self._timers.get(nid)
        if armed is not None and token in (None, armed[0]):
            self.node.engine.cancel(armed[1])
            self._forget_timer(nid)

    def _forget_timer(self, nid: bytes) -> None:
        self._timers.pop(nid, None)
        if not self._timers:
            self._timers.clear()  # an emptied dict keeps its table until cleared

    def _fire(self, nid: bytes, token: str) -> None:
        self._forget_timer(nid)
        neg = self.negotiations.get(nid)
        if neg is None:
            return
        _, effects = step(
            neg, TimerFired(token), self.node.now_ms(), signer=self.node.keyring.identity
        )
        self.node.commit(self._perform(neg, effects))


def _out_of_place(why: str) -> NegotiationTransitionError:
    return NegotiationTransitionError(
        f"{why}; drop the message", hint=NegotiationTransitionError.code
    )
