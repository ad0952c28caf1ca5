"""Who may use the dashboard: one-time login links and the sessions they open.

``amity ui`` asks the node, over its token-guarded API, for a login link. The link carries a
random secret that works once, for a few minutes; opening it starts a session whose id lives in
an HttpOnly, SameSite=Strict cookie, and the link is spent. Both live in memory only: a node
that restarts forgets every session, and its owner asks for a new link. Secrets are kept as
their SHA-256 digests, so a lookup compares no secret byte by byte.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["LINK_TTL_MS", "SESSION_TTL_MS", "Session", "Sessions"]

#: How long a login link may wait to be opened.
LINK_TTL_MS: Final = 10 * 60 * 1000
#: How long a session lasts from its login (then ``amity ui`` again).
SESSION_TTL_MS: Final = 12 * 3600 * 1000
#: At most this many unspent links and open sessions; the oldest go first.
_MAX_LINKS: Final = 16
_MAX_SESSIONS: Final = 32
_SECRET_BYTES: Final = 32


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", errors="surrogateescape")).digest()


@dataclass(slots=True)
class Session:
    """One signed-in browser: until when, and a message for the next page it shows."""

    expires_ms: int
    notice: str | None = None

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice


class Sessions:
    """Unspent login links and open sessions, by the digests of their secrets."""

    def __init__(self, clock_ms: Callable[[], int] = _wall_clock_ms) -> None:
        self._clock_ms = clock_ms
        self._links: dict[bytes, int] = {}
        self._sessions: dict[bytes, Session] = {}

    def new_link(self) -> tuple[str, int]:
        """A fresh login secret and when it stops working (ms)."""
        now = self._prune()
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        self._links[_digest(secret)] = now + LINK_TTL_MS
        while len(self._links) > _MAX_LINKS:
            del self._links[next(iter(self._links))]
        return secret, now + LINK_TTL_MS

    def spend(self, link_secret: str) -> str | None:
        """Spend a login secret: a new session id, or None if it is unknown, used or expired."""
        now = self._prune()
        if self._links.pop(_digest(link_secret), None) is None:
            return None
        session_id = secrets.token_urlsafe(_SECRET_BYTES)
        self._sessions[_digest(session_id)] = Session(now + SESSION_TTL_MS)
        while len(self._sessions) > _MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        """The open session with this id, if there is one."""
        if not session_id:
            return None
        self._prune()
        return self._sessions.get(_digest(session_id))

    def end(self, session_id: str) -> None:
        self._sessions.pop(_digest(session_id), None)

    def _prune(self) -> int:
        now = self._clock_ms()
        self._links = {k: until for k, until in self._links.items() if until > now}
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires_ms > now}
        return now
