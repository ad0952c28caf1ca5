"""Scenario 3, reputation under attack: grants to breaching vendors, with and without local trust.

Each round every person grants data to one vendor out of a few candidates drawn by the seed. The
run plays two arms on the same candidate draws: with trust *off* she picks uniformly (and nothing
more happens: no node reads that arm); with trust *on* she reads her own node's local trust and
picks as below, and the grant happens. When she picks, the vendor's conduct decides whether it
will keep her data (:mod:`amity.simulations.behaviours.attackers`).

Every person and vendor is a :class:`~amity.simulations.node.SimNode` running the daemon's rules.
Friends meet by invitation (a real handshake and ``rel.hello``), vouch for each other and set
their share policy for each other to ``mine``; from then on each attestation she makes goes to her
friends as a ``reputation.share`` envelope through her node's outbox (signed, encrypted, ACKed,
resent after a lost connection), and each friend's node verifies every item and counts it in its
:class:`~amity.protocol.trustindex.TrustState` (:mod:`amity.simulations.services.reputation`,
the rules of node/reputation/). As the daemon does, her pre-trusted candidates are the vendors she holds
an agreement with and the friends she vouches for; nothing is global.

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

So do the attackers' lies. A minute into the run (Sybils first: see ``_sybils``) colluders and
spies negotiate agreements with the vendors they speak of and sign; a spy's node shares with her
friends, a colluder's with the clique vendors of her circle, whose nodes attest her honoured and
share the lot with each customer (policy ``all``, one hop on). Sybils negotiate with the clique,
and each shares its praise over a relationship with every honest person (the worst case); their
links have a fixed latency and no loss, so their traffic draws nothing from the network's stream.
No owner here asks (``reputation.query``) or rebuts (``reputation.rebut``) yet, though the
nodes' reputation service takes both.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.negotiation import OPEN_STATES, Negotiation, NegotiationState
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.trust import TrustResult
from amity.protocol.vault import Field, FieldType
from amity.simulations.behaviours.attackers import Cast, VendorOwner, cast
from amity.simulations.behaviours.owners import HonestPerson, accept_all
from amity.simulations.context import make_env
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.scenarios.reputation.scenario import DELETION_CLAUSE, ReputationScenario
from amity.simulations.world.distributions import Constant
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import LinkProfile
from amity.simulations.world.streams import RandomStreams

__all__ = ["RoundRow", "ReputationWorld", "metrics", "headline"]

_VOUCH_NOTE: Final = "one of ours"
#: How friends share with each other, and a clique vendor with its customers (``amity
#: share-policy``): her own attestations; the vendor's own and what its circle handed it.
_FRIENDS: Final = SharePolicy(ShareMode.MINE)
_CUSTOMERS: Final = SharePolicy(ShareMode.ALL, max_hops=1)
#: An invitation's life, and how often and how far apart connecting is tried.
_INVITATION_MS: Final = 86_400_000
_CONNECT_ATTEMPTS: Final = 5
_RETRY_MS: Final = 60_000
#: A person offers her terms this long after her node connects to a vendor; the offer's life.
_THINK: Final = Constant(1_000)
_OFFER_TTL_MS: Final = 900_000
#: Sybils' links: a fixed latency and no loss, so that their traffic draws nothing from the
#: network's stream and moves no other message (see _sybils).
_SYBIL_GROUP: Final = "sybil"
_SYBIL_LINK: Final = LinkProfile(Constant(40), 0.0)
_AGREED: Final = NegotiationState.AGREED
#: Friends meet and colluders deal this far into the run: Sybils, if any, go first (_sybils).
_SETUP_MS: Final = 60_000
#: What she grants, and for what (a purpose her terms allow).
_PURPOSE: Final = "delivery"


@dataclass(slots=True)
class RoundRow:
    """What honest persons' grants came to in one round, in each arm."""

    round: int
    grants_on: int = 0
    breached_on: int = 0
    malicious_on: int = 0
    abstained_on: int = 0
    grants_off: int = 0
    breached_off: int = 0
    malicious_off: int = 0
    #: Attestations signed and trust computations made in the round (trust-on arm).
    attestations: int = 0
    trust_computations: int = 0


class ReputationWorld:
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

    # -- building the world ------------------------------------------------------------------------

    def _node(self, name: str, kind: NodeKind, behaviour: HonestPerson | VendorOwner) -> SimNode:
        node = SimNode(
            self.env,
            name=name,
            kind=kind,
            seed=self.streams.key(f"identity/{name}"),
            random=self.streams.bytes_source(f"random/{name}"),
            reachable=True,
            behaviour=behaviour,
        )
        self._by_peer[node.peer_id] = node
        return node

    def _build(self) -> None:
        sc = self.scenario
        policy = accept_all(sc.terms)
        # She proffers the scenario's terms, deletion clause included; the vendors' policy signs
        # them at once, and her limits (the same) never need a person.
        self._person = HonestPerson(
            sc.terms_label,
            terms=sc.terms,
            limits=policy,
            ttl_ms=_OFFER_TTL_MS,
            think=_THINK,
            rng=self.streams.stream("behaviour/person"),
        )
        width = len(str(max(sc.persons, sc.vendors)))
        self.owners = [VendorOwner(policy) for _ in range(sc.vendors)]
        self.vendors = [
            self._node(f"vendor-{i:0{width}d}", NodeKind.VENDOR, owner)
            for i, owner in enumerate(self.owners)
        ]
        for vendor, owner in zip(self.vendors, self.owners, strict=True):
            vendor.grants.keeps = owner.keeps
        self.persons = [
            self._node(f"person-{i:0{width}d}", NodeKind.PERSON, self._person)
            for i in range(sc.persons)
        ]
        for i, node in enumerate(self.vendors):
            self._index[node.peer_id] = i
        for i, node in enumerate(self.persons):
            self._index[node.peer_id] = i
        for person, conduct in zip(self.persons, self.cast.persons, strict=True):
            person.reputation.configure_trust(
                damping=sc.damping, max_iterations=sc.max_iterations, epsilon=sc.epsilon
            )
            # The daemon's default policy (threshold 0), on the scenario's evidence.
            person.reputation.policy = replace(
                person.reputation.policy, min_evidence=sc.cutoff_evidence
            )
            if conduct.deals:  # her node judges each grant by its receipts, and shares the verdict
                person.reputation.attest_grants(auto_share=True)
        self.trust = [None] * sc.persons
        self._sybils()
        self._befriend()
        self._collude()
        for r in range(sc.rounds):
            self.engine.call_at(r * sc.round_ms, self._round, r)

    def _befriend(self) -> None:
        """Each sociable person draws ``friends`` others; friendship is mutual, and vouched for.

        For each pair the one drawn first invites the other, whose node connects a minute into the
        run (``_SETUP_MS``, once the Sybils are done); once connected each vouches for the other
        and shares her own attestations.
        """
        sociable = [p for p, c in enumerate(self.cast.persons) if c.sociable]
        draw = self.streams.stream("friends")
        mutual: dict[int, set[int]] = {p: set() for p in sociable}
        for k, p in enumerate(sociable):
            for other in draw.sample(
                range(len(sociable) - 1), min(self.scenario.friends, len(sociable) - 1)
            ):
                friend = sociable[other + (other >= k)]  # anyone but herself
                mutual[p].add(friend)
                mutual[friend].add(p)
        self.friends = [tuple(sorted(mutual.get(p, ()))) for p in range(self.scenario.persons)]
        for p, friends in enumerate(self.friends):
            for f in friends:
                if p < f:
                    self.engine.call_at(
                        _SETUP_MS,
                        self._meet,
                        self.persons[p],
                        self.persons[f],
                        functools.partial(self._befriended, p, f),
                    )

    def _meet(self, host: SimNode, guest: SimNode, then: Callable[[], None]) -> None:
        """``guest`` uses an invitation of ``host``, trying again on failure; ``then()``."""
        invitation = host.invite(_INVITATION_MS)

        def attempt(tries: int) -> None:
            def done(ok: bool, why: str) -> None:
                if ok:
                    then()
                elif tries < _CONNECT_ATTEMPTS:
                    self.engine.call_later(_RETRY_MS, attempt, tries + 1)
                else:
                    self._count("connect.gave_up")

            try:
                guest.connect(invitation, done)
            except AmityError as exc:
                done(False, exc.code)

        attempt(1)

    def _befriended(self, p: int, f: int) -> None:
        for me, friend in ((self.persons[p], self.persons[f]), (self.persons[f], self.persons[p])):
            me.reputation.vouch(friend.peer_id)
            me.reputation.set_policy(friend.peer_id, _FRIENDS)

    def _deal(self, person: SimNode, vendor: SimNode, then: Callable[[Agreement], None]) -> None:
        """``then(agreement)`` once ``person`` and ``vendor`` hold one, negotiated by messages.

        At first contact the vendor hands her an invitation and her node connects; her owner
        offers the scenario's terms, which the vendor's policy signs (spec/terms.md §7.8).
        """
        key = (person, vendor)
        agreement = self._agreed.get(key)
        if agreement is not None:
            then(agreement)
            return
        waiting = self._waiting.get(key)
        if waiting is None:
            self._waiting[key] = [then]
            self._meet(vendor, person, _nothing)
        else:
            waiting.append(then)

    def _collude(self) -> None:
        """Colluders' and spies' false attestations, signed at the start under real agreements.

        A minute into the run each meets the vendors she speaks of and negotiates an agreement
        with each, as anyone does; then she signs, and her node holds what she signed. A spy's
        node shares hers with her friends like any attestation. A colluder is nobody's friend:
        her node shares hers (policy ``mine``) with the clique vendors of her circle, whose nodes
        attest her honoured and share the lot (policy ``all``, one hop on) with each customer
        they deal with.
        """
        for p, conduct in enumerate(self.cast.persons):
            for verdict, targets in (
                (Verdict.HONOURED, conduct.praises),
                (Verdict.BREACHED, conduct.slanders),
            ):
                for v in targets:
                    self.engine.call_at(
                        _SETUP_MS,
                        self._deal,
                        self.persons[p],
                        self.vendors[v],
                        functools.partial(self._say, p, v, verdict),
                    )
        self.bundles = {v for v, c in enumerate(self.cast.vendors) if c.circle}

    def _say(self, p: int, v: int, verdict: Verdict, agreement: Agreement) -> None:
        """Colluder or spy ``p`` signs ``verdict`` on vendor ``v``, whatever happened."""
        person, vendor = self.persons[p], self.vendors[v]
        person.reputation.attest(self._attest(person, agreement, verdict, ()))
        if p in self.cast.vendors[v].circle:
            person.reputation.set_policy(vendor.peer_id, _FRIENDS)
            vendor.reputation.attest(self._attest(vendor, agreement, Verdict.HONOURED, ()))

    def _sybils(self) -> None:
        """Sybil customers of the clique: real agreements, praise for it, nobody vouching for them.

        Each negotiates an agreement with every clique vendor and attests it honoured. The worst
        case: every honest person accepts every Sybil's invitation, and each Sybil's node shares
        its attestations with her (policy ``mine``); but nobody vouches for a Sybil and no
        vendor attests one. They draw nothing from the run's streams: their links have a fixed
        latency and no loss, and they are done before anyone else starts (``_SETUP_MS``), so that
        no group commit of a node mixes their messages with others'. A run with them differs from
        one without only as far as their attestations move someone's trust (spec/reputation.md
        §4.5 says they move nobody's), or where a person's grant falls in that first minute.
        """
        if self.scenario.sybils:  # before the first dial
            for group in (NodeKind.PERSON.value, NodeKind.VENDOR.value, _SYBIL_GROUP):
                self.network.set_profile(_SYBIL_GROUP, group, _SYBIL_LINK)
        for s in range(self.scenario.sybils):
            sybil = self._node(f"sybil-{s}", NodeKind.PERSON, self._person)
            self.network.set_group(sybil.address, _SYBIL_GROUP)
            self.sybils.append(sybil)
            for v in self.cast.clique:
                self._deal(sybil, self.vendors[v], functools.partial(self._sybil_says, sybil))
            for person, conduct in zip(self.persons, self.cast.persons, strict=True):
                if conduct.honest:
                    share = functools.partial(sybil.reputation.set_policy, person.peer_id, _FRIENDS)
                    self._meet(sybil, person, share)

    def _sybil_says(self, sybil: SimNode, agreement: Agreement) -> None:
        sybil.reputation.attest(self._attest(sybil, agreement, Verdict.HONOURED, ()))
        self.sybil_attestations += 1

    # -- one round ---------------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """Wall-clock milliseconds that the virtual clock stands for (what gets signed)."""
        return self.scenario.start_ms + self.engine.now_ms

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

    # -- receipts, attestations --------------------------------------------------------------------

    def _attest(
        self,
        attester: SimNode,
        agreement: Agreement,
        verdict: Verdict,
        evidence: tuple[bytes, ...],
    ) -> Attestation:
        return self._attest_as(attester.keyring.identity, agreement, verdict, evidence)

    def _attest_as(
        self,
        attester: SigningIdentity,
        agreement: Agreement,
        verdict: Verdict,
        evidence: tuple[bytes, ...],
    ) -> Attestation:
        now = self.now_ms
        return Attestation.issue(
            attester,
            agreement,
            clause_id=DELETION_CLAUSE,
            verdict=verdict,
            evidence=evidence,
            issued_ms=now,
            expires_ms=now + self.scenario.attestation_ttl_ms,
            note=_VOUCH_NOTE if attester.peer_id == agreement.vendor else "",
        )

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
                self.engine.call_later(_THINK.ms, self._offer_again, node, vendor)
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
            person.terms.offer(vendor.peer_id, self.scenario.terms, ttl_ms=_OFFER_TTL_MS)
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
                self._tally()

    def _tally(self) -> None:
        """Count what persons and vendors signed, by round, and her nodes' verdicts on grants.

        A verdict cites the grant's hash first (spec/reputation.md §6.2); it is mistaken when it
        says breached of a grant the vendor honoured (its receipt came too late) or the reverse.
        """
        sc = self.scenario
        for row in self.rows:
            row.attestations = 0
        honoured: dict[bytes, bool] = {}
        for person, conduct in zip(self.persons, self.cast.persons, strict=True):
            if conduct.deals:
                for gid, issued in person.grants.issued.items():
                    digest = hashlib.sha256(issued.grant.encoded).digest()
                    honoured[digest] = self.granted[gid]
        self.verdicts, self.mistaken = {}, 0
        for node in [*self.persons, *self.vendors]:
            for held in node.reputation.held_items():
                if held.origin is not None:
                    continue
                item = held.attestation
                r = min((item.issued_ms - sc.start_ms) // sc.round_ms, sc.rounds - 1)
                self.rows[r].attestations += 1
                kept = honoured.get(item.evidence[0]) if item.evidence else None
                if kept is not None:  # her node's own verdict on one of her grants
                    verdict = item.verdict.value
                    self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
                    self.mistaken += kept != (item.verdict is Verdict.HONOURED)


def _nothing() -> None:
    return None


def _fraction(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _arm_figures(rows: list[RoundRow], suffix: str) -> dict[str, float]:
    arms = {
        "on": (
            sum(row.grants_on for row in rows),
            sum(row.breached_on for row in rows),
            sum(row.malicious_on for row in rows),
        ),
        "off": (
            sum(row.grants_off for row in rows),
            sum(row.breached_off for row in rows),
            sum(row.malicious_off for row in rows),
        ),
    }
    figures: dict[str, float] = {}
    for arm, (grants, breached, malicious) in arms.items():
        for name, count in (("breaching", breached), ("to_malicious", malicious)):
            value = _fraction(count, grants)
            if value is not None:
                figures[f"fraction_{name}_{arm}{suffix}"] = value
    return figures


def metrics(world: ReputationWorld) -> dict[str, float]:
    """The run's figures a sweep averages over seeds, unrounded; a figure without data is left out.

    Fractions are of honest persons' grants. ``fraction_breaching_*``: the grant was breached;
    ``fraction_to_malicious_*``: it went to a malicious vendor (which may have kept it this time).
    ``*_late``: over the last quarter of the rounds, once trust has had time to form.
    """
    rows = world.rows[: world.rounds_done]
    late = rows[len(rows) - max(1, len(rows) // 4) :]
    figures = {**_arm_figures(rows, ""), **_arm_figures(late, "_late")}
    asked = sum(row.grants_on + row.abstained_on for row in rows)
    if asked:
        figures["abstention_rate_on"] = sum(row.abstained_on for row in rows) / asked
    on, off = figures.get("fraction_breaching_on"), figures.get("fraction_breaching_off")
    if on is not None and off:
        figures["breach_reduction"] = 1.0 - on / off
    masses = _clique_masses(world)
    if masses:
        figures["clique_score_mass"] = sum(masses) / len(masses)
    return figures


def _clique_masses(world: ReputationWorld) -> list[float]:
    """Per honest person, the trust score her last choice gave the clique's vendors, summed.

    Scenario 4 (Sybil) watches it as the number of Sybils grows: identities without
    agreement-backed links to her must not move it (spec/reputation.md §4.5).
    """
    clique = [world.vendors[v].peer_id for v in world.cast.clique]
    masses = []
    for trust, conduct in zip(world.trust, world.cast.persons, strict=True):
        if conduct.honest and trust is not None:
            masses.append(sum(trust.score(peer) for peer in clique))
    return masses


def headline(world: ReputationWorld) -> str:
    """One line on where the run is: rounds done and the two arms' fractions so far."""
    figures = metrics(world)
    on, off = figures.get("fraction_breaching_on"), figures.get("fraction_breaching_off")
    shown = "—" if on is None or off is None else f"{on:.3f} with trust, {off:.3f} without"
    return (
        f"round {world.rounds_done}/{world.scenario.rounds}; grants to breaching vendors: {shown}"
    )
