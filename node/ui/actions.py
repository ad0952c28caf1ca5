"""The dashboard's changes (POST): revoke a grant, end a relationship, invite, connect.

Each calls the service the local API calls for the same change, then sends the browser back to
a page (303) with a notice in plain words: what happened, or why nothing did. The guard has
already checked the session and that the form came from this origin.
"""

from __future__ import annotations

from typing import Final, NoReturn
from urllib.parse import quote

from aiohttp import web

from amity.node.api.invitations import make_invitation
from amity.node.api.keys import NODE
from amity.node.grants.api import GRANTS
from amity.node.ui.guard import session_of
from amity.node.ui.pages import invitations, peer_of
from amity.node.ui.words import purpose_words
from amity.protocol.errors import AmityError
from amity.protocol.grants import Grant
from amity.protocol.identity import PeerId

__all__ = ["back_to", "connect", "end", "invite", "known_peer", "note", "revoke"]

#: How long a new invitation may be used, as the invitations page offers it (seconds).
INVITATION_TTLS_S: Final = (3600, 24 * 3600, 7 * 24 * 3600)
_MAX_REASON_CHARS: Final = 200


def back_to(request: web.Request, location: str, notice: str) -> NoReturn:
    session = session_of(request)
    if session is not None:
        session.notice = notice
    raise web.HTTPSeeOther(location)


def known_peer(request: web.Request, nothing_done: str) -> PeerId:
    """The peer the form's path names, if she has a relationship with it; else back to the
    overview, saying that nothing was done."""
    who = peer_of(request)
    if who is None or request.config_dict[NODE].book.current(who) is None:
        back_to(request, "/ui/", f"{nothing_done}: you have no relationship with that peer.")
    return who


def _peer_page(did: str) -> str:
    return f"/ui/peers/{quote(did, safe='')}"


async def revoke(request: web.Request) -> web.Response:
    """Revoke a grant she gave this peer: its node must delete the data and send a receipt."""
    who = known_peer(request, "Nothing was revoked")
    grants = request.config_dict[GRANTS]
    try:
        row = grants.grantor.issued(request.match_info["id"])
        if row.peer_id != who.key:
            back_to(request, _peer_page(who.did), "Nothing was revoked: that grant is not theirs.")
        await grants.grantor.revoke(row.grant_id.hex())
    except AmityError as exc:
        back_to(request, _peer_page(who.did), f"Nothing was revoked: {exc.message}")
    grant = Grant.decode(row.encoded)
    back_to(
        request,
        _peer_page(who.did),
        f"You revoked {', '.join(grant.fields)} (for {purpose_words(grant.purpose)}). "
        "Their node must now delete it and send you a signed receipt.",
    )


async def end(request: web.Request) -> web.Response:
    """End the relationship: a signed end goes to the peer, with her reason."""
    who = known_peer(request, "The relationship was not ended")
    form = await request.post()
    reason = str(form.get("reason", "")).strip()[:_MAX_REASON_CHARS] or "ended by the owner"
    try:
        await request.config_dict[NODE].end(who, reason)
    except AmityError as exc:
        back_to(request, _peer_page(who.did), f"The relationship was not ended: {exc.message}")
    back_to(
        request,
        _peer_page(who.did),
        "You ended this relationship. Data you shared under it is deleted as your agreement says.",
    )


async def note(request: web.Request) -> web.Response:
    """A note to this peer: signed, sealed end to end, queued until its node acknowledges it."""
    who = known_peer(request, "Nothing was sent")
    text = str((await request.post()).get("text", "")).strip()
    if not text:
        back_to(request, _peer_page(who.did), "Nothing was sent: write your note first.")
    try:
        await request.config_dict[NODE].send_note(who, text)
    except AmityError as exc:
        back_to(request, _peer_page(who.did), f"Nothing was sent: {exc.message}")
    back_to(request, _peer_page(who.did), "Your note is on its way, signed and sealed for them.")


async def invite(request: web.Request) -> web.Response:
    """A new one-time invitation, shown at once as a QR code and a link (never again)."""
    form = await request.post()
    try:
        ttl_s = int(str(form.get("ttl_s", "")))
    except ValueError:
        ttl_s = 0
    if ttl_s not in INVITATION_TTLS_S:
        back_to(request, "/ui/invitations", "No invitation was made: choose how long it is valid.")
    made = await make_invitation(request.config_dict[NODE], ttl_s * 1000)
    return await invitations(request, made=made)


async def connect(request: web.Request) -> web.Response:
    """Accept an invitation someone gave her: the pasted ``amity:`` link."""
    form = await request.post()
    uri = str(form.get("uri", "")).strip()
    if not uri:
        back_to(request, "/ui/invitations", "Paste the amity: link you were given, then connect.")
    node = request.config_dict[NODE]
    try:
        rel = await node.connect(uri)
    except AmityError as exc:
        back_to(request, "/ui/invitations", f"Not connected: {exc.message}")
    assert rel.peer is not None  # a relationship that connected knows its peer
    name = rel.peer_card.name if rel.peer_card else rel.peer.short
    back_to(request, _peer_page(rel.peer.did), f"You are now connected with {name}.")
