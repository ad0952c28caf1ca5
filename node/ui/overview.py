"""Her overview (``/ui/``): who she has relationships with, online or not, and what changed lately.

Up to ``LISTED`` relationships are listed all at once, ended ones last, by name. A node with more
(a vendor with a hundred thousand customers) gets them a page at a time by name, from the same
indexed query as the vendor's console (console.page_of), so the page costs the same at any size.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.book import relationship_from_json
from amity.node.daemon import Node
from amity.node.grants.api import GRANTS
from amity.node.grants.data import peer_name
from amity.node.grants.service import GrantsService
from amity.node.ui.console import page_of
from amity.node.ui.pages import relationship_view, show
from amity.protocol.card import NodeKind
from amity.protocol.errors import AuditChainError

__all__ = ["LISTED", "overview"]

#: Relationships listed on one overview page.
LISTED: Final = 100
#: How many audit entries the overview shows as "what changed lately".
_RECENT: Final = 12


def _recent_changes(node: Node, grants: GrantsService) -> dict[str, Any]:
    """The newest audit entries, the chain verified up to its head (AuditLog.recent)."""
    try:
        head, entries = grants.audit.recent(_RECENT)
    except AuditChainError as exc:
        return {"verified": False, "problem": exc.message, "entries": []}
    shown = [
        {
            "at_ms": e.ts_ms,
            "kind": e.kind,
            "peer": None if e.peer is None else e.peer.did,
            "peer_name": "" if e.peer is None else peer_name(node, e.peer) or e.peer.short,
            "detail": e.detail,
        }
        for e in reversed(entries)
    ]
    return {"verified": True, "length": head.length, "hash": head.hash.hex(), "entries": shown}


def _listed(request: web.Request, node: Node) -> dict[str, Any]:
    """The relationships this page lists, how many there are, and the cursors around them."""
    total = node.store.count_found_relationships("name", "")
    if total <= LISTED:
        found = [r for r in node.book.all() if r.peer is not None]
        views = sorted(
            (relationship_view(r, node) for r in found),
            key=lambda r: (r["state"] == "ended", r["name"].casefold()),
        )
        return {"rows": views, "total": total, "previous": None, "next": None}
    page, previous, following = page_of(request, "name", "", LISTED)
    views = [relationship_view(relationship_from_json(f.row.record), node) for f in page]
    return {"rows": views, "total": total, "previous": previous, "next": following}


async def overview(request: web.Request) -> web.Response:
    node = request.config_dict[NODE]
    return show(
        request,
        "overview.html",
        title="Overview",
        nav="overview",
        listed=_listed(request, node),
        page_size=LISTED,
        vendor=node.identity.kind is NodeKind.VENDOR,
        changes=_recent_changes(node, request.config_dict[GRANTS]),
    )
