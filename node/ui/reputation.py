"""Her reputation pages: who she can trust and why, and what is said about her.

- ``/ui/reputation``: each peer her trust reaches, best first, its standing in words and whether
  she cut it off; her node's own verdicts waiting for her review (approve or withhold); what
  others attest about *her* (a vendor's "attestations about it"), each with the answers given and
  a form to rebut it; whom she vouches for and shares with; her cut-off rule.
- ``/ui/reputation/{peer}``: one peer: its standing and *why* (each attester that counts, what
  it said, how much she trusts its word, and the path of trust that reaches it), what she holds
  about it, and her vouch and share policy for it.

Read through the reputation service and the JSON views the local API serves (overview_json,
reputation_json, attestation_json), so a page never judges trust by rules of its own; changes
call the same service methods as the API (review, rebut, vouch, set_share_policy).
"""

from __future__ import annotations

from typing import Any, Final, NoReturn
from urllib.parse import quote

from aiohttp import web

from amity.node.reputation.api import REPUTATION
from amity.node.reputation.data import attestation_json, label, overview_json, reputation_json
from amity.node.reputation.service import ReputationService
from amity.node.ui.actions import back_to
from amity.node.ui.pages import peer_of, show
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.sharing import APPROVED, PENDING, WITHHELD, SharePolicy

__all__ = ["LISTED", "approve", "page", "peer_page", "rebut", "share", "vouch", "withhold"]

#: Peers listed on the page, best standing first.
LISTED: Final = 100
_MAX_REBUTTAL_CHARS: Final = 500
#: Attestations listed in one section, newest first (``amity attestations`` lists them all).
_SHOWN: Final = 50
_HOME: Final = "/ui/reputation"


def _service(request: web.Request) -> ReputationService:
    service = request.config_dict.get(REPUTATION)
    if service is None:  # a node built without one (tests of other parts)
        raise web.HTTPNotFound(text="this node keeps no reputation")
    return service


def _peer_path(peer: PeerId) -> str:
    return f"{_HOME}/{quote(peer.did, safe='')}"


def _share_rows(service: ReputationService) -> list[dict[str, Any]]:
    node = service.node
    return [
        {"peer": PeerId(r.peer_id).did, "name": label(node, PeerId(r.peer_id)), "mode": r.mode}
        for r in node.store.share_policies()
        if r.mode != "none"
    ]


async def page(request: web.Request) -> web.Response:
    service = _service(request)
    node = service.node
    seen = overview_json(service)
    store = node.store
    pending = store.attestations(mine=True, review=PENDING, limit=_SHOWN)
    about_me = store.attestations(subject=node.peer_id.key, limit=_SHOWN, newest=True)
    vouched = [PeerId(k) for k in store.vouches()]
    return show(
        request,
        "reputation.html",
        title="Reputation",
        nav="reputation",
        peers=seen["peers"][:LISTED],
        total=len(seen["peers"]),
        held=seen["held"],
        policy=seen["policy"],
        pending=[attestation_json(service, row) for row in pending],
        about_me=[attestation_json(service, row) for row in about_me],
        shown=_SHOWN,
        vouched=[{"peer": p.did, "name": label(node, p)} for p in vouched],
        sharing=_share_rows(service),
    )


def _known(request: web.Request) -> PeerId:
    who = peer_of(request)
    if who is None:
        back_to(request, _HOME, "That is not a peer's identity.")
    return who


async def peer_page(request: web.Request) -> web.Response:
    service = _service(request)
    who = _known(request)
    node = service.node
    held = node.store.attestations(subject=who.key, limit=_SHOWN, newest=True)
    return show(
        request,
        "reputation-peer.html",
        title=f"Reputation of {label(node, who)}",
        nav="reputation",
        peer=reputation_json(service, who),
        attestations=[attestation_json(service, row) for row in held],
        connected=service.is_connected(who),
        share_mode=service.share_policy(who).mode.value,
    )


# -- changes ---------------------------------------------------------------------------------------


def _failed(request: web.Request, where: str, what: str, exc: AmityError) -> NoReturn:
    back_to(request, where, f"{what}: {exc.message}")


async def _review(request: web.Request, decision: str) -> web.Response:
    service = _service(request)
    try:
        row = await service.mine.review(request.match_info["id"], decision)
    except AmityError as exc:
        _failed(request, _HOME, "Nothing was changed", exc)
    made = attestation_json(service, row)
    said = f"your verdict on {made['subject_name']} ({made['verdict']}, {made['clause']})"
    if decision == APPROVED:
        back_to(request, _HOME, f"You approved {said}: it goes to those you share with.")
    back_to(request, _HOME, f"You withheld {said}: it stays with you.")


async def approve(request: web.Request) -> web.Response:
    return await _review(request, APPROVED)


async def withhold(request: web.Request) -> web.Response:
    return await _review(request, WITHHELD)


async def rebut(request: web.Request) -> web.Response:
    """Her answer to an attestation about her: signed, kept with it, sent where it came from."""
    service = _service(request)
    form = await request.post()
    text = str(form.get("text", "")).strip()[:_MAX_REBUTTAL_CHARS]
    if not text:
        back_to(request, _HOME, "Nothing was sent: write your answer first.")
    try:
        _, sent_to = await service.mine.rebut(request.match_info["id"], text)
    except AmityError as exc:
        _failed(request, _HOME, "Your answer was not sent", exc)
    names = ", ".join(label(service.node, p) for p in sent_to) or "nobody connected yet"
    back_to(
        request, _HOME, f"Your answer is signed and kept with the attestation; sent to {names}."
    )


async def vouch(request: web.Request) -> web.Response:
    """Vouch for a peer (its word counts for her from the start), or stop."""
    service = _service(request)
    who = _known(request)
    on = str((await request.post()).get("on", "")) == "1"
    try:
        await service.vouch(who, on)
    except AmityError as exc:
        _failed(request, _peer_path(who), "Nothing was changed", exc)
    name = label(service.node, who)
    said = f"You vouch for {name}." if on else f"You no longer vouch for {name}."
    back_to(request, _peer_path(who), said)


_SHARE_WORDS: Final = {
    "none": "You share nothing with {name}.",
    "mine": "You share your own attestations with {name}.",
    "all": "You share your attestations, and those others gave you, with {name}.",
}


async def share(request: web.Request) -> web.Response:
    """What she shares with a peer: nothing, her own attestations, or all she holds."""
    service = _service(request)
    who = _known(request)
    mode = str((await request.post()).get("mode", ""))
    if mode not in _SHARE_WORDS:
        back_to(request, _peer_path(who), "Nothing was changed: choose what to share.")
    current = service.share_policy(who)
    try:
        await service.set_share_policy(
            who, SharePolicy.make(mode, current.max_hops, current.per_hour)
        )
    except AmityError as exc:
        _failed(request, _peer_path(who), "Nothing was changed", exc)
    back_to(request, _peer_path(who), _SHARE_WORDS[mode].format(name=label(service.node, who)))
