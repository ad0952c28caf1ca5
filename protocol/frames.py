"""Link messages: what travels inside a live session, one per session message.

A session message is one kind byte followed by its payload. ENVELOPE carries a signed envelope;
ACK tells the sender which of its envelopes are now durably stored (so it can drop them from its
outbox); REFUSE tells it one was refused for good, with the error code, so it stops retrying.
ACK and REFUSE need no signature of their own: the Noise session already proves who sent them,
and they only ever concern the link they arrive on. See spec/link.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import (
    Value,
    decode_array,
    encode,
    expect_array,
    expect_int,
    expect_str,
)
from amity.protocol.errors import SchemaError, UnsupportedVersionError, UsageError

__all__ = [
    "FrameKind",
    "MAX_ACK_SEQS",
    "Ack",
    "Refuse",
    "encode_envelope_frame",
    "encode_ack",
    "encode_refuse",
    "split_frame",
    "decode_ack",
    "decode_refuse",
]

MAX_ACK_SEQS: Final = 1024
_VERSION: Final = 1
_MAX_CODE_BYTES: Final = 64
_MAX_REASON_BYTES: Final = 200


class FrameKind(enum.IntEnum):
    """The first byte of every session message."""

    ENVELOPE = 1
    ACK = 2
    REFUSE = 3


@dataclass(frozen=True, slots=True)
class Ack:
    """These sequence numbers of yours are stored here; stop resending them."""

    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Refuse:
    """Your envelope ``seq`` was refused for good with error ``code``; do not resend it."""

    seq: int
    code: str
    reason: str


def encode_envelope_frame(envelope: bytes) -> bytes:
    return bytes([FrameKind.ENVELOPE]) + envelope


def encode_ack(seqs: list[int] | tuple[int, ...]) -> bytes:
    if not 1 <= len(seqs) <= MAX_ACK_SEQS:
        raise UsageError(f"an ack names 1..{MAX_ACK_SEQS} sequence numbers")
    return bytes([FrameKind.ACK]) + encode([_VERSION, list(seqs)])


def encode_refuse(seq: int, code: str, reason: str) -> bytes:
    reason_bytes = reason.encode("utf-8", "replace")[:_MAX_REASON_BYTES]
    clipped = reason_bytes.decode("utf-8", "ignore")
    return bytes([FrameKind.REFUSE]) + encode([_VERSION, seq, code[:_MAX_CODE_BYTES], clipped])


def split_frame(message: bytes) -> tuple[FrameKind, bytes]:
    """The kind byte and the payload; raises SchemaError for an empty or unknown kind."""
    if not message:
        raise SchemaError("empty link message")
    try:
        kind = FrameKind(message[0])
    except ValueError:
        raise SchemaError(f"unknown link message kind {message[0]}") from None
    return kind, message[1:]


def decode_ack(payload: bytes) -> Ack:
    fields = _versioned(payload, "ack", 2)
    seqs = expect_array(fields[1], "ack seqs", max_len=MAX_ACK_SEQS)
    if not seqs:
        raise SchemaError("an ack names at least one sequence number")
    return Ack(tuple(expect_int(s, "ack seq", lo=1) for s in seqs))


def decode_refuse(payload: bytes) -> Refuse:
    fields = _versioned(payload, "refuse", 4)
    return Refuse(
        seq=expect_int(fields[1], "refuse seq", lo=1),
        code=expect_str(fields[2], "refuse code", max_bytes=_MAX_CODE_BYTES),
        reason=expect_str(fields[3], "refuse reason", max_bytes=_MAX_REASON_BYTES),
    )


def _versioned(payload: bytes, what: str, arity: int) -> list[Value]:
    fields = decode_array(payload, arity, what, max_bytes=16 * 1024) if payload else None
    if fields is None:
        raise SchemaError(f"{what}: empty payload")
    version = fields[0]
    if isinstance(version, bool) or version != _VERSION:
        raise UnsupportedVersionError(f"{what} version {version!r}; this node speaks 1")
    return list(fields)
