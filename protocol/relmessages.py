"""Bodies of the relationship messages ``rel.hello`` and ``rel.end``. See spec/relationship.md §7.

Each body is a canonical fixed-position array whose first field is its version; it travels as the
``body`` of a signed envelope (spec/envelope.md), so sender, recipient, type, time and signature
are the envelope's business, not the body's. Decoders read the version before the arity, so a
later version with other fields is refused as ``version.unsupported``, and they raise nothing but
:class:`~amity.protocol.errors.AmityError` subclasses, whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.card import INVITE_SECRET_BYTES, MAX_CARD_BYTES, Card
from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_optional_bytes,
    expect_str,
    expect_version,
    utf8_size,
)
from amity.protocol.errors import SchemaError, UsageError
from amity.protocol.ticket import MAX_TICKET_BYTES

__all__ = [
    "MSG_HELLO",
    "MSG_END",
    "REL_BODY_VERSION",
    "MAX_REASON_BYTES",
    "MAX_HELLO_BYTES",
    "MAX_END_BYTES",
    "REASON_PATTERN",
    "HelloBody",
    "EndBody",
    "check_reason",
    "encode_hello",
    "decode_hello",
    "encode_end",
    "decode_end",
]

MSG_HELLO: Final = "rel.hello"
MSG_END: Final = "rel.end"
REL_BODY_VERSION: Final = 1
MAX_REASON_BYTES: Final = 200
#: A card, a 16-byte secret, a deposit ticket and the array, bin and int headers around them.
MAX_HELLO_BYTES: Final = MAX_CARD_BYTES + 32 + MAX_TICKET_BYTES + 2
#: fixarray, version, str8 header + reason, uint64 time.
MAX_END_BYTES: Final = 1 + 1 + 2 + MAX_REASON_BYTES + 9
#: One line of text without control characters: a reason is shown to people, and a peer must not
#: be able to move their cursor or recolour their terminal.
REASON_PATTERN: Final = re.compile(r"[^\x00-\x1f\x7f-\x9f]*")
_HELLO_ARITY: Final = 4
_END_ARITY: Final = 3


def check_reason(reason: str) -> str:
    """Return ``reason`` if it may travel in a rel.end body; raise UsageError if not."""
    if not isinstance(reason, str) or not REASON_PATTERN.fullmatch(reason):
        raise UsageError("an end reason is one line of text without control characters")
    size = utf8_size(reason, "an end reason")
    if size > MAX_REASON_BYTES:
        raise UsageError(f"end reason of {size} UTF-8 bytes; the limit is {MAX_REASON_BYTES}")
    return reason


@dataclass(frozen=True, slots=True)
class HelloBody:
    """``rel.hello``: the sender's peer card, from an invitee the invitation's secret, and a
    deposit ticket that lets the hello's recipient leave mail at the sender's relays."""

    card: Card
    invite_secret: bytes | None = field(default=None, repr=False)
    deposit_ticket: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.card, Card):
            raise UsageError("a hello carries a verified Card")
        secret = self.invite_secret
        if secret is not None and (
            not isinstance(secret, bytes) or len(secret) != INVITE_SECRET_BYTES
        ):
            raise UsageError(f"an invitation secret is {INVITE_SECRET_BYTES} bytes")
        ticket = self.deposit_ticket
        if ticket is not None and (
            not isinstance(ticket, bytes) or not 1 <= len(ticket) <= MAX_TICKET_BYTES
        ):
            raise UsageError(f"a deposit ticket is 1..{MAX_TICKET_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class EndBody:
    """``rel.end``: why the sender ended the relationship, and when by its clock."""

    reason: str
    ts_ms: int

    def __post_init__(self) -> None:
        check_reason(self.reason)
        if isinstance(self.ts_ms, bool) or not isinstance(self.ts_ms, int) or self.ts_ms < 0:
            raise UsageError("ts_ms is milliseconds since the epoch")


def encode_hello(body: HelloBody) -> bytes:
    """``[1, card bin, invite_secret bin16 | nil, deposit_ticket bin | nil]``; relationship.md §7.1."""
    return encode([REL_BODY_VERSION, body.card.encoded, body.invite_secret, body.deposit_ticket])


def decode_hello(data: bytes, read_card: Callable[[bytes], Card] = Card.decode) -> HelloBody:
    """Decode a rel.hello body and verify the card's signatures (its expiry is the caller's).

    ``read_card`` is :meth:`Card.decode` or a memo of it (a simulator's nodes read the same cards
    again and again).
    """
    fields = _fields(data, "rel.hello body", _HELLO_ARITY, MAX_HELLO_BYTES)
    _, card_bytes, secret, ticket = fields
    card = read_card(expect_bytes(card_bytes, "rel.hello card", max_size=MAX_CARD_BYTES))
    invite_secret = expect_optional_bytes(
        secret, "rel.hello invite secret", size=INVITE_SECRET_BYTES
    )
    if ticket is not None:
        ticket = expect_bytes(ticket, "rel.hello deposit ticket", max_size=MAX_TICKET_BYTES)
        if not ticket:
            raise SchemaError("rel.hello deposit ticket: empty; send nil for no ticket")
    return HelloBody(card=card, invite_secret=invite_secret, deposit_ticket=ticket)


def encode_end(body: EndBody) -> bytes:
    """``[1, reason str <= 200 bytes, ts_ms uint]``; see spec/relationship.md §7.2."""
    return encode([REL_BODY_VERSION, body.reason, body.ts_ms])


def decode_end(data: bytes) -> EndBody:
    """Decode a rel.end body: version 1, a one-line reason of at most 200 bytes, a time."""
    _, reason, ts_ms = _fields(data, "rel.end body", _END_ARITY, MAX_END_BYTES)
    text = expect_str(reason, "rel.end reason", max_bytes=MAX_REASON_BYTES, pattern=REASON_PATTERN)
    return EndBody(reason=text, ts_ms=expect_int(ts_ms, "rel.end ts_ms"))


def _fields(data: bytes, what: str, arity: int, max_bytes: int) -> list[Value]:
    # The version first: a later version may have other fields and must be refused as such.
    fields = expect_array(decode(data, max_bytes=max_bytes), what)
    expect_version(fields, REL_BODY_VERSION, what)
    return expect_array(fields, what, arity=arity)
