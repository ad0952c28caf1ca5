"""The local API of reputation: attestations, rebuttals, trust, share policies, vouches, cut-off.

Mounted by amity.node.api.app through :func:`add_reputation_routes`; the runner puts the node's
:class:`~amity.node.reputation.service.ReputationService` under :data:`REPUTATION`. A grant
refused by the cut-off answers 409 with code ``local.cut_off`` (:mod:`amity.node.grants.api`).
See spec/reputation.md §6.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import error_response, json_body, peer_from
from amity.node.reputation.data import (
    attestation_json,
    label,
    overview_json,
    reputation_json,
)
from amity.node.reputation.service import ReputationService
from amity.protocol.attestation import Verdict
from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId
from amity.protocol.sharing import APPROVED, PENDING, WITHHELD, SharePolicy

__all__ = ["REPUTATION", "add_reputation_routes"]

REPUTATION: Final = web.AppKey("reputation", ReputationService)
_MAX_WAIT_S: Final = 60.0


def add_reputation_routes(app: web.Application) -> None:
    """Mount ``/api/attestations``, ``/api/reputation``, ``/api/share-policies``, ``/api/vouches``."""
    r = app.router
    r.add_get("/api/attestations", attestations_list)
    r.add_post("/api/attestations", attest)
    r.add_get("/api/attestations/{id}", attestation_show)
    r.add_post("/api/attestations/{id}/approve", approve)
    r.add_post("/api/attestations/{id}/withhold", withhold)
    r.add_post("/api/attestations/{id}/rebut", rebut)
    r.add_get("/api/reputation", overview)
    r.add_get("/api/reputation/policy", policy_get)
    r.add_put("/api/reputation/policy", policy_put)
    r.add_get("/api/reputation/{peer}", peer_reputation)
    r.add_post("/api/reputation/{peer}/ask", ask)
    r.add_get("/api/share-policies", share_policies)
    r.add_put("/api/share-policies/{peer}", share_policy_put)
    r.add_get("/api/vouches", vouches)
    r.add_put("/api/vouches/{peer}", vouch)
    r.add_delete("/api/vouches/{peer}", unvouch)


def _service(request: web.Request) -> ReputationService:
    service = request.app.get(REPUTATION)
    if service is None:
        raise error_response(
            web.HTTPServiceUnavailable, "api.unavailable", "this node keeps no reputation"
        )
    return service


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{key} is a whole number")
    return value


# -- attestations ----------------------------------------------------------------------------------


async def attestations_list(request: web.Request) -> web.Response:
    service = _service(request)
    query = request.query
    subject = peer_from(query["about"], "about").key if "about" in query else None
    review = PENDING if query.get("pending", "") in ("1", "true", "yes") else None
    mine = {"1": True, "true": True, "0": False, "false": False}.get(query.get("mine", ""))
    rows = service.node.store.attestations(subject=subject, review=review, mine=mine)
    return web.json_response({"attestations": [attestation_json(service, row) for row in rows]})


async def attest(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    try:
        verdict = Verdict(data.get("verdict"))
    except ValueError:
        raise UsageError("verdict is honoured, breached or disputed") from None
    clause = data.get("clause")
    if not isinstance(clause, str):
        raise UsageError("clause is a clause id of the agreement, e.g. amity.delete-on-end")
    evidence_hex = data.get("evidence", [])
    if not isinstance(evidence_hex, list) or not all(isinstance(h, str) for h in evidence_hex):
        raise UsageError("evidence is a list of hex SHA-256 hashes")
    try:
        evidence = [bytes.fromhex(h) for h in evidence_hex]
    except ValueError:
        raise UsageError("evidence is a list of hex SHA-256 hashes") from None
    agreement = data.get("agreement")
    if agreement is not None and not isinstance(agreement, str):
        raise UsageError("agreement is the hex id (or its first digits) of an agreement")
    note = data.get("note", "")
    if not isinstance(note, str):
        raise UsageError("note is a string")
    days = data.get("days")
    made = await service.mine.attest(
        peer_from(data.get("peer")),
        clause_id=clause,
        verdict=verdict,
        agreement=agreement,
        evidence=evidence,
        note=note,
        days=None if days is None else _int(data, "days", 0),
    )
    row = service.mine.one(made.attestation_id.hex())
    return web.json_response(attestation_json(service, row), status=201)


async def attestation_show(request: web.Request) -> web.Response:
    service = _service(request)
    return web.json_response(attestation_json(service, service.mine.one(request.match_info["id"])))


async def _review(request: web.Request, decision: str) -> web.Response:
    service = _service(request)
    row = await service.mine.review(request.match_info["id"], decision)
    return web.json_response(attestation_json(service, row))


async def approve(request: web.Request) -> web.Response:
    return await _review(request, APPROVED)


async def withhold(request: web.Request) -> web.Response:
    return await _review(request, WITHHELD)


async def rebut(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UsageError("text is your answer to the attestation, in words")
    rebuttal, sent_to = await service.mine.rebut(request.match_info["id"], text)
    return web.json_response(
        {
            "attestation": rebuttal.attestation_id.hex(),
            "text": rebuttal.text,
            "issued_ms": rebuttal.issued_ms,
            "sent_to": [p.did for p in sent_to],
        },
        status=201,
    )


# -- trust -----------------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.Response:
    return web.json_response(overview_json(_service(request)))


async def peer_reputation(request: web.Request) -> web.Response:
    service = _service(request)
    return web.json_response(reputation_json(service, peer_from(request.match_info["peer"])))


async def ask(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    peer = peer_from(request.match_info["peer"])
    subject = peer_from(data.get("about"), "about")
    wait = data.get("wait_s", 10)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 < wait <= _MAX_WAIT_S:
        raise UsageError(f"wait_s is a number of seconds, up to {_MAX_WAIT_S:g}")
    count = await service.ask(peer, subject, float(wait))
    return web.json_response(
        {
            "asked": peer.did,
            "about": subject.did,
            "answered": count is not None,
            "attestations": count or 0,
            "reputation": reputation_json(service, subject),
        }
    )


async def policy_get(request: web.Request) -> web.Response:
    return web.json_response(_service(request).policy.to_json())


async def policy_put(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    await service.set_policy(ReputationPolicy.from_json(data, service.policy))
    return web.json_response(service.policy.to_json())


# -- share policies and vouches --------------------------------------------------------------------


async def share_policies(request: web.Request) -> web.Response:
    service = _service(request)
    rows = service.node.store.share_policies()
    return web.json_response(
        {
            "share_policies": [
                {
                    "peer": PeerId(r.peer_id).did,
                    "name": label(service.node, PeerId(r.peer_id)),
                    "mode": r.mode,
                    "max_hops": r.max_hops,
                    "per_hour": r.per_hour,
                    "updated_ms": r.updated_ms,
                    "shared": len(service.node.store.shared_with(r.peer_id)),
                }
                for r in rows
            ]
        }
    )


async def share_policy_put(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    peer = peer_from(request.match_info["peer"])
    current = service.share_policy(peer)
    mode = data.get("mode")
    if not isinstance(mode, str):
        raise UsageError("mode is none, mine or all")
    policy = SharePolicy.make(
        mode,
        _int(data, "max_hops", current.max_hops),
        _int(data, "per_hour", current.per_hour),
    )
    await service.set_share_policy(peer, policy)
    return web.json_response(
        {
            "peer": peer.did,
            "mode": policy.mode.value,
            "max_hops": policy.max_hops,
            "per_hour": policy.per_hour,
        }
    )


async def vouches(request: web.Request) -> web.Response:
    service = _service(request)
    peers = [PeerId(k) for k in service.node.store.vouches()]
    return web.json_response(
        {"vouches": [{"peer": p.did, "name": label(service.node, p)} for p in peers]}
    )


async def vouch(request: web.Request) -> web.Response:
    service = _service(request)
    peer = peer_from(request.match_info["peer"])
    await service.vouch(peer, True)
    return web.json_response({"peer": peer.did, "vouched": True})


async def unvouch(request: web.Request) -> web.Response:
    service = _service(request)
    peer = peer_from(request.match_info["peer"])
    await service.vouch(peer, False)
    return web.json_response({"peer": peer.did, "vouched": False})
