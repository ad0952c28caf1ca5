"""Test vectors for spec/beacons.md: the three message bodies, and a negative vector for each
refusal the body reader makes.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.beacons import (
    MSG_ANSWER,
    MSG_CLOSE,
    MSG_RAISE,
    Answer,
    Close,
    Raise,
    decode_beacon_body,
    encode_beacon_body,
)
from amity.protocol.encoding import Value, encode
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity

T0 = 1_767_225_600_000
BEACON_ID = bytes(range(16))
MAKER = SigningIdentity(bytes.fromhex("5e11e2" + "00" * 27 + "5e11")).peer_id
NOTES = (
    "operation 'body': decode_beacon_body(type, body_hex) gives the fields shown; encoding them "
    "gives body_hex back. Negative vectors: decoding raises `error`."
)


def _good(name: str, description: str, msg: str, body: Raise | Answer | Close) -> dict[str, Any]:
    data = encode_beacon_body(body)
    assert decode_beacon_body(msg, data) == body
    fields: dict[str, Any] = {"beacon_id_hex": body.beacon_id.hex()}
    if isinstance(body, Raise):
        fields |= {"topic": body.topic, "text": body.text, "raised_ms": body.raised_ms,
                   "about_hex": None if body.about is None else body.about.key.hex()}  # fmt: skip
    elif isinstance(body, Answer):
        fields |= {"text": body.text, "at_ms": body.at_ms}
    else:
        fields |= {"closed_ms": body.closed_ms}
    return {"name": name, "description": description, "operation": "body", "type": msg,
            "body_hex": data.hex(), **fields}  # fmt: skip


def _bad(name: str, description: str, msg: str, fields: list[Value], error: str) -> dict[str, Any]:
    data = encode(fields)
    try:
        decode_beacon_body(msg, data)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, "operation": "body", "type": msg,
            "body_hex": data.hex(), "error": error}  # fmt: skip


def build() -> dict[str, Any]:
    vectors = [
        _good("raise", "A beacon about the maker, with details.", MSG_RAISE,
              Raise(BEACON_ID, "my bike's gears slip", "Third gear jumps under load.", MAKER, T0)),
        _good("raise-plain", "A topic only, about nobody in particular.", MSG_RAISE,
              Raise(BEACON_ID, "where to recycle an old bike?", "", None, T0)),
        _good("answer", "A line of a thread.", MSG_ANSWER,
              Answer(BEACON_ID, "Bring it in: we adjust it for free.", T0 + 60_000)),
        _good("close", "She closes it.", MSG_CLOSE, Close(BEACON_ID, T0 + 3_600_000)),
        _bad("raise-empty-topic", "An empty topic.", MSG_RAISE,
             [1, BEACON_ID, "", "", None, T0], "encoding.schema"),
        _bad("raise-long-topic", "A topic past 200 bytes.", MSG_RAISE,
             [1, BEACON_ID, "x" * 201, "", None, T0], "encoding.too_large"),
        _bad("raise-short-id", "A beacon id of 15 bytes.", MSG_RAISE,
             [1, BEACON_ID[:15], "t", "", None, T0], "encoding.schema"),
        _bad("answer-empty", "An empty answer.", MSG_ANSWER, [1, BEACON_ID, "", T0],
             "encoding.schema"),
        _bad("answer-arity", "An answer with a field too many.", MSG_ANSWER,
             [1, BEACON_ID, "t", T0, 0], "encoding.schema"),
        _bad("close-version-2", "A version this reader does not speak.", MSG_CLOSE,
             [2, BEACON_ID, T0], "version.unsupported"),
    ]  # fmt: skip
    return {"title": "Support beacons", "spec": "spec/beacons.md", "notes": NOTES,
            "vectors": vectors}  # fmt: skip
