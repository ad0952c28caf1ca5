"""The tallies trust is computed from: peers by index and verdict counts per attester-subject pair.

:func:`graph_of` builds a :class:`TrustGraph` in bulk from the attestations that count
(:func:`counted`); ``trustindex.TrustState`` keeps one up to date one attestation at a time; and
``trust.solve`` iterates over it. Peers and pairs are in ascending key order, so the same
attestations give the same arrays on every run; a graph kept up to date (whose peers and pairs
are numbered as they arrive) carries the key order beside them, and ``trust.solve`` sums in that
order, so the order attestations arrived in, or a set's hash order (which changes with
PYTHONHASHSEED), never changes a result's bits. Internal to the protocol core, not part of its
API. See spec/reputation.md §4.1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId

__all__ = [
    "COLUMN",
    "Bools",
    "Floats",
    "Ints",
    "TrustGraph",
    "check_direct",
    "counted",
    "graph_of",
]

Ints: TypeAlias = npt.NDArray[np.int64]
Floats: TypeAlias = npt.NDArray[np.float64]
Bools: TypeAlias = npt.NDArray[np.bool_]

#: Column of each verdict in the per-pair counts.
COLUMN: Final = {Verdict.HONOURED: 0, Verdict.BREACHED: 1, Verdict.DISPUTED: 2}


@dataclass(frozen=True, slots=True, eq=False)
class TrustGraph:
    """The tallies one result is computed from: peers by index, verdict counts per pair (§4.1).

    Built in bulk by :func:`graph_of` or kept up to date by ``trustindex.TrustState``, and
    iterated over by ``trust.solve``; not part of the API. Arrays are never written once the
    graph is made.
    """

    owner: PeerId
    peers: Sequence[PeerId]
    index: Mapping[bytes, int]
    #: Peer indices in ascending key order.
    order: Ints
    #: Per peer: named by at least one counted attestation.
    mentioned: Bools
    #: Per (attester, subject) pair slot: the two peer indices and [honoured, breached, disputed].
    src: Ints
    dst: Ints
    counts: Ints
    #: Slot -> ids of its counted attestations (any order); slots without any are absent.
    pair_ids: Mapping[int, tuple[bytes, ...]] = field(repr=False)
    #: Slot indices ascending by (attester key, subject key); None when peer indices are in key
    #: order and slots in this order already (:func:`graph_of`'s graphs).
    by_key: Ints | None = None


def check_direct(direct: Iterable[PeerId] | None) -> tuple[PeerId, ...] | None:
    """``direct`` as a tuple, or None for "the subjects of the owner's own attestations"."""
    if direct is None:
        return None
    peers = tuple(direct)
    if not all(isinstance(p, PeerId) for p in peers):
        raise UsageError("direct is an iterable of PeerId")
    return peers


def counted(attestations: Iterable[Attestation], now_ms: int | None) -> dict[bytes, Attestation]:
    """The attestations that count, by id: decoded ones only, each id once, unexpired (§4.1)."""
    held: dict[bytes, Attestation] = {}
    for item in attestations:
        if not isinstance(item, Attestation):
            raise UsageError("compute_trust takes decoded Attestation objects")
        if now_ms is not None and now_ms >= item.expires_ms:
            continue
        held.setdefault(item.attestation_id, item)
    return held


def graph_of(
    owner: PeerId, held: Mapping[bytes, Attestation], direct: tuple[PeerId, ...] | None
) -> TrustGraph:
    """Tally ``held`` (id -> attestation) with peers and pairs in ascending key order."""
    named: dict[bytes, PeerId] = {owner.key: owner}
    for peer in direct or ():
        named.setdefault(peer.key, peer)
    items = list(held.values())
    for item in items:
        named.setdefault(item.attester.key, item.attester)
        named.setdefault(item.subject.key, item.subject)
    keys = sorted(named)
    index = {key: i for i, key in enumerate(keys)}
    n, m = len(keys), len(items)
    src_of = np.fromiter((index[a.attester.key] for a in items), np.int64, count=m)
    dst_of = np.fromiter((index[a.subject.key] for a in items), np.int64, count=m)
    column = np.fromiter((COLUMN[a.verdict] for a in items), np.int64, count=m)
    pairs, slot_of = np.unique(src_of * n + dst_of, return_inverse=True)
    counts = np.bincount(slot_of * 3 + column, minlength=3 * len(pairs)).reshape(-1, 3)
    mentions = np.bincount(src_of, minlength=n) + np.bincount(dst_of, minlength=n)
    return TrustGraph(
        owner=owner,
        peers=tuple(named[key] for key in keys),
        index=index,
        order=np.arange(n, dtype=np.int64),
        mentioned=mentions > 0,
        src=(pairs // n).astype(np.int64),
        dst=(pairs % n).astype(np.int64),
        counts=counts.astype(np.int64),
        pair_ids=_IdsBySlot(list(held), slot_of.astype(np.int64)),
    )


class _IdsBySlot(Mapping[int, tuple[bytes, ...]]):
    """Slot -> ids, grouped on first read: a full recomputation makes no per-pair objects."""

    __slots__ = ("_by_slot", "_ids", "_slot_of", "_starts")

    def __init__(self, ids: list[bytes], slot_of: Ints) -> None:
        self._ids, self._slot_of = ids, slot_of
        self._by_slot: Ints | None = None
        self._starts: Ints | None = None

    def _group(self) -> tuple[Ints, Ints]:
        if self._by_slot is None or self._starts is None:
            self._by_slot = np.argsort(self._slot_of, kind="stable")
            sizes = np.bincount(self._slot_of, minlength=int(self._slot_of.max(initial=-1)) + 1)
            self._starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        return self._by_slot, self._starts

    def __getitem__(self, slot: int) -> tuple[bytes, ...]:
        by_slot, starts = self._group()
        if not 0 <= slot < len(starts) - 1 or starts[slot] == starts[slot + 1]:
            raise KeyError(slot)
        ids = self._ids
        return tuple(ids[k] for k in by_slot[starts[slot] : starts[slot + 1]].tolist())

    def __iter__(self) -> Iterator[int]:
        _, starts = self._group()
        return iter(np.flatnonzero(np.diff(starts)).tolist())

    def __len__(self) -> int:
        _, starts = self._group()
        return int(np.count_nonzero(np.diff(starts)))
