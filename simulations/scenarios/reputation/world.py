"""Scenario 3, reputation under attack: grants to breaching vendors, with and without local trust.

Each round every person grants data to one vendor out of a few candidates drawn by the seed. The
run plays two arms on the same candidate draws: with trust *off* she picks uniformly (and nothing
more happens: no node reads that arm); with trust *on* she reads her own node's local trust and
picks as below, and the grant happens. When she picks, the vendor's conduct decides whether it
will keep her data (:mod:`amity.simulations.behaviours.attackers`).

The choice with trust on, in the order applied: a candidate is *cut off* when its standing
(spec/reputation.md §4.6) is below zero on at least ``cutoff_evidence`` of trusted evidence (her
node's reputation policy: the daemon's default threshold, that evidence); of the rest she picks
in proportion to score (EigenTrust's probabilistic selection), except that with probability
``explore``, or when no candidate has a score, she picks uniformly among those without one. If
every candidate is cut off she grants nothing that round.

All of it runs as messages. At first contact the vendor hands her an invitation, her node
connects, she offers the scenario's terms (deletion clause included) and the vendor's policy signs
them (``accept_all``, as in scenario 2); if her offer expires unanswered she offers again. Her node
then grants her email for ``grant_ms`` (``grant.deliver``, sealed to the vendor's link key); the
vendor's node holds it, returns a delivery receipt and, at the grant's end, deletes it and returns
a signed deletion receipt, unless its owner breaches that grant (:class:`VendorOwner` keeps the
data and its node sends nothing, as ``--misbehave keep-data`` does). Her node judges the grant
itself from what it received (:mod:`amity.protocol.verdicts`, the daemon's automatic verdict):
honoured on a deletion receipt in time, breached once the deadline (the end plus the receipt
grace) passes without one; it signs that attestation under the deletion clause, citing the grant
and receipt hashes, and shares it with her friends.

Who meets whom before the rounds (friends, colluders, spies, Sybils) is set up in
:mod:`~amity.simulations.scenarios.reputation.society`; the figures a run yields are worked out
in :mod:`~amity.simulations.scenarios.reputation.metrics`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

from amity.protocol.agreement import Agreement
from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import OPEN_STATES, Negotiation, NegotiationState
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.trust import TrustResult
from amity.protocol.vault import Field, FieldType
from amity.simulations.behaviours.attackers import Cast, cast
from amity.simulations.context import make_env
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.scenarios.reputation.metrics import RoundRow, tally
from amity.simulations.scenarios.reputation.scenario import ReputationScenario
from amity.simulations.scenarios.reputation.society import OFFER_TTL_MS, THINK, Society
from amity.simulations.world.engine import Engine
from amity.simulations.world.streams import RandomStreams

__all__ = ["ReputationWorld"]

#: How a clique vendor shares with each customer (``amity share-policy``): its own attestations
#: and what its circle handed it, one hop on.
_CUSTOMERS: Final = SharePolicy(ShareMode.ALL, max_hops=1)
_AGREED: Final = NegotiationState.AGREED
#: What she grants, and for what (a purpose her terms allow).
_PURPOSE: Final = "delivery"


class ReputationWorld(Society):
    """Persons, vendors, their nodes and both arms' grants, for one scenario and seed."""

    def __init__(self, scenario: ReputationScenario, *, seed: int, crypto: CryptoMode) -> None:
        self.scenario = scenario
        self.seed = seed
        self.crypto = crypto
        self.streams = RandomStreams(seed)
        self.engine = Engine()
        self.env = make_env(
            self.engine,
            self.streams.stream("network"),
            self,
            crypto,
            latency=scenario.latency,
            loss=scenario.loss,
            detect_ms=scenario.detect_ms,
            dial_fail_ms=scenario.dial_fail_ms,
            start_ms=scenario.start_ms,
            commit_ms=scenario.commit_ms,
        )
        self.network = self.env.network
        self.rows = [RoundRow(r) for r in range(scenario.rounds)]
        self.rounds_done = 0
        self.interrupted = False
        self.persons: list[SimNode] = []
        self.vendors: list[SimNode] = []
        self.sybils: list[SimNode] = []
        self.friends: list[tuple[int, ...]] = []
        #: Each person's last local trust, as her last choice read it.
        self.trust: list[TrustResult | None] = []
        #: The agreements persons' nodes reached with vendors, by (person, vendor) index.
        self.agreements: dict[tuple[int, int], Agreement] = {}
        #: Clique vendors that hand their customers what their circle said.
        self.bundles: set[int] = set()
        self._bundled: set[tuple[int, int]] = set()
        #: Deletion receipts her nodes received; grants made, by id: whether the vendor honours it.
        self.receipts = 0
        self.granted: dict[bytes, bool] = {}
        #: Verdicts her nodes signed on their own grants, and those that got the vendor wrong.
        self.verdicts: dict[str, int] = {}
        self.mistaken = 0
        self.sybil_attestations = 0
        #: What nodes told the observer, by event (connections, refusals, rejections).
        self.counts: dict[str, int] = {}
        #: Agreements any two nodes reached (Sybils' too), and what waits for one.
        self._agreed: dict[tuple[SimNode, SimNode], Agreement] = {}
        self._waiting: dict[tuple[SimNode, SimNode], list[Callable[[Agreement], None]]] = {}
        self._index: dict[PeerId, int] = {}
        self._by_peer: dict[PeerId, SimNode] = {}
        sc = scenario
        self.cast: Cast = cast(
            sc.threat_model,
            persons=sc.persons,
            vendors=sc.vendors,
            malicious_fraction=sc.malicious_fraction,
            colluder_fraction=sc.colluder_fraction,
            breach_rate=sc.breach_rate,
            camouflage=sc.camouflage,
            praise=sc.praise,
            slander=sc.slander,
            rng=self.streams.stream("cast"),
        )
        self._candidates = self.streams.stream("candidates")
        self._act = self.streams.stream("act")
        self._choice = {arm: self.streams.stream(f"choice/{arm}") for arm in ("on", "off")}
        self._conduct = {arm: self.streams.stream(f"conduct/{arm}") for arm in ("on", "off")}
        with crypto_mode(crypto):
            self._build()

    # -- one round ---------------------------------------------------------------------------------

    def _round(self, r: int) -> None:
        for p, conduct in enumerate(self.cast.persons):
            if conduct.deals:
                self.engine.call_later(self.scenario.act.sample(self._act), self._grant, p, r)

    def _grant(self, p: int, r: int) -> None:
        sc, row = self.scenario, self.rows[r]
        candidates = sorted(self._candidates.sample(range(sc.vendors), sc.candidates))
        honest = self.cast.persons[p].honest
        if honest:
            off = candidates[self._choice["off"].randrange(len(candidates))]
            row.grants_off += 1
            row.breached_off += not self.cast.vendors[off].honours(p, self._conduct["off"])
            row.malicious_off += self.cast.vendors[off].malicious
            on = self._choose(p, candidates, row)
        else:  # a spy deals without trust; she is not measured
            on = candidates[self._choice["on"].randrange(len(candidates))]
        if on is None:
            return
        honoured = self.cast.vendors[on].honours(p, self._conduct["on"])
        if honest:
            row.grants_on += 1
            row.breached_on += not honoured
            row.malicious_on += self.cast.vendors[on].malicious
        person, vendor = self.persons[p], self.vendors[on]
        if on in self.bundles and (on, p) not in self._bundled:
            self._bundled.add((on, p))
            self._deal(person, vendor, functools.partial(self._customer, on, p))
        self._deal(person, vendor, functools.partial(self._granted, p, on, honoured))

    def _customer(self, v: int, p: int, agreement: Agreement) -> None:
        """A clique vendor's customer holds an agreement with it: it shares its lot with her."""
        self.vendors[v].reputation.set_policy(self.persons[p].peer_id, _CUSTOMERS)

    def _granted(self, p: int, v: int, honoured: bool, agreement: Agreement) -> None:
        """She holds an agreement with the vendor: her node grants her email for ``grant_ms``.

        Its delivery, the vendor's delivery receipt, its deletion at the end and the deletion
        receipt all travel as messages; the vendor's owner keeps the data of a grant it breaches,
        so its node sends no deletion receipt, and her node finds the breach once the deadline
        (the grant's end and the receipt grace) has passed.
        """
        person, vendor = self.persons[p], self.vendors[v]
        email = Field("email", FieldType.EMAIL, f"{person.name}@example.org")
        try:
            grant = person.grants.grant(
                vendor.peer_id, [email], purpose=_PURPOSE, duration_ms=self.scenario.grant_ms
            )
        except AmityError as exc:  # the relationship ended meanwhile
            self._count(f"grant.failed.{exc.code}")
            return
        if not honoured:
            self.owners[v].keep(grant.grant_id)
        self.granted[grant.grant_id] = honoured

    def _choose(self, p: int, candidates: list[int], row: RoundRow) -> int | None:
        sc, rng = self.scenario, self._choice["on"]
        trust = self._trust(p, row)
        policy = self.persons[p].reputation.policy
        scored: list[tuple[int, float]] = []
        for v in candidates:
            peer = self.vendors[v].peer_id
            if policy.cuts_off(trust.standing(peer)):  # her node's cut-off rule
                continue
            scored.append((v, trust.score(peer)))
        if not scored:
            row.abstained_on += 1
            return None
        known = [(v, s) for v, s in scored if s > 0.0]
        unknown = [v for v, s in scored if s <= 0.0]
        if known and (not unknown or rng.random() >= sc.explore):
            x = rng.random() * sum(s for _, s in known)
            for v, s in known:
                x -= s
                if x < 0.0:
                    return v
            return known[-1][0]
        return unknown[rng.randrange(len(unknown))]

    def _trust(self, p: int, row: RoundRow) -> TrustResult:
        result = self.persons[p].reputation.result()
        if result is not self.trust[p]:
            self.trust[p] = result
            row.trust_computations += 1
        return result

    # -- the observer ------------------------------------------------------------------------------

    def _count(self, event: str) -> None:
        self.counts[event] = self.counts.get(event, 0) + 1

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None:
        if event == "grant.receipt.deletion":
            self.receipts += 1
        elif event.startswith("message.") or event == "rel.connected":
            self._count(event)
            if event == "message.rejected":
                self._count(f"{event}.{detail}")

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None:
        """Her node holds an agreement: the vendor joins her pre-trusted peers; what waited runs."""
        if node.kind is not NodeKind.PERSON or negotiation.state in OPEN_STATES:
            return
        vendor = self._by_peer[negotiation.vendor]
        key = (node, vendor)
        if negotiation.state is not _AGREED:
            if key in self._waiting:  # it expired unanswered: she offers again a moment later
                self._count("offers.again")
                self.engine.call_later(THINK.ms, self._offer_again, node, vendor)
            return
        if key in self._agreed:
            return
        agreement = negotiation.agreement
        assert agreement is not None  # an agreed negotiation carries it as it is persisted
        agreement = self._agreed[key] = self.env.shared.agreement(agreement)
        p = self._index.get(node.peer_id)
        if p is not None:  # a person of the run, not a Sybil
            self.agreements[(p, self._index[vendor.peer_id])] = agreement
            node.reputation.add_direct(vendor.peer_id)
        self._count("agreements")
        for then in self._waiting.pop(key, ()):
            then(agreement)

    def _offer_again(self, person: SimNode, vendor: SimNode) -> None:
        try:
            person.terms.offer(vendor.peer_id, self.scenario.terms, ttl_ms=OFFER_TTL_MS)
        except AmityError as exc:  # the relationship ended meanwhile
            self._count(f"offer.failed.{exc.code}")

    # -- running -----------------------------------------------------------------------------------

    def run(self, on_progress: Callable[[ReputationWorld], None] | None = None) -> None:
        """Run every round, calling ``on_progress`` after each; Ctrl-C marks it interrupted."""
        round_ms = self.scenario.round_ms
        with crypto_mode(self.crypto):
            try:
                for r in range(self.rounds_done, self.scenario.rounds):
                    self.engine.run((r + 1) * round_ms - 1)
                    self.rounds_done = r + 1
                    if on_progress is not None:
                        on_progress(self)
            except KeyboardInterrupt:
                self.interrupted = True
                raise
            finally:
                tally(self)
