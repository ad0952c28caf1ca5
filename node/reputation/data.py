"""Reputation as JSON for the local API: attestations, scores, standings, and WHY.

"Why" is the explanation :func:`amity.protocol.trust.compute_trust` returns (each attester's
counts, local trust, score and weight) plus the path of trust from the owner to that attester:
owner → a pre-trusted peer → … → attester, along attestations that carry trust.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from amity.node.daemon import Node
from amity.node.reputation.service import ReputationService
from amity.node.store import AttestationRow
from amity.protocol.attestation import Attestation, Rebuttal
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.trust import Standing, TrustResult

__all__ = ["attestation_json", "reputation_json", "overview_json", "trust_paths"]


def label(node: Node, peer: PeerId) -> str:
    """A peer's name from its card when we know one, else its short id."""
    if peer == node.peer_id:
        return "you"
    rel = node.book.current(peer)
    if rel is not None and rel.peer_card is not None and rel.peer_card.name:
        return rel.peer_card.name
    return peer.short


def attestation_json(service: ReputationService, row: AttestationRow) -> dict[str, Any]:
    node = service.node
    attestation = service.trust.get(row.attestation_id) or Attestation.decode(row.encoded)
    rebuttals = []
    for encoded in node.store.rebuttals(row.attestation_id):
        try:
            rebuttal = Rebuttal.decode(encoded, attestation)
        except AmityError:
            continue
        rebuttals.append(
            {"by": rebuttal.rebutter.did, "issued_ms": rebuttal.issued_ms, "text": rebuttal.text}
        )
    return {
        "id": row.attestation_id.hex(),
        "attester": attestation.attester.did,
        "attester_name": label(node, attestation.attester),
        "subject": attestation.subject.did,
        "subject_name": label(node, attestation.subject),
        "agreement": attestation.agreement.agreement_id.hex(),
        "clause": attestation.clause_id,
        "verdict": attestation.verdict.value,
        "evidence": [h.hex() for h in attestation.evidence],
        "issued_ms": attestation.issued_ms,
        "expires_ms": attestation.expires_ms,
        "note": attestation.note,
        "mine": row.origin is None,
        "review": row.review,
        "automatic": row.cause is not None,
        "from": None if row.origin is None else PeerId(row.origin).did,
        "hops": row.hops,
        "rebuttals": rebuttals,
    }


def trust_paths(result: TrustResult) -> dict[PeerId, list[PeerId]]:
    """The shortest path of trust from the owner to every peer trust reaches (key order ties)."""
    edges: dict[PeerId, list[PeerId]] = {result.owner: sorted(result.pretrusted, key=_key)}
    for subject, inflows in result.explanations.items():
        for inflow in inflows:
            if inflow.local_trust > 0:
                edges.setdefault(inflow.attester, []).append(subject)
    paths = {result.owner: [result.owner]}
    queue = deque([result.owner])
    while queue:
        here = queue.popleft()
        for there in sorted(edges.get(here, []), key=_key):
            if there not in paths:
                paths[there] = [*paths[here], there]
                queue.append(there)
    return paths


def _key(peer: PeerId) -> bytes:
    return peer.key


def _standing_json(standing: Standing) -> dict[str, Any]:
    return {
        "value": standing.value,
        "honoured": standing.honoured,
        "breached": standing.breached,
        "evidence": standing.evidence,
    }


def reputation_json(service: ReputationService, peer: PeerId) -> dict[str, Any]:
    """One peer as the owner sees it: score, standing, cut-off, and each attester's part in it."""
    node = service.node
    result = service.result or service.evaluate()
    paths = trust_paths(result)
    why = []
    for inflow in result.explanations.get(peer, ()):
        path = paths.get(inflow.attester)
        why.append(
            {
                "attester": inflow.attester.did,
                "attester_name": label(node, inflow.attester),
                "honoured": inflow.honoured,
                "breached": inflow.breached,
                "disputed": inflow.disputed,
                "local_trust": inflow.local_trust,
                "attester_score": inflow.attester_score,
                "attester_weight": inflow.weight_as_attester,
                "weight": inflow.weight,
                "attestations": [aid.hex() for aid in inflow.attestation_ids],
                "path": None if path is None else [p.did for p in path],
                "path_names": None if path is None else [label(node, p) for p in path],
            }
        )
    vouched = {PeerId(k) for k in node.store.vouches()}
    return {
        "peer": peer.did,
        "name": label(node, peer),
        "score": result.score(peer),
        "standing": _standing_json(result.standing(peer)),
        "cut_off": peer in service.cut_off,
        "reason": service.cut_off.get(peer),
        "pretrusted": peer in result.pretrusted,
        "vouched": peer in vouched,
        "why": why,
    }


def overview_json(service: ReputationService) -> dict[str, Any]:
    """Every peer the owner's trust reaches or an attestation names, best score first."""
    node = service.node
    result = service.result or service.evaluate()
    peers = [p for p in result.scores if p != node.peer_id]
    peers.sort(key=lambda p: (-result.score(p), p.key))
    return {
        "owner": node.peer_id.did,
        "held": len(service.trust),
        "pretrusted": [p.did for p in result.pretrusted],
        "iterations": result.iterations,
        "converged": result.converged,
        "policy": service.policy.to_json(),
        "cut_off": sorted(p.did for p in service.cut_off),
        "peers": [
            {
                "peer": p.did,
                "name": label(node, p),
                "score": result.score(p),
                "standing": _standing_json(result.standing(p)),
                "cut_off": p in service.cut_off,
            }
            for p in peers
        ],
    }
