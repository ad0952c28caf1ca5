"""What a simulated node shares with its run, and what its services and owner hand it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation
from amity.protocol.card import Card
from amity.protocol.identity import PeerId
from amity.protocol.linkcert import LinkCert
from amity.protocol.negotiation import Negotiation
from amity.protocol.policy import Policy
from amity.protocol.relationship import Relationship, SendMessage
from amity.protocol.reputationmessages import RawItem, SharedItem, read_item
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import RejectReason
from amity.simulations.crypto import CryptoMode
from amity.simulations.world.distributions import Distribution
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import LinkProfile, Network

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["Observer", "NodeBehaviour", "SharedValues", "SimEnv", "Staged", "make_env"]


class Observer(Protocol):
    """Whoever records the run: notifications, and every negotiation record a node persists."""

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None: ...

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None: ...


class NodeBehaviour(Protocol):
    """The owner's side of a node: its policy, and what it does when asked."""

    @property
    def policy(self) -> Policy | None: ...

    def on_connected(self, node: SimNode, peer: PeerId) -> None: ...

    def on_waiting(self, node: SimNode, negotiation: Negotiation) -> None:
        """The peer's terms are on the table and the policy leaves them to a person."""
        ...


class SharedValues:
    """One copy per run of the equal, immutable values that many nodes hold (memory only).

    Decoding makes a fresh object each time: every vendor would keep its own copy of a person's
    card, each end of a negotiation its own copy of the same terms and agreement, each link its
    own peer id. The core's records are frozen and compared by value, so a node that keeps the
    run's copy instead behaves exactly as one that keeps its own; what it saves is most of the
    memory of a large run. Invitations are one of a kind: only their parts are shared.
    """

    __slots__ = (
        "_agreements",
        "_attestations",
        "_cards",
        "_certs",
        "_peers",
        "_reasons",
        "_terms",
    )

    def __init__(self) -> None:
        self._peers: dict[bytes, PeerId] = {}
        self._certs: dict[bytes, LinkCert] = {}
        self._cards: dict[bytes, Card] = {}
        self._terms: dict[bytes, TermsDocument] = {}
        self._agreements: dict[bytes, Agreement] = {}
        self._attestations: dict[bytes, Attestation] = {}
        self._reasons: dict[tuple[RejectReason, ...], tuple[RejectReason, ...]] = {}

    def peer(self, peer: PeerId) -> PeerId:
        return self._peers.setdefault(peer.key, peer)

    def link_cert(self, cert: LinkCert) -> LinkCert:
        found = self._certs.get(cert.encoded)
        if found is None:
            issuer = self.peer(cert.issuer)
            found = cert if issuer is cert.issuer else replace(cert, issuer=issuer)
            self._certs[cert.encoded] = found
        return found

    def decode_link_cert(self, data: bytes) -> LinkCert:
        """``LinkCert.decode(data)``, verified once per run (its validity is the session's)."""
        found = self._certs.get(data)
        return self.link_cert(LinkCert.decode(data)) if found is None else found

    def card(self, card: Card) -> Card:
        """The run's copy of ``card`` (of an invitation: the card with shared parts)."""
        if card.invite_secret is None:
            found = self._cards.get(card.encoded)
            if found is not None:
                return found
        peer, cert = self.peer(card.peer_id), self.link_cert(card.link_cert)
        if peer is not card.peer_id or cert is not card.link_cert:
            card = replace(card, peer_id=peer, link_cert=cert)
        if card.invite_secret is None:
            self._cards[card.encoded] = card
        return card

    def decode_card(self, data: bytes) -> Card:
        """``Card.decode(data)``, decoded once per run: decoding is a function of the bytes."""
        found = self._cards.get(data)
        return self.card(Card.decode(data)) if found is None else found

    def terms(self, terms: TermsDocument) -> TermsDocument:
        return self._terms.setdefault(terms.encoded, terms)

    def agreement(self, agreement: Agreement) -> Agreement:
        """The run's copy of ``agreement``: both ends of a negotiation hold the same bytes."""
        found = self._agreements.get(agreement.encoded)
        if found is None:
            terms = self.terms(agreement.terms)
            person, vendor = self.peer(agreement.person), self.peer(agreement.vendor)
            found = replace(agreement, terms=terms, person=person, vendor=vendor)
            self._agreements[agreement.encoded] = found
        return found

    def attestation(self, attestation: Attestation) -> Attestation:
        """The run's copy of ``attestation``: every node it reaches holds the same bytes."""
        found = self._attestations.get(attestation.encoded)
        if found is None:
            attester, subject = self.peer(attestation.attester), self.peer(attestation.subject)
            agreement = self.agreement(attestation.agreement)
            found = attestation
            if (
                attester is not found.attester
                or subject is not found.subject
                or agreement is not found.agreement
            ):  # one just signed here is often made of the run's copies already
                found = replace(found, attester=attester, subject=subject, agreement=agreement)
            self._attestations[attestation.encoded] = found
        return found

    def read_item(self, raw: RawItem, now_ms: int) -> SharedItem:
        """:func:`~amity.protocol.reputationmessages.read_item`, each attestation verified once
        per run (as :meth:`decode_card`): its verdict is a function of its bytes, and a run's
        attestations reach many nodes. Only expiry, which depends on ``now_ms``, is checked on
        every read; bytes not seen before, or carrying rebuttals, are read in full."""
        found = self._attestations.get(raw.attestation)
        if found is None or raw.rebuttals:
            item = read_item(raw, now_ms)
            return SharedItem(self.attestation(item.attestation), item.hops, item.rebuttals)
        found.check_current(now_ms)
        return SharedItem(found, raw.hops, ())

    def negotiation(self, negotiation: Negotiation) -> Negotiation:
        """``negotiation`` with the run's copies of its terms, parties and reasons.

        Its agreement is left as it is: a node's book does not keep it, only its two signatures
        (:class:`~amity.simulations.services.negotiation_book.NegotiationBook`).
        """
        terms = self.terms(negotiation.terms)
        person, vendor = self.peer(negotiation.person), self.peer(negotiation.vendor)
        reasons = self._reasons.setdefault(negotiation.reasons, negotiation.reasons)
        if (
            terms is negotiation.terms
            and reasons is negotiation.reasons
            and person is negotiation.person
            and vendor is negotiation.vendor
        ):
            return negotiation
        return replace(negotiation, terms=terms, person=person, vendor=vendor, reasons=reasons)

    def relationship(self, relationship: Relationship) -> Relationship:
        """``relationship`` with the run's copies of its peer id and the peer's card."""
        peer, card = relationship.peer, relationship.peer_card
        if peer is not None:
            peer = self.peer(peer)
        if card is not None:
            card = self.card(card)
        if peer is relationship.peer and card is relationship.peer_card:
            return relationship
        return replace(relationship, peer=peer, peer_card=card)


@dataclass(slots=True)
class SimEnv:
    """What every node of one run shares."""

    engine: Engine
    network: Network
    observer: Observer
    crypto: CryptoMode
    #: The wall-clock time (ms since the epoch) that virtual time 0 stands for.
    start_ms: int
    #: How long a group commit takes: ACKs, timers and sends wait for it.
    commit_ms: int = 1
    shared: SharedValues = field(default_factory=SharedValues)


def make_env(
    engine: Engine,
    network_stream: random.Random,
    observer: Observer,
    crypto: CryptoMode,
    *,
    latency: Distribution,
    loss: float,
    detect_ms: int,
    dial_fail_ms: int,
    start_ms: int,
    commit_ms: int,
) -> SimEnv:
    """A world's environment: its network (every link with ``latency`` and ``loss``) and run."""
    network = Network(
        engine,
        network_stream,
        default=LinkProfile(latency, loss),
        detect_ms=detect_ms,
        dial_fail_ms=dial_fail_ms,
    )
    return SimEnv(engine, network, observer, crypto, start_ms, commit_ms)


@dataclass(slots=True)
class Staged:
    """A service's answer: sends queued with the commit, actions run once it is done.

    The simulator's form of node/services.py's ``Staged``: records live in memory, so there are
    no separate writes.
    """

    sends: list[SendMessage] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
