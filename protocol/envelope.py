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
from typing import Final, TypeAlias

from amity.protocol.encoding import Value, expect_array, expect_bytes, expect_int, expect_str
from amity.protocol.errors import (
    UnsupportedVersionError,
    UsageError,
    WrongRecipientError,
    WrongTypeError,
)
from amity.protocol.identity import (
    PEER_ID_BYTES,
    SIGNATURE_BYTES,
    PeerId,
    SigningIdentity,
    verify_signature,
)
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
    canonical = _split_canonical(data)
    if canonical is None:
        # Not in the one layout a valid envelope has (or outside its limits): the generic
        # decoder names what is wrong, in the order spec/envelope.md §4 gives.
        signed_bytes, signature, envelope = _decode(data, recipient, known_sender)
    else:
        signed_bytes, signature, type_, sender_key, to, seq, ts_ms, nonce, body = canonical
        if known_sender is not None and sender_key == known_sender.key:
            sender = known_sender
        else:
            sender = PeerId(sender_key)
        envelope = Envelope(
            type=type_,
            sender=sender,
            recipient=recipient if to == recipient.key else PeerId(to),
            seq=seq,
            ts_ms=ts_ms,
            nonce=nonce,
            body=body,
            encoded=data,
        )
    sender, message_type = envelope.sender, envelope.type
    verify_signature(sender, ENVELOPE_DOMAIN, signed_bytes, signature, what="envelope signature")
    if envelope.recipient.key != recipient.key:
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


_Split: TypeAlias = tuple[bytes, bytes, str, bytes, bytes, int, int, bytes, bytes]


def _decode(
    data: bytes, recipient: PeerId, known_sender: PeerId | None
) -> tuple[bytes, bytes, Envelope]:
    """The envelope's signed bytes, signature and fields, by the generic canonical decoder."""
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
    return parts.signed_bytes, parts.signature, envelope


#: The fixed parts of a version 1 envelope in canonical msgpack (spec/envelope.md §2).
_OUTER_HEAD: Final = 0x92  # [signed_bytes, signature]
_SIGNED_HEAD: Final = bytes([0x98, ENVELOPE_VERSION])  # [1, type, from, to, seq, ts, nonce, body]
_KEY_HEAD: Final = bytes([0xC4, PEER_ID_BYTES])
_NONCE_HEAD: Final = bytes([0xC4, NONCE_BYTES])
_SIGNATURE_TAIL_BYTES: Final = 2 + SIGNATURE_BYTES
_SIGNATURE_HEAD: Final = bytes([0xC4, SIGNATURE_BYTES])
_UINT: Final = {0xCC: (1, 1 << 7), 0xCD: (2, 1 << 8), 0xCE: (4, 1 << 16), 0xCF: (8, 1 << 32)}


def _bin_at(data: bytes, at: int, end: int) -> tuple[int, int] | None:
    """Where the canonical bin at ``at`` starts and ends (None if it is not one)."""
    head = data[at] if at < end else -1
    if head == 0xC4 and at + 2 <= end:
        start, size = at + 2, data[at + 1]
    elif head == 0xC5 and at + 3 <= end:
        start, size = at + 3, int.from_bytes(data[at + 1 : at + 3], "big")
        if size < 1 << 8:
            return None
    elif head == 0xC6 and at + 5 <= end:
        start, size = at + 5, int.from_bytes(data[at + 1 : at + 5], "big")
        if size < 1 << 16:
            return None
    else:
        return None
    return (start, start + size) if start + size <= end else None


def _uint_at(data: bytes, at: int, end: int) -> tuple[int, int] | None:
    """The canonical non-negative int at ``at`` and where it ends (None if it is not one)."""
    head = data[at] if at < end else -1
    if 0 <= head <= 0x7F:
        return head, at + 1
    width_low = _UINT.get(head)
    if width_low is None or at + 1 + width_low[0] > end:
        return None
    value = int.from_bytes(data[at + 1 : at + 1 + width_low[0]], "big")
    return (value, at + 1 + width_low[0]) if value >= width_low[1] else None


def _split_canonical(data: bytes) -> _Split | None:
    """The envelope's parts read straight from the one canonical layout of version 1, or None.

    The hot path: one pass, no generic decode and re-encode. It accepts exactly the inputs
    that :func:`_decode` accepts with the same result, and hands anything else (other versions,
    other layouts, values out of range, any non-canonical form) to it by returning None; the
    fuzz tests hold the two to that.
    """
    if type(data) is not bytes or len(data) > MAX_ENVELOPE_BYTES or not data:
        return None
    end = len(data)
    if data[0] != _OUTER_HEAD:
        return None
    signed = _bin_at(data, 1, end)
    if signed is None or signed[1] + _SIGNATURE_TAIL_BYTES != end:
        return None
    at, signed_end = signed
    if data[signed_end : signed_end + 2] != _SIGNATURE_HEAD or data[at : at + 2] != _SIGNED_HEAD:
        return None
    at += 2
    head = data[at] if at < signed_end else -1
    if 0xA0 <= head <= 0xBF:
        type_start, type_end = at + 1, at + 1 + (head - 0xA0)
    elif head == 0xD9 and at + 2 <= signed_end and data[at + 1] >= 32:
        type_start, type_end = at + 2, at + 2 + data[at + 1]
    else:
        return None
    if type_end > signed_end or type_end - type_start > MAX_TYPE_BYTES:
        return None
    try:
        type_ = data[type_start:type_end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not TYPE_PATTERN.fullmatch(type_):
        return None
    at = type_end
    if data[at : at + 2] != _KEY_HEAD or data[at + 34 : at + 36] != _KEY_HEAD:
        return None
    sender_key, to = data[at + 2 : at + 34], data[at + 36 : at + 68]
    seq_at = _uint_at(data, at + 68, signed_end)
    if seq_at is None or not 1 <= seq_at[0] <= MAX_SEQ:
        return None
    ts_at = _uint_at(data, seq_at[1], signed_end)
    if ts_at is None or ts_at[0] > MAX_SEQ:
        return None
    at = ts_at[1]
    if data[at : at + 2] != _NONCE_HEAD or at + 18 > signed_end:
        return None
    nonce = data[at + 2 : at + 18]
    body = _bin_at(data, at + 18, signed_end)
    if body is None or body[1] != signed_end or body[1] - body[0] > MAX_BODY_BYTES:
        return None
    return (
        data[signed[0] : signed_end],
        data[signed_end + 2 :],
        type_,
        sender_key,
        to,
        seq_at[0],
        ts_at[0],
        nonce,
        data[body[0] : body[1]],
    )
