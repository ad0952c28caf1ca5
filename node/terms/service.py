"""The terms service: drives the negotiation state machine for one node. See spec/terms.md §13.

It handles ``terms.offer`` … ``terms.withdraw`` from peers (routed by negotiation id), answers
from the owner's policy file where it can, and carries out the owner's own moves for the local
API. Every effect of the core is performed here: ``Persist`` is a write in the same transaction as
the message that caused it (with the agreement's bytes once agreed), ``SendMessage`` joins the
outbox in that transaction, timers and notifications wait until it is on disk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Final, TypeVar

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.store import AgreementRow
from amity.node.terms.negotiations import NegotiationBook
from amity.node.terms.policyfile import PolicyFile
from amity.protocol.card import NodeKind
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
    Withdraw,
    auto_answer,
    open_negotiation,
    received,
    step,
)
from amity.protocol.policy import policy_summary
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

__all__ = ["TermsService", "NotFoundError"]

_log = logging.getLogger("amity.terms")
#: A shorter hex prefix of an id matches too much to be a useful name.
_MIN_PREFIX: Final = 4


class TermsService:
    """Negotiations of this node with its peers: the Service for ``terms.*`` messages."""

    types: frozenset[str] = frozenset(TERMS_MESSAGE_TYPES)
    after_end: frozenset[str] = frozenset()

    def __init__(self, node: Node, *, policy_path: Path | None = None) -> None:
        self.node = node
        self.book = NegotiationBook(node.store)
        #: The same hash-chained log the grants service writes (one per node, in the store).
        self.audit = AuditLog(node.store)
        #: The owner's policy file; without one every offer waits for a person.
        self.policy = None if policy_path is None else PolicyFile(policy_path)
        self._timers: dict[bytes, tuple[str, asyncio.TimerHandle]] = {}
        self._running = False
        #: Peers this node will not agree with (the reputation cut-off): each gives a reason or None.
        self.gates: list[Callable[[PeerId], str | None]] = []
        if node.identity.kind is NodeKind.VENDOR:
            node.card_policy = self._published_policy

    def _published_policy(self) -> bytes | None:
        """A vendor's card carries the summary of the policy in force (spec/card.md)."""
        current = None if self.policy is None else self.policy.current()
        return None if current is None else policy_summary(current)

    # -- lifetime (the Service protocol) -----------------------------------------------------------

    async def start(self) -> None:
        """Re-arm the deadline of every open negotiation (one that passed fires at once)."""
        self._running = True
        waiting = self.book.with_timers()
        for neg in waiting:
            if neg.timer_token is not None and neg.timer_at_ms is not None:
                self._arm(neg.negotiation_id, neg.timer_token, neg.timer_at_ms)
        in_force = self.policy is not None and self.policy.current() is not None
        log_event(_log, "terms.resumed", timers=len(waiting), policy=in_force)

    async def stop(self) -> None:
        self._running = False
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def armed(self) -> dict[bytes, str]:
        """Negotiation id -> token of its deadline timer, for every timer running now."""
        return {nid: token for nid, (token, _) in self._timers.items()}

    # -- peers' messages (the Service protocol) ----------------------------------------------------

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
            if self.book.get(body.negotiation_id) is not None:
                raise _out_of_place("an offer reuses the id of an existing negotiation")
            party = self._party(relationship)
            if party is None:
                raise _out_of_place("terms are agreed between a person and a vendor")
            neg, effects = open_negotiation(
                OfferReceived(body), now_ms, signer=me, peer=sender, we_are=party
            )
        else:
            found = self.book.get(body.negotiation_id)
            if found is None or found.peer != sender:
                raise _out_of_place(f"no negotiation {body.negotiation_id.hex()[:8]} with us")
            neg, effects = step(found, received(body), now_ms, signer=me)
        answered, answer = self._auto_answer(neg, now_ms)
        staged = self._perform(neg, effects + answer, now_ms)
        if answer:
            staged.after.append(functools.partial(self._publish_answer, answered))
        return staged

    def _auto_answer(self, neg: Negotiation, now_ms: int) -> tuple[Negotiation, list[Effect]]:
        """The policy's move on the peer's terms, fed back at once (spec/terms.md §7.8)."""
        refused = [r for gate in self.gates if neg.our_turn and (r := gate(neg.peer))]
        event: Event | None
        if refused:  # a gate (the reputation policy's cut-off) answers before the terms policy
            event = Reject((RejectReason("", refused[0]),))
        else:
            policy = None if self.policy is None or not neg.our_turn else self.policy.current()
            if policy is None:
                if neg.our_turn:
                    self._log_waiting(neg, "no policy in force")
                return neg, []
            event = auto_answer(policy, neg)
            if event is None:
                self._log_waiting(neg, "the policy leaves it to a person")
                return neg, []
            if isinstance(event, Counter):  # give the peer the time it gave us
                ttl_ms = min(max(neg.expires_ms - neg.proposed_ms, 1), MAX_TTL_MS)
                event = replace(event, ttl_ms=ttl_ms)
        try:
            answered, effects = step(neg, event, now_ms, signer=self.node.keyring.identity)
        except AmityError as exc:  # e.g. the deadline passed as it arrived: a person decides
            log_event(_log, "terms.auto_failed", negotiation=_short(neg), code=exc.code)
            return neg, []
        answer = type(event).__name__
        if refused:
            log_event(_log, "terms.auto", negotiation=_short(neg), answer=answer, why="gate")
        else:
            log_event(_log, "terms.auto", negotiation=_short(neg), answer=answer)
        return answered, effects

    def _publish_answer(self, neg: Negotiation) -> None:
        """Tell the owner's UIs what the policy answered (the core notifies only peers' moves)."""
        data = {"negotiation": neg.negotiation_id.hex(), "peer": neg.peer.did, "by": "policy"}
        self.node.events.publish("terms.answered", {**data, "state": neg.state.value})

    def _log_waiting(self, neg: Negotiation, why: str) -> None:
        log_event(_log, "terms.waiting", negotiation=_short(neg), peer=neg.peer.short, why=why)

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
        if not isinstance(terms, bytes) or self.book.get(nid) is not None:
            return None
        reject = RejectBody(nid, terms_id_of(terms), (RejectReason("", error.code),))
        log_event(
            _log, "terms.unreadable", peer=envelope.sender.short, code=error.code, answer="reject"
        )
        return Staged(sends=[Outgoing(envelope.sender, MSG_REJECT, encode_terms_body(reject))])

    def _party(self, relationship: Relationship) -> Party | None:
        """Which party we are with this peer, or None when the two are not a person and vendor."""
        card = relationship.peer_card
        kinds = (self.node.identity.kind, None if card is None else card.kind)
        if kinds == (NodeKind.PERSON, NodeKind.VENDOR):
            return Party.PERSON
        if kinds == (NodeKind.VENDOR, NodeKind.PERSON):
            return Party.VENDOR
        return None

    # -- what the owner asks (the local API calls these) -------------------------------------------

    async def offer(
        self,
        peer: PeerId,
        terms: TermsDocument,
        *,
        ttl_ms: int = DEFAULT_TTL_MS,
        amends: bytes | None = None,
    ) -> Negotiation:
        """Open a negotiation with ``peer`` by offering ``terms`` (an amendment with ``amends``)."""
        party = self._party(self._connected(peer))
        if party is None:
            raise NodeError(
                f"{peer.short} and this node are not a person and a vendor; "
                "terms are agreed between the two"
            )
        if amends is not None:
            held = self.node.store.agreement(amends)
            if held is None or held.peer_id != peer.key:
                raise NotFoundError(f"no agreement {amends.hex()[:16]}… with {peer.short} to amend")
        event = Offer(os.urandom(NEGOTIATION_ID_BYTES), terms, ttl_ms, amends)
        now = self.node.clock_ms()
        neg, effects = open_negotiation(
            event, now, signer=self.node.keyring.identity, peer=peer, we_are=party
        )
        await self.node.commit(self._perform(neg, effects, now))
        return neg

    async def counter(
        self, id_prefix: str, terms: TermsDocument, *, ttl_ms: int = DEFAULT_TTL_MS
    ) -> Negotiation:
        return await self._move(id_prefix, Counter(terms, ttl_ms))

    async def accept(self, id_prefix: str) -> Negotiation:
        return await self._move(id_prefix, Accept())

    async def reject(self, id_prefix: str, reasons: tuple[RejectReason, ...] = ()) -> Negotiation:
        return await self._move(id_prefix, Reject(reasons))

    async def withdraw(self, id_prefix: str) -> Negotiation:
        return await self._move(id_prefix, Withdraw())

    async def _move(self, id_prefix: str, event: Event) -> Negotiation:
        before = self.negotiation(id_prefix)
        self._connected(before.peer)
        now = self.node.clock_ms()
        neg, effects = step(before, event, now, signer=self.node.keyring.identity)
        await self.node.commit(self._perform(before, effects, now))
        return neg

    def negotiation(self, id_prefix: str) -> Negotiation:
        """The one negotiation whose hex id starts with ``id_prefix`` (at least 4 digits)."""
        found = self.book.find(id_prefix=_prefix(id_prefix, "negotiation"), limit=2)
        return _one(found, id_prefix, "negotiation")

    def negotiations(self, peer: PeerId | None = None) -> list[Negotiation]:
        return self.book.find(peer=peer)

    def agreement(self, id_prefix: str) -> AgreementRow:
        """The one agreement whose hex id starts with ``id_prefix`` (at least 4 digits)."""
        rows = self.node.store.agreements(id_prefix=_prefix(id_prefix, "agreement"), limit=2)
        return _one(rows, id_prefix, "agreement")

    def agreements(self, peer: PeerId | None = None) -> list[AgreementRow]:
        return self.node.store.agreements(peer_id=None if peer is None else peer.key)

    def _connected(self, peer: PeerId) -> Relationship:
        rel = self.node.book.current(peer)
        if rel is None or rel.state is not RelationshipState.CONNECTED:
            state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
            raise NodeError(f"cannot negotiate with {peer.short}: {state}")
        return rel

    # -- effects -----------------------------------------------------------------------------------

    def _perform(self, neg: Negotiation, effects: list[Effect], now_ms: int) -> Staged:
        """The core's effects on ``neg`` as one commit: writes and sends in it, the rest after."""
        staged = Staged()
        nid = neg.negotiation_id
        before = self.book.get(nid)  # what is on record now, before these effects
        for effect in effects:
            if isinstance(effect, Persist):
                neg = effect.negotiation  # what later effects (notifications) describe
                staged.writes += self._audit(before, neg, now_ms)
                before = neg
                self.book.remember(neg)
                staged.writes.append(functools.partial(self.book.save, neg, now_ms))
                staged.after.append(functools.partial(self.book.committed, neg))
            elif isinstance(effect, SendMessage):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, SetTimer):
                staged.after.append(functools.partial(self._arm, nid, effect.token, effect.at_ms))
            elif isinstance(effect, CancelTimer):
                staged.after.append(functools.partial(self._disarm, nid, effect.token))
            elif isinstance(effect, Notify):
                staged.after.append(functools.partial(self._notify, neg, effect))
        return staged

    def _audit(
        self, before: Negotiation | None, after: Negotiation, now_ms: int
    ) -> list[Callable[[], None]]:
        """Audit entries for a change: a new proposal, an agreement, a closed negotiation."""
        entries: list[Callable[[], None]] = []
        nid = after.negotiation_id.hex()[:8]
        if before is None or before.terms.terms_id != after.terms.terms_id:
            who = "we" if after.proposed_by == "local" else "they"
            title = after.terms.title or "untitled terms"
            detail = f"{who} proposed {title!r} (negotiation {nid}, round {after.rounds})"
            entries.append(
                functools.partial(
                    self.audit.append,
                    now_ms,
                    "terms.offer",
                    after.peer,
                    after.terms.terms_id,
                    detail,
                )
            )
        if after.agreement is not None and (before is None or before.agreement is None):
            detail = f"both signed {after.terms.title or 'the terms'} (negotiation {nid})"
            entries.append(
                functools.partial(
                    self.audit.append,
                    now_ms,
                    "agreement",
                    after.peer,
                    after.agreement.agreement_id,
                    detail,
                )
            )
        closed = after.state in (
            NegotiationState.REJECTED,
            NegotiationState.WITHDRAWN,
            NegotiationState.EXPIRED,
        )
        if closed and (before is None or before.state is not after.state):
            entries.append(
                functools.partial(
                    self.audit.append,
                    now_ms,
                    "terms.closed",
                    after.peer,
                    after.terms.terms_id,
                    f"negotiation {nid} {after.state.value}",
                )
            )
        return entries

    def _notify(self, neg: Negotiation, effect: Notify) -> None:
        log_event(
            _log,
            f"terms.{effect.kind}",
            negotiation=_short(neg),
            peer=neg.peer.short,
            state=neg.state.value,
        )
        data = {
            "negotiation": neg.negotiation_id.hex(),
            "peer": neg.peer.did,
            "state": neg.state.value,
            "our_turn": neg.our_turn,
            "agreement": None if neg.agreement is None else neg.agreement.agreement_id.hex(),
            "detail": effect.detail,
        }
        self.node.events.publish(f"terms.{effect.kind}", data)

    def _arm(self, nid: bytes, token: str, at_ms: int) -> None:
        self._disarm(nid)
        if not self._running:
            return
        delay_s = max(0.0, (at_ms - self.node.clock_ms()) / 1000)
        handle = asyncio.get_running_loop().call_later(delay_s, self._fire, nid, token)
        self._timers[nid] = (token, handle)

    def _disarm(self, nid: bytes, token: str | None = None) -> None:
        armed = self._timers.get(nid)
        if armed is not None and token in (None, armed[0]):
            armed[1].cancel()
            del self._timers[nid]

    def _fire(self, nid: bytes, token: str) -> None:
        self._timers.pop(nid, None)
        neg = self.book.get(nid)
        if neg is None or not self._running:
            return
        now = self.node.clock_ms()
        try:
            _, effects = step(neg, TimerFired(token), now, signer=self.node.keyring.identity)
        except AmityError as exc:  # the table absorbs stale timers; anything else is a bug
            log_event(
                _log, "terms.timer_failed", logging.ERROR, negotiation=_short(neg), code=exc.code
            )
            return
        self.node.commit(self._perform(neg, effects, now))


def _short(neg: Negotiation) -> str:
    return neg.negotiation_id.hex()[:8]


def _out_of_place(why: str) -> NegotiationTransitionError:
    return NegotiationTransitionError(
        f"{why}; drop the message", hint=NegotiationTransitionError.code
    )


def _prefix(text: str, what: str) -> str:
    digits = text.strip().lower()
    if len(digits) < _MIN_PREFIX or any(c not in "0123456789abcdef" for c in digits):
        raise NodeError(
            f"{text!r:.80} is not a {what} id: give its hex id, or at least its first "
            f"{_MIN_PREFIX} hex digits"
        )
    return digits


_T = TypeVar("_T")


def _one(found: list[_T], text: str, what: str) -> _T:
    if not found:
        lister = "amity agreements" if what == "agreement" else "amity terms show"
        raise NotFoundError(f"no {what} {text!r:.80}; `{lister}` lists them")
    if len(found) > 1:
        raise NodeError(f"{text!r:.80} names more than one {what}; give more of its id")
    return found[0]
