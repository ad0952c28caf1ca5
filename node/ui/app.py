"""The dashboard's application: its routes under ``/ui/``, mounted on the local API.

It is served by the local API's loopback listener (the API's Host and Origin guard comes first),
but not with its bearer token: a browser signs in through the one-time link of ``amity ui``
(session.py, login.py), and guard.py checks every request. ``POST /api/ui/login``, which makes
those links, is part of the JSON API and takes its token like every other API call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from amity.node.ui import (
    actions,
    audit,
    console,
    holdings,
    intents,
    live,
    login,
    overview,
    pages,
    reputation,
    sharing,
    terms,
    things,
)
from amity.node.ui.guard import SESSIONS, dashboard_guard
from amity.node.ui.session import Sessions

__all__ = ["UI_PREFIX", "add_ui"]

#: Every dashboard path starts so; none of the API's does.
UI_PREFIX: Final = "/ui/"
_STATIC: Final = Path(__file__).parent / "static"


def create_ui_app() -> web.Application:
    ui = web.Application(middlewares=[dashboard_guard])
    r = ui.router
    r.add_get("/", overview.overview)
    r.add_get("/peers/{peer}", pages.peer)
    r.add_post("/peers/{peer}/end", actions.end)
    r.add_post("/peers/{peer}/notes", actions.note)
    r.add_post("/peers/{peer}/holdings", holdings.ask_holdings)
    r.add_post("/peers/{peer}/grants/{id}/revoke", actions.revoke)
    r.add_post("/peers/{peer}/grants", sharing.share)
    r.add_post("/peers/{peer}/requests/{id}/{decision}", sharing.answer_request)
    r.add_get("/vault", pages.vault)
    r.add_get("/things", things.things)
    r.add_post("/things/{id}/accept", things.accept)
    r.add_get("/customers", console.customers)
    r.add_get("/audit", audit.audit)
    r.add_get("/intents", intents.page)
    r.add_post("/intents", intents.cast)
    r.add_post("/intents/{id}/accept", intents.accept)
    r.add_post("/intents/{id}/withdraw", intents.withdraw)
    r.add_post("/intents/{id}/answer", intents.answer)
    r.add_get("/terms", terms.page)
    r.add_post("/terms/offer", terms.offer)
    r.add_post("/terms/{id}/{move}", terms.move)
    r.add_get("/reputation", reputation.page)
    r.add_post("/reputation/attestations/{id}/approve", reputation.approve)
    r.add_post("/reputation/attestations/{id}/withhold", reputation.withhold)
    r.add_post("/reputation/attestations/{id}/rebut", reputation.rebut)
    r.add_get("/reputation/{peer}", reputation.peer_page)
    r.add_post("/reputation/{peer}/vouch", reputation.vouch)
    r.add_post("/reputation/{peer}/share", reputation.share)
    r.add_get("/invitations", pages.invitations)
    r.add_post("/invitations", actions.invite)
    r.add_post("/connect", actions.connect)
    r.add_get("/events", live.events)
    r.add_get("/login", login.login)
    r.add_post("/logout", login.logout)
    r.add_static("/static", _STATIC)
    return ui


def add_ui(app: web.Application) -> None:
    """Mount the dashboard on the local API ``app``, and the API call that makes login links."""
    app[SESSIONS] = Sessions()
    app.router.add_post("/api/ui/login", login.login_link)
    app.add_subapp(UI_PREFIX.rstrip("/"), create_ui_app())
