"""The daemon's terms service: it carries out amity.protocol.core.terms for one node.

The rules (routing by negotiation id, the policy's answer, the owner's moves, deadlines) are the
core's; here they are done. ``Persist`` and the audit entries are writes in the same transaction
as the message that caused them (with the agreement's bytes once agreed), ``SendMessage`` joins
the outbox in that transaction, timers and notifications wait until it is on disk. The local API
calls the owner's moves, naming negotiations by a prefix of their hex id. See spec/terms.md §13.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.store import AgreementRow
from amity.node.terms import policywatch
from amity.node.terms.negotiations import NegotiationBook
from amity.node.terms.policyfile import PolicyFile
from amity.node.webhooks.events import agreement_signed
from amity.protocol.card import Card, NodeKind
from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.core.terms import service as core
from amity.protocol.core.terms.changes import InForce, TermsChange, change_terms
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
from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError, NodeError, NotFoundError
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.negotiation import (
    DEFAULT_TTL_MS,
    OPEN_STATES,
    Accept,
    Counter,
    Event,
    Negotiation,
    Persist,
    Reject,
    Withdraw,
)
from amity.protocol.policy import Policy, policy_summary
from amity.protocol.relationship import Relationship, SendMessage
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import NEGOTIATION_ID_BYTES, RejectReason

__all__ = ["TermsService", "NotFoundError"]

_log = logging.getLogger("amity.terms")
#: A shorter hex prefix of an id matches too much to be a useful name.
_MIN_PREFIX: Final = 4
#: No page limit (SQLite and PostgreSQL both take a LIMIT this large).
_EVERY: Final = 1 << 62


class TermsService:
    """Negotiations of this node with its peers: the Service for ``terms.*`` messages, and the
    :class:`~amity.protocol.core.terms.host.TermsHost` the core reads them through."""

    types: frozenset[str] = core.TYPES
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
        #: Other services' promises to agree (the intents service: terms its offers
        #: countersigned, for the person who accepted one).
        self.promises: list[Callable[[PeerId, bytes, int], bool]] = []
        if node.identity.kind is NodeKind.VENDOR:
            node.card_policy = self.published_policy
            node.cardwatch.watchers.append(self._own_policy_changed)

    def peer_policy_changed(self, before: Card, rel: Relationship, now_ms: int) -> Staged:
        """A vendor's hello brought another published policy: tell her (spec/signals.md §4)."""
        return policywatch.peer_policy_changed(self, before, rel, now_ms)

    def _own_policy_changed(self, before: bytes | None, after: bytes | None, told: int) -> None:
        policywatch.own_policy_changed(self, before, after, told)

    def published_policy(self) -> bytes | None:
        """A vendor's card carries the summary of the policy in force (spec/card.md)."""
        current = self.policy_in_force()
        return None if current is None else policy_summary(current)

    # -- lifetime (the Service protocol) -----------------------------------------------------------

    async def start(self) -> None:
        """Re-arm the deadline of every open negotiation (one that passed fires at once)."""
        self._running = True
        waiting = self.book.with_timers()
        for neg in waiting:
            if neg.timer_token is not None and neg.timer_at_ms is not None:
                self._arm(neg.negotiation_id, neg.timer_token, neg.timer_at_ms)
        in_force = self.policy_in_force() is not None
        log_event(_log, "terms.resumed", timers=len(waiting), policy=in_force)

    async def stop(self) -> None:
        self._running = False
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def armed(self) -> dict[bytes, str]:
        """Negotiation id -> token of its deadline timer, for every timer running now."""
        return {nid: token for nid, (token, _) in self._timers.items()}

    # -- what the core reads (the TermsHost protocol) ----------------------------------------------

    @property
    def keyring(self) -> Keyring:
        return self.node.keyring

    @property
    def kind(self) -> NodeKind:
        return self.node.identity.kind

    def negotiation_by_id(self, negotiation_id: bytes) -> Negotiation | None:
        return self.book.get(negotiation_id)

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.node.book.current(peer)

    def policy_in_force(self) -> Policy | None:
        return None if self.policy is None else self.policy.current()

    def answer_rules(self) -> tuple[QuoteRule, ...]:
        """The policy file's auto-answer rules for intents (spec/intents.md §5.2), if in force."""
        return () if self.policy is None else self.policy.answer_rules()

    def cut_off(self, peer: PeerId) -> str | None:
        return next((reason for gate in self.gates if (reason := gate(peer))), None)

    def holds_agreement(self, agreement_id: bytes, peer: PeerId) -> bool:
        held = self.node.store.agreement(agreement_id)
        return held is not None and held.peer_id == peer.key

    def promised(self, peer: PeerId, terms_id: bytes, now_ms: int) -> bool:
        return any(promise(peer, terms_id, now_ms) for promise in self.promises)

    # -- peers' messages (the Service protocol) ----------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """What a ``terms.*`` message means, with our policy's answer, as one staged commit."""
        return self._stage(core.receive(self, envelope, relationship, now_ms), now_ms)

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
        now = self.node.clock_ms()
        nid = os.urandom(NEGOTIATION_ID_BYTES)
        neg, effects = core.offer(
            self, peer, terms, now, negotiation_id=nid, ttl_ms=ttl_ms, amends=amends
        )
        await self.node.commit(self._stage(effects, now))
        return neg

    async def change(
        self, terms: TermsDocument, *, ttl_ms: int = DEFAULT_TTL_MS
    ) -> list[TermsChange]:
        """Her terms changed: offer ``terms`` as an amendment of every agreement in force, in
        one commit; what became of each (spec/signals.md §3)."""
        now = self.node.clock_ms()
        in_force = [
            InForce(row.agreement_id, PeerId(row.peer_id), row.terms_id) for row in self.in_force()
        ]
        open_for = {
            neg.previous_agreement_id: neg.negotiation_id
            for neg in self.book.find()
            if neg.previous_agreement_id is not None and neg.state in OPEN_STATES
        }
        changes, effects = change_terms(
            self,
            in_force,
            terms,
            now,
            ttl_ms=ttl_ms,
            new_id=lambda: os.urandom(NEGOTIATION_ID_BYTES),
            open_for=open_for,
        )
        await self.node.commit(self._stage(effects, now))
        offered = sum(1 for c in changes if c.negotiation_id is not None)
        log_event(_log, "terms.changed", terms=terms.terms_id.hex()[:8], offered=offered)
        self.node.events.publish(
            "terms.changed",
            {
                "terms_id": terms.terms_id.hex(),
                "offered": [c.negotiation_id.hex() for c in changes if c.negotiation_id],
            },
        )
        return changes

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
        nid = self.negotiation(id_prefix).negotiation_id
        now = self.node.clock_ms()
        neg, effects = core.move(self, nid, event, now)
        await self.node.commit(self._stage(effects, now))
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

    def in_force(self, peer: PeerId | None = None) -> list[AgreementRow]:
        """Every agreement in force (with ``peer``, or all): not amended, not ended with its
        relationship (spec/terms.md §10); no page limit, a vendor may hold very many."""
        rows = self.node.store.agreements(peer_id=None if peer is None else peer.key, limit=_EVERY)
        return [row for row in rows if row.superseded_by is None and row.ended_ms is None]

    def agreements(self, peer: PeerId | None = None) -> list[AgreementRow]:
        return self.node.store.agreements(peer_id=None if peer is None else peer.key)

    # -- effects -----------------------------------------------------------------------------------

    def _stage(self, effects: list[TermsEffect], now_ms: int) -> Staged:
        """The core's effects as one commit: writes and sends in it, the rest after it."""
        staged = Staged()
        signed = {e.subject for e in effects if isinstance(e, Audit) and e.kind == "agreement"}
        for effect in effects:
            if isinstance(effect, Persist):
                neg = effect.negotiation
                if neg.agreement is not None and neg.agreement.agreement_id in signed:
                    signed.discard(neg.agreement.agreement_id)
                    staged.writes.append(agreement_signed(self.node.webhooks, neg, now_ms))
                self.book.remember(neg)
                staged.writes.append(functools.partial(self.book.save, neg, now_ms))
                staged.after.append(functools.partial(self.book.committed, neg))
            elif isinstance(effect, Audit):
                staged.writes.append(
                    functools.partial(
                        self.audit.append,
                        now_ms,
                        effect.kind,
                        effect.peer,
                        effect.subject,
                        effect.detail,
                    )
                )
            elif isinstance(effect, SendMessage):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, ArmTimer):
                arm = functools.partial(
                    self._arm, effect.negotiation_id, effect.token, effect.at_ms
                )
                staged.after.append(arm)
            elif isinstance(effect, DisarmTimer):
                disarm = functools.partial(self._disarm, effect.negotiation_id, effect.token)
                staged.after.append(disarm)
            elif isinstance(effect, Moved):
                staged.after.append(functools.partial(self._notify, effect))
            elif isinstance(effect, Answered):
                neg, answer = effect.negotiation, effect.answer
                if effect.gate:
                    log_event(
                        _log, "terms.auto", negotiation=_short(neg), answer=answer, why="gate"
                    )
                else:
                    log_event(_log, "terms.auto", negotiation=_short(neg), answer=answer)
                staged.after.append(functools.partial(self._publish_answer, neg))
            elif isinstance(effect, Waits):
                neg = effect.negotiation
                log_event(
                    _log,
                    "terms.waiting",
                    negotiation=_short(neg),
                    peer=neg.peer.short,
                    why=effect.why,
                )
            elif isinstance(effect, AnswerFailed):
                neg = effect.negotiation
                log_event(_log, "terms.auto_failed", negotiation=_short(neg), code=effect.code)
            elif isinstance(effect, Unreadable):
                log_event(
                    _log,
                    "terms.unreadable",
                    peer=effect.peer.short,
                    code=effect.code,
                    answer="reject",
                )
        return staged

    def _publish_answer(self, neg: Negotiation) -> None:
        """Tell the owner's UIs what the policy answered (the core notifies only peers' moves)."""
        data = {"negotiation": neg.negotiation_id.hex(), "peer": neg.peer.did, "by": "policy"}
        self.node.events.publish("terms.answered", {**data, "state": neg.state.value})

    def _notify(self, effect: Moved) -> None:
        neg = effect.negotiation
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
        if not self._running:
            return
        now = self.node.clock_ms()
        try:
            effects = core.timer_fired(self, nid, token, now)
        except AmityError as exc:  # the table absorbs stale timers; anything else is a bug
            log_event(
                _log, "terms.timer_failed", logging.ERROR, negotiation=nid.hex()[:8], code=exc.code
            )
            return
        if effects:
            self.node.commit(self._stage(effects, now))


def _short(neg: Negotiation) -> str:
    return neg.negotiation_id.hex()[:8]


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
