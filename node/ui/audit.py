"""Her audit trail: every step of her grants and terms, newest first, searched on the server.

The whole chain is verified against its head first (AuditLog.verified, as ``GET /api/audit``
does), and the page says whether it checks out before it shows a single entry: an entry of a
log that was edited, cut or reordered is not shown as if it could be trusted. The search is a
piece of text looked for (in any case) in what each entry says: the change in words and its
code, who it was with (name, fingerprint, did), its detail and its subject.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.daemon import Node
from amity.node.grants.api import GRANTS
from amity.node.grants.data import peer_name
from amity.node.ui.pages import show
from amity.node.ui.words import change_words
from amity.protocol.audit import AuditEntry
from amity.protocol.errors import AuditChainError
from amity.protocol.identity import PeerId

__all__ = ["PAGE_SIZE", "audit"]

#: Entries on one page.
PAGE_SIZE: Final = 100
_MAX_QUERY_CHARS: Final = 200


def _entry(entry: AuditEntry, names: dict[PeerId, str]) -> dict[str, Any]:
    peer = entry.peer
    return {
        "index": entry.index,
        "at_ms": entry.ts_ms,
        "kind": entry.kind,
        "peer": None if peer is None else peer.did,
        "peer_name": "" if peer is None else names[peer],
        "fingerprint": "" if peer is None else peer.fingerprint,
        "detail": entry.detail,
        "subject": entry.subject.hex(),
        "hash": entry.hash.hex(),
    }


def _matches(view: dict[str, Any], text: str) -> bool:
    said = (
        view["kind"],
        change_words(view["kind"]),
        view["peer_name"],
        view["fingerprint"],
        view["peer"] or "",
        view["detail"],
        view["subject"],
    )
    return any(text in part.casefold() for part in said)


def _names(node: Node, entries: list[AuditEntry]) -> dict[PeerId, str]:
    """Each peer's name, once per peer (a log names the same few peers again and again)."""
    peers = {e.peer for e in entries if e.peer is not None}
    return {p: peer_name(node, p) or p.short for p in peers}


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


async def audit(request: web.Request) -> web.Response:
    """One page of her audit trail (newest first), those entries that match the search."""
    node = request.config_dict[NODE]
    text = request.query.get("q", "").strip()[:_MAX_QUERY_CHARS]
    context: dict[str, Any] = {"query": text, "entries": [], "number": 1, "pages": 1}
    try:
        head, entries = request.config_dict[GRANTS].audit.verified()
    except AuditChainError as exc:
        return show(
            request,
            "audit.html",
            title="Audit trail",
            nav="audit",
            chain={"verified": False, "problem": exc.message},
            matched=0,
            **context,
        )
    names = _names(node, entries)
    views = (_entry(e, names) for e in reversed(entries))
    wanted = text.casefold()
    found = [v for v in views if _matches(v, wanted)] if wanted else list(views)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    number = min(_page_number(request), pages)
    context.update(
        entries=found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE], number=number, pages=pages
    )
    return show(
        request,
        "audit.html",
        title="Audit trail",
        nav="audit",
        chain={"verified": True, "length": head.length, "hash": head.hash.hex()},
        matched=len(found),
        **context,
    )
