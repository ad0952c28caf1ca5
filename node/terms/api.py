"""The local API of terms: negotiations, agreements and the policy file. See spec/terms.md §13.

Mounted by amity.node.api.app through :func:`add_terms_routes`; the runner puts the node's
:class:`~amity.node.terms.service.TermsService` under :data:`TERMS`. Errors follow the API's
rule, ``{"error": {"code", "message"}}``, with 404 for an unknown id and, for a policy that does not
parse, the ``line`` and ``field`` it names.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import error_response, json_body
from amity.node.store import AgreementRow
from amity.node.terms import policywatch
from amity.node.terms.data import (
    agreement_to_data,
    quote_rule_json,
    terms_from_data,
    terms_to_data,
)
from amity.node.terms.service import TermsService
from amity.protocol.agreement import Agreement
from amity.protocol.core.terms.policywatch import review_policy
from amity.protocol.errors import AmityError, NotFoundError, PolicyError, UsageError, format_time_ms
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import DEFAULT_TTL_MS, MAX_TTL_MS, OPEN_STATES, Negotiation
from amity.protocol.policy import Policy
from amity.protocol.terms import TermsDocument, roster_entry
from amity.protocol.termsmessages import RejectReason

__all__ = ["TERMS", "add_terms_routes", "agreement_json", "negotiation_json"]

TERMS: Final = web.AppKey("terms", TermsService)


def add_terms_routes(app: web.Application) -> None:
    """Mount ``/api/terms``, ``/api/agreements`` and ``/api/policy`` on the local API."""
    app.router.add_get("/api/terms", list_negotiations)
    app.router.add_post("/api/terms/offer", offer)
    app.router.add_post("/api/terms/change", change)
    app.router.add_get("/api/terms/{id}", show_negotiation)
    for name in ("counter", "accept", "reject", "withdraw"):
        app.router.add_post(f"/api/terms/{{id}}/{name}", _move_handler(name))
    app.router.add_get("/api/agreements", list_agreements)
    app.router.add_get("/api/agreements/{id}", show_agreement)
    app.router.add_get("/api/policy", get_policy)
    app.router.add_put("/api/policy", put_policy)


def _service(request: web.Request) -> TermsService:
    service = request.app.get(TERMS)
    if service is None:
        raise error_response(
            web.HTTPServiceUnavailable, "api.unavailable", "this node serves no terms"
        )
    return service


def _ttl_ms(data: dict[str, Any]) -> int:
    ttl_s = data.get("ttl_s", DEFAULT_TTL_MS // 1000)
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 0 < ttl_s <= MAX_TTL_MS // 1000:
        raise UsageError("ttl_s is the seconds the terms stay open: 1 s .. 30 days")
    return ttl_s * 1000


def _terms(data: dict[str, Any]) -> TermsDocument:
    """The terms a request names: ``roster`` (a name like P2B1) or ``terms`` (a terms file)."""
    if ("roster" in data) == ("terms" in data):
        raise UsageError("give either roster (a name such as P2B1) or terms (clauses), not both")
    if "roster" in data:
        if not isinstance(data["roster"], str):
            raise UsageError("roster is the name of a roster agreement, such as P2B1")
        return roster_entry(data["roster"].upper()).document
    return terms_from_data(data["terms"])


def _not_found(exc: NotFoundError) -> Exception:
    return error_response(web.HTTPNotFound, exc.code, exc.message)


def negotiation_json(neg: Negotiation, service: TermsService) -> dict[str, Any]:
    """A negotiation as the API shows it: where it stands, whose turn, and the terms."""
    rel = service.node.book.current(neg.peer)
    card = None if rel is None else rel.peer_card
    agreement = neg.agreement
    return {
        "id": neg.negotiation_id.hex(),
        "peer": neg.peer.did,
        "peer_name": "" if card is None else card.name,
        "we_are": neg.we_are.value,
        "state": neg.state.value,
        "open": neg.state in OPEN_STATES,
        "our_turn": neg.our_turn,
        "proposed_by": "us" if neg.proposed_by == "local" else "peer",
        "rounds": neg.rounds,
        "terms": terms_to_data(neg.terms),
        "created": format_time_ms(neg.created_ms),
        "since": format_time_ms(neg.since_ms),
        "expires": format_time_ms(neg.expires_ms),
        "expires_ms": neg.expires_ms,
        "amends": None if neg.previous_agreement_id is None else neg.previous_agreement_id.hex(),
        "agreement_id": None if agreement is None else agreement.agreement_id.hex(),
        "reasons": [{"clause": r.clause_id, "reason": r.reason} for r in neg.reasons],
    }


def agreement_json(
    service: TermsService, row: AgreementRow, *, with_bytes: bool = False
) -> dict[str, Any]:
    data = agreement_to_data(Agreement.decode(row.encoded))
    data["policy_check"] = policywatch.policy_check(service, row)
    data["peer"] = PeerId(row.peer_id).did
    data["superseded_by"] = None if row.superseded_by is None else row.superseded_by.hex()
    data["ended"] = None if row.ended_ms is None else format_time_ms(row.ended_ms)
    concluded = row.concluded_ms
    data["concluded"] = None if concluded is None else format_time_ms(concluded)
    data["state"] = (
        "ended" if row.ended_ms is not None else "amended" if row.superseded_by else "in force"
    )
    if with_bytes:
        data["bytes"] = len(row.encoded)
        data["agreement_b64"] = base64.b64encode(row.encoded).decode("ascii")
        data["agreement_hex"] = row.encoded.hex()
    return data


def _did(text: str) -> PeerId:
    """A did:key our caller gave: one that does not parse is its mistake (400), not a peer's."""
    try:
        return PeerId.from_did(text)
    except AmityError as exc:
        raise UsageError(f"{text!r:.80} is not a peer's did:key ({exc.message})") from None


def _peer_filter(request: web.Request) -> PeerId | None:
    did = request.query.get("peer")
    return None if did is None else _did(did)


async def list_negotiations(request: web.Request) -> web.Response:
    service = _service(request)
    found = service.negotiations(_peer_filter(request))
    return web.json_response({"negotiations": [negotiation_json(n, service) for n in found]})


async def show_negotiation(request: web.Request) -> web.Response:
    service = _service(request)
    try:
        neg = service.negotiation(request.match_info["id"])
    except NotFoundError as exc:
        raise _not_found(exc) from None
    return web.json_response(negotiation_json(neg, service))


async def offer(request: web.Request) -> web.Response:
    service = _service(request)
    data = await json_body(request)
    if not isinstance(data.get("peer"), str):
        raise UsageError("peer is the did:key of the vendor (or person) to offer terms to")
    amends = data.get("amends")
    if amends is not None and not isinstance(amends, str):
        raise UsageError("amends is the hex id of the agreement these terms would replace")
    try:
        neg = await service.offer(
            _did(data["peer"]),
            _terms(data),
            ttl_ms=_ttl_ms(data),
            amends=None if amends is None else service.agreement(amends).agreement_id,
        )
    except NotFoundError as exc:
        raise _not_found(exc) from None
    return web.json_response(negotiation_json(neg, service), status=201)


async def change(request: web.Request) -> web.Response:
    """Her terms changed: an amending offer to every peer with an agreement in force."""
    service = _service(request)
    data = await json_body(request)
    terms = _terms(data)
    changes = await service.change(terms, ttl_ms=_ttl_ms(data))
    shown = []
    for c in changes:
        peer = c.agreement.peer
        rel = service.node.book.current(peer)
        card = None if rel is None else rel.peer_card
        shown.append(
            {
                "agreement_id": c.agreement.agreement_id.hex(),
                "peer": peer.did,
                "peer_name": "" if card is None else card.name,
                "offered": c.negotiation_id is not None,
                "negotiation_id": None if c.negotiation_id is None else c.negotiation_id.hex(),
                "why_not": c.why,
            }
        )
    return web.json_response({"terms_id": terms.terms_id.hex(), "changes": shown})


def _move_handler(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return await move(request, name)

    return handler


async def move(request: web.Request, name: str) -> web.Response:
    """Counter, accept, reject or withdraw (``name``): the owner's move in a negotiation."""
    service = _service(request)
    data = await json_body(request)
    nid = request.match_info["id"]
    try:
        if name == "counter":
            neg = await service.counter(nid, _terms(data), ttl_ms=_ttl_ms(data))
        elif name == "accept":
            neg = await service.accept(nid)
        elif name == "reject":
            reason = data.get("reason", "")
            if not isinstance(reason, str):
                raise UsageError("reason is one line of text")
            neg = await service.reject(nid, (RejectReason("", reason),) if reason else ())
        else:
            neg = await service.withdraw(nid)
    except NotFoundError as exc:
        raise _not_found(exc) from None
    return web.json_response(negotiation_json(neg, service))


async def list_agreements(request: web.Request) -> web.Response:
    service = _service(request)
    rows = service.agreements(_peer_filter(request))
    return web.json_response({"agreements": [agreement_json(service, row) for row in rows]})


async def show_agreement(request: web.Request) -> web.Response:
    service = _service(request)
    try:
        row = service.agreement(request.match_info["id"])
    except NotFoundError as exc:
        raise _not_found(exc) from None
    return web.json_response(agreement_json(service, row, with_bytes=True))


def _policy_json(service: TermsService) -> dict[str, Any]:
    policy_file = service.policy
    if policy_file is None:
        return {"path": None, "present": False, "in_force": False, "toml": None, "error": None}
    policy = policy_file.current()
    error = policy_file.error
    return {
        "path": str(policy_file.path),
        "present": policy_file.path.exists(),
        "in_force": policy is not None,
        "toml": policy_file.text(),
        "error": None if error is None else _policy_error(error),
        **({} if policy is None else _rules(policy)),
        "intent_rules": [quote_rule_json(r) for r in policy_file.answer_rules()],
    }


def _policy_error(error: PolicyError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "line": error.line, "field": error.field}


def _rules(policy: Policy) -> dict[str, Any]:
    rules = [
        {
            "clause": r.clause_id,
            "action": r.action.value,
            "otherwise": r.otherwise.value,
            "reason": r.reason,
        }
        for r in policy.rules
    ]
    return {"default": policy.default.value, "rules": rules}


async def get_policy(request: web.Request) -> web.Response:
    return web.json_response(_policy_json(_service(request)))


async def put_policy(request: web.Request) -> web.Response:
    """Replace the policy file with ``toml`` once it parses; 400 with line and field if not."""
    service = _service(request)
    data = await json_body(request)
    if not isinstance(data.get("toml"), str):
        raise UsageError("toml is the text of the policy file (spec/terms.md §5.2)")
    if service.policy is None:
        raise error_response(web.HTTPConflict, "local.node", "this node keeps no policy file")
    before = service.published_policy()
    try:
        service.policy.replace(data["toml"])
    except PolicyError as exc:
        raise error_response(
            web.HTTPBadRequest, exc.code, exc.message, line=exc.line, field=exc.field
        ) from None
    after = service.published_policy()
    told = await service.node.cardwatch.check()  # the customers hear of it now, not in 2 s
    review = review_policy(before, after, policywatch.in_force(service))
    change = {"told": told, **policywatch.review_json(review)}
    return web.json_response({**_policy_json(service), "change": change})
