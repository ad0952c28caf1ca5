"""Signing in and out: the login link ``amity ui`` prints, the page it opens, and sign-out.

``POST /api/ui/login`` is part of the token-guarded JSON API (the CLI calls it); it answers
with the link's path, to which the CLI puts the API's loopback address in front. Opening the
link spends it: the answer sets the session cookie (HttpOnly, SameSite=Strict, only for
``/ui/``) and moves on to the overview from a page of this origin, so that the cookie goes
along even when the link was opened from a page of another site.
"""

from __future__ import annotations

from aiohttp import web

from amity.node.ui.guard import SESSIONS, cookie_name, session_of
from amity.node.ui.render import page
from amity.node.ui.session import SESSION_TTL_MS
from amity.protocol.errors import format_time_ms

__all__ = ["LOGIN_PATH", "login", "login_link", "logout"]

LOGIN_PATH = "/ui/login"


async def login_link(request: web.Request) -> web.Response:
    """A one-time login link for the dashboard (its path; valid a few minutes)."""
    secret, expires_ms = request.app[SESSIONS].new_link()
    return web.json_response(
        {"path": f"{LOGIN_PATH}?token={secret}", "expires": format_time_ms(expires_ms)}
    )


async def login(request: web.Request) -> web.Response:
    session_id = request.config_dict[SESSIONS].spend(request.query.get("token", ""))
    if session_id is None:
        return page(
            "message.html",
            status=403,
            title="This link does not work",
            text="A sign-in link works once, for ten minutes, and this one was used or has "
            "expired. Run `amity ui` for a new one.",
        )
    response = page("signed-in.html", title="Signed in")
    response.set_cookie(
        cookie_name(request),
        session_id,
        max_age=SESSION_TTL_MS // 1000,
        path="/ui/",
        httponly=True,
        samesite="Strict",
    )
    return response


async def logout(request: web.Request) -> web.Response:
    name = cookie_name(request)
    if session_of(request) is not None:
        request.config_dict[SESSIONS].end(request.cookies[name])
    response = page(
        "message.html",
        title="Signed out",
        text="You are signed out. Run `amity ui` to sign in again.",
    )
    response.del_cookie(name, path="/ui/")
    return response
