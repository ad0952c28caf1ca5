"""msg.note bodies (protocol/notes.py): the version rule of spec/encoding.md §5.4."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.encoding import Value, encode
from amity.protocol.errors import AmityError, UsageError
from amity.protocol.notes import _decode, _text_if_canonical, decode_note, encode_note
from tests.strategies import mutated


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


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.text(min_size=1000, max_size=1400))
def test_the_fast_path_reads_every_valid_note(text: str) -> None:
    try:
        body = encode_note(text)
    except UsageError:  # a lone surrogate, or too long: never a valid note
        return
    assert _text_if_canonical(body) == _decode(body) == text


@settings(max_examples=500, deadline=None)
@given(mutated(st.builds(encode_note, st.text(max_size=40))) | st.binary(max_size=60))
def test_the_fast_path_agrees_with_the_generic_decoder(body: bytes) -> None:
    fast = _text_if_canonical(body)
    try:
        text = _decode(body)
    except AmityError:
        assert fast is None  # what the generic decoder refuses, the fast path leaves to it
        return
    assert fast is None or fast == text
