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
    fields = expect_array(decode(body, max_bytes=MAX_NOTE_BYTES + 64), "note")
    expect_version(fields, _VERSION, "note")  # before the arity, as for every body
    _, text = expect_array(fields, "note", arity=2)
    return expect_str(text, "note text", max_bytes=MAX_NOTE_BYTES)
