"""Behaviours: the owners of simulated nodes, as small strategy objects.

A behaviour gives its node a policy (which the node's terms service applies on its own, as the
daemon applies its policy file) and decides what a person would: when to offer, and what to do
with terms the policy leaves open. One behaviour object serves every node of its profile; its
random draws come from its own named stream.
"""

from __future__ import annotations

import random
from typing import Final

from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Accept, Event, Negotiation, Reject
from amity.protocol.policy import Policy
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import RejectReason
from amity.simulations.distributions import Distribution
from amity.simulations.node import SimNode

__all__ = ["HonestPerson", "HonestVendor"]

_PERSON_DECLINES: Final = "outside what I accept"
_VENDOR_DECLINES: Final = "declined by a person at the vendor"


class HonestPerson:
    """Proffers one terms document to each vendor she meets; answers counters within her limits.

    ``limits`` is a policy in the vendors' format, applied to the vendor's counters by her node;
    what it leaves open she declines after thinking it over.
    """

    def __init__(
        self,
        name: str,
        *,
        terms: TermsDocument,
        limits: Policy,
        ttl_ms: int,
        think: Distribution,
        rng: random.Random,
    ) -> None:
        self.name = name
        self.terms = terms
        self.limits = limits
        self.ttl_ms = ttl_ms
        self.think = think
        self.rng = rng

    @property
    def policy(self) -> Policy | None:
        return self.limits

    def on_connected(self, node: SimNode, peer: PeerId) -> None:
        rel = node.relationship(peer)
        if rel is None or rel.peer_card is None or rel.peer_card.kind is not NodeKind.VENDOR:
            return
        node.engine.call_later(self.think.sample(self.rng), self._offer, node, peer)

    def _offer(self, node: SimNode, peer: PeerId) -> None:
        if any(neg.peer == peer for neg in node.terms.negotiations.values()):
            return  # one negotiation per vendor in this market
        try:
            node.terms.offer(peer, self.terms, ttl_ms=self.ttl_ms)
        except AmityError as exc:  # the relationship ended meanwhile
            node.env.observer.record(node, "offer.failed", peer, exc.code)

    def on_waiting(self, node: SimNode, negotiation: Negotiation) -> None:
        reject = Reject((RejectReason("", _PERSON_DECLINES),))
        delay = self.think.sample(self.rng)
        node.engine.call_later(delay, _decide, node, negotiation.negotiation_id, reject)


class HonestVendor:
    """A vendor whose node answers from its policy; a person there decides what it leaves open."""

    def __init__(
        self,
        name: str,
        *,
        policy: Policy,
        human_delay: Distribution,
        human_accepts: float,
        rng: random.Random,
    ) -> None:
        self.name = name
        self._policy = policy
        self.human_delay = human_delay
        self.human_accepts = human_accepts
        self.rng = rng

    @property
    def policy(self) -> Policy | None:
        return self._policy

    def on_connected(self, node: SimNode, peer: PeerId) -> None:
        return None  # vendors wait for offers

    def on_waiting(self, node: SimNode, negotiation: Negotiation) -> None:
        accepts = self.rng.random() < self.human_accepts
        answer: Event = Accept() if accepts else Reject((RejectReason("", _VENDOR_DECLINES),))
        delay = self.human_delay.sample(self.rng)
        node.engine.call_later(delay, _decide, node, negotiation.negotiation_id, answer)


def _decide(node: SimNode, negotiation_id: bytes, event: Event) -> None:
    neg = node.terms.negotiations.get(negotiation_id)
    if neg is None or not neg.our_turn:
        return
    try:
        node.terms.move(negotiation_id, event)
    except AmityError as exc:  # the deadline passed while the person thought it over
        node.env.observer.record(node, "terms.answer_failed", neg.peer, exc.code)
