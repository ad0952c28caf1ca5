"""The simulated node's terms service: it carries out amity.protocol.core.terms, as the daemon does.

The rules (routing by negotiation id, the policy's answer in the same commit as the message, the
owner's moves, deadlines) are the core's; here records live in memory, timers on the engine, and
every persisted record and notice goes to the run's observer. Where no rule answers the peer's
terms, the node's behaviour is asked once the commit is done (a person in the simulation answers
after a while, the daemon waits for the CLI).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from amity.protocol.card import NodeKind
from amity.protocol.core.terms import service as core
from amity.protocol.core.terms.effects import (
    AnswerFailed,
    ArmTimer,
    DisarmTimer,
    Moved,
    TermsEffect,
    Waits,
)
from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.negotiation import DEFAULT_TTL_MS, Event, Negotiation, Persist
from amity.protocol.policy import Policy
from amity.protocol.relationship import Relationship, SendMessage
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import NEGOTIATION_ID_BYTES
from amity.simulations.context import Staged
from amity.simulations.services.negotiation_book import NegotiationBook
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["SimTerms"]


class SimTerms:
    """The negotiations of one simulated node with its peers (the core's TermsHost)."""

    __slots__ = ("_timers", "negotiations", "node")

    types: frozenset[str] = core.TYPES
    #: Of those, the types still taken once the relationship ended (the core's after-end rule).
    after_end: frozenset[str] = frozenset()

    def __init__(self, node: SimNode) -> None:
        self.node = node
        #: Every negotiation this node took part in; finished ones packed (see NegotiationBook).
        self.negotiations = NegotiationBook(node.peer_id)
        self._timers: dict[bytes, tuple[str, Timer]] = {}

    # -- what the core reads (the TermsHost protocol) ----------------------------------------------

    @property
    def keyring(self) -> Keyring:
        return self.node.keyring

    @property
    def kind(self) -> NodeKind:
        return self.node.kind

    def negotiation_by_id(self, negotiation_id: bytes) -> Negotiation | None:
        return self.negotiations.get(negotiation_id)

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.node.relationship(peer)

    def policy_in_force(self) -> Policy | None:
        behaviour = self.node.behaviour
        return None if behaviour is None else behaviour.policy

    def cut_off(self, peer: PeerId) -> str | None:
        reputation = self.node.reputation_if_made  # the cut-off gate (spec/reputation.md §6.5)
        return None if reputation is None else reputation.declines(peer)

    def holds_agreement(self, agreement_id: bytes, peer: PeerId) -> bool:
        neg = self.negotiations.by_agreement(agreement_id)
        return neg is not None and neg.peer == peer

    def promised(self, peer: PeerId, terms_id: bytes, now_ms: int) -> bool:
        return False  # the simulated vendors make no intent offers in these scenarios

    # -- peers' messages ---------------------------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """What a ``terms.*`` message means, with our policy's answer, as one staged commit."""
        return self._stage(core.receive(self, envelope, relationship, now_ms))

    # -- what the owner asks -----------------------------------------------------------------------

    def offer(
        self, peer: PeerId, terms: TermsDocument, *, ttl_ms: int = DEFAULT_TTL_MS
    ) -> Negotiation:
        """Open a negotiation with ``peer`` by offering ``terms``."""
        nid = self.node.random.take(NEGOTIATION_ID_BYTES)
        now = self.node.now_ms()
        neg, effects = core.offer(self, peer, terms, now, negotiation_id=nid, ttl_ms=ttl_ms)
        self.node.commit(self._stage(effects))
        return neg

    def move(self, negotiation_id: bytes, event: Event) -> Negotiation:
        """The owner's own move (Accept, Counter, Reject, Withdraw) on one negotiation."""
        neg, effects = core.move(self, negotiation_id, event, self.node.now_ms())
        self.node.commit(self._stage(effects))
        return neg

    # -- effects -----------------------------------------------------------------------------------

    def _stage(self, effects: list[TermsEffect]) -> Staged:
        """The core's effects: records now, sends with the commit, the rest after it."""
        staged = Staged()
        for effect in effects:
            if isinstance(effect, Persist):
                # Kept with the run's copies of its terms and parties (equal values).
                neg = self.node.shared.negotiation(effect.negotiation)
                self.negotiations[neg.negotiation_id] = neg
                staged.after.append(functools.partial(self._persisted, neg))
            elif isinstance(effect, SendMessage):
                staged.sends.append(effect)
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
            elif isinstance(effect, Waits):
                nid = effect.negotiation.negotiation_id
                staged.after.append(functools.partial(self._ask_owner, nid))
            elif isinstance(effect, AnswerFailed):
                peer = effect.negotiation.peer
                self.node.env.observer.record(self.node, "terms.auto_failed", peer, effect.code)
        return staged

    def _persisted(self, neg: Negotiation) -> None:
        self.node.env.observer.negotiation_changed(self.node, neg)

    def _notify(self, effect: Moved) -> None:
        peer = effect.negotiation.peer
        self.node.env.observer.record(self.node, f"terms.{effect.kind}", peer, effect.detail)

    def _ask_owner(self, negotiation_id: bytes) -> None:
        neg = self.negotiations.get(negotiation_id)
        behaviour = self.node.behaviour
        if neg is not None and neg.our_turn and behaviour is not None:
            behaviour.on_waiting(self.node, neg)

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
        effects = core.timer_fired(self, nid, token, self.node.now_ms())
        if effects:  # a stale timer commits nothing
            self.node.commit(self._stage(effects))
