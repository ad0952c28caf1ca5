"""Terms in the dashboard (``/ui/terms``): her own terms offered, negotiations, agreements.

- Offer terms from the roster (each entry shown clause by clause in words) to a peer she is
  connected with; the roster is how a person asserts *her* terms without writing any.
- Negotiations still open, and whose turn it is: accept, reject, or answer with other roster
  terms (a counter-offer); withdraw her own offer. Recently closed ones, and why.
- Agreements: in force, amended or ended, each with whether the peer's published policy still
  signs it as it is (policy_check, as ``amity agreements`` says).
- A vendor's published policy: whether it is in force, and what it would answer to each roster
  entry (evaluate, the same rule its node answers offers with).

Every change calls the same TermsService method as the local API (offer, counter, accept,
reject, withdraw).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.terms.api import TERMS, agreement_json, negotiation_json
from amity.node.terms.data import terms_to_data
from amity.node.terms.service import TermsService
from amity.node.ui.actions import back_to
from amity.node.ui.pages import connected_peers, show
from amity.protocol.card import NodeKind
from amity.protocol.errors import AmityError, format_time_ms
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import DEFAULT_TTL_MS
from amity.protocol.policy import DecisionKind, evaluate
from amity.protocol.terms import ROSTER, roster_entry
from amity.protocol.termsmessages import RejectReason

__all__ = ["move", "offer", "page"]

_HOME: Final = "/ui/terms"
#: Closed negotiations shown, newest first.
_CLOSED: Final = 20
#: The newest negotiations and agreements the page reads (a vendor may hold a hundred
#: thousand: ``amity terms list`` and ``amity agreements`` page through them all).
_READ: Final = 200
_AGREEMENTS: Final = 50
_MAX_REASON_CHARS: Final = 200
_POLICY_WORDS: Final = {
    DecisionKind.ACCEPT: "signs them as they are",
    DecisionKind.COUNTER: "answers with a counter-offer",
    DecisionKind.REJECT: "refuses them",
    DecisionKind.ASK_HUMAN: "leaves them to you",
}


def _service(request: web.Request) -> TermsService:
    service = request.config_dict.get(TERMS)
    if service is None:  # a node built without one (tests of other parts)
        raise web.HTTPNotFound(text="this node serves no terms")
    return service


def _roster() -> list[dict[str, Any]]:
    return [
        {"name": name, **terms_to_data(entry.document)} for name, entry in sorted(ROSTER.items())
    ]


def _policy_view(service: TermsService) -> dict[str, Any] | None:
    """What the vendor's policy would answer to each roster entry (None: it keeps no policy)."""
    if service.policy is None:
        return None
    policy = service.policy_in_force()
    error = service.policy.error
    view: dict[str, Any] = {
        "in_force": policy is not None,
        "error": None if error is None else error.message,
        "answers": [],
    }
    if policy is not None:
        for name, entry in sorted(ROSTER.items()):
            decision = evaluate(policy, entry.document)
            view["answers"].append(
                {
                    "name": name,
                    "title": entry.document.title,
                    "answer": _POLICY_WORDS[decision.kind],
                    "why": [f"{r.clause_id}: {r.reason}" for r in decision.reasons],
                }
            )
    return view


def _agreements(service: TermsService) -> list[dict[str, Any]]:
    """The newest agreements, newest first, as the API shows them, with the peer's name."""
    rows = service.node.store.agreements(limit=_AGREEMENTS)
    book = service.node.book
    return [
        {**agreement_json(service, row), "peer_name": book.name_of(PeerId(row.peer_id))}
        for row in rows
    ]


async def page(request: web.Request) -> web.Response:
    service = _service(request)
    node = request.config_dict[NODE]
    negotiations = [negotiation_json(n, service) for n in service.book.find(limit=_READ)]
    open_ = [n for n in negotiations if n["open"]]
    closed = [n for n in negotiations if not n["open"]][:_CLOSED]  # newest first, as read
    peers = connected_peers(node)
    return show(
        request,
        "terms.html",
        title="Terms",
        nav="terms",
        open=open_,
        closed=closed,
        roster=_roster(),
        peers=peers,
        agreements=_agreements(service),
        policy=_policy_view(service) if node.identity.kind is NodeKind.VENDOR else None,
    )


async def offer(request: web.Request) -> web.Response:
    """Offer roster terms to a connected peer: a signed offer goes to its node."""
    service = _service(request)
    form = await request.post()
    name = str(form.get("roster", "")).upper()
    if name not in ROSTER:
        back_to(request, _HOME, "Nothing was sent: choose terms from the roster.")
    try:
        peer = PeerId.from_did(str(form.get("peer", "")))
        neg = await service.offer(peer, roster_entry(name).document, ttl_ms=DEFAULT_TTL_MS)
    except AmityError as exc:
        back_to(request, _HOME, f"Nothing was sent: {exc.message}")
    shown = negotiation_json(neg, service)
    back_to(
        request,
        _HOME,
        f"You offered {name} to {shown['peer_name'] or 'them'}; "
        f"it stays open until {format_time_ms(neg.expires_ms)}.",
    )


async def move(request: web.Request) -> web.Response:
    """Her move in an open negotiation: accept, reject (with a reason), counter, withdraw."""
    service = _service(request)
    nid, name = request.match_info["id"], request.match_info["move"]
    form = await request.post()
    try:
        if name == "accept":
            neg = await service.accept(nid)
        elif name == "reject":
            reason = str(form.get("reason", "")).strip()[:_MAX_REASON_CHARS]
            neg = await service.reject(nid, (RejectReason("", reason),) if reason else ())
        elif name == "counter":
            roster = str(form.get("roster", "")).upper()
            if roster not in ROSTER:
                back_to(request, _HOME, "Nothing was sent: choose the terms you answer with.")
            neg = await service.counter(nid, roster_entry(roster).document, ttl_ms=DEFAULT_TTL_MS)
        elif name == "withdraw":
            neg = await service.withdraw(nid)
        else:
            raise web.HTTPNotFound()
    except AmityError as exc:
        back_to(request, _HOME, f"Nothing was changed: {exc.message}")
    shown = negotiation_json(neg, service)
    who = shown["peer_name"] or "them"
    said = {
        "accept": f"You accepted the terms with {who}: both of you hold the signed agreement.",
        "reject": f"You refused the terms {who} offered.",
        "counter": f"You answered {who} with other terms.",
        "withdraw": f"You withdrew your offer to {who}.",
    }[name]
    back_to(request, _HOME, said)
