"""Support beacons: her call for help about a thing or a relationship, and its thread. Sans-IO.

She raises a beacon ("my bike's gears slip") to peers she chooses: the maker, the seller, friends
who vouch for her. Each answers her; she answers each back; the thread between her and one peer
is theirs alone (a friend does not read the maker's answers). She closes it. The messages travel
in envelopes over CONNECTED relationships, so the envelope's signature says who wrote each line.
See spec/beacons.md.
"""

from __future__ import annotations

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
    expect_version,
)
from amity.protocol.errors import SchemaError, UsageError, WrongTypeError
from amity.protocol.grants import expect_peer
from amity.protocol.identity import PeerId

__all__ = [
    "MSG_RAISE",
    "MSG_ANSWER",
    "MSG_CLOSE",
    "BEACON_TYPES",
    "BEACON_ID_BYTES",
    "MAX_TOPIC_BYTES",
    "MAX_TEXT_BYTES",
    "Raise",
    "Answer",
    "Close",
    "BeaconBody",
    "encode_beacon_body",
    "decode_beacon_body",
]

MSG_RAISE: Final = "beacon.raise"
MSG_ANSWER: Final = "beacon.answer"
MSG_CLOSE: Final = "beacon.close"
BEACON_TYPES: Final = frozenset({MSG_RAISE, MSG_ANSWER, MSG_CLOSE})
BEACON_ID_BYTES: Final = 16
MAX_TOPIC_BYTES: Final = 200
MAX_TEXT_BYTES: Final = 2000
_MAX_BODY_BYTES: Final = 2600
_MAX_MS: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Raise:
    """``[1, beacon_id bin16, topic str, text str, about bin32|nil, raised_ms]``."""

    beacon_id: bytes
    topic: str
    text: str
    #: The peer it is about (a maker, a seller), if any.
    about: PeerId | None
    raised_ms: int


@dataclass(frozen=True, slots=True)
class Answer:
    """``[1, beacon_id bin16, text str, at_ms]``: one line of the thread, either way."""

    beacon_id: bytes
    text: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class Close:
    """``[1, beacon_id bin16, closed_ms]``: she closes the beacon."""

    beacon_id: bytes
    closed_ms: int


BeaconBody = Raise | Answer | Close


def _check_text(text: str, limit: int, what: str, *, empty: bool = False) -> None:
    if (not text and not empty) or len(text.encode()) > limit:
        raise UsageError(f"{what} is 1 to {limit} bytes of text")


def _nonempty(text: str, what: str) -> str:
    if not text:
        raise SchemaError(f"{what}: an empty topic or answer")
    return text


def encode_beacon_body(body: BeaconBody) -> bytes:
    """The body of a ``beacon.*`` envelope; UsageError for what a reader would refuse."""
    if len(body.beacon_id) != BEACON_ID_BYTES:
        raise UsageError(f"a beacon id is {BEACON_ID_BYTES} bytes")
    fields: list[Value]
    if isinstance(body, Raise):
        _check_text(body.topic, MAX_TOPIC_BYTES, "a beacon's topic")
        _check_text(body.text, MAX_TEXT_BYTES, "a beacon's text", empty=True)
        about = None if body.about is None else body.about.key
        fields = [1, body.beacon_id, body.topic, body.text, about, body.raised_ms]
    elif isinstance(body, Answer):
        _check_text(body.text, MAX_TEXT_BYTES, "an answer")
        fields = [1, body.beacon_id, body.text, body.at_ms]
    else:
        fields = [1, body.beacon_id, body.closed_ms]
    return encode(fields)


def decode_beacon_body(message_type: str, data: bytes) -> BeaconBody:
    """Read the body of a ``beacon.*`` envelope of ``message_type``; AmityError on any defect."""
    what = f"{message_type} body"
    if message_type not in BEACON_TYPES:
        raise WrongTypeError(f"{message_type!r:.40} is not a beacon message")
    fields = expect_array(decode(data, max_bytes=_MAX_BODY_BYTES), what)
    expect_version(fields, 1, what)
    if message_type == MSG_RAISE:
        f = expect_array(fields, what, arity=6)
        return Raise(
            expect_bytes(f[1], f"{what} beacon id", size=BEACON_ID_BYTES),
            _nonempty(expect_str(f[2], f"{what} topic", max_bytes=MAX_TOPIC_BYTES), what),
            expect_str(f[3], f"{what} text", max_bytes=MAX_TEXT_BYTES),
            None if f[4] is None else expect_peer(f[4], f"{what} about"),
            expect_int(f[5], f"{what} raised_ms", hi=_MAX_MS),
        )
    if message_type == MSG_ANSWER:
        f = expect_array(fields, what, arity=4)
        return Answer(
            expect_bytes(f[1], f"{what} beacon id", size=BEACON_ID_BYTES),
            _nonempty(expect_str(f[2], f"{what} text", max_bytes=MAX_TEXT_BYTES), what),
            expect_int(f[3], f"{what} at_ms", hi=_MAX_MS),
        )
    f = expect_array(fields, what, arity=3)
    return Close(
        expect_bytes(f[1], f"{what} beacon id", size=BEACON_ID_BYTES),
        expect_int(f[2], f"{what} closed_ms", hi=_MAX_MS),
    )
