"""msg.note bodies (protocol/notes.py): the version rule of spec/encoding.md §5.4."""

from __future__ import annotations

import pytest

from amity.protocol.encoding import Value, encode
from amity.protocol.errors import AmityError
from amity.protocol.notes import decode_note, encode_note


def test_note_round_trip() -> None:
    assert decode_note(encode_note("order 42")) == "order 42"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([2], "version.unsupported"),  # a later version with other fields: version before arity
        ([2, "hi", None], "version.unsupported"),
        ([], "version.unsupported"),
        ([True, "hi"], "version.unsupported"),
        (["1", "hi"], "version.unsupported"),
        ([1, "hi", None], "encoding.schema"),
        ("hi", "encoding.schema"),
    ],
    ids=repr,
)
def test_note_refusals(body: Value, code: str) -> None:
    with pytest.raises(AmityError) as excinfo:
        decode_note(encode(body))
    assert excinfo.value.code == code
