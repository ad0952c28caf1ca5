"""What every dashboard request passes and every answer carries.

- A session: each page but the login link and the stylesheet needs the session cookie that the
  login link set (session.py); without one the answer is a page that says how to sign in.
- Same origin for every change: a request that is not GET or HEAD must carry an ``Origin`` that
  is exactly this page's own (``http://`` + its Host, which the API's guard has already checked
  names this loopback listener), and, where the browser says where it comes from
  (``Sec-Fetch-Site``), come from this origin. A form on another site, even one the SameSite
  cookie would not go with, is refused before anything is done.
- Headers: a strict Content-Security-Policy (this origin's stylesheet and its one script file,
  live.js, and its own event stream; no inline script, no frame, forms only to here), no
  referrer to other sites, no sniffing, no caching of pages about her.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from amity.node.api.guard import local_address
from amity.node.ui.render import page
from amity.node.ui.session import Session, Sessions
from amity.protocol.errors import AmityError, NotFoundError

__all__ = ["CSP", "SESSIONS", "cookie_name", "dashboard_guard", "secure", "session_of"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSIONS: Final = web.AppKey("ui_sessions", Sessions)

#: The dashboard loads only its own stylesheet and script file (no inline script, no eval), and
#: the script talks only to this origin (its event stream, its own pages).
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not no-referrer: under it a browser sends ``Origin: null`` with a form, and the check
    # above could not tell her own forms from any other. Nothing here links to other sites.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_SAFE_METHODS: Final = frozenset({"GET", "HEAD"})
#: What needs no session: the login link itself, and the stylesheet (nothing of hers in it).
_OPEN_PATHS: Final = frozenset({"/ui/login"})
_OPEN_PREFIX: Final = "/ui/static/"


def cookie_name(request: web.Request) -> str:
    """The session cookie's name, one per listening port: browsers keep cookies per host, not
    per port, and two nodes on one machine (hers and a test vendor's) must not overwrite each
    other's session."""
    local = local_address(request)
    port = local[1] if isinstance(local, tuple) else 0
    return f"amity_ui_{port}"


def secure(response: web.StreamResponse) -> web.StreamResponse:
    """``response`` with the dashboard's headers; a stream must have them before it starts."""
    response.headers.update(_HEADERS)
    return response


def session_of(request: web.Request) -> Session | None:
    """The session this request's cookie names, if it is open."""
    return request.config_dict[SESSIONS].get(request.cookies.get(cookie_name(request)))


def _refused(status: int, title: str, text: str) -> web.Response:
    return page("message.html", status=status, title=title, text=text)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin != f"http://{request.host}":
        return False
    fetch_site = request.headers.get("Sec-Fetch-Site")
    return fetch_site is None or fetch_site == "same-origin"


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in _SAFE_METHODS and not _same_origin(request):
        return _refused(
            403,
            "Refused",
            "This change did not come from your dashboard's own page, so nothing was done.",
        )
    open_path = request.path in _OPEN_PATHS or request.path.startswith(_OPEN_PREFIX)
    if not open_path and session_of(request) is None:
        return _refused(
            401,
            "Not signed in",
            "Sign in with a fresh link: run `amity ui` (or `amity ui --open`) on this machine.",
        )
    return await handler(request)


@web.middleware
async def dashboard_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session and Origin first; the security headers on every answer, errors included (an
    error of the node's own becomes a page that says it in words, not the API's JSON)."""
    try:
        response = await _checked(request, handler)
    except web.HTTPException as exc:
        exc.headers.update(_HEADERS)
        raise
    except NotFoundError as exc:
        response = _refused(404, "Not found", exc.message)
    except AmityError as exc:  # what a page asked of the node could not be done; it says why
        response = _refused(409, "That did not work", exc.message)
    if not response.prepared:  # a stream (live.py) was given them before it started
        secure(response)
    return response
