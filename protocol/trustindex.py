"""The trust tallies of one owner, kept up to date one attestation at a time.

A node holds thousands of attestations and learns of them one by one; recounting them all for each
new one is wasted work. :class:`TrustState` keeps the per-pair verdict counts in growable arrays
and the last score vector, and :meth:`TrustState.result` restarts the iteration of
spec/reputation.md §4.3 from that vector: same fixed point, fewer steps, no per-attestation Python
work. Sans-IO: time comes in as ``now_ms``. See spec/reputation.md §4.7.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable

import numpy as np

from amity.protocol.attestation import Attestation
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId
from amity.protocol.trust import TrustResult, check_parameters, named, solve
from amity.protocol.trustgraph import COLUMN, Floats, Ints, TrustGraph, check_direct, graph_of

__all__ = ["COMPACT_AFTER", "TrustState"]

#: Rebuild the arrays once this many pair slots or peers are left empty by removals.
COMPACT_AFTER = 1024


def _key_of(peer: PeerId) -> bytes:
    return peer.key


def _grown(array: Ints, size: int) -> Ints:
    """``array`` with room for at least ``size`` rows (doubling, so appends cost O(1) on average)."""
    if len(array) >= size:
        return array
    bigger = np.zeros((max(size, 2 * len(array), 16), *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class TrustState:
    """Attestations held for ``owner``, their tallies and the last scores; see §4.7.

    ``add`` and ``remove`` change the tallies in O(1); ``result`` iterates from the previous
    scores and returns a :class:`TrustResult` equal, within the iteration's error, to
    ``compute_trust`` over the same attestations with the same parameters.
    """

    def __init__(
        self,
        owner: PeerId,
        *,
        direct: Iterable[PeerId] | None = None,
        vouched: Iterable[PeerId] | None = None,
        damping: float = 0.15,
        max_iterations: int = 100,
        epsilon: float = 1e-12,
        compact_after: int = COMPACT_AFTER,
    ) -> None:
        check_parameters(owner, damping, max_iterations, epsilon)
        if (
            isinstance(compact_after, bool)
            or not isinstance(compact_after, int)
            or compact_after < 0
        ):
            raise UsageError("compact_after is an int >= 0")
        self._compact_after = compact_after
        #: How often removals made the arrays be rebuilt (a figure for tests and benchmarks).
        self.compactions = 0
        self._owner = owner
        self._damping = damping
        self._max_iterations = max_iterations
        self._epsilon = epsilon
        self._direct = check_direct(direct)
        self._vouched = check_direct(vouched)
        self._held: dict[bytes, Attestation] = {}
        self._expiry: list[tuple[int, bytes]] = []  # a heap of (expires_ms, attestation id)
        self._last: Floats | None = None
        self._cached: TrustResult | None = None
        self._adopt(graph_of(owner, {}, named(self._direct, self._vouched)))

    def _adopt(self, graph: TrustGraph) -> None:
        """Take over the tallies of a freshly built graph (at start and when compacting)."""
        self._peers = list(graph.peers)
        self._index = dict(graph.index)
        self._keys = [graph.peers[i].key for i in graph.order.tolist()]
        self._order = graph.order.tolist()
        self._order_array: Ints | None = None
        # Slots by (attester key, subject key), for trust.solve's sums: graph_of makes them in
        # that order; a new slot goes in by bisection, and the array is made when a result asks.
        self._slots = len(graph.src)
        keys = [peer.key for peer in graph.peers]
        self._pair_keys = [
            (keys[i], keys[j]) for i, j in zip(graph.src.tolist(), graph.dst.tolist(), strict=True)
        ]
        self._slot_order = list(range(self._slots))
        self._by_key: Ints | None = None
        self._src = graph.src.copy()
        self._dst = graph.dst.copy()
        self._counts = graph.counts.copy()
        totals = graph.counts.sum(axis=1)
        n = len(graph.peers)
        mentions = np.bincount(graph.src, totals, n) + np.bincount(graph.dst, totals, n)
        self._mentions: Ints = mentions.astype(np.int64)
        self._slot_of = {
            (i, j): slot
            for slot, (i, j) in enumerate(zip(graph.src.tolist(), graph.dst.tolist(), strict=True))
        }
        self._pair_ids = dict(graph.pair_ids)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, attestation_id: object) -> bool:
        return attestation_id in self._held

    def get(self, attestation_id: bytes) -> Attestation | None:
        """The counted attestation with this id, or None."""
        return self._held.get(attestation_id)

    def add(self, attestation: Attestation) -> bool:
        """Count a decoded attestation; False if one with the same id is already counted."""
        if not isinstance(attestation, Attestation):
            raise UsageError("TrustState takes decoded Attestation objects")
        attestation_id = attestation.attestation_id
        if attestation_id in self._held:
            return False
        self._held[attestation_id] = attestation
        heapq.heappush(self._expiry, (attestation.expires_ms, attestation_id))
        i, j = self._peer(attestation.attester), self._peer(attestation.subject)
        slot = self._slot_of.get((i, j))
        if slot is None:
            slot = self._slot_of[(i, j)] = self._slots
            self._slots += 1
            self._src = _grown(self._src, self._slots)
            self._dst = _grown(self._dst, self._slots)
            self._counts = _grown(self._counts, self._slots)
            self._src[slot], self._dst[slot] = i, j
            pair = (attestation.attester.key, attestation.subject.key)
            position = bisect_left(self._pair_keys, pair)
            self._pair_keys.insert(position, pair)
            self._slot_order.insert(position, slot)
            self._by_key = None
        self._counts[slot, COLUMN[attestation.verdict]] += 1
        self._mentions[i] += 1
        self._mentions[j] += 1
        # Tuples, not lists: a result handed out earlier keeps the ids it was computed from.
        self._pair_ids[slot] = (*self._pair_ids.get(slot, ()), attestation_id)
        self._cached = None
        return True

    def remove(self, attestation_id: bytes) -> bool:
        """Stop counting an attestation; False if none with that id is counted."""
        if not isinstance(attestation_id, bytes):
            raise UsageError("an attestation id is bytes (Attestation.attestation_id)")
        attestation = self._held.pop(attestation_id, None)
        if attestation is None:
            return False
        i = self._index[attestation.attester.key]
        j = self._index[attestation.subject.key]
        slot = self._slot_of[(i, j)]
        self._counts[slot, COLUMN[attestation.verdict]] -= 1
        self._mentions[i] -= 1
        self._mentions[j] -= 1
        ids = tuple(other for other in self._pair_ids[slot] if other != attestation_id)
        if ids:
            self._pair_ids[slot] = ids
        else:
            del self._pair_ids[slot]
        self._cached = None
        empty_slots = self._slots - len(self._pair_ids)
        empty_peers = int(np.count_nonzero(self._mentions[: len(self._peers)] == 0))
        if max(empty_slots, empty_peers) > max(self._compact_after, len(self._pair_ids)):
            self._compact()
        return True

    def set_direct(self, peers: Iterable[PeerId] | None) -> None:
        """Replace the pre-trusted candidates (§4.2); None: the subjects of the owner's own."""
        self._direct = check_direct(peers)
        # In key order: callers pass sets, whose order changes with PYTHONHASHSEED, and peers are
        # numbered as they come (solve sums in key order anyway; this keeps the numbering stable).
        for peer in sorted(self._direct or (), key=_key_of):
            self._peer(peer)
        self._cached = None

    def set_vouched(self, peers: Iterable[PeerId] | None) -> None:
        """Replace the peers whose word the owner takes (§4.8); None: nobody."""
        self._vouched = check_direct(peers)
        for peer in sorted(self._vouched or (), key=_key_of):  # as set_direct
            self._peer(peer)
        self._cached = None

    def result(self, now_ms: int | None = None) -> TrustResult:
        """The scores, standings and explanations now; with ``now_ms``, drops what has expired."""
        if now_ms is not None:
            if isinstance(now_ms, bool) or not isinstance(now_ms, int):
                raise UsageError("now_ms is an int of milliseconds since the epoch")
            while self._expiry and self._expiry[0][0] <= now_ms:
                _, attestation_id = heapq.heappop(self._expiry)
                self.remove(attestation_id)
        if self._cached is None:
            self._cached, self._last = solve(
                self._graph(),
                self._direct,
                vouched=self._vouched,
                damping=self._damping,
                max_iterations=self._max_iterations,
                epsilon=self._epsilon,
                start=self._last,
            )
        return self._cached

    def _peer(self, peer: PeerId) -> int:
        i = self._index.get(peer.key)
        if i is None:
            i = self._index[peer.key] = len(self._peers)
            self._peers.append(peer)
            self._mentions = _grown(self._mentions, i + 1)
            position = bisect_left(self._keys, peer.key)
            self._keys.insert(position, peer.key)
            self._order.insert(position, i)
            self._order_array = None
        return i

    def _graph(self) -> TrustGraph:
        """A frozen copy of the tallies for one result: later adds and removes leave it be."""
        n, k = len(self._peers), self._slots
        if self._order_array is None:
            self._order_array = np.asarray(self._order, dtype=np.int64)
        if self._by_key is None:
            self._by_key = np.asarray(self._slot_order, dtype=np.int64)
        return TrustGraph(
            owner=self._owner,
            peers=tuple(self._peers),
            index=dict(self._index),
            order=self._order_array,
            mentioned=self._mentions[:n].astype(np.bool_),  # counts, never negative
            # Views: a slot's peers are written once, when it is new (beyond k), and compacting
            # makes new arrays; the counts change in place, so they are copied.
            src=self._src[:k],
            dst=self._dst[:k],
            counts=self._counts[:k].copy(),
            pair_ids=dict(self._pair_ids),
            by_key=self._by_key,
        )

    def _compact(self) -> None:
        """Rebuild the arrays without the peers and pairs removals emptied; keep the scores."""
        self.compactions += 1
        old_index, old_last = self._index, self._last
        self._adopt(graph_of(self._owner, self._held, named(self._direct, self._vouched)))
        if old_last is not None:
            last = np.zeros(len(self._peers), dtype=np.float64)
            for key, i in self._index.items():
                old = old_index[key]
                if old < len(old_last):
                    last[i] = old_last[old]
            self._last = last
