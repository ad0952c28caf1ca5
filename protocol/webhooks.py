"""CRM webhooks in the Standard Webhooks convention: the events, the JSON body, the signature
over it, and the retry schedule. Sans-IO: times and random draws are passed in.

A node tells its owner's CRM what happened (a relationship opened, an agreement signed, a grant
given…) by POSTing a JSON body to a URL the owner subscribed, with three headers:
``webhook-id`` (the message's id, the same on every retry), ``webhook-timestamp`` (seconds since
the epoch, this attempt) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 over
``id.timestamp.body`` with the subscription's secret, written ``whsec_`` + base64). A receiver
checks the signature and the timestamp (:func:`verify`) and keeps each ``webhook-id`` once.
See spec/webhooks.md and https://www.standardwebhooks.com.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from amity.protocol.errors import (
    UsageError,
    WebhookMalformedError,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookStaleError,
)

__all__ = [
    "EVENTS",
    "SECRET_PREFIX",
    "SECRET_BYTES",
    "TOLERANCE_S",
    "MAX_BODY_BYTES",
    "WebhookEvent",
    "check_events",
    "check_url",
    "format_secret",
    "parse_secret",
    "message_id",
    "event_body",
    "decode_event",
    "signed_content",
    "sign",
    "signature_headers",
    "verify",
    "retry_delay_ms",
]

#: Every event a subscription may name (spec/webhooks.md §3), in the order the spec lists them.
EVENTS: Final = (
    "relationship.opened",
    "relationship.ended",
    "agreement.signed",
    "grant.given",
    "grant.updated",
    "grant.revoked",
    "grant.expired",
    "deletion.due",
    "deletion.done",
    "attestation.received",
    "intent.received",
)
SECRET_PREFIX: Final = "whsec_"
#: A generated secret's length; a given one may be 24 to 64 bytes (Standard Webhooks).
SECRET_BYTES: Final = 32
_SECRET_RANGE: Final = range(24, 65)
#: How far a receiver lets ``webhook-timestamp`` stray from its own clock (replay window).
TOLERANCE_S: Final = 300
#: The largest body a node sends, and a receiver reads.
MAX_BODY_BYTES: Final = 64 * 1024
_MAX_ID: Final = 64
_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_URL: Final = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event as its body says it: its name, when it happened (ISO 8601 UTC) and its data."""

    type: str
    timestamp: str
    data: dict[str, Any]


def check_events(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` in the spec's order, each once; UsageError naming the known ones otherwise."""
    wanted = set(names)
    unknown = sorted(wanted - set(EVENTS))
    if unknown:
        raise UsageError(
            f"unknown webhook event {', '.join(map(repr, unknown))}; known: {', '.join(EVENTS)}"
        )
    if not wanted:
        raise UsageError(f"name at least one event; known: {', '.join(EVENTS)}")
    return tuple(e for e in EVENTS if e in wanted)


def check_url(url: str) -> str:
    """``url`` if it is an http:// or https:// URL with a host; UsageError otherwise."""
    if not isinstance(url, str) or len(url) > 2048 or not _URL.fullmatch(url):
        raise UsageError(
            f"{str(url)[:80]!r} is not an http:// or https:// URL with a host "
            "(e.g. https://crm.example.com/amity)"
        )
    return url


def format_secret(key: bytes) -> str:
    """A secret as subscriptions and receivers write it: ``whsec_`` + base64."""
    if len(key) not in _SECRET_RANGE:
        raise UsageError(f"a webhook secret is 24 to 64 bytes, not {len(key)}")
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def parse_secret(text: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (surrounding whitespace ignored); WebhookSecretError
    if it is not one."""
    text = text.strip()
    if not text.startswith(SECRET_PREFIX):
        raise WebhookSecretError(f"a webhook secret starts with {SECRET_PREFIX!r} then base64")
    encoded = text[len(SECRET_PREFIX) :]
    if not _BASE64.fullmatch(encoded):
        raise WebhookSecretError("a webhook secret's part after whsec_ is not base64")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError("a webhook secret's part after whsec_ is not base64") from None
    if len(key) not in _SECRET_RANGE:
        raise WebhookSecretError(f"a webhook secret is 24 to 64 bytes, not {len(key)}")
    return key


def message_id(random16: bytes) -> str:
    """A new ``webhook-id`` from 16 random bytes: ``msg_`` + 32 hex digits."""
    if len(random16) != 16:
        raise UsageError("a message id takes 16 random bytes")
    return "msg_" + random16.hex()


def _iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def event_body(event: str, at_ms: int, data: Mapping[str, Any]) -> bytes:
    """The body of one event: ``{"data":…,"timestamp":…,"type":…}``, keys sorted, no spaces,
    UTF-8 (spec/webhooks.md §2). The same bytes go to every subscription and every attempt."""
    check_events([event])
    body = json.dumps(
        {"type": event, "timestamp": _iso(at_ms), "data": dict(data)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    if len(body) > MAX_BODY_BYTES:
        raise UsageError(f"a webhook body is at most {MAX_BODY_BYTES} bytes, not {len(body)}")
    return body


def decode_event(body: bytes) -> WebhookEvent:
    """Read a body a receiver got; WebhookMalformedError unless it is one of §2's."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookMalformedError(f"a webhook body is at most {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookMalformedError("a webhook body is a JSON object in UTF-8") from None
    if not isinstance(value, dict) or set(value) != {"type", "timestamp", "data"}:
        raise WebhookMalformedError("a webhook body has exactly type, timestamp and data")
    event, timestamp, data = value["type"], value["timestamp"], value["data"]
    if not isinstance(event, str) or event not in EVENTS:
        raise WebhookMalformedError(f"unknown webhook event {str(event)[:40]!r}")
    if not isinstance(timestamp, str) or not isinstance(data, dict):
        raise WebhookMalformedError("a webhook body's timestamp is a string, its data an object")
    return WebhookEvent(event, timestamp, data)


def signed_content(msg_id: str, timestamp_s: int, body: bytes) -> bytes:
    """What the signature covers: ``id.timestamp.body``."""
    return f"{msg_id}.{timestamp_s}.".encode("ascii") + body


def sign(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256."""
    mac = hmac.new(key, signed_content(msg_id, timestamp_s, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signature_headers(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": sign(key, msg_id, timestamp_s, body),
    }


def verify(
    key: bytes,
    msg_id: str,
    timestamp: str,
    signature: str,
    body: bytes,
    now_s: int,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """A receiver's check of one request (its three headers as text, its body as bytes).

    Raises WebhookMalformedError (bad id or timestamp), WebhookStaleError (timestamp further than
    ``tolerance_s`` from ``now_s``) or WebhookSignatureError (no ``v1`` signature matches; the
    header may list several, space-separated, and entries of other versions are skipped).
    """
    if not _ID.fullmatch(msg_id):
        raise WebhookMalformedError(f"webhook-id is 1 to {_MAX_ID} of A-Z a-z 0-9 _ -")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookMalformedError("webhook-timestamp is whole seconds since the epoch")
    sent_s = int(timestamp)
    if abs(now_s - sent_s) > tolerance_s:
        raise WebhookStaleError(
            f"webhook-timestamp {sent_s} is {abs(now_s - sent_s)} s from now; at most "
            f"{tolerance_s} s is taken (a replayed request, or a clock out of step)"
        )
    expected = sign(key, msg_id, sent_s, body).encode("ascii")
    for entry in signature.split(" "):
        version, _, _ = entry.partition(",")
        if version == "v1" and hmac.compare_digest(entry.encode("utf-8", "replace"), expected):
            return
    raise WebhookSignatureError("no v1 signature in webhook-signature matches the body")


def retry_delay_ms(attempts: int, draw: float, base_ms: int, cap_ms: int) -> int:
    """How long to wait after the ``attempts``-th failed attempt: exponential from ``base_ms``,
    at most ``cap_ms``, and jittered by ``draw`` in [0, 1) to between half and all of it."""
    if attempts < 1 or not 0 <= draw < 1 or base_ms < 1 or cap_ms < base_ms:
        raise UsageError("retry_delay_ms takes attempts >= 1, 0 <= draw < 1, 1 <= base <= cap")
    full = cap_ms if attempts > 40 else min(cap_ms, base_ms << (attempts - 1))
    half = full // 2
    return half + int(draw * (full - half + 1))
