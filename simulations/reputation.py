"""Scenario 3, reputation under attack: grants to breaching vendors, with and without local trust.

Each round every person grants data to one vendor out of a few candidates drawn by the seed. The
run plays two arms on the same candidate draws: with trust *off* she picks uniformly; with trust
*on* she computes her own trust (the real :func:`~amity.protocol.trust.compute_trust`) over the
attestations she holds and picks as below. When the grant ends the vendor deletes the data and
signs a deletion receipt, or breaches (keeps it, no receipt). She then signs an attestation under
the clause ``amity.delete-on-end`` of her agreement with that vendor, citing the receipt's hash,
keeps it and shares it with her friends over the simulated network (latency, loss). As the
daemon's reputation service does, her pre-trusted candidates (``direct``) are the vendors she holds
an agreement with and the friends she vouches for; nothing is global.

The choice with trust on, in the order applied: a candidate is *cut off* when its standing
(spec/reputation.md §4.6) is below zero on at least ``cutoff_evidence`` of trusted evidence, the
daemon's default policy; of the rest she picks in proportion to score (EigenTrust's probabilistic
selection), except that with probability ``explore``, or when no candidate has a score, she picks
uniformly among those without one. If every candidate is cut off she grants nothing that round.

Agreements are signed directly with :meth:`Agreement.create` (one per person and vendor, at first
contact): the negotiation is scenario 1's subject, not this one's. Only the trust-on arm signs
anything, since nothing in the trust-off arm reads attestations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.grants import GRANT_ID_BYTES
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.receipts import DeletionReason, DeletionReceipt, open_receipt
from amity.protocol.termsmessages import NEGOTIATION_ID_BYTES
from amity.protocol.trust import TrustResult, compute_trust
from amity.simulations.attackers import Cast, cast
from amity.simulations.crypto import CryptoMode, crypto_mode, make_keyring
from amity.simulations.engine import Engine
from amity.simulations.network import Connection, LinkProfile, Network
from amity.simulations.reputation_scenario import DELETION_CLAUSE, ReputationScenario
from amity.simulations.streams import ByteSource, RandomStreams

__all__ = ["Party", "Holder", "RoundRow", "ReputationWorld", "metrics", "headline"]

_VOUCH_NOTE: Final = "one of ours"


@dataclass(slots=True)
class Party:
    """A person or vendor: its identity, its host on the network and its random bytes."""

    name: str
    identity: SigningIdentity
    address: int
    random: ByteSource

    @property
    def peer_id(self) -> PeerId:
        return self.identity.peer_id


@dataclass(slots=True)
class Holder:
    """One person's attestations, pre-trusted candidates and trust in the trust-on arm."""

    held: dict[bytes, Attestation] = field(default_factory=dict)
    #: Vendors she holds an agreement with, and her friends (she vouches for them).
    direct: set[PeerId] = field(default_factory=set)
    trust: TrustResult | None = None
    stale: bool = True


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


class _Mailbox:
    """A network host that only receives what the world delivers; nobody dials it."""

    def accept(self, connection: Connection) -> None:
        connection.close(connection.b)

    def went_offline(self) -> None:
        return None

    def came_online(self) -> None:
        return None


class ReputationWorld:
    """Persons, vendors, their attestations and both arms' grants, for one scenario and seed."""

    def __init__(self, scenario: ReputationScenario, *, seed: int, crypto: CryptoMode) -> None:
        self.scenario = scenario
        self.seed = seed
        self.crypto = crypto
        self.streams = RandomStreams(seed)
        self.engine = Engine()
        self.network = Network(
            self.engine,
            self.streams.stream("network"),
            default=LinkProfile(scenario.latency, scenario.loss),
        )
        self.rows = [RoundRow(r) for r in range(scenario.rounds)]
        self.rounds_done = 0
        self.interrupted = False
        self.persons: list[Party] = []
        self.vendors: list[Party] = []
        self.holders: list[Holder] = []
        self.friends: list[tuple[int, ...]] = []
        self.agreements: dict[tuple[int, int], Agreement] = {}
        #: What each clique vendor hands its customers: its circle's attestations, its vouches.
        self.bundles: dict[int, tuple[Attestation, ...]] = {}
        self._bundled: set[tuple[int, int]] = set()
        self.receipts = 0
        self.messages_sent = 0
        self.messages_lost = 0
        self.sybil_attestations = 0
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

    def _party(self, name: str, group: str | None) -> Party:
        identity = make_keyring(self.streams.key(f"identity/{name}"), self.crypto).identity
        address = -1 if group is None else self.network.add_host(_Mailbox(), group)
        return Party(name, identity, address, self.streams.bytes_source(f"random/{name}"))

    def _build(self) -> None:
        sc = self.scenario
        width = len(str(max(sc.persons, sc.vendors)))
        self.vendors = [self._party(f"vendor-{i:0{width}d}", "vendor") for i in range(sc.vendors)]
        self.persons = [self._party(f"person-{i:0{width}d}", "person") for i in range(sc.persons)]
        self.holders = [Holder() for _ in range(sc.persons)]
        self._befriend()
        self._collude()
        self._sybils()
        for r in range(sc.rounds):
            self.engine.call_at(r * sc.round_ms, self._round, r)

    def _befriend(self) -> None:
        """Each sociable person draws ``friends`` others; friendship is mutual, and vouched for."""
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
            self.holders[p].direct.update(self.persons[f].peer_id for f in friends)

    def _collude(self) -> None:
        """Colluders' and spies' false attestations, signed at the start under real agreements.

        A spy keeps and shares hers like any attestation. A colluder is nobody's friend: a clique
        vendor attests the colluders of its circle honoured and hands their attestations, with
        its own, to each customer it deals with.
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
                        self._keep(p, item)
                        self._share(p, item)
        for v, vendor in enumerate(self.cast.vendors):
            bundle: list[Attestation] = []
            for p in vendor.circle:
                bundle += said.get(p, [])
                agreement = self._agreement(p, v)
                bundle.append(self._attest(self.vendors[v], agreement, Verdict.HONOURED, ()))
            if bundle:
                self.bundles[v] = tuple(bundle)

    def _sybils(self) -> None:
        """Sybil customers of the clique: real agreements, praise for it, nobody vouching for them.

        Every honest person holds all their attestations from the start (the worst case), but
        nobody vouches for a Sybil and no vendor attests one. They draw nothing from the run's
        streams, so a run with them differs from one without only as far as their attestations
        move someone's trust (spec/reputation.md §4.5 says they move nobody's).
        """
        held: list[Attestation] = []
        for s in range(self.scenario.sybils):
            sybil = self._party(f"sybil-{s}", None)
            for v in self.cast.clique:
                agreement = self._sign_agreement(sybil, self.vendors[v])
                held.append(self._attest(sybil, agreement, Verdict.HONOURED, (), counted=False))
        self.sybil_attestations = len(held)
        for p, conduct in enumerate(self.cast.persons):
            if conduct.honest:
                for item in held:
                    self._keep(p, item)

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
        if on in self.bundles:
            self._hand_bundle(on, p)
        grant_id = self.persons[p].random.take(GRANT_ID_BYTES)
        self.engine.call_later(sc.grant_ms, self._grant_ends, p, on, grant_id, honoured)

    def _choose(self, p: int, candidates: list[int], row: RoundRow) -> int | None:
        sc, rng = self.scenario, self._choice["on"]
        trust = self._trust(p, row)
        scored: list[tuple[int, float]] = []
        for v in candidates:
            peer = self.vendors[v].peer_id
            standing = trust.standing(peer)
            value = standing.value
            if value is not None and value < 0 and standing.evidence >= sc.cutoff_evidence:
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
        holder = self.holders[p]
        if holder.stale or holder.trust is None:
            sc = self.scenario
            holder.trust = compute_trust(
                self.persons[p].peer_id,
                holder.held.values(),
                direct=holder.direct,
                now_ms=self.now_ms,
                damping=sc.damping,
                max_iterations=sc.max_iterations,
                epsilon=sc.epsilon,
            )
            holder.stale = False
            row.trust_computations += 1
        return holder.trust

    # -- agreements, receipts, attestations, sharing -----------------------------------------------

    def _sign_agreement(self, person: Party, vendor: Party) -> Agreement:
        negotiation_id = person.random.take(NEGOTIATION_ID_BYTES)
        terms = self.scenario.terms
        return Agreement.create(
            terms, person.identity, vendor.identity, negotiation_id, self.now_ms
        )

    def _agreement(self, p: int, v: int) -> Agreement:
        found = self.agreements.get((p, v))
        if found is None:
            found = self._sign_agreement(self.persons[p], self.vendors[v])
            self.agreements[(p, v)] = found
            holder = self.holders[p]
            holder.direct.add(self.vendors[v].peer_id)
            holder.stale = True
        return found

    def _attest(
        self,
        attester: Party,
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
            attester.identity,
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
                vendor.identity,
                grantor=person.peer_id,
                grant_id=grant_id,
                reason=DeletionReason.EXPIRED,
                deleted_ms=self.now_ms,
            )
            checked = open_receipt(receipt.encoded, issuer=vendor.peer_id, subject=person.peer_id)
            evidence = (hashlib.sha256(checked.encoded).digest(),)
            self.receipts += 1
        verdict = Verdict.HONOURED if honoured else Verdict.BREACHED
        item = self._attest(person, self.agreements[(p, v)], verdict, evidence)
        self._keep(p, item)
        self._share(p, item)

    def _keep(self, p: int, item: Attestation) -> None:
        holder = self.holders[p]
        if item.attestation_id not in holder.held:
            holder.held[item.attestation_id] = item
            holder.stale = True

    def _share(self, p: int, item: Attestation) -> None:
        for friend in self.friends[p]:
            self._send(self.persons[p].address, friend, (item,))

    def _hand_bundle(self, v: int, p: int) -> None:
        """A clique vendor hands its customer its bundle, until one copy has arrived."""
        if (v, p) not in self._bundled:
            self._send(self.vendors[v].address, p, self.bundles[v], mark=(v, p))

    def _send(
        self,
        src: int,
        p: int,
        items: tuple[Attestation, ...],
        mark: tuple[int, int] | None = None,
    ) -> None:
        """Deliver ``items`` (one message) to person ``p`` after the network's latency, or lose it.

        Decoded attestations travel as they are: each was verified once, by
        :meth:`Attestation.issue`, and decoding the same bytes again gives the same result.
        """
        self.messages_sent += 1
        delay = self.network.transmit(src, self.persons[p].address)
        if delay is None:
            self.messages_lost += 1
            return
        self.engine.call_later(delay, self._arrive, p, items, mark)

    def _arrive(self, p: int, items: tuple[Attestation, ...], mark: tuple[int, int] | None) -> None:
        if mark is not None:
            self._bundled.add(mark)
        for item in items:
            self._keep(p, item)

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
                self.engine.run()
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
    for holder, conduct in zip(world.holders, world.cast.persons, strict=True):
        if conduct.honest and holder.trust is not None:
            masses.append(sum(holder.trust.score(peer) for peer in clique))
    return masses


def headline(world: ReputationWorld) -> str:
    """One line on where the run is: rounds done and the two arms' fractions so far."""
    figures = metrics(world)
    on, off = figures.get("fraction_breaching_on"), figures.get("fraction_breaching_off")
    shown = "—" if on is None or off is None else f"{on:.3f} with trust, {off:.3f} without"
    return (
        f"round {world.rounds_done}/{world.scenario.rounds}; grants to breaching vendors: {shown}"
    )
