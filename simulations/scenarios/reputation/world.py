"""Scenario 3, reputation under attack: grants to breaching vendors, with and without local trust.

Each round every person grants data to one vendor out of a few candidates drawn by the seed. The
run plays two arms on the same candidate draws: with trust *off* she picks uniformly; with trust
*on* she reads her own node's local trust and picks as below. When the grant ends the vendor
deletes the data and signs a deletion receipt, or breaches (keeps it, no receipt). She then signs
an attestation under the clause ``amity.delete-on-end`` of her agreement with that vendor, citing
the receipt's hash, and her node holds it.

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

What is not message-driven, and why: agreements are signed directly with
:meth:`Agreement.create` (one per person and vendor, at first contact; negotiation is scenario 1's
subject), grants end in a deletion receipt or none without their delivery being simulated (that is
scenario 2's), and the attackers' set-up is arranged before the run: colluders hand their
attestations to their clique vendors, and every honest person starts out holding every Sybil's
attestations (the worst case). A clique vendor then shares its lot with each customer over a real
relationship with share policy ``all``. Only the trust-on arm signs anything, since nothing in the
trust-off arm reads attestations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError
from amity.protocol.grants import GRANT_ID_BYTES
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.negotiation import Negotiation
from amity.protocol.receipts import DeletionReason, DeletionReceipt, open_receipt
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.termsmessages import NEGOTIATION_ID_BYTES
from amity.protocol.trust import TrustResult
from amity.simulations.behaviours.attackers import Cast, cast
from amity.simulations.context import make_env
from amity.simulations.crypto import CryptoMode, crypto_mode, make_keyring
from amity.simulations.node import SimNode
from amity.simulations.scenarios.reputation.scenario import DELETION_CLAUSE, ReputationScenario
from amity.simulations.world.engine import Engine
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
        self.friends: list[tuple[int, ...]] = []
        #: Each person's last local trust, as her last choice read it.
        self.trust: list[TrustResult | None] = []
        self.agreements: dict[tuple[int, int], Agreement] = {}
        #: Clique vendors that have something to hand their customers, and those they reached.
        self.bundles: dict[int, int] = {}
        self._bundled: set[tuple[int, int]] = set()
        self.receipts = 0
        self.sybil_attestations = 0
        #: What nodes told the observer, by event (connections, refusals, rejections).
        self.counts: dict[str, int] = {}
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

    def _node(self, name: str, kind: NodeKind) -> SimNode:
        return SimNode(
            self.env,
            name=name,
            kind=kind,
            seed=self.streams.key(f"identity/{name}"),
            random=self.streams.bytes_source(f"random/{name}"),
            reachable=True,
        )

    def _build(self) -> None:
        sc = self.scenario
        width = len(str(max(sc.persons, sc.vendors)))
        self.vendors = [
            self._node(f"vendor-{i:0{width}d}", NodeKind.VENDOR) for i in range(sc.vendors)
        ]
        self.persons = [
            self._node(f"person-{i:0{width}d}", NodeKind.PERSON) for i in range(sc.persons)
        ]
        for person in self.persons:
            person.reputation.configure_trust(
                damping=sc.damping, max_iterations=sc.max_iterations, epsilon=sc.epsilon
            )
            # The daemon's default policy (threshold 0), on the scenario's evidence.
            person.reputation.policy = replace(
                person.reputation.policy, min_evidence=sc.cutoff_evidence
            )
        self.trust = [None] * sc.persons
        self._befriend()
        self._collude()
        self._sybils()
        for r in range(sc.rounds):
            self.engine.call_at(r * sc.round_ms, self._round, r)

    def _befriend(self) -> None:
        """Each sociable person draws ``friends`` others; friendship is mutual, and vouched for.

        For each pair the one drawn first invites the other, whose node connects at the start of
        the run; once connected each vouches for the other and shares her own attestations.
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
                    self._meet(self.persons[p], self.persons[f], self._befriended, p, f)

    def _meet(
        self, host: SimNode, guest: SimNode, then: Callable[[int, int], None], i: int, j: int
    ) -> None:
        """``guest`` uses an invitation of ``host``, trying again on failure; ``then(i, j)``."""
        invitation = host.invite(_INVITATION_MS)

        def attempt(tries: int) -> None:
            def done(ok: bool, why: str) -> None:
                if ok:
                    then(i, j)
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

    def _collude(self) -> None:
        """Colluders' and spies' false attestations, signed at the start under real agreements.

        A spy's node holds hers and shares them like any attestation. A colluder is nobody's
        friend: each clique vendor's node holds the attestations of the colluders of its circle
        (handed over before the run) and its own, praising them, and shares the lot with each
        customer it deals with.
        """
        said: dict[int, list[Attestation]] = {}
        for p, conduct in enumerate(self.cast.persons):
            for verdict, targets in (
                (Verdict.HONOURED, conduct.praises),
                (Verdict.BREACHED, conduct.slanders),
            ):
                for v in targets:
                    item = self._attest(self.persons[p], self._agreement(p, v), verdict, ())
                    said.setdefault(p, []).append(item)
                    if conduct.sociable:
                        self.persons[p].reputation.attest(item)
        for v, vendor_conduct in enumerate(self.cast.vendors):
            vendor = self.vendors[v].reputation
            for p in vendor_conduct.circle:
                for item in said.get(p, []):
                    vendor.hold_received(item, self.persons[p].peer_id)
                agreement = self._agreement(p, v)
                vendor.attest(self._attest(self.vendors[v], agreement, Verdict.HONOURED, ()))
            if vendor_conduct.circle:
                self.bundles[v] = len(vendor.held)

    def _sybils(self) -> None:
        """Sybil customers of the clique: real agreements, praise for it, nobody vouching for them.

        Every honest person's node holds all their attestations from the start (the worst case),
        but nobody vouches for a Sybil and no vendor attests one. They draw nothing from the run's
        streams, so a run with them differs from one without only as far as their attestations
        move someone's trust (spec/reputation.md §4.5 says they move nobody's).
        """
        held: list[tuple[PeerId, Attestation]] = []
        for s in range(self.scenario.sybils):
            name = f"sybil-{s}"
            sybil = make_keyring(self.streams.key(f"identity/{name}"), self.crypto).identity
            random = self.streams.bytes_source(f"random/{name}")
            for v in self.cast.clique:
                negotiation_id = random.take(NEGOTIATION_ID_BYTES)
                agreement = self._sign_agreement(sybil, self.vendors[v], negotiation_id)
                item = self._attest_as(sybil, agreement, Verdict.HONOURED, (), counted=False)
                held.append((sybil.peer_id, item))
        self.sybil_attestations = len(held)
        for p, conduct in enumerate(self.cast.persons):
            if conduct.honest:
                for sybil_id, item in held:
                    self.persons[p].reputation.hold_received(item, sybil_id)

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
        self._agreement(p, on)
        if on in self.bundles and (on, p) not in self._bundled:
            self._bundled.add((on, p))
            self._meet(self.vendors[on], self.persons[p], self._customer, on, p)
        grant_id = self.persons[p].random.take(GRANT_ID_BYTES)
        self.engine.call_later(sc.grant_ms, self._grant_ends, p, on, grant_id, honoured)

    def _customer(self, v: int, p: int) -> None:
        """A clique vendor's customer connected: it shares its lot with her."""
        self.vendors[v].reputation.set_policy(self.persons[p].peer_id, _CUSTOMERS)

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

    # -- agreements, receipts, attestations --------------------------------------------------------

    def _sign_agreement(
        self, person: SigningIdentity, vendor: SimNode, negotiation_id: bytes
    ) -> Agreement:
        return Agreement.create(
            self.scenario.terms, person, vendor.keyring.identity, negotiation_id, self.now_ms
        )

    def _agreement(self, p: int, v: int) -> Agreement:
        found = self.agreements.get((p, v))
        if found is None:
            person = self.persons[p]
            negotiation_id = person.random.take(NEGOTIATION_ID_BYTES)
            found = self._sign_agreement(person.keyring.identity, self.vendors[v], negotiation_id)
            self.agreements[(p, v)] = found
            person.reputation.add_direct(self.vendors[v].peer_id)
        return found

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
        *,
        counted: bool = True,
    ) -> Attestation:
        now = self.now_ms
        if counted:
            round_now = self.engine.now_ms // self.scenario.round_ms
            self.rows[min(round_now, self.scenario.rounds - 1)].attestations += 1
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

    def _grant_ends(self, p: int, v: int, grant_id: bytes, honoured: bool) -> None:
        person, vendor = self.persons[p], self.vendors[v]
        evidence: tuple[bytes, ...] = ()
        if honoured:
            receipt = DeletionReceipt.issue(
                vendor.keyring.identity,
                grantor=person.peer_id,
                grant_id=grant_id,
                reason=DeletionReason.EXPIRED,
                deleted_ms=self.now_ms,
            )
            checked = open_receipt(receipt.encoded, issuer=vendor.peer_id, subject=person.peer_id)
            evidence = (hashlib.sha256(checked.encoded).digest(),)
            self.receipts += 1
        verdict = Verdict.HONOURED if honoured else Verdict.BREACHED
        person.reputation.attest(self._attest(person, self.agreements[(p, v)], verdict, evidence))

    # -- the observer ------------------------------------------------------------------------------

    def _count(self, event: str) -> None:
        self.counts[event] = self.counts.get(event, 0) + 1

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None:
        if event.startswith("message.") or event == "rel.connected":
            self._count(event)

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None:
        return None

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
