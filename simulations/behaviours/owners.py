"""Behaviours: the owners of simulated nodes, as small strategy objects.

A behaviour gives its node a policy (which the node's terms service applies on its own, as the
daemon applies its policy file) and decides what a person would: when to offer, and what to do
with terms the policy leaves open. One behaviour object serves every node of its profile; its
random draws come from its own named stream. :class:`OnwardSharer` is the one breach that lives
here rather than in a node: an owner passing on values its node holds, which no amity message
carries.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError, NoGrantError
from amity.protocol.holder import Holding
from amity.protocol.holdings import read
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Accept, Event, Negotiation, Reject
from amity.protocol.policy import Policy, parse_policy
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import RejectReason
from amity.protocol.vault import Field
from amity.simulations.node import SimNode
from amity.simulations.world.distributions import Distribution

__all__ = [
    "HonestPerson",
    "HonestVendor",
    "NO_THIRD_PARTY_SHARING",
    "OnwardCopy",
    "OnwardSharer",
    "accept_all",
]

_PERSON_DECLINES: Final = "outside what I accept"
_VENDOR_DECLINES: Final = "declined by a person at the vendor"
#: The clause a vendor breaks by passing a person's values on (protocol/terms.py; P2B1 holds it).
NO_THIRD_PARTY_SHARING: Final = "amity.no-third-party-sharing"


def accept_all(terms: TermsDocument) -> Policy:
    """A policy that accepts every clause of ``terms`` as proffered (scenarios 2 and 3's vendors)."""
    lines = ["version = 1", "vocabulary = 1", 'default = "ask-human"']
    for clause_id in sorted({c.clause_id for c in terms.clauses}):
        lines += [f'[clause."{clause_id}"]', 'action = "accept"']
    return parse_policy("\n".join(lines) + "\n")


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
        if node.terms.negotiations.has_peer(peer):
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


@dataclass(frozen=True, slots=True)
class OnwardCopy:
    """A person's values that a vendor's owner passed to a third party: held under no grant.

    The third party never received a grant, so nothing ever expires, deletes or receipts it.
    """

    grant_id: bytes
    #: The person whose values these are (the grant's grantor).
    person: PeerId
    #: The vendor whose node held them under the grant, and the party it gave a copy to.
    source: SimNode
    party: SimNode
    fields: tuple[Field, ...]
    copied_ms: int


class OnwardSharer:
    """A vendor's owner who, with probability ``rate``, copies a newly held grant's values onward.

    It reads the values as the owner's software reads them from the daemon (the holder's
    :func:`~amity.protocol.holdings.read`, under the live grant: a legitimate read), then gives them
    to ``parties`` other vendors outside the protocol, breaking :data:`NO_THIRD_PARTY_SHARING` and
    the grant's own ``onward`` word. Her node sees nothing of it: the vendor's node still returns
    its receipts. Set as the node's ``grants.on_held``; copies go to ``ledger``.
    """

    def __init__(
        self,
        node: SimNode,
        *,
        rate: float,
        parties: int,
        others: Sequence[SimNode],
        rng: random.Random,
        ledger: list[OnwardCopy],
    ) -> None:
        self.node = node
        self.rate = rate
        self.parties = parties
        self.others = list(others)
        self.rng = rng
        self.ledger = ledger

    def on_held(self, holding: Holding) -> None:
        if self.rng.random() >= self.rate:
            return
        chosen = self.rng.sample(self.others, self.parties)
        grant, now = holding.grant, self.node.now_ms()
        values: list[Field] = []
        try:
            for name in grant.fields:
                value = read(
                    [holding], grantor=grant.grantor, name=name, purpose=grant.purpose, now_ms=now
                )
                if isinstance(value, Field):  # a derived claim is not a value of hers to pass on
                    values.append(value)
        except NoGrantError as exc:  # the grant ended between the commit and the owner's read
            self.node.env.observer.record(
                self.node, "misbehave.share_failed", grant.grantor, exc.code
            )
            return
        for party in chosen:
            self.ledger.append(
                OnwardCopy(grant.grant_id, grant.grantor, self.node, party, tuple(values), now)
            )
        detail = grant.grant_id.hex()[:16]
        self.node.env.observer.record(self.node, "misbehave.shared_onward", grant.grantor, detail)
