"""What the story's chapters share: a node's local API client and the polling helper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

__all__ = ["Refused", "Api", "until", "meet"]


class Refused(RuntimeError):
    """The node answered with an error; ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Api:
    """One node's local API, called with its bearer token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self._http, self._base, self._token = http, base, token

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._http.request(
            method, self._base + path, json=body, headers=headers
        ) as reply:
            data = await reply.json()
            if reply.status >= 400:
                error = data.get("error", {}) if isinstance(data, dict) else {}
                raise Refused(error.get("code", str(reply.status)), f"{method} {path}: {data}")
            return data


async def until(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy."""
    async with asyncio.timeout(timeout_s):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


async def meet(a: Api, b: Api) -> dict[str, Any]:
    invitation = await b.call("POST", "/api/invite", {"ttl_s": 600})
    met: dict[str, Any] = await a.call("POST", "/api/connect", {"uri": invitation["uri"]})
    return met
