"""The answer of local trust, and why: scores, standings and each subject's inflows, as views
over the solver's arrays (spec/reputation.md §4.3, §4.6). :mod:`amity.protocol.trust` computes
them; this module says what they mean and explains them on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np

from amity.protocol.identity import PeerId
from amity.protocol.trustgraph import Bools, Floats, Ints, TrustGraph

__all__ = ["Explainer", "Inflow", "PeerTable", "Standing", "TrustResult"]

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Standing:
    """What trusted attesters say of a peer: honoured and breached, each attester counted once. §4.6."""

    #: H_j: the attesters' weights times their honoured fraction, summed.
    honoured: float
    #: B_j: the same for the breached fraction.
    breached: float

    @property
    def evidence(self) -> float:
        """H + B: how many fully trusted attesters' worth of verdicts there are (0: unknown)."""
        return self.honoured + self.breached

    @property
    def value(self) -> float | None:
        """(H - B) / (H + B), in [-1, 1]; None when there is no evidence."""
        evidence = self.evidence
        if evidence == 0:
            return None
        return (self.honoured - self.breached) / evidence

    def below(self, threshold: float, min_evidence: float) -> bool:
        """Whether the standing is under ``threshold`` on at least ``min_evidence`` (§6.5's
        cut-off); no evidence is "unknown", never under anything."""
        value = self.value
        return value is not None and self.evidence >= min_evidence and value < threshold


@dataclass(frozen=True, slots=True)
class Inflow:
    """Why ``attester`` moves trust to one subject: its attestations, counts and the weight."""

    attester: PeerId
    #: Ids of the attestations behind it, ascending (§2.3).
    attestation_ids: tuple[bytes, ...]
    honoured: int
    breached: int
    disputed: int
    #: c_ij: r_i times the attester's normalised local trust in the subject (0 if its net count
    #: is not positive).
    local_trust: float
    #: t_i: the attester's own final score.
    attester_score: float
    #: (1 - damping) * t_i * c_ij: the share of the subject's score that comes from this attester.
    weight: float
    #: w_i: how much the attester's verdicts count towards the subject's standing (§4.6).
    weight_as_attester: float
    #: r_i: how far the owner takes the attester's word (§4.8): 1 for the owner herself.
    credibility: float


@dataclass(frozen=True, slots=True)
class TrustResult:
    """Scores (a probability distribution over the peers seen), standings, and why."""

    owner: PeerId
    #: Every peer seen (owner, pre-trusted set, attesters, subjects), in ascending key order.
    scores: Mapping[PeerId, float]
    pretrusted: tuple[PeerId, ...]
    iterations: int
    converged: bool
    #: Per subject of at least one counted attestation: one Inflow per attester, by key.
    explanations: Mapping[PeerId, tuple[Inflow, ...]]
    #: Per subject of at least one counted attestation, in ascending key order (§4.6).
    standings: Mapping[PeerId, Standing]

    def score(self, peer: PeerId) -> float:
        """``peer``'s score; 0.0 for a peer no counted attestation mentions."""
        return self.scores.get(peer, 0.0)

    def standing(self, peer: PeerId) -> Standing:
        """``peer``'s standing; no evidence at all for a peer no counted attestation is about."""
        return self.standings.get(peer, _UNKNOWN)


_UNKNOWN: Final = Standing(0.0, 0.0)


class PeerTable(Mapping[PeerId, _V]):
    """A read-only mapping over some of a graph's peers, in key order; values made on first read.

    Results are views over arrays, so that recomputing after one new attestation does not build
    thousands of Python objects nobody reads.
    """

    __slots__ = ("_cache", "_index", "_keys", "_make", "_members", "_order", "_peers")

    def __init__(
        self, graph: TrustGraph, members: Bools, make: Callable[[int], _V], *, memo: bool = False
    ) -> None:
        self._peers = graph.peers
        self._index = graph.index
        self._members = members
        # Sorted on first iteration: most readers only look peers up.
        self._keys = graph.order
        self._order: Ints | None = None
        self._make = make
        self._cache: dict[int, _V] | None = {} if memo else None

    def __getitem__(self, peer: PeerId) -> _V:
        i = self._index.get(peer.key) if isinstance(peer, PeerId) else None
        if i is None or not self._members[i]:
            raise KeyError(peer)
        if self._cache is None:
            return self._make(i)
        if i not in self._cache:
            self._cache[i] = self._make(i)
        return self._cache[i]

    def _ordered(self) -> Ints:
        if self._order is None:
            self._order = self._keys[self._members[self._keys]]
        return self._order

    def __iter__(self) -> Iterator[PeerId]:
        peers = self._peers
        return (peers[i] for i in self._ordered().tolist())

    def __len__(self) -> int:
        return len(self._ordered())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Explainer:
    """Builds one subject's Inflows on demand (§4.3, explanation)."""

    __slots__ = ("_by_subject", "_carry", "_credible", "_graph", "_local", "_values", "_weight")

    def __init__(
        self,
        graph: TrustGraph,
        local: Floats,
        values: Floats,
        weight: Floats,
        credible: Floats,
        carry: float,
    ) -> None:
        self._graph, self._local, self._values = graph, local, values
        self._weight, self._credible, self._carry = weight, credible, carry
        self._by_subject: dict[int, list[int]] | None = None

    def _slots(self, subject: int) -> list[int]:
        if self._by_subject is None:
            graph = self._graph
            rank = np.empty(len(graph.peers), dtype=np.int64)
            rank[graph.order] = np.arange(len(graph.order), dtype=np.int64)
            slots = np.flatnonzero(graph.counts.sum(axis=1) > 0)
            slots = slots[np.lexsort((rank[graph.src[slots]], graph.dst[slots]))]
            grouped: dict[int, list[int]] = {}
            for slot, j in zip(slots.tolist(), graph.dst[slots].tolist(), strict=True):
                grouped.setdefault(j, []).append(slot)
            self._by_subject = grouped
        return self._by_subject.get(subject, [])

    def inflows(self, subject: int) -> tuple[Inflow, ...]:
        graph = self._graph
        inflows = []
        for slot in self._slots(subject):
            i = int(graph.src[slot])
            honoured, breached, disputed = graph.counts[slot].tolist()
            c_ij, t_i = float(self._local[slot]), float(self._values[i])
            inflows.append(
                Inflow(
                    attester=graph.peers[i],
                    attestation_ids=tuple(sorted(graph.pair_ids[slot])),
                    honoured=honoured,
                    breached=breached,
                    disputed=disputed,
                    local_trust=c_ij,
                    attester_score=t_i,
                    weight=self._carry * t_i * c_ij,
                    weight_as_attester=float(self._weight[i]),
                    credibility=float(self._credible[i]),
                )
            )
        return tuple(inflows)
