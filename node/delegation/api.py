"""The local API of delegation (spec/delegation.md): ``GET /api/delegations`` (capabilities and
acts), ``POST /api/delegations`` (she grants a capability), ``POST /api/delegations/{id}/revoke``,
and on the agent's side ``POST /api/delegations/{id}/accept`` and ``.../act``."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import id_by_prefix, json_body, ms_from, peer_from
from amity.node.delegation.service import DelegationService
from amity.protocol.core.delegation.records import ActRecord, CapabilityRecord
from amity.protocol.delegationchain import DAY_MS
from amity.protocol.delegationscope import (
    GRANT,
    INTENT_CAST,
    SCOPE_NAMES,
    STANDING_SCALE,
    Scope,
)
from amity.protocol.errors import UsageError, format_time_ms

__all__ = ["DELEGATION", "add_delegation_routes", "capability_json", "act_json", "scopes_from"]

DELEGATION: Final = web.AppKey("delegation", DelegationService)


def add_delegation_routes(app: web.Application) -> None:
    app.router.add_get("/api/delegations", delegations_list)
    app.router.add_post("/api/delegations", delegation_grant)
    app.router.add_post("/api/delegations/{id}/revoke", delegation_revoke)
    app.router.add_post("/api/delegations/{id}/accept", delegation_accept)
    app.router.add_post("/api/delegations/{id}/act", delegation_act)


def scope_json(scope: Scope) -> dict[str, Any]:
    if scope.name == GRANT:
        least = scope.min_standing
        return {
            "fields": list(scope.fields),
            "purposes": list(scope.purposes),
            "min_standing": None if least is None else least / STANDING_SCALE,
            "max_days": scope.max_days,
        }
    if scope.name == INTENT_CAST:
        return {"categories": list(scope.categories)}
    return {}


def _strs(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{what} is a list of strings")
    return tuple(sorted(set(value)))


def scopes_from(value: object) -> list[Scope]:
    """Scopes from ``{"grant": {...}, "offers.read": {}, ...}`` (spec/delegation.md §3)."""
    if not isinstance(value, dict) or not value:
        raise UsageError(f"scopes is an object naming one or more of {', '.join(SCOPE_NAMES)}")
    scopes = []
    for name, spec in sorted(value.items()):
        if name not in SCOPE_NAMES or not isinstance(spec, dict):
            raise UsageError(f"{name!r:.40} is not a scope: {', '.join(SCOPE_NAMES)}")
        if name == GRANT:
            least = spec.get("min_standing")
            if least is not None and (
                isinstance(least, bool) or not isinstance(least, int | float)
                or not -1 <= least <= 1
            ):  # fmt: skip
                raise UsageError("min_standing is a number from -1 to 1, or null")
            days = spec.get("max_days")
            if isinstance(days, bool) or not isinstance(days, int):
                raise UsageError("max_days is a whole number of days")
            scopes.append(Scope(
                GRANT, fields=_strs(spec.get("fields"), "fields"),
                purposes=_strs(spec.get("purposes", []), "purposes"),
                min_standing=None if least is None else round(least * STANDING_SCALE),
                max_days=days,
            ))  # fmt: skip
        elif name == INTENT_CAST:
            cats = _strs(spec.get("categories", []), "categories")
            scopes.append(Scope(INTENT_CAST, categories=cats))
        else:
            scopes.append(Scope(name))
    return scopes


def capability_json(record: CapabilityRecord, now_ms: int) -> dict[str, Any]:
    cap = record.capability
    return {
        "id": record.capability_id.hex(),
        "mine": record.mine,
        "issuer": cap.issuer.did,
        "agent": cap.agent.did,
        "person": record.person.did,
        "chain": len(record.chain),
        "scopes": {s.name: scope_json(s) for s in cap.scopes},
        "redelegate": cap.redelegate,
        "not_before": format_time_ms(cap.not_before_ms),
        "not_after": format_time_ms(cap.not_after_ms),
        "not_after_ms": cap.not_after_ms,
        "note": cap.note,
        "state": record.state(now_ms),
        "revoked": None
        if record.revocation is None
        else format_time_ms(record.revocation.revoked_ms),
        "vendors": [v.did for v in record.vendors],
        "capability_hex": cap.encoded.hex(),
    }


def act_json(record: ActRecord) -> dict[str, Any]:
    act = record.act
    return {
        "id": record.act_id.hex(),
        "role": record.role,
        "capability": act.capability_id.hex(),
        "agent": act.agent.did,
        "person": act.person.did,
        "vendor": act.vendor.did,
        "fields": list(act.fields),
        "purpose": act.purpose,
        "context": act.context,
        "days": act.duration_ms / DAY_MS,
        "at": format_time_ms(record.at_ms),
        "outcome": record.outcome,
        "code": record.code,
        "reason": record.reason,
        "grant": None if record.grant_id is None else record.grant_id.hex(),
    }


async def delegations_list(request: web.Request) -> web.Response:
    service = request.app[DELEGATION]
    now = service.node.clock_ms()
    caps = sorted(service.capabilities.values(), key=lambda r: (r.at_ms, r.capability_id))
    acts = sorted(service.acts.values(), key=lambda r: (r.at_ms, r.act_id))
    return web.json_response({
        "capabilities": [capability_json(r, now) for r in caps],
        "acts": [act_json(r) for r in acts],
        "revocations_kept": sorted(k.hex() for k in service.revocations),
    })  # fmt: skip


async def delegation_grant(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = request.app[DELEGATION]
    now = service.node.clock_ms()
    note = data.get("note", "")
    if not isinstance(note, str):
        raise UsageError("note is a string")
    start = data.get("not_before_ms")
    under = data.get("under")
    if under is not None and not isinstance(under, str):
        raise UsageError("under names a capability you hold, by its id or a prefix")
    held = [k for k, r in service.capabilities.items() if not r.mine]
    record = await service.grant(
        peer_from(data.get("agent"), "agent"),
        scopes=scopes_from(data.get("scopes")),
        not_before_ms=now if start is None else ms_from(start, "not_before_ms"),
        not_after_ms=ms_from(data.get("not_after_ms"), "not_after_ms"),
        redelegate=data.get("redelegate") is True,
        note=note,
        under=None if under is None else id_by_prefix(held, under, "capability"),
    )
    return web.json_response(capability_json(record, now), status=201)


def _capability_id(service: DelegationService, request: web.Request, mine: bool) -> bytes:
    keys = [k for k, r in service.capabilities.items() if r.mine == mine]
    return id_by_prefix(keys, request.match_info["id"], "capability")


async def delegation_revoke(request: web.Request) -> web.Response:
    service = request.app[DELEGATION]
    record = await service.revoke(_capability_id(service, request, True))
    return web.json_response(capability_json(record, service.node.clock_ms()))


async def delegation_accept(request: web.Request) -> web.Response:
    service = request.app[DELEGATION]
    record = await service.accept(_capability_id(service, request, False))
    return web.json_response(capability_json(record, service.node.clock_ms()))


async def delegation_act(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = request.app[DELEGATION]
    context = data.get("context", "")
    purpose = data.get("purpose")
    days = data.get("days")
    if not isinstance(purpose, str) or not isinstance(context, str):
        raise UsageError("purpose and context are strings")
    if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
        raise UsageError("days is a number of days above 0")
    record = await service.act(
        _capability_id(service, request, False),
        peer_from(data.get("vendor"), "vendor"),
        _strs(data.get("fields"), "fields"),
        purpose=purpose,
        context=context,
        duration_ms=round(days * DAY_MS),
    )
    return web.json_response(act_json(record), status=201)
