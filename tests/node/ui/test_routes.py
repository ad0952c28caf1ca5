"""The dashboard's routes in-process: one real node (the runner's app, a SQLite home) behind
aiohttp's test server on 127.0.0.1, asked by a client that behaves as a browser would or would
not: the login link works once, every page wants the session, every change wants this origin,
and every answer carries the Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.node.ui.guard import CSP
from amity.node.ui.session import LINK_TTL_MS, SESSION_TTL_MS, Sessions
from amity.protocol.card import NodeKind


class Dashboard:
    """A client of one node's local API: with its token for the JSON API, as a browser for /ui/."""

    def __init__(self, client: TestClient[Any, Any], token: str) -> None:
        self.client = client
        self.token = token
        self.origin = f"http://127.0.0.1:{client.port}"

    async def login_path(self) -> str:
        reply = await self.client.post(
            "/api/ui/login", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert reply.status == 200, await reply.text()
        path: str = (await reply.json())["path"]
        return path

    async def sign_in(self) -> ClientResponse:
        return await self.client.get(await self.login_path())

    async def invitations(self) -> list[dict[str, Any]]:
        reply = await self.client.get(
            "/api/invitations", headers={"Authorization": f"Bearer {self.token}"}
        )
        found: list[dict[str, Any]] = (await reply.json())["invitations"]
        return found

    async def invite(self, **headers: str) -> ClientResponse:
        """Her form that makes an invitation, sent with ``headers`` (Origin and so on)."""
        return await self.client.post(
            "/ui/invitations", data={"ttl_s": "3600"}, headers=headers, allow_redirects=False
        )


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    home = Home(tmp_path / "alice")
    config = Config(name="Alice", kind=NodeKind.PERSON, mdns=False)
    seed = home.create(config)
    options = RunOptions(listen=None, api="127.0.0.1:0", mdns=False, relay=False)
    server = TestServer(create_app(home, config, seed, options), host="127.0.0.1")
    async with TestClient(server) as client:
        yield Dashboard(client, home.api_token())


# -- signing in ------------------------------------------------------------------------------------


async def test_the_login_link_sets_a_strict_httponly_session_cookie_once(
    dashboard: Dashboard,
) -> None:
    path = await dashboard.login_path()

    first = await dashboard.client.get(path)
    again = await dashboard.client.get(path)
    overview = await dashboard.client.get("/ui/")

    assert first.status == 200
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/ui/" in cookie
    assert again.status == 403
    assert "was used or has expired" in await again.text()
    assert again.headers.get("Set-Cookie") is None
    assert overview.status == 200
    assert "Alice" in await overview.text()


async def test_a_made_up_login_token_is_refused(dashboard: Dashboard) -> None:
    reply = await dashboard.client.get("/ui/login?token=not-one-the-node-made")

    assert reply.status == 403
    assert reply.headers.get("Set-Cookie") is None
    assert (await dashboard.client.get("/ui/")).status == 401


async def test_login_links_come_only_with_the_api_token(dashboard: Dashboard) -> None:
    without = await dashboard.client.post("/api/ui/login")
    wrong = await dashboard.client.post("/api/ui/login", headers={"Authorization": "Bearer wrong"})

    assert without.status == 401
    assert wrong.status == 401


@pytest.mark.parametrize(
    "path",
    [
        "/ui/",
        "/ui/vault",
        "/ui/things",
        "/ui/invitations",
        "/ui/peers/x",
        "/ui/audit",
        "/ui/customers",
    ],
)
async def test_every_page_wants_the_session(dashboard: Dashboard, path: str) -> None:
    reply = await dashboard.client.get(path)

    assert reply.status == 401
    assert "amity ui" in await reply.text()


async def test_signing_out_ends_the_session(dashboard: Dashboard) -> None:
    await dashboard.sign_in()

    out = await dashboard.client.post("/ui/logout", headers={"Origin": dashboard.origin})
    after = await dashboard.client.get("/ui/")

    assert out.status == 200
    assert after.status == 401


# -- changes: session and origin -------------------------------------------------------------------


async def test_a_change_from_her_own_page_is_done(dashboard: Dashboard) -> None:
    await dashboard.sign_in()

    reply = await dashboard.invite(Origin=dashboard.origin, **{"Sec-Fetch-Site": "same-origin"})

    assert reply.status == 200
    assert "<svg" in await reply.text()  # the QR code, inline
    assert len(await dashboard.invitations()) == 1


async def test_a_change_without_the_session_is_refused(dashboard: Dashboard) -> None:
    reply = await dashboard.invite(Origin=dashboard.origin)

    assert reply.status == 401
    assert await dashboard.invitations() == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin at all
        {"Origin": "null"},
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost:1"},
        # Its own origin, but the browser says the form came from another site.
        {"Origin": "<own>", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "<own>", "Sec-Fetch-Site": "same-site"},
    ],
    ids=["none", "null", "foreign", "other-port", "cross-site", "same-site"],
)
async def test_a_change_from_anywhere_else_is_refused_even_with_the_session(
    dashboard: Dashboard, headers: dict[str, str]
) -> None:
    await dashboard.sign_in()
    if headers.get("Origin") == "<own>":
        headers = {**headers, "Origin": dashboard.origin}

    reply = await dashboard.invite(**headers)

    assert reply.status == 403
    assert await dashboard.invitations() == []


# -- what every answer carries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed_in", "method", "path", "status"),
    [
        (True, "GET", "/ui/", 200),
        (True, "GET", "/ui/vault", 200),
        (True, "GET", "/ui/audit", 200),
        (True, "GET", "/ui/customers", 404),  # a person's node has no customer console
        (True, "GET", "/ui/invitations", 200),
        (True, "GET", "/ui/reputation", 200),
        (True, "GET", "/ui/terms", 200),
        (True, "GET", "/ui/intents", 200),
        (True, "POST", "/ui/intents", 403),  # no Origin
        (True, "POST", "/ui/terms/offer", 403),  # no Origin
        (True, "POST", "/ui/reputation/attestations/00/approve", 403),  # no Origin
        (True, "GET", "/ui/peers/did:key:z6MkNoSuchPeer", 404),
        (True, "GET", "/ui/no-such-page", 404),
        (True, "POST", "/ui/invitations", 403),  # no Origin
        (False, "GET", "/ui/", 401),
        (False, "GET", "/ui/login?token=x", 403),
        (False, "GET", "/ui/static/amity.css", 200),
    ],
)
async def test_every_answer_carries_the_strict_csp(
    dashboard: Dashboard, signed_in: bool, method: str, path: str, status: int
) -> None:
    if signed_in:
        await dashboard.sign_in()

    reply = await dashboard.client.request(method, path, allow_redirects=False)

    assert reply.status == status
    assert reply.headers["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP and "script-src 'self';" in CSP
    assert "unsafe" not in CSP  # no inline script, no eval
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_pages_load_nothing_from_another_host(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    await dashboard.invite(Origin=dashboard.origin)  # a page with a QR code in it

    for path in (
        "/ui/",
        "/ui/vault",
        "/ui/invitations",
        "/ui/audit",
        "/ui/reputation",
        "/ui/terms",
    ):
        text = await (await dashboard.client.get(path)).text()
        targets = re.findall(r'(?:src|href|action|content)="([^"]*)"', text)
        assert targets, path
        elsewhere = [t for t in targets if "//" in t or ":" in t]
        assert not elsewhere, f"{path} points at {elsewhere}"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", text, re.S)
        assert scripts == [(' src="/ui/static/live.js" defer', "")], path  # none inline


# -- links and sessions in time --------------------------------------------------------------------


def test_a_login_link_expires_unspent_and_a_session_after_its_time() -> None:
    now = [1_000_000]
    sessions = Sessions(clock_ms=lambda: now[0])
    late, _ = sessions.new_link()
    on_time, expires_ms = sessions.new_link()

    now[0] += LINK_TTL_MS - 1
    session_id = sessions.spend(on_time)
    now[0] += 1

    assert expires_ms == 1_000_000 + LINK_TTL_MS
    assert session_id is not None
    assert sessions.spend(late) is None
    assert sessions.get(session_id) is not None
    now[0] += SESSION_TTL_MS
    assert sessions.get(session_id) is None


# -- changes that cannot be done say why -----------------------------------------------------------


async def _notice_after(dashboard: Dashboard, path: str, form: dict[str, str]) -> str:
    """Post her form to ``path``; the notice on the page the browser is sent back to."""
    reply = await dashboard.client.post(path, data=form, headers={"Origin": dashboard.origin})
    assert reply.status == 200 and len(reply.history) == 1, reply.history
    assert reply.history[0].status == 303
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', await reply.text())
    assert found is not None, "no notice on the page"
    return found.group(1)


async def test_a_pasted_link_that_is_no_invitation_connects_nothing(dashboard: Dashboard) -> None:
    await dashboard.sign_in()

    notice = await _notice_after(dashboard, "/ui/connect", {"uri": "amity:NOT-A-CARD"})

    assert notice.startswith("Not connected: this invitation link is damaged")


async def test_revoking_or_ending_with_a_peer_she_does_not_know_changes_nothing(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()
    stranger = "did%3Akey%3Az6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

    revoked = await _notice_after(dashboard, f"/ui/peers/{stranger}/grants/00ff00ff/revoke", {})
    ended = await _notice_after(dashboard, f"/ui/peers/{stranger}/end", {"reason": "x"})

    asked = await _notice_after(dashboard, f"/ui/peers/{stranger}/holdings", {})

    assert revoked == "Nothing was revoked: you have no relationship with that peer."
    assert ended == "The relationship was not ended: you have no relationship with that peer."
    assert asked == "Nothing was asked: you have no relationship with that peer."


@pytest.mark.parametrize("signed_in", [True, False])
async def test_asking_what_they_hold_wants_the_session_and_her_origin(
    dashboard: Dashboard, signed_in: bool
) -> None:
    if signed_in:
        await dashboard.sign_in()
    path = "/ui/peers/did%3Akey%3Az6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/holdings"

    foreign = await dashboard.client.post(path, headers={"Origin": "http://evil.example"})
    own = await dashboard.client.post(
        path, headers={"Origin": dashboard.origin}, allow_redirects=False
    )

    assert foreign.status == 403
    assert own.status == (303 if signed_in else 401)


async def test_an_invitation_needs_one_of_the_offered_lifetimes(dashboard: Dashboard) -> None:
    await dashboard.sign_in()

    notice = await _notice_after(dashboard, "/ui/invitations", {"ttl_s": "999999999"})

    assert notice == "No invitation was made: choose how long it is valid."
    assert await dashboard.invitations() == []


async def test_approving_an_attestation_she_does_not_hold_says_so_and_changes_nothing(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()

    reply = await dashboard.client.post(
        "/ui/reputation/attestations/abcdef/approve",
        headers={"Origin": dashboard.origin},
        allow_redirects=False,
    )
    page = await (await dashboard.client.get("/ui/reputation")).text()

    assert (reply.status, reply.headers["Location"]) == (303, "/ui/reputation")
    assert "Nothing was changed:" in page
    assert "Nothing waits for your review." in page


@pytest.mark.parametrize(
    ("path", "form", "said"),
    [
        (
            "/ui/terms/offer",
            {"peer": "did:key:z6MkNoSuchPeer", "roster": "P2B1"},
            "Nothing was sent",
        ),
        ("/ui/terms/offer", {"roster": "NOPE"}, "Nothing was sent: choose terms from the roster."),
        ("/ui/terms/0123456789abcdef/accept", {}, "Nothing was changed"),
        ("/ui/intents", {"category": "goods.bicycles", "expires": "86400"}, "Nothing was cast"),
        ("/ui/intents/00ff/withdraw", {}, "Nothing was changed: you cast no such intent."),
        (
            "/ui/peers/did:key:z6MkNoSuchPeer/grants",
            {"field": "email"},
            "Nothing was shared: you have no relationship with that peer.",
        ),
    ],
)
async def test_a_form_that_cannot_be_done_says_why_and_changes_nothing(
    dashboard: Dashboard, path: str, form: dict[str, str], said: str
) -> None:
    await dashboard.sign_in()

    reply = await dashboard.client.post(path, data=form, headers={"Origin": dashboard.origin})

    assert reply.status == 200  # after the 303 back to a page
    assert said in await reply.text()
