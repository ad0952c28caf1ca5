"""Local trust: EigenTrust personalised to one owner, over attestations with proof of relationship.

Each node computes its own scores; there is no global score. Trust starts at the owner's direct,
agreement-backed counterparties (the pre-trusted set) and flows along normalised local trust
(honoured minus breached, never below zero); the damping term returns a share to the pre-trusted
set at every step. Beside the score, a peer's *standing* says what trusted attesters report of it
(honoured against breached), which a policy can threshold. The iteration runs in numpy over edge
arrays in a fixed order, so the same attestations give the same floats on every run. See
spec/reputation.md §4; :mod:`amity.protocol.trustgraph` builds the tallies it iterates over and
:mod:`amity.protocol.trustindex` keeps them up to date.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple, cast

import numpy as np

from amity.protocol.attestation import Attestation
from amity.protocol.credibility import credibility
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId
from amity.protocol.trustgraph import (
    Bools,
    Floats,
    Ints,
    TrustGraph,
    check_direct,
    counted,
    graph_of,
)
from amity.protocol.trustresult import Explainer, Inflow, PeerTable, Standing, TrustResult

__all__ = ["Inflow", "Standing", "TrustResult", "compute_trust", "pretrusted_set"]


def check_parameters(owner: PeerId, damping: float, max_iterations: int, epsilon: float) -> None:
    """Refuse arguments out of range with a UsageError (shared with TrustState)."""
    if not isinstance(owner, PeerId):
        raise UsageError("owner is a PeerId")
    if isinstance(damping, bool) or not isinstance(damping, int | float) or not 0 < damping <= 1:
        raise UsageError("damping is a number in (0, 1]")
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or max_iterations < 1
    ):
        raise UsageError("max_iterations is a positive int")
    if not isinstance(epsilon, int | float) or not epsilon > 0:
        raise UsageError("epsilon is a positive number")


def _net(counts: list[int] | None) -> int:
    return 0 if counts is None else counts[0] - counts[1]


def _indices(graph: TrustGraph, peers: tuple[PeerId, ...] | None) -> list[int]:
    """The graph's indices of ``peers`` (those it names), in key order."""
    found = {graph.index[p.key] for p in peers or () if p.key in graph.index}
    return sorted(found, key=lambda j: graph.peers[j].key)


def _pretrusted(
    graph: TrustGraph, direct: tuple[PeerId, ...] | None, vouched: tuple[PeerId, ...] | None
) -> list[int]:
    owner = graph.index[graph.owner.key]
    slots = (graph.src == owner).nonzero()[0]
    own = dict(zip(graph.dst[slots].tolist(), graph.counts.take(slots, 0).tolist(), strict=True))
    if direct is None:
        candidates = {j for j, (h, b, d) in own.items() if h + b + d > 0}
    else:
        candidates = {graph.index[peer.key] for peer in direct}
    candidates.update(_indices(graph, vouched))
    # A peer the owner itself says breached more than honoured is not pre-trusted.
    kept = [j for j in candidates if j != owner and _net(own.get(j)) >= 0]
    kept.sort(key=lambda j: graph.peers[j].key)
    return kept or [owner]


def pretrusted_set(
    owner: PeerId,
    attestations: Iterable[Attestation],
    *,
    direct: Iterable[PeerId] | None = None,
    vouched: Iterable[PeerId] | None = None,
    now_ms: int | None = None,
) -> tuple[PeerId, ...]:
    """The owner's pre-trusted peers, by key: §4.2. Falls back to ``(owner,)`` when empty."""
    if not isinstance(owner, PeerId):
        raise UsageError("owner is a PeerId")
    peers, friends = check_direct(direct), check_direct(vouched)
    graph = graph_of(owner, counted(attestations, now_ms), named(peers, friends))
    return tuple(graph.peers[j] for j in _pretrusted(graph, peers, friends))


def named(
    direct: tuple[PeerId, ...] | None, vouched: tuple[PeerId, ...] | None
) -> tuple[PeerId, ...] | None:
    """Peers a graph must name although no attestation may mention them."""
    if vouched is None:
        return direct
    return (*(direct or ()), *vouched)


#: Up to this many edges, _reachable walks Python lists: numpy's per-call cost dominates there.
_WALK_EDGES: Final = 256


def _reachable(n: int, src: Ints, dst: Ints, seeds: list[int]) -> Bools:
    """Peers reachable from ``seeds`` along the edges, as a mask over the ``n`` peers."""
    reached = np.zeros(n, dtype=np.bool_)
    if len(src) <= _WALK_EDGES:
        reached[_walk(src.tolist(), dst.tolist(), seeds)] = True
    else:
        _levels(src, dst, seeds, reached)
    return reached


def _walk(src: list[int], dst: list[int], seeds: list[int]) -> list[int]:
    """Depth first over adjacency lists: a few edges cost less in Python than in numpy calls."""
    targets: dict[int, list[int]] = {}
    for i, j in zip(src, dst, strict=True):
        targets.setdefault(i, []).append(j)
    seen = set(seeds)
    pending = list(seen)
    while pending:
        for j in targets.get(pending.pop(), ()):
            if j not in seen:
                seen.add(j)
                pending.append(j)
    return list(seen)


def _levels(src: Ints, dst: Ints, seeds: list[int], reached: Bools) -> None:
    """Mark in ``reached`` what ``seeds`` reach: breadth first, one numpy step per level."""
    n = len(reached)
    by_src = np.argsort(src, kind="stable")
    targets = dst[by_src]
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=starts[1:])
    frontier = np.asarray(seeds, dtype=np.int64)
    reached[frontier] = True
    while frontier.size:
        first, sizes = starts[frontier], starts[frontier + 1] - starts[frontier]
        total = int(sizes.sum())
        if total == 0:
            break
        # The concatenated ranges first[k] .. first[k] + sizes[k], without a Python loop.
        ends = np.cumsum(sizes)
        positions = np.arange(total, dtype=np.int64) + np.repeat(first - ends + sizes, sizes)
        found = targets[positions]
        frontier = np.unique(found[~reached[found]])
        reached[frontier] = True


def _sum_by(index: Ints, weights: Floats, size: int) -> Floats:
    """``out[k]`` = the sum of ``weights`` where ``index`` is k, added in array order."""
    if not len(index):
        return np.zeros(size, dtype=np.float64)
    # float64 already (weights are); the stubs type bincount as int.
    return cast(Floats, np.bincount(index, weights, size))


def solve(
    graph: TrustGraph,
    direct: tuple[PeerId, ...] | None,
    *,
    vouched: tuple[PeerId, ...] | None = None,
    damping: float,
    max_iterations: int,
    epsilon: float,
    start: Floats | None = None,
) -> tuple[TrustResult, Floats]:
    """Iterate §4.3 over ``graph``; also return the scores by peer index (a warm start).

    Graphs are mostly a few dozen peers, where numpy's cost per call outweighs the arithmetic:
    hence array methods (``nonzero``, ``take``) over the slower module-level wrappers, and no
    step whose result is not read.
    """
    n = len(graph.peers)
    src, dst = graph.src, graph.dst
    honoured, breached = graph.counts[:, 0], graph.counts[:, 1]
    owner = graph.index[graph.owner.key]
    pretrusted = _pretrusted(graph, direct, vouched)
    p_share = 1.0 / len(pretrusted)
    by_key = graph.by_key
    credible = credibility(graph, _indices(graph, vouched), by_key)

    # Local trust c_ij: each attester's positive net counts, normalised to sum to 1, times its
    # credibility r_i (§4.8). The row totals add whole numbers, exactly in any order, so slot
    # order may stand here.
    positive = np.maximum(honoured - breached, 0.0)
    row_total = _sum_by(src, positive, n)
    edges = positive.astype(np.bool_)  # never negative: nonzero is positive
    local = np.zeros(len(src), dtype=np.float64)
    # Divided only where the net is positive: elsewhere the row total may be 0 and c_ij stays 0.
    np.divide(positive, row_total[src], out=local, where=edges)
    local *= credible[src]
    edges &= local > 0.0  # an attester of credibility 0 passes nothing on

    # Only peers reachable from P along positive edges can hold trust; the rest stay exactly 0,
    # so the iteration runs over those alone (and identities without a path change nothing).
    # Members and edges are taken in key order, whatever order the graph numbers them in: a
    # float sum depends on the order of its terms, and a TrustState numbers peers and pairs as
    # they arrive (or as a set of peers, in PYTHONHASHSEED's order, is handed to it), so only
    # key order gives the same bits for the same attestations in every process.
    reached = _reachable(n, src[edges], dst[edges], pretrusted)
    members = reached.nonzero()[0] if by_key is None else graph.order[reached[graph.order]]
    # What part of each peer's trust goes back to P: all of it without positive outgoing trust,
    # else 1 - r_i.
    defer = np.where(row_total > 0.0, 1.0 - credible, 1.0)
    trust, iterations, converged = _iterate(
        _warm_start(start, members, n),
        _flow(src, dst, local, edges, reached, members, defer, pretrusted, by_key),
        damping=damping,
        p_share=p_share,
        max_iterations=max_iterations,
        epsilon=epsilon,
    )

    values = np.zeros(n, dtype=np.float64)
    values[members] = trust
    # Standing (§4.6): an attester weighs its score against the least a pre-trusted peer holds.
    # Then times its credibility (§4.8).
    weight = np.minimum(values / (damping * p_share), 1.0) * credible
    weight[owner] = 1.0
    rated = honoured + breached
    standing_h, standing_b = _standings(graph, rated, weight, by_key)

    listed = graph.mentioned.copy()
    listed[owner] = True
    listed[pretrusted] = True
    subjects = np.zeros(n, dtype=np.bool_)
    subjects[dst[(rated + graph.counts[:, 2]).astype(np.bool_)]] = True
    explain = Explainer(graph, local, values, weight, credible, 1.0 - damping)
    result = TrustResult(
        owner=graph.owner,
        scores=PeerTable(graph, listed, lambda i: float(values[i])),
        pretrusted=tuple(graph.peers[j] for j in pretrusted),
        iterations=iterations,
        converged=converged,
        explanations=PeerTable(graph, subjects, explain.inflows, memo=True),
        standings=PeerTable(
            graph, subjects, lambda j: Standing(float(standing_h[j]), float(standing_b[j]))
        ),
    )
    return result, values


def _warm_start(start: Floats | None, members: Ints, n: int) -> Floats:
    """The members' previous scores (0 for peers added since), or all 0 without ``start``."""
    if start is None:
        return np.zeros(len(members), dtype=np.float64)
    if len(start) >= n or len(start) > members.max():
        return start[members]
    trust = np.zeros(len(members), dtype=np.float64)
    known = members < len(start)
    trust[known] = start[members[known]]
    return trust


class _Flow(NamedTuple):
    """What one step of the iteration reads, over the members alone (by position among them)."""

    #: Per live edge (positive local trust, from a member): attester, subject and c_ij.
    src: Ints
    dst: Ints
    local: Floats
    #: Per member: the share of its trust that defers to the pre-trusted set (all of it
    #: without positive outgoing trust, else 1 - r_i).
    deferring: Floats
    pretrusted: Ints


def _flow(
    src: Ints,
    dst: Ints,
    local: Floats,
    edges: Bools,
    reached: Bools,
    members: Ints,
    defer: Floats,
    pretrusted: list[int],
    by_key: Ints | None,
) -> _Flow:
    """The graph's edges and peers renumbered to the members' positions, for :func:`_iterate`.

    Edges come in ``by_key`` order (slot order without it), so that each subject's inflow is
    summed attester by attester in key order.
    """
    # Written for members only; nothing reads the other entries.
    position = np.empty(len(reached), dtype=np.int64)
    position[members] = np.arange(len(members), dtype=np.int64)
    alive = edges & reached[src]
    live = alive.nonzero()[0] if by_key is None else by_key[alive[by_key]]
    return _Flow(
        position[src[live]],
        position[dst[live]],
        local[live],
        defer[members],
        position[pretrusted],
    )


def _iterate(
    trust: Floats,
    flow: _Flow,
    *,
    damping: float,
    p_share: float,
    max_iterations: int,
    epsilon: float,
) -> tuple[Floats, int, bool]:
    """§4.3's power iteration from ``trust`` (normalised here): the scores, steps, convergence.

    Each step does the float operations of the plain formula in the same order, so the scores
    are the same to the last bit; what is saved is Python work per step, which on a few dozen
    peers is most of the cost: outputs written in place, numpy's functions called positionally,
    and scalars held in 0-d arrays (a ufunc converts a Python float on every call).
    """
    e_src, e_dst, e_local, deferring, p_local = flow
    size, carry = len(trust), 1.0 - damping
    bincount, multiply, add, subtract, absolute = (
        np.bincount,
        np.multiply,
        np.add,
        np.subtract,
        np.absolute,
    )
    total_of = np.add.reduce  # what ndarray.sum calls, without its Python wrapper
    total = trust.sum()
    if total > 0:
        trust /= total
    else:
        trust[p_local] = p_share
    restart = damping * p_share
    carried = np.array(carry, dtype=np.float64)
    # What each pre-trusted peer receives in a step, the restart and the deferred trust, is
    # added to all as share * (1 at P, 0 elsewhere): the others gain +0.0, which leaves a
    # score (never -0.0) as it was, and one ufunc costs less than a fancy-indexed update.
    share = np.empty((), dtype=np.float64)
    in_p = np.zeros(size, dtype=np.float64)
    in_p[p_local] = 1.0
    gained, difference = np.empty(size, dtype=np.float64), np.empty(size, dtype=np.float64)
    deferred = np.empty(size, dtype=np.float64)
    flows = len(e_dst) > 0
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        held_back = float(total_of(multiply(trust, deferring, deferred)))
        share[()] = restart + carry * held_back * p_share
        if flows:
            step = cast(Floats, bincount(e_dst, trust[e_src] * e_local, size))
            multiply(step, carried, step)
            add(step, multiply(in_p, share, gained), step)
        else:
            step = in_p * share  # all zeros but P's share (and 0.0 + x is x)
        subtract(step, trust, difference)
        delta = total_of(absolute(difference, difference))
        trust = step
        if delta < epsilon:
            return trust, iterations, True
    return trust, iterations, False


def _standings(
    graph: TrustGraph, rated: Ints, weight: Floats, by_key: Ints | None
) -> tuple[Floats, Floats]:
    """H_j and B_j by subject (§4.6): attester weight times the honoured / breached fraction.

    ``rated`` is honoured + breached per pair; pairs with neither add nothing. Pairs are summed
    in ``by_key`` order (slot order without it), attesters in key order for each subject.
    """
    n = len(graph.peers)
    honoured, breached = graph.counts[:, 0], graph.counts[:, 1]
    slots = rated.nonzero()[0] if by_key is None else by_key[rated[by_key].nonzero()[0]]
    rated_total = rated[slots].astype(np.float64)
    w_rated = weight[graph.src[slots]]
    subject = graph.dst[slots]
    standing_h = _sum_by(subject, w_rated * (honoured[slots] / rated_total), n)
    standing_b = _sum_by(subject, w_rated * (breached[slots] / rated_total), n)
    return standing_h, standing_b


def compute_trust(
    owner: PeerId,
    attestations: Iterable[Attestation],
    *,
    direct: Iterable[PeerId] | None = None,
    vouched: Iterable[PeerId] | None = None,
    now_ms: int | None = None,
    damping: float = 0.15,
    max_iterations: int = 100,
    epsilon: float = 1e-12,
) -> TrustResult:
    """Personalised EigenTrust over verified attestations, as owner sees it. See §4.

    ``attestations`` must come from :meth:`Attestation.decode` (proof of relationship checked);
    duplicates (same id) count once and, with ``now_ms``, expired ones not at all. ``direct``
    overrides the pre-trusted candidates, which by default are the subjects of the owner's own
    attestations. ``vouched`` are the peers whose word the owner takes (§4.8): pre-trusted
    candidates too, and credible until they disagree with her; every other attester is credible
    only as far as it agrees with her own verdicts. Iteration stops when the L1 change falls
    below ``epsilon`` or after ``max_iterations`` steps; the error after k steps is at most
    2 * (1 - damping) ** k.
    """
    check_parameters(owner, damping, max_iterations, epsilon)
    peers, friends = check_direct(direct), check_direct(vouched)
    graph = graph_of(owner, counted(attestations, now_ms), named(peers, friends))
    result, _ = solve(
        graph,
        peers,
        vouched=friends,
        damping=damping,
        max_iterations=max_iterations,
        epsilon=epsilon,
    )
    return result
