"""JSON in and out of the local API: one error shape, one way to read a request body.

Every error the API returns is ``{"error": {"code", "message", …}}`` (codes from spec/errors.md
or ``api.*``); the route modules (app.py here, and each feature room's api.py) share these helpers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from aiohttp import web

from amity.protocol.errors import AmityError, NotFoundError, UsageError
from amity.protocol.identity import PeerId

__all__ = ["error_response", "json_body", "ms_from", "peer_from", "id_by_prefix"]

#: The largest time a JSON body may give: JSON's safe integers (2^53 ms is year 287 396).
_MAX_MS: Final = 2**53


def error_response(
    status: type[web.HTTPException], code: str, message: str, **extra: Any
) -> web.HTTPException:
    """An HTTP error to raise, with the JSON error body."""
    body = json.dumps({"error": {"code": code, "message": message, **extra}})
    return status(text=body, content_type="application/json")


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} without a body); UsageError (400) if it is not one."""
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise UsageError("the request body is not JSON") from None
    except RecursionError:  # json recurses once per nested array or object
        raise UsageError("the request body nests arrays or objects too deeply") from None
    if not isinstance(data, dict):
        raise UsageError("the request body must be a JSON object")
    return data


def ms_from(value: object, what: str) -> int:
    """A time in ms since the epoch from a JSON body (JSON's safe integers, no bool); UsageError
    (400) naming ``what`` if it is anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_MS:
        raise UsageError(f"{what} is a time in ms since the epoch")
    return value


def peer_from(text: object, what: str = "peer") -> PeerId:
    """A peer named by its did:key in a request; UsageError (400) that says what was wrong."""
    if not isinstance(text, str):
        raise UsageError(f"{what} is a did:key")
    try:
        return PeerId.from_did(text)
    except AmityError as exc:
        raise UsageError(f"{text!r:.80} is not a peer's did:key ({exc.message})") from None


def id_by_prefix(keys: Iterable[bytes], prefix: str, what: str) -> bytes:
    """The one id among ``keys`` whose hex starts with ``prefix`` (4 hex digits at least):
    UsageError (400) for a short or ambiguous prefix, NotFoundError (404) for none."""
    text = prefix.strip().lower()
    if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
        raise UsageError(f"{what} is given by 4 or more hex digits of its id")
    found = [k for k in keys if k.hex().startswith(text)]
    if not found:
        raise NotFoundError(f"no {what} {text}")
    if len(found) > 1:
        raise UsageError(f"{text} names {len(found)} of your {what}s; give more digits")
    return bytes(found[0])
