"""Notes: short signed text messages between two peers in a relationship (``msg.note``).

The simplest message a person and a vendor can exchange ("my order number is …"); it also
exercises the whole path (outbox, envelope, session or relay, replay guard, inbox, ack).
Body: canonical ``[version=1, text]`` with text a str of at most 4096 UTF-8 bytes.
See spec/link.md §5.
"""

from __future__ import annotations

from typing import Final

from amity.protocol.encoding import decode, encode, expect_array, expect_str, expect_version
from amity.protocol.errors import UsageError

__all__ = ["MSG_NOTE", "MAX_NOTE_BYTES", "encode_note", "decode_note"]

MSG_NOTE: Final = "msg.note"
MAX_NOTE_BYTES: Final = 4096
_VERSION: Final = 1


def encode_note(text: str) -> bytes:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise UsageError(f"a note is at most {MAX_NOTE_BYTES} bytes of UTF-8")
    return encode([_VERSION, text])


def decode_note(body: bytes) -> str:
    text = _text_if_canonical(body)
    # Not the one layout a valid note has: the generic decoder names what is wrong.
    return _decode(body) if text is None else text


def _decode(body: bytes) -> str:
    fields = expect_array(decode(body, max_bytes=MAX_NOTE_BYTES + 64), "note")
    expect_version(fields, _VERSION, "note")  # before the arity, as for every body
    _, text = expect_array(fields, "note", arity=2)
    return expect_str(text, "note text", max_bytes=MAX_NOTE_BYTES)


#: ``[1, text]`` in canonical msgpack starts with these two bytes, then text's str header.
_HEAD: Final = bytes([0x92, _VERSION])


def _text_if_canonical(body: bytes) -> str | None:
    """The text of a note in its one canonical layout, read in one step; None for anything else
    (which the generic decoder then refuses or reads; the fuzz tests hold the two equal)."""
    if type(body) is not bytes or body[:2] != _HEAD or len(body) < 3:
        return None
    head = body[2]
    if 0xA0 <= head <= 0xBF:
        start, size = 3, head - 0xA0
    elif head == 0xD9 and len(body) >= 4 and body[3] >= 32:
        start, size = 4, body[3]
    elif head == 0xDA and len(body) >= 5:
        start, size = 5, int.from_bytes(body[3:5], "big")
        if size < 1 << 8:
            return None
    else:
        return None
    if start + size != len(body) or size > MAX_NOTE_BYTES:
        return None
    try:
        return body[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None
