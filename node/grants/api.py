"""The local API of the vault, grants, requests, holdings and the audit log. See spec/grants.md §14.

Mounted by amity.node.api.app through :func:`add_grants_routes`; the runner puts the node's
:class:`~amity.node.grants.service.GrantsService` under :data:`GRANTS`. Errors follow the API's
rule, ``{"error": {"code", "message"}}``: 404 for an unknown id, 403 ``grants.no_grant`` for a read
that no live grant covers.
"""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import error_response, json_body, peer_from
from amity.node.grants.data import (
    audit_json,
    held_json,
    issued_json,
    outcome_json,
    receipt_json,
    request_json,
    statement_json,
    value_json,
)
from amity.node.grants.fields import field_from_text
from amity.node.grants.requests import SharingRule
from amity.node.grants.service import GrantsService
from amity.protocol.audit import Controller, consent_receipt_json, sign_consent_receipt
from amity.protocol.errors import NoGrantError, NotFoundError, UsageError
from amity.protocol.grants import Grant, Onward
from amity.protocol.identity import PeerId
from amity.protocol.receipts import HoldingsStatement, decode_receipt
from amity.protocol.terms import PURPOSES

__all__ = ["GRANTS", "add_grants_routes"]

GRANTS: Final = web.AppKey("grants", GrantsService)
_MAX_WAIT_S: Final = 60.0
_MAX_DURATION_S: Final = 10 * 365 * 24 * 3600


def add_grants_routes(app: web.Application) -> None:
    """Mount ``/api/vault``, ``/api/grants``, ``/api/requests``, ``/api/holdings``, ``/api/audit``."""
    r = app.router
    r.add_get("/api/vault", vault_list)
    r.add_get("/api/vault/{name}", vault_get)
    r.add_put("/api/vault/{name}", vault_put)
    r.add_delete("/api/vault/{name}", vault_delete)
    r.add_get("/api/grants", grants_list)
    r.add_post("/api/grants", grant_issue)
    r.add_get("/api/grants/{id}", grant_show)
    r.add_post("/api/grants/{id}/revoke", grant_revoke)
    r.add_get("/api/grants/{id}/consent-receipt", consent_receipt)
    r.add_get("/api/receipts", receipts_list)
    r.add_get("/api/requests", requests_list)
    r.add_post("/api/requests", request_send)
    r.add_get("/api/requests/rule", rule_get)
    r.add_put("/api/requests/rule", rule_put)
    r.add_post("/api/requests/{id}/approve", request_approve)
    r.add_post("/api/requests/{id}/decline", request_decline)
    r.add_get("/api/holdings/{peer}", holdings_list)
    r.add_post("/api/holdings/{peer}/query", holdings_query)
    r.add_get("/api/holdings/{peer}/{field}", holdings_read)
    r.add_get("/api/audit", audit_log)


def _service(request: web.Request) -> GrantsService:
    service = request.app.get(GRANTS)
    if service is None:
        raise error_response(
            web.HTTPServiceUnavailable, "api.unavailable", "this node serves no grants"
        )
    return service


def _str(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise UsageError(f"{key} is a string")
    return value


def _seconds(data: dict[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_DURATION_S:
        raise UsageError(f"{key} is a number of seconds, 1 .. 10 years")
    return value


def _names(data: dict[str, Any], required: bool = True) -> list[str] | None:
    value = data.get("fields")
    if value is None and not required:
        return None
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UsageError('fields is a list of field names, e.g. ["email", "age-over:18"]')
    return value


def _onward(data: dict[str, Any]) -> Onward:
    try:
        return Onward(_str(data, "onward", "none"))
    except ValueError:
        raise UsageError("onward is 'none' or 'aggregate-only'") from None


# -- the vault -------------------------------------------------------------------------------------


async def vault_list(request: web.Request) -> web.Response:
    rows = _service(request).vault.listing()
    fields = [{"name": r.name, "type": r.type, "updated_ms": r.updated_ms} for r in rows]
    return web.json_response({"fields": fields})


async def vault_get(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    found = _service(request).vault.get(name)
    if found is None:
        raise NotFoundError(f"your vault has no field {name!r}: `amity vault list` shows them")
    return web.json_response(value_json(found))


async def vault_put(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    item = field_from_text(request.match_info["name"], _str(data, "type"), data.get("value"))
    outcomes = await service.vault_set(item)
    return web.json_response(
        {**value_json(item), "updates": [outcome_json(service.node, o) for o in outcomes]}
    )


async def vault_delete(request: web.Request) -> web.Response:
    service = _service(request)
    name = request.match_info["name"]
    if not await service.vault_remove(name):
        raise NotFoundError(f"your vault has no field {name!r}: `amity vault list` shows them")
    return web.json_response({"name": name, "deleted": True})


# -- grants ----------------------------------------------------------------------------------------


def _issued_view(service: GrantsService, row: Any, now: int) -> dict[str, Any]:
    receipts = service.node.store.grant_receipts(row.grant_id)
    return issued_json(service.node, row, receipts, now)


async def grants_list(request: web.Request) -> web.Response:
    service = _service(request)
    now = service.node.clock_ms()
    peer = peer_from(request.query["peer"]) if "peer" in request.query else None
    issued = service.node.store.issued_grants(peer_id=None if peer is None else peer.key)
    held = service.holdings.find(grantor=peer)
    return web.json_response(
        {
            "granted": [_issued_view(service, row, now) for row in issued],
            "held": [held_json(service.node, h, now) for h in held],
        }
    )


async def grant_issue(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    agreement = data.get("agreement")
    if agreement is not None and not isinstance(agreement, str):
        raise UsageError("agreement is the hex id (or its first digits) of an agreement")
    if "request" in data:
        request_id = data["request"]
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            raise UsageError("request is the number `amity requests` shows")
        expires = _seconds(data, "expires_s") if "expires_s" in data else None
        grant = await service.requests.approve(
            request_id,
            _names(data, required=False),
            duration_ms=None if expires is None else expires * 1000,
            agreement=agreement,
            onward=_onward(data),
        )
    else:
        names = _names(data)
        assert names is not None
        grant = await service.grantor.grant(
            peer_from(data.get("peer")),
            names,
            purpose=_str(data, "purpose"),
            context=_str(data, "context", ""),
            duration_ms=_seconds(data, "expires_s") * 1000,
            agreement=agreement,
            onward=_onward(data),
        )
    row = service.grantor.issued(grant.grant_id.hex())
    return web.json_response(_issued_view(service, row, service.node.clock_ms()), status=201)


def _grant_by_id(service: GrantsService, text: str, now: int) -> tuple[Grant, dict[str, Any]]:
    """A grant we issued or hold, by (a prefix of) its hex id."""
    try:
        row = service.grantor.issued(text)
        return Grant.decode(row.encoded), _issued_view(service, row, now)
    except NotFoundError as missing:
        held = service.holdings.find(id_prefix=text.strip().lower())
        if len(held) != 1:
            raise missing from None
        return held[0].grant, held_json(service.node, held[0], now)


async def grant_show(request: web.Request) -> web.Response:
    service = _service(request)
    _, view = _grant_by_id(service, request.match_info["id"], service.node.clock_ms())
    return web.json_response(view)


async def grant_revoke(request: web.Request) -> web.Response:
    service = _service(request)
    row = await service.grantor.revoke(request.match_info["id"])
    return web.json_response(_issued_view(service, row, service.node.clock_ms()))


async def consent_receipt(request: web.Request) -> web.Response:
    """The grant as a Kantara CR v1.1 / ISO/IEC TS 27560 shaped record (spec/grants.md §10)."""
    service = _service(request)
    grant, view = _grant_by_id(service, request.match_info["id"], service.node.clock_ms())
    name = view["peer_name"] if view["side"] == "granted" else service.node.identity.name
    # The controller as its card names it; a card carries no address, e-mail or phone, and the
    # did:key is how to reach it (through amity).
    controller = Controller(name=name or grant.grantee.did, contact=grant.grantee.did)
    category = PURPOSES.get(grant.purpose)
    record = consent_receipt_json(
        grant, controller=controller, purpose_category=[category] if category else []
    )
    # Signed by this node, a party of the grant: evidence on its own (spec/grants.md §10.1).
    token = sign_consent_receipt(service.node.keyring.identity, record)
    return web.json_response({"receipt": record, "jws": token})


async def receipts_list(request: web.Request) -> web.Response:
    service = _service(request)
    grant_id = None
    if "grant" in request.query:
        grant_id = service.grantor.issued(request.query["grant"]).grant_id
    rows = service.node.store.grant_receipts(grant_id)
    return web.json_response({"receipts": [receipt_json(row) for row in rows]})


# -- requests --------------------------------------------------------------------------------------


async def requests_list(request: web.Request) -> web.Response:
    service = _service(request)
    pending = request.query.get("pending", "") in ("1", "true", "yes")
    rows = service.requests.listing(pending_only=pending)
    return web.json_response(
        {
            "auto_approve": service.requests.auto_approve,
            "requests": [request_json(service.node, row) for row in rows],
        }
    )


async def request_send(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    names = _names(data)
    assert names is not None
    request_id = await service.requests.send(
        peer_from(data.get("peer")),
        names,
        purpose=_str(data, "purpose"),
        context=_str(data, "context", ""),
        duration_ms=_seconds(data, "duration_s", 30 * 24 * 3600) * 1000,
    )
    row = service.requests.one(request_id)
    return web.json_response(request_json(service.node, row), status=201)


def _request_id(request: web.Request) -> int:
    text = request.match_info["id"].lstrip("#")
    if not text.isdigit():
        raise UsageError(f"{text!r:.40} is not a request number (`amity requests` lists them)")
    return int(text)


async def request_approve(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    expires = _seconds(data, "expires_s") if "expires_s" in data else None
    agreement = data.get("agreement")
    if agreement is not None and not isinstance(agreement, str):
        raise UsageError("agreement is the hex id (or its first digits) of an agreement")
    grant = await service.requests.approve(
        _request_id(request),
        _names(data, required=False),
        duration_ms=None if expires is None else expires * 1000,
        agreement=agreement,
        onward=_onward(data),
    )
    row = service.grantor.issued(grant.grant_id.hex())
    return web.json_response(_issued_view(service, row, service.node.clock_ms()), status=201)


async def request_decline(request: web.Request) -> web.Response:
    service = _service(request)
    row = await service.requests.decline(_request_id(request))
    return web.json_response(request_json(service.node, row))


async def rule_get(request: web.Request) -> web.Response:
    return web.json_response(_service(request).requests.rule.to_json())


async def rule_put(request: web.Request) -> web.Response:
    """Her rule for requests: auto_approve, and optionally fields, purposes, max_days."""
    service = _service(request)
    await service.requests.set_rule(SharingRule.from_json(await json_body(request)))
    return web.json_response(service.requests.rule.to_json())


# -- holdings --------------------------------------------------------------------------------------


def _peer(request: web.Request) -> PeerId:
    return peer_from(request.match_info["peer"])


async def holdings_list(request: web.Request) -> web.Response:
    """What this node holds about the peer (grant by grant, names only, no values)."""
    service = _service(request)
    now = service.node.clock_ms()
    held = service.holdings.find(grantor=_peer(request))
    return web.json_response({"held": [held_json(service.node, h, now) for h in held]})


async def holdings_read(request: web.Request) -> web.Response:
    """A vendor's own software reads one value through its node: only under a live grant."""
    service = _service(request)
    purpose = request.query.get("purpose") or None
    try:
        value, holding = await service.grantee.read(
            _peer(request), request.match_info["field"], purpose
        )
    except NoGrantError as exc:
        raise error_response(web.HTTPForbidden, exc.code, exc.message) from None
    view = value_json(value)
    view.update(
        grant_id=holding.grant.grant_id.hex(),
        purpose=holding.grant.purpose,
        deadline_ms=holding.deadline_ms,
    )
    return web.json_response(view)


async def holdings_query(request: web.Request) -> web.Response:
    """Ask the peer what it holds about us; its signed statement, checked against our records."""
    service = _service(request)
    data = await json_body(request)
    wait_s = data.get("wait_s", 10)
    if isinstance(wait_s, bool) or not isinstance(wait_s, int | float) or not 0 < wait_s <= 60:
        raise UsageError("wait_s is the seconds to wait for the answer, up to 60")
    peer = _peer(request)
    query = await service.grantor.ask_holdings(peer, float(min(wait_s, _MAX_WAIT_S)))
    statement = None
    if query.statement is not None:
        found = decode_receipt(query.statement)
        assert isinstance(found, HoldingsStatement)
        statement = found
    now = service.node.clock_ms()
    ours = {
        row.grant_id: _issued_view(service, row, now)["state"]
        for row in service.node.store.issued_grants(peer_id=peer.key)
    }
    return web.json_response(statement_json(query, statement, ours))


# -- the audit log ---------------------------------------------------------------------------------


async def audit_log(request: web.Request) -> web.Response:
    """The audit log, its whole chain verified against the head first (audit.broken_chain)."""
    service = _service(request)
    peer = peer_from(request.query["peer"]) if "peer" in request.query else None
    head, entries = service.audit.verified(peer)
    return web.json_response(audit_json(head, entries))
