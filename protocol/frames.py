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
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
)
from amity.protocol.envelope import MAX_SEQ
from amity.protocol.errors import SchemaError, UnsupportedVersionError, UsageError
from amity.protocol.sealed import MAX_SEALED_BYTES
from amity.protocol.ticket import MAX_TICKET_BYTES

__all__ = [
    "FrameKind",
    "MAX_ACK_SEQS",
    "Ack",
    "Refuse",
    "Deposit",
    "Deposited",
    "Mail",
    "encode_deposit",
    "encode_deposited",
    "encode_mail",
    "encode_mail_ack",
    "decode_deposit",
    "decode_deposited",
    "decode_mail",
    "decode_mail_ack",
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
    #: sender -> relay: hold this sealed mail for its recipient
    DEPOSIT = 4
    #: relay -> sender: what became of a deposit
    DEPOSITED = 5
    #: relay -> recipient: sealed mail held for you
    MAIL = 6
    #: recipient -> relay: these mail ids are stored here; delete them
    MAIL_ACK = 7


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


@dataclass(frozen=True, slots=True)
class Deposit:
    """Sealed mail to hold (``deposit_id`` is the sender's own number for the answer).

    ``ticket`` is the recipient's deposit ticket for this sender, if it gave one
    (spec/relay.md §6): mail with a valid ticket uses the room kept for the recipient's peers.
    """

    deposit_id: int
    sealed: bytes
    ticket: bytes | None = None


@dataclass(frozen=True, slots=True)
class Deposited:
    """The relay's answer: ``code`` is "ok" or the error code it was refused with."""

    deposit_id: int
    code: str


@dataclass(frozen=True, slots=True)
class Mail:
    mail_id: int
    sealed: bytes


def encode_deposit(deposit_id: int, sealed: bytes, ticket: bytes | None = None) -> bytes:
    return bytes([FrameKind.DEPOSIT]) + encode([_VERSION, deposit_id, sealed, ticket])


def encode_deposited(deposit_id: int, code: str) -> bytes:
    return bytes([FrameKind.DEPOSITED]) + encode([_VERSION, deposit_id, code[:_MAX_CODE_BYTES]])


def encode_mail(mail_id: int, sealed: bytes) -> bytes:
    return bytes([FrameKind.MAIL]) + encode([_VERSION, mail_id, sealed])


def encode_mail_ack(mail_ids: list[int] | tuple[int, ...]) -> bytes:
    if not 1 <= len(mail_ids) <= MAX_ACK_SEQS:
        raise UsageError(f"a mail ack names 1..{MAX_ACK_SEQS} mail ids")
    return bytes([FrameKind.MAIL_ACK]) + encode([_VERSION, list(mail_ids)])


def decode_deposit(payload: bytes) -> Deposit:
    fields = _versioned(payload, "deposit", 4, MAX_SEALED_BYTES + MAX_TICKET_BYTES + 64)
    ticket = fields[3]
    if ticket is not None:
        ticket = expect_bytes(ticket, "deposit ticket", max_size=MAX_TICKET_BYTES)
        if not ticket:
            raise SchemaError("deposit ticket: empty; send nil for no ticket")
    return Deposit(
        expect_int(fields[1], "deposit id", hi=MAX_SEQ),
        expect_bytes(fields[2], "deposit sealed mail", max_size=MAX_SEALED_BYTES),
        ticket,
    )


def decode_deposited(payload: bytes) -> Deposited:
    fields = _versioned(payload, "deposited", 3)
    return Deposited(
        expect_int(fields[1], "deposited id", hi=MAX_SEQ),
        expect_str(fields[2], "deposited code", max_bytes=_MAX_CODE_BYTES),
    )


def decode_mail(payload: bytes) -> Mail:
    fields = _versioned(payload, "mail", 3, MAX_SEALED_BYTES + 64)
    return Mail(
        expect_int(fields[1], "mail id", lo=1, hi=MAX_SEQ),
        expect_bytes(fields[2], "mail sealed", max_size=MAX_SEALED_BYTES),
    )


def decode_mail_ack(payload: bytes) -> tuple[int, ...]:
    fields = _versioned(payload, "mail ack", 2)
    ids = expect_array(fields[1], "mail ack ids", max_len=MAX_ACK_SEQS)
    if not ids:
        raise SchemaError("a mail ack names at least one mail id")
    return tuple(expect_int(i, "mail ack id", lo=1, hi=MAX_SEQ) for i in ids)


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
    kind = _KINDS.get(message[0])
    if kind is None:
        raise SchemaError(f"unknown link message kind {message[0]}")
    return kind, message[1:]


#: FrameKind by its byte (a dict lookup: the enum's own lookup is slower, and this runs per frame).
_KINDS: Final = {kind.value: kind for kind in FrameKind}


def decode_ack(payload: bytes) -> Ack:
    fields = _versioned(payload, "ack", 2)
    seqs = expect_array(fields[1], "ack seqs", max_len=MAX_ACK_SEQS)
    if not seqs:
        raise SchemaError("an ack names at least one sequence number")
    return Ack(tuple(expect_int(s, "ack seq", lo=1, hi=MAX_SEQ) for s in seqs))


def decode_refuse(payload: bytes) -> Refuse:
    fields = _versioned(payload, "refuse", 4)
    return Refuse(
        seq=expect_int(fields[1], "refuse seq", lo=1, hi=MAX_SEQ),
        code=expect_str(fields[2], "refuse code", max_bytes=_MAX_CODE_BYTES),
        reason=expect_str(fields[3], "refuse reason", max_bytes=_MAX_REASON_BYTES),
    )


def _versioned(payload: bytes, what: str, arity: int, max_bytes: int = 16 * 1024) -> list[Value]:
    if not payload:
        raise SchemaError(f"{what}: empty payload")
    fields = expect_array(decode(payload, max_bytes=max_bytes), what)
    version = fields[0] if fields else None
    if isinstance(version, bool) or version != _VERSION:
        raise UnsupportedVersionError(
            f"{what} version {version!r}; this node speaks 1", hint=UnsupportedVersionError.code
        )
    if len(fields) != arity:
        raise SchemaError(f"{what}: expected {arity} fields, got {len(fields)}")
    return fields
