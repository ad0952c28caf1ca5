"""Local trust: EigenTrust personalised to one owner, over attestations with proof of relationship.

Each node computes its own scores; there is no global score. Trust starts at the owner's direct,
agreement-backed counterparties (the pre-trusted set) and flows along normalised local trust
(honoured minus breached, never below zero); the damping term returns a share to the pre-trusted
set at every step. Pure and deterministic: every loop runs over peers sorted by key, so the same
attestations give the same floats on every run. See spec/reputation.md §4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId

__all__ = ["Inflow", "TrustResult", "compute_trust", "pretrusted_set"]


@dataclass(frozen=True, slots=True)
class Inflow:
    """Why ``attester`` moves trust to one subject: its attestations, counts and the weight."""

    attester: PeerId
    #: Ids of the attestations behind it, ascending (§2.3).
    attestation_ids: tuple[bytes, ...]
    honoured: int
    breached: int
    disputed: int
    #: c_ij: the attester's normalised local trust in the subject (0 if net count is not positive).
    local_trust: float
    #: t_i: the attester's own final score.
    attester_score: float
    #: (1 - damping) * t_i * c_ij: the share of the subject's score that comes from this attester.
    weight: float


@dataclass(frozen=True, slots=True)
class TrustResult:
    """Scores (a probability distribution over the peers seen), how the iteration went, and why."""

    owner: PeerId
    #: Every peer seen (owner, pre-trusted set, attesters, subjects), in ascending key order.
    scores: Mapping[PeerId, float]
    pretrusted: tuple[PeerId, ...]
    iterations: int
    converged: bool
    #: Per subject of at least one counted attestation: one Inflow per attester, by key.
    explanations: Mapping[PeerId, tuple[Inflow, ...]]

    def score(self, peer: PeerId) -> float:
        """``peer``'s score; 0.0 for a peer no counted attestation mentions."""
        return self.scores.get(peer, 0.0)


def _key(peer: PeerId) -> bytes:
    return peer.key


def _counted(attestations: Iterable[Attestation], now_ms: int | None) -> list[Attestation]:
    unique: dict[bytes, Attestation] = {}
    for item in attestations:
        if not isinstance(item, Attestation):
            raise UsageError("compute_trust takes decoded Attestation objects")
        if now_ms is not None and now_ms >= item.expires_ms:
            continue
        unique.setdefault(item.attestation_id, item)
    return [unique[k] for k in sorted(unique)]


def _tally(attestations: list[Attestation]) -> dict[tuple[bytes, bytes], list[int]]:
    """(attester key, subject key) -> [honoured, breached, disputed]."""
    counts: dict[tuple[bytes, bytes], list[int]] = {}
    column = {Verdict.HONOURED: 0, Verdict.BREACHED: 1, Verdict.DISPUTED: 2}
    for item in attestations:
        pair = (item.attester.key, item.subject.key)
        counts.setdefault(pair, [0, 0, 0])[column[item.verdict]] += 1
    return counts


def pretrusted_set(
    owner: PeerId,
    attestations: Iterable[Attestation],
    *,
    direct: Iterable[PeerId] | None = None,
    now_ms: int | None = None,
) -> tuple[PeerId, ...]:
    """The owner's pre-trusted peers, by key: §4.2. Falls back to ``(owner,)`` when empty."""
    counted = _counted(attestations, now_ms)
    return _pretrusted(owner, counted, _tally(counted), direct)


def _pretrusted(
    owner: PeerId,
    counted: list[Attestation],
    counts: dict[tuple[bytes, bytes], list[int]],
    direct: Iterable[PeerId] | None,
) -> tuple[PeerId, ...]:
    if direct is None:
        candidates = {a.subject for a in counted if a.attester == owner}
    else:
        candidates = set(direct)
        if not all(isinstance(p, PeerId) for p in candidates):
            raise UsageError("direct is an iterable of PeerId")
    kept = []
    for peer in sorted(candidates, key=_key):
        honoured, breached, _ = counts.get((owner.key, peer.key), [0, 0, 0])
        if peer != owner and honoured >= breached:
            kept.append(peer)
    return tuple(kept) if kept else (owner,)


def compute_trust(
    owner: PeerId,
    attestations: Iterable[Attestation],
    *,
    direct: Iterable[PeerId] | None = None,
    now_ms: int | None = None,
    damping: float = 0.15,
    max_iterations: int = 100,
    epsilon: float = 1e-12,
) -> TrustResult:
    """Personalised EigenTrust over verified attestations, as owner sees it. See §4.

    ``attestations`` must come from :meth:`Attestation.decode` (proof of relationship checked);
    duplicates (same id) count once and, with ``now_ms``, expired ones not at all. ``direct``
    overrides the pre-trusted candidates, which by default are the subjects of the owner's own
    attestations. Iteration stops when the L1 change falls below ``epsilon`` or after
    ``max_iterations`` steps; the error after k steps is at most 2 * (1 - damping) ** k.
    """
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

    counted = _counted(attestations, now_ms)
    counts = _tally(counted)
    pretrusted = _pretrusted(owner, counted, counts, direct)
    peers: dict[bytes, PeerId] = {owner.key: owner}
    for peer in pretrusted:
        peers[peer.key] = peer
    for item in counted:
        peers[item.attester.key] = item.attester
        peers[item.subject.key] = item.subject
    order = sorted(peers)

    # Local trust c_ij: each attester's positive net counts, normalised to sum to 1.
    rows: dict[bytes, list[tuple[bytes, float]]] = {}
    positive: dict[bytes, list[tuple[bytes, int]]] = {}
    for (attester, subject), (honoured, breached, _) in sorted(counts.items()):
        if honoured > breached:
            positive.setdefault(attester, []).append((subject, honoured - breached))
    for attester, entries in positive.items():
        total = sum(net for _, net in entries)
        rows[attester] = [(subject, net / total) for subject, net in entries]

    p_share = 1.0 / len(pretrusted)
    p_keys = [peer.key for peer in pretrusted]
    carry = 1.0 - damping
    trust = dict.fromkeys(order, 0.0)
    for k in p_keys:
        trust[k] = p_share

    iterations, converged = 0, False
    while iterations < max_iterations:
        iterations += 1
        step = dict.fromkeys(order, 0.0)
        for k in p_keys:
            step[k] = damping * p_share
        for i in order:
            t_i = trust[i]
            if t_i == 0.0:
                continue
            row = rows.get(i)
            if row is None:
                # No positive outgoing trust: the attester defers to the owner's pre-trusted set.
                for k in p_keys:
                    step[k] += carry * t_i * p_share
            else:
                for j, c_ij in row:
                    step[j] += carry * t_i * c_ij
        delta = sum(abs(step[k] - trust[k]) for k in order)
        trust = step
        if delta < epsilon:
            converged = True
            break

    scores = {peers[k]: trust[k] for k in order}
    explanations: dict[PeerId, tuple[Inflow, ...]] = {}
    ids: dict[tuple[bytes, bytes], list[bytes]] = {}
    for item in counted:
        ids.setdefault((item.attester.key, item.subject.key), []).append(item.attestation_id)
    by_subject: dict[bytes, list[Inflow]] = {}
    for (attester, subject), (honoured, breached, disputed) in sorted(counts.items()):
        c_ij = dict(rows.get(attester, [])).get(subject, 0.0)
        t_i = trust[attester]
        by_subject.setdefault(subject, []).append(
            Inflow(
                attester=peers[attester],
                attestation_ids=tuple(sorted(ids[(attester, subject)])),
                honoured=honoured,
                breached=breached,
                disputed=disputed,
                local_trust=c_ij,
                attester_score=t_i,
                weight=carry * t_i * c_ij,
            )
        )
    for subject in sorted(by_subject):
        explanations[peers[subject]] = tuple(by_subject[subject])
    return TrustResult(
        owner=owner,
        scores=scores,
        pretrusted=pretrusted,
        iterations=iterations,
        converged=converged,
        explanations=explanations,
    )
