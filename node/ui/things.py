"""Her things in the dashboard (spec/things.md): each thing's card in words, its QR code for a
label, where it stands, its sales; and the button that takes a thing a peer offers her."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.grants.data import peer_name
from amity.node.things.api import THINGS, card_json
from amity.node.ui.actions import back_to
from amity.node.ui.pages import show
from amity.protocol.core.things import ThingRecord
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId

__all__ = ["accept", "things"]


def _view(request: web.Request, record: ThingRecord) -> dict[str, Any]:
    from amity.node.qr import invitation_qr  # segno: only when a code is drawn

    node = request.config_dict[NODE]

    def name(peer: PeerId) -> str:
        return peer_name(node, peer) or peer.short

    card = card_json(record.card)
    transfer = record.transfer
    other = None
    if transfer is not None:
        other = transfer.buyer if record.state == "offered" else transfer.seller
    sales = [
        {
            "seller": name(s.transfer.seller),
            "buyer": name(s.transfer.buyer),
            "at_ms": s.transfer.offered_ms,
        }
        for s in record.history
    ]
    code = invitation_qr(record.card.to_uri().upper())
    return {
        **card,
        "state": record.state,
        "other": None if other is None else name(other),
        "sales": sales,
        "qr_svg": code.svg_inline(scale=3, border=4, title=f"{card['maker']} {card['model']}"),
    }


async def things(request: web.Request) -> web.Response:
    service = request.config_dict.get(THINGS)
    records = [] if service is None else sorted(service.records.values(), key=lambda r: r.at_ms)
    return show(
        request,
        "things.html",
        title="Your things",
        nav="things",
        things=[_view(request, r) for r in records if r.state != "sold"],
        sold=[_view(request, r) for r in records if r.state == "sold"],
    )


async def accept(request: web.Request) -> web.Response:
    """Take a thing a peer offered her: her node signs the transfer; the seller is told."""
    service = request.config_dict[THINGS]
    text = request.match_info["id"]
    key = next((k for k in service.records if k.hex() == text), None)
    if key is None:
        back_to(request, "/ui/things", "Nothing was accepted: that thing is not offered to you.")
    try:
        record = await service.accept(key)
    except AmityError as exc:
        back_to(request, "/ui/things", f"Nothing was accepted: {exc.message}")
    seller = record.history[-1].transfer.seller
    name = peer_name(request.config_dict[NODE], seller) or seller.short
    back_to(
        request,
        "/ui/things",
        f"The {record.card.maker} {record.card.model} is yours. You both signed the sale; "
        f"{name} is told.",
    )
