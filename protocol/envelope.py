"""Envelopes: every amity message, signed by its sender, addressed inside the signature.

``envelope = [signed_bytes, sig]`` with ``signed_bytes = [version, type, from, to, seq, ts_ms,
nonce, body]``. Recipient and type sit inside the signature, so a message cannot be re-sent to
someone else or read as another type. Replay checks live in :mod:`amity.protocol.replay`.
See spec/envelope.md.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import Value, expect_array, expect_bytes, expect_int, expect_str
from amity.protocol.errors import (
    UnsupportedVersionError,
    UsageError,
    WrongRecipientError,
    WrongTypeError,
)
from amity.protocol.identity import PEER_ID_BYTES, PeerId, SigningIdentity
from amity.protocol.signed import sign_structure, split_signed_any_arity

__all__ = [
    "ENVELOPE_DOMAIN",
    "ENVELOPE_VERSION",
    "NONCE_BYTES",
    "MAX_BODY_BYTES",
    "MAX_ENVELOPE_BYTES",
    "MAX_TYPE_BYTES",
    "MAX_SEQ",
    "TYPE_PATTERN",
    "Envelope",
    "sign_envelope",
    "open_envelope",
]

ENVELOPE_DOMAIN: Final = b"amity/env/v1\x00"
ENVELOPE_VERSION: Final = 1
NONCE_BYTES: Final = 16
MAX_BODY_BYTES: Final = 256 * 1024
#: Body plus the fixed fields, the type and two layers of msgpack headers, rounded up.
MAX_ENVELOPE_BYTES: Final = MAX_BODY_BYTES + 512
MAX_TYPE_BYTES: Final = 64
#: Message types are dotted lower-case names: ``rel.end``, ``terms.offer``.
TYPE_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_ARITY: Final = 8
#: seq and ts_ms fit a signed 64-bit integer, as SQLite and most languages store them.
MAX_SEQ: Final = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class Envelope:
    """A verified envelope: who sent what to whom, and the exact bytes that were signed."""

    type: str
    sender: PeerId
    recipient: PeerId
    seq: int
    ts_ms: int
    nonce: bytes
    body: bytes
    encoded: bytes


def sign_envelope(
    identity: SigningIdentity,
    *,
    type: str,
    recipient: PeerId,
    seq: int,
    ts_ms: int,
    nonce: bytes,
    body: bytes,
) -> bytes:
    """Build and sign one envelope; the caller supplies seq, time and a fresh random nonce."""
    if not TYPE_PATTERN.fullmatch(type) or len(type) > MAX_TYPE_BYTES:
        raise UsageError(f"message type {type!r} must be a dotted lower-case name <= 64 bytes")
    if len(nonce) != NONCE_BYTES:
        raise UsageError(f"an envelope nonce is {NONCE_BYTES} random bytes")
    if len(body) > MAX_BODY_BYTES:
        raise UsageError(f"body of {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if not 1 <= seq <= MAX_SEQ or not 0 <= ts_ms <= MAX_SEQ:
        raise UsageError("seq starts at 1 and ts_ms is milliseconds since the epoch")
    fields: list[Value] = [
        ENVELOPE_VERSION,
        type,
        identity.peer_id.key,
        recipient.key,
        seq,
        ts_ms,
        nonce,
        body,
    ]
    return sign_structure(fields, ENVELOPE_DOMAIN, identity)


def open_envelope(
    data: bytes,
    *,
    recipient: PeerId,
    types: Collection[str] | None = None,
    known_sender: PeerId | None = None,
) -> Envelope:
    """Decode and verify an envelope meant for ``recipient``; see spec/envelope.md §4 for order.

    Checks, in this order: encoding, version, shape, signature, recipient, type (if ``types``
    is given). It does not check replay or time: feed the result to a ReplayGuard. A caller
    that knows who should be sending (the peer a session proved) passes it as ``known_sender``:
    an envelope from that key then carries that very PeerId; one from any other key, its own.
    """
    # The version is read before the arity: a later version may carry other fields, and its
    # sender must hear "version.unsupported", not a schema error. ``true == 1`` in Python, so
    # bool is refused by type: version 1 has exactly one encoding.
    parts = split_signed_any_arity(data, "envelope", max_bytes=MAX_ENVELOPE_BYTES)
    version = parts.fields[0] if parts.fields else None
    if isinstance(version, bool) or version != ENVELOPE_VERSION:
        raise UnsupportedVersionError(
            f"envelope version {version!r}; this node speaks {ENVELOPE_VERSION}",
            hint="version.unsupported",
        )
    expect_array(parts.fields, "envelope", arity=_ARITY)
    _, type_, sender_key, recipient_key, seq, ts_ms, nonce, body = parts.fields
    message_type = expect_str(
        type_, "envelope type", max_bytes=MAX_TYPE_BYTES, pattern=TYPE_PATTERN
    )
    if known_sender is not None and sender_key == known_sender.key:
        sender = known_sender
    else:
        sender = PeerId(expect_bytes(sender_key, "envelope from", size=PEER_ID_BYTES))
    to = expect_bytes(recipient_key, "envelope to", size=PEER_ID_BYTES)
    envelope = Envelope(
        type=message_type,
        sender=sender,
        recipient=recipient if to == recipient.key else PeerId(to),
        seq=expect_int(seq, "envelope seq", lo=1, hi=MAX_SEQ),
        ts_ms=expect_int(ts_ms, "envelope ts_ms", hi=MAX_SEQ),
        nonce=expect_bytes(nonce, "envelope nonce", size=NONCE_BYTES),
        body=expect_bytes(body, "envelope body", max_size=MAX_BODY_BYTES),
        encoded=bytes(data),
    )
    parts.verify(sender, ENVELOPE_DOMAIN, what="envelope signature")
    if to != recipient.key:
        raise WrongRecipientError(
            f"envelope from {sender.short} is addressed to {envelope.recipient.short}, "
            f"not to this node ({recipient.short})"
        )
    if types is not None and message_type not in types:
        raise WrongTypeError(
            f"message type {message_type!r} from {sender.short} is not accepted here "
            f"(expected one of {sorted(types)})"
        )
    return envelope
