"""The dashboard's pages (GET): a relationship, the vault, invitations (the overview: overview.py).

Each page reads through the same services and JSON views as the local API (relationship_json,
issued_json, held_json, agreement_to_data, the audit log's verified chain), so a page never
judges a grant or a relationship by rules of its own.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.invitations import unused_invitations
from amity.node.api.keys import NODE
from amity.node.api.relationships import relationship_json
from amity.node.daemon import Node
from amity.node.grants.api import GRANTS
from amity.node.grants.data import held_json, issued_json, request_json
from amity.node.grants.service import GrantsService
from amity.node.terms.api import TERMS
from amity.node.terms.data import agreement_to_data
from amity.node.terms.policywatch import policy_check
from amity.node.ui.guard import session_of
from amity.node.ui.render import page
from amity.protocol.agreement import Agreement
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.notes import MSG_NOTE, decode_note
from amity.protocol.relationship import Relationship
from amity.protocol.terms import PURPOSES

#: Notes from a peer shown on its page, newest first.
_NOTES: Final = 20
#: How long she may share for from her relationship page: (seconds, words).
SHARE_FOR: Final = ((3600, "an hour"), (86_400, "a day"), (30 * 86_400, "30 days"))

__all__ = ["SHARE_FOR", "granted", "invitations", "peer", "relationship_view", "show", "vault"]


def show(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page of the signed-in dashboard: her node's name, and the notice a change left."""
    node = request.config_dict[NODE]
    session = session_of(request)
    context.setdefault("nav", "")
    context.setdefault("live", True)  # static/live.js refreshes it when the node reports a change
    return page(
        template,
        status=status,
        me={"name": node.identity.name, "kind": node.identity.kind.value},
        notice=None if session is None else session.take_notice(),
        live_since=node.events.last_id,
        now_ms=node.clock_ms(),
        **context,
    )


def _grants(request: web.Request) -> GrantsService:
    return request.config_dict[GRANTS]


def relationship_view(rel: Relationship, node: Node) -> dict[str, Any]:
    return {
        **relationship_json(rel, node),
        "since_ms": rel.since_ms,
        "last_seen_ms": rel.last_seen_ms,
    }


def connected_peers(node: Node, most: int = 200) -> list[dict[str, Any]] | None:
    """Her connected peers by name (``did``, ``name``) for a form's choice, or None when there
    are more than ``most`` (a vendor's customers: a form then asks for the peer by name)."""
    found = node.store.connected_after(0, most + 1)
    if len(found) > most:
        return None
    peers = [PeerId(f.row.peer_id) for f in found if f.row.peer_id is not None]
    return sorted(
        ({"did": p.did, "name": node.book.name_of(p)} for p in peers),
        key=lambda p: p["name"].casefold(),
    )


def granted(node: Node, peer: PeerId | None = None) -> list[dict[str, Any]]:
    """Grants she issued (to ``peer``, or to anyone), newest first, judged by issued_json."""
    now = node.clock_ms()
    rows = node.store.issued_grants(peer_id=None if peer is None else peer.key)
    return [issued_json(node, row, node.store.grant_receipts(row.grant_id), now) for row in rows]


def peer_of(request: web.Request) -> PeerId | None:
    """The peer a page's path names by its did:key, or None if it names none."""
    try:
        return PeerId.from_did(request.match_info["peer"])
    except AmityError:
        return None


async def peer(request: web.Request, *, holdings: dict[str, Any] | None = None) -> web.Response:
    """One relationship: who, the agreement in words, what she shared, what she holds of theirs
    (and, just after she asked, what they hold about her: ``holdings``, from holdings.py)."""
    node = request.config_dict[NODE]
    who = peer_of(request)
    rel = None if who is None else node.book.current(who)
    if who is None or rel is None:
        return show(
            request,
            "message.html",
            status=404,
            title="No such relationship",
            text="You have no relationship with this peer. The overview lists yours.",
        )
    terms = request.config_dict[TERMS]
    agreements = [
        {
            **agreement_to_data(Agreement.decode(row.encoded)),
            "in_force": row.superseded_by is None,
            "policy_check": policy_check(terms, row),
        }
        for row in terms.agreements(who)
    ]
    now = node.clock_ms()
    grants = _grants(request)
    held = [held_json(node, h, now) for h in grants.holdings.find(grantor=who)]
    asked = [
        request_json(node, row)
        for row in grants.requests.listing(pending_only=True)
        if not row.outgoing and row.peer_id == who.key
    ]
    notes = [
        {"text": decode_note(item.body), "received_ms": item.received_ms}
        for item in node.store.newest_inbox(who.key, MSG_NOTE, _NOTES)
    ]
    return show(
        request,
        "peer.html",
        title=rel.peer_card.name if rel.peer_card else who.short,
        nav="overview",
        rel=relationship_view(rel, node),
        agreements=agreements,
        granted=granted(node, who),
        held=held,
        holdings=holdings,
        asked=asked,
        notes=notes,
        # What she could share now: her vault's fields, the purposes, how long (sharing.py).
        fields=[r.name for r in grants.vault.listing()],
        purposes=sorted(PURPOSES),
        durations=SHARE_FOR,
        # The holdings answer is shown once, on the answer to her question: keep it in view.
        live=holdings is None,
    )


async def vault(request: web.Request) -> web.Response:
    """Her fields (names and types; values stay sealed) and who holds each one now."""
    node = request.config_dict[NODE]
    holders: dict[str, list[dict[str, Any]]] = {}
    for grant in granted(node):
        if grant["state"] != "deleted":  # until its deletion receipt, a holder still holds it
            for name in grant["fields"]:
                holders.setdefault(name, []).append(grant)
    fields = [
        {
            "name": r.name,
            "type": r.type,
            "updated_ms": r.updated_ms,
            "holders": holders.pop(r.name, []),
        }
        for r in _grants(request).vault.listing()
    ]
    # What is held but is no vault field by that name: derived claims (age-over:18) and fields
    # she has since removed from her vault.
    return show(
        request, "vault.html", title="Your vault", nav="vault", fields=fields, other=holders
    )


async def invitations(request: web.Request, *, made: dict[str, Any] | None = None) -> web.Response:
    """Invite someone (a QR code to show), accept a pasted link, the invitations still open."""
    if made is not None:
        from amity.node.qr import invitation_qr  # segno: only when a code is drawn

        code = invitation_qr(made["qr_text"])
        made = {**made, "qr_svg": code.svg_inline(scale=5, border=4, title="amity invitation")}
    return show(
        request,
        "invitations.html",
        title="Invitations",
        nav="invitations",
        # A new invitation is shown once, on the answer to the form: a refresh would lose it.
        live=made is None,
        made=made,
        invitations=unused_invitations(request.config_dict[NODE]),
    )
