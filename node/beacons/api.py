"""The local API of support beacons: ``GET /api/beacons``, ``POST /api/beacons`` (raise),
``POST /api/beacons/{id}/answer``, ``POST /api/beacons/{id}/close``. See spec/beacons.md."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import id_by_prefix, json_body, peer_from
from amity.node.beacons.service import BeaconsService
from amity.protocol.core.beacons import Beacon
from amity.protocol.errors import UsageError, format_time_ms

__all__ = ["BEACONS", "add_beacon_routes", "beacon_json"]

BEACONS: Final = web.AppKey("beacons", BeaconsService)


def add_beacon_routes(app: web.Application) -> None:
    app.router.add_get("/api/beacons", beacon_list)
    app.router.add_post("/api/beacons", beacon_raise)
    app.router.add_post("/api/beacons/{id}/answer", beacon_answer)
    app.router.add_post("/api/beacons/{id}/close", beacon_close)


def beacon_json(b: Beacon) -> dict[str, Any]:
    return {
        "id": b.beacon_id.hex(),
        "mine": b.mine,
        "raiser": b.raiser.did,
        "topic": b.topic,
        "text": b.text,
        "about": None if b.about is None else b.about.did,
        "raised": format_time_ms(b.raised_ms),
        "to": [p.did for p in b.recipients],
        "state": "open" if b.is_open else "closed",
        "thread": [
            {
                "with": ln.peer.did,
                "from": ln.author.did,
                "text": ln.text,
                "at": format_time_ms(ln.at_ms),
            }
            for ln in b.lines
        ],
    }


def _find(service: BeaconsService, prefix: str) -> Beacon:
    by_id = {bid: b for (_, bid), b in service.beacons.items()}
    return by_id[id_by_prefix(by_id, prefix, "beacon")]


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise UsageError(f"{key} is a string")
    return value


async def beacon_list(request: web.Request) -> web.Response:
    items = sorted(request.app[BEACONS].beacons.values(), key=lambda b: (b.raised_ms, b.beacon_id))
    return web.json_response({"beacons": [beacon_json(b) for b in items]})


async def beacon_raise(request: web.Request) -> web.Response:
    data = await json_body(request)
    to = data.get("to")
    if not isinstance(to, list) or not to:
        raise UsageError("to is a list of did:key, one at least")
    about = data.get("about")
    beacon = await request.app[BEACONS].raise_beacon(
        tuple(peer_from(p, "to") for p in to),
        _text(data, "topic"),
        _text(data, "text", ""),
        None if about is None else peer_from(about, "about"),
    )
    return web.json_response(beacon_json(beacon), status=201)


async def beacon_answer(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = request.app[BEACONS]
    beacon = _find(service, request.match_info["id"])
    to = data.get("to")
    updated = await service.answer(
        beacon, _text(data, "text"), None if to is None else peer_from(to, "to")
    )
    return web.json_response(beacon_json(updated))


async def beacon_close(request: web.Request) -> web.Response:
    service = request.app[BEACONS]
    updated = await service.close(_find(service, request.match_info["id"]))
    return web.json_response(beacon_json(updated))
