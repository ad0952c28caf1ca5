"""The vendor's console: its customers, fifty to a page, searched on the server.

A search is a prefix of the customer's name (any case), fingerprint or ``did:key``; the store
answers it from an index a page at a time (store/customers.py), so the page costs the same at
three customers as at a hundred thousand. Each row says what the customer granted (fields,
purpose, until when) and when the vendor must have deleted it, judged by held_json as the
JSON API judges it.
"""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.api.relationships import relationship_json
from amity.node.book import relationship_from_json
from amity.node.daemon import Node
from amity.node.grants.api import GRANTS
from amity.node.grants.data import held_json
from amity.node.store import FoundRow, SearchBy
from amity.node.ui.pages import show
from amity.protocol.card import NodeKind

__all__ = ["PAGE_SIZE", "customers", "page_of", "search_terms"]

#: Customers on one page.
PAGE_SIZE: Final = 50
_MAX_QUERY_CHARS: Final = 200
_BY: Final[tuple[SearchBy, ...]] = ("name", "fingerprint", "did")
_BASE32: Final = re.compile(r"[^A-Z2-7]")


def search_terms(text: str, by: str) -> tuple[SearchBy, str]:
    """What the store looks for: the column and the prefix, from the search box and its choice.

    A ``did:`` is searched as one whatever the choice; a fingerprint may be typed in any case,
    with or without its dashes; a name in any case.
    """
    text = text.strip()[:_MAX_QUERY_CHARS]
    if text.startswith("did:"):
        return "did", text
    if by == "fingerprint":
        plain = _BASE32.sub("", text.upper())[:16]
        return "fingerprint", "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))
    return "name", text.casefold()


def _cursor(request: web.Request, name: str) -> int | None:
    try:
        return int(request.query.get(name, ""))
    except ValueError:
        return None


def page_of(
    request: web.Request, by: SearchBy, prefix: str, size: int
) -> tuple[list[FoundRow], int | None, int | None]:
    """One page of relationships found by ``by`` and ``prefix``, at the request's ``after`` or
    ``before`` cursor (the first page without one); and the cursors of the pages before and
    after it (None where there is none). Each page is one indexed query, at any size."""
    store = request.config_dict[NODE].store
    after, before = _cursor(request, "after"), _cursor(request, "before")
    if before is not None and after is None:
        found = store.find_relationships(by, prefix, before=before, limit=size + 1)
        has_previous, has_next = len(found) > size, True
        found = found[-size:]
    else:
        found = store.find_relationships(by, prefix, after=after, limit=size + 1)
        has_previous, has_next = after is not None, len(found) > size
        found = found[:size]
    previous = found[0].id if found and has_previous else None
    return found, previous, found[-1].id if found and has_next else None


def _customer(node: Node, request: web.Request, found: FoundRow, now_ms: int) -> dict[str, Any]:
    rel = relationship_from_json(found.row.record)
    assert rel.peer is not None  # a search column is set only once the peer is known
    held = [
        held_json(node, h, now_ms)
        for h in request.config_dict[GRANTS].holdings.find(grantor=rel.peer)
    ]
    return {
        **relationship_json(rel, node),
        "since_ms": rel.since_ms,
        "granted": [h for h in held if h["state"] == "held"],
        "deleted": [h for h in held if h["state"] != "held"],
    }


async def customers(request: web.Request) -> web.Response:
    """One page of the vendor's customers, the first or the one after (before) a cursor."""
    node = request.config_dict[NODE]
    if node.identity.kind is not NodeKind.VENDOR:
        return show(
            request,
            "message.html",
            status=404,
            title="No customers here",
            text="This node is a person's, not a vendor's: it has no customer console.",
        )
    text = request.query.get("q", "")
    choice = request.query.get("by", "name")
    by, prefix = search_terms(text, choice if choice in _BY else "name")
    found, previous, following = page_of(request, by, prefix, PAGE_SIZE)
    now = node.clock_ms()
    return show(
        request,
        "customers.html",
        title="Customers",
        nav="customers",
        query={"q": text.strip()[:_MAX_QUERY_CHARS], "by": by},
        total=node.store.count_found_relationships(by, prefix),
        customers=[_customer(node, request, f, now) for f in found],
        previous=previous,
        next=following,
        page_size=PAGE_SIZE,
    )
