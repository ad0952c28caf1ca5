"""Scenario 3's society: its nodes, who is friends with whom, and the attackers' deals and lies.

Every person and vendor is a :class:`~amity.simulations.node.SimNode` running the daemon's rules.
Friends meet by invitation (a real handshake and ``rel.hello``), vouch for each other and set
their share policy for each other to ``mine``; from then on each attestation she makes goes to her
friends as a ``reputation.share`` envelope through her node's outbox (signed, encrypted, ACKed,
resent after a lost connection), and each friend's node verifies every item and counts it in its
:class:`~amity.protocol.trustindex.TrustState` (:mod:`amity.simulations.services.reputation`,
the rules of node/reputation/). As the daemon does, her pre-trusted candidates are the vendors she holds
an agreement with and the friends she vouches for; nothing is global.

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
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.trust import TrustResult
from amity.simulations.behaviours.attackers import Cast, VendorOwner
from amity.simulations.behaviours.owners import HonestPerson, accept_all
from amity.simulations.context import SimEnv
from amity.simulations.node import SimNode
from amity.simulations.scenarios.reputation.scenario import DELETION_CLAUSE, ReputationScenario
from amity.simulations.world.distributions import Constant
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import LinkProfile, Network
from amity.simulations.world.streams import RandomStreams

__all__ = ["OFFER_TTL_MS", "THINK", "Society"]

_VOUCH_NOTE: Final = "one of ours"
#: How friends share with each other (``amity share-policy``): her own attestations.
_FRIENDS: Final = SharePolicy(ShareMode.MINE)
#: An invitation's life, and how often and how far apart connecting is tried.
_INVITATION_MS: Final = 86_400_000
_CONNECT_ATTEMPTS: Final = 5
_RETRY_MS: Final = 60_000
#: A person offers her terms this long after her node connects to a vendor; the offer's life.
THINK: Final = Constant(1_000)
OFFER_TTL_MS: Final = 900_000
#: Sybils' links: a fixed latency and no loss, so that their traffic draws nothing from the
#: network's stream and moves no other message (see _sybils).
_SYBIL_GROUP: Final = "sybil"
_SYBIL_LINK: Final = LinkProfile(Constant(40), 0.0)
#: Friends meet and colluders deal this far into the run: Sybils, if any, go first (_sybils).
_SETUP_MS: Final = 60_000


class Society:
    """The set-up half of :class:`~amity.simulations.scenarios.reputation.world.ReputationWorld`:
    its nodes and who meets whom before and as the rounds begin."""

    scenario: ReputationScenario
    streams: RandomStreams
    engine: Engine
    env: SimEnv
    network: Network
    cast: Cast
    owners: list[VendorOwner]
    persons: list[SimNode]
    vendors: list[SimNode]
    sybils: list[SimNode]
    friends: list[tuple[int, ...]]
    trust: list[TrustResult | None]
    bundles: set[int]
    sybil_attestations: int
    _person: HonestPerson
    _agreed: dict[tuple[SimNode, SimNode], Agreement]
    _waiting: dict[tuple[SimNode, SimNode], list[Callable[[Agreement], None]]]
    _index: dict[PeerId, int]
    _by_peer: dict[PeerId, SimNode]

    @property
    def now_ms(self) -> int:
        """Wall-clock milliseconds that the virtual clock stands for (what gets signed)."""
        return self.scenario.start_ms + self.engine.now_ms

    if TYPE_CHECKING:  # what the world provides

        def _round(self, r: int) -> None: ...

        def _count(self, event: str) -> None: ...

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
            ttl_ms=OFFER_TTL_MS,
            think=THINK,
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

    # -- what colluders, spies and Sybils sign -----------------------------------------------------

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


def _nothing() -> None:
    return None
