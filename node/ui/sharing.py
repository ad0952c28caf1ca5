"""Sharing from her relationship page: give a grant, answer a request for data (POST).

- ``/ui/peers/{peer}/grants``: share chosen vault fields with this peer, for a purpose, for a
  time (pages.SHARE_FOR); the grant is issued under their agreement, as ``amity grant`` does.
- ``/ui/peers/{peer}/requests/{id}/approve`` and ``.../decline``: a request for data they sent
  her; approving grants what it asked, for at most the time it asked; declining sends nothing.

Each calls the grants service the local API calls, then returns to the relationship page with
a notice in words (actions.back_to).
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from amity.node.grants.api import GRANTS
from amity.node.ui.actions import back_to, known_peer
from amity.node.ui.pages import SHARE_FOR
from amity.node.ui.words import purpose_words
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId

__all__ = ["answer_request", "share"]


def _page(who: PeerId) -> str:
    return f"/ui/peers/{quote(who.did, safe='')}"


async def share(request: web.Request) -> web.Response:
    """Share the checked fields with this peer for the chosen purpose and time."""
    who = known_peer(request, "Nothing was shared")
    form = await request.post()
    fields = [str(f) for f in form.getall("field", [])]
    purpose = str(form.get("purpose", ""))
    seconds = {str(s): s for s, _ in SHARE_FOR}.get(str(form.get("for", "")))
    if not fields:
        back_to(request, _page(who), "Nothing was shared: tick the fields to share.")
    if seconds is None:
        back_to(request, _page(who), "Nothing was shared: choose for how long.")
    try:
        await request.config_dict[GRANTS].grantor.grant(
            who, fields, purpose=purpose, context="", duration_ms=seconds * 1000
        )
    except AmityError as exc:
        back_to(request, _page(who), f"Nothing was shared: {exc.message}")
    back_to(
        request,
        _page(who),
        f"You shared {', '.join(fields)} for {purpose_words(purpose)}. "
        "Their node holds it until the grant ends, then must delete it and send you a receipt.",
    )


async def answer_request(request: web.Request) -> web.Response:
    """Approve or decline a request for data this peer sent her."""
    who = known_peer(request, "Nothing was answered")
    service = request.config_dict[GRANTS].requests
    decision = request.match_info["decision"]
    try:
        request_id = int(request.match_info["id"])
        row = service.one(request_id)
        if row.outgoing or row.peer_id != who.key:
            back_to(request, _page(who), "Nothing was answered: that request is not theirs.")
        if decision == "approve":
            grant = await service.approve(request_id)
            said = f"You shared {', '.join(grant.fields)} as they asked."
        elif decision == "decline":
            await service.decline(request_id)
            said = "You declined their request; nothing was sent."
        else:
            raise web.HTTPNotFound()
    except ValueError:
        back_to(request, _page(who), "Nothing was answered: no such request.")
    except AmityError as exc:
        back_to(request, _page(who), f"Nothing was answered: {exc.message}")
    back_to(request, _page(who), said)
