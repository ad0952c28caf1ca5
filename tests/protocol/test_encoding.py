"""The canonical encoding against spec/encoding.md and vectors/encoding.json."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol import encoding
from amity.protocol.encoding import (
    INT_MAX,
    INT_MIN,
    MAX_ARRAY_LEN,
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_STR_BYTES,
    Value,
    decode,
    decode_array,
    encode,
    expect_array,
    expect_bool,
    expect_bytes,
    expect_int,
    expect_optional_bytes,
    expect_str,
    expect_version,
)
from amity.protocol.errors import (
    AmityError,
    EncodingError,
    LocalError,
    NonCanonicalError,
    RemoteError,
    SchemaError,
    TooLargeError,
    UsageError,
)
from tests.strategies import arbitrary_bytes, encoded_values, mutated, values
from tests.vectors import vector_bytes, vector_cases

SPEC = Path(__file__).resolve().parents[2] / "spec" / "encoding.md"


# -- reading the vectors' JSON conventions (see the file's "notes") -------------------------------


def tagged(node: dict[str, Any]) -> Value:
    """The value a tagged JSON value ({'int': '5'}, {'array': [...]}, ...) stands for."""
    ((tag, body),) = node.items()
    if tag == "nil":
        assert body is None
        return None
    if tag == "bool":
        assert isinstance(body, bool)
        return body
    if tag == "int":
        return int(body)
    if tag == "str":
        return str(body)
    if tag == "str_repeat":
        return str(body[0]) * int(body[1])
    if tag == "bin":
        return bytes.fromhex(body)
    if tag == "bin_repeat":
        return bytes.fromhex(body[0]) * int(body[1])
    if tag == "array":
        return [tagged(item) for item in body]
    if tag == "array_repeat":
        return [tagged(body[0]) for _ in range(int(body[1]))]
    raise AssertionError(f"unknown tag {tag!r} in encoding.json")


def same(a: object, b: object) -> bool:
    """Equality that tells bool from int (``True == 1`` in Python, not in the encoding)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def assert_refused_as_remote(data: bytes) -> None:
    """Decoding ``data`` either fails with an EncodingError or returns its canonical value."""
    try:
        value = decode(data)
    except EncodingError:
        return
    assert encode(value) == data


# -- vectors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **vector_cases("encoding", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    value = tagged(vector["value"])
    data = vector_bytes(vector, "encoded")
    assert encode(value) == data
    assert same(decode(data), value)


@pytest.mark.parametrize("vector", **vector_cases("encoding", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        if "value" in vector:
            encode(tagged(vector["value"]))
        else:
            decode(vector_bytes(vector, "input"))
    assert excinfo.value.code == vector["error"], excinfo.value
    # Bad input from a peer is a remote error; a bad value from our caller is a local one.
    expected = LocalError if "value" in vector else RemoteError
    assert isinstance(excinfo.value, expected)


def test_vectors_cover_every_decoding_code() -> None:
    codes = {v["error"] for v in vector_cases("encoding", error=True)["argvalues"]}
    assert {"encoding.malformed", "encoding.non_canonical", "encoding.too_large"} <= codes


def test_spec_limits_match_the_code() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for name, value in [
        ("MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES),
        ("MAX_STR_BYTES", MAX_STR_BYTES),
        ("MAX_ARRAY_LEN", MAX_ARRAY_LEN),
        ("MAX_DEPTH", MAX_DEPTH),
    ]:
        assert re.search(rf"\| `{name}` \| {value}\b", text), f"spec/encoding.md §4.1: {name}"


# -- properties -----------------------------------------------------------------------------------


@settings(max_examples=400)
@given(values(max_depth=4))
def test_round_trip(value: Value) -> None:
    data = encode(value)
    assert same(decode(data), value)
    assert encode(decode(data)) == data


@settings(max_examples=50)
@given(values(max_depth=MAX_DEPTH, max_len=2))
def test_round_trip_deep(value: Value) -> None:
    assert same(decode(encode(value)), value)


@settings(max_examples=300)
@given(st.integers(INT_MIN, INT_MAX))
def test_int_takes_the_shortest_form(n: int) -> None:
    data = encode(n)
    if 0 <= n <= 127 or -32 <= n < 0:
        assert len(data) == 1
    else:
        payload = len(data) - 1
        assert payload in (1, 2, 4, 8)
        assert data[0] in ((0xCC, 0xCD, 0xCE, 0xCF) if n >= 0 else (0xD0, 0xD1, 0xD2, 0xD3))
        # no shorter payload of the same signedness would hold n
        if payload > 1:
            half = payload // 2 * 8
            limit = (1 << half) - 1 if n >= 0 else -(1 << (half - 1))
            assert (n > limit) if n >= 0 else (n < limit)


@settings(max_examples=500)
@given(arbitrary_bytes(max_size=48))
def test_decode_arbitrary_bytes_raises_only_encoding_errors(data: bytes) -> None:
    assert_refused_as_remote(data)


@settings(max_examples=500)
@given(mutated(encoded_values(max_depth=3)))
def test_decode_mutated_encodings_raises_only_encoding_errors(data: bytes) -> None:
    assert_refused_as_remote(data)


@settings(max_examples=200)
@given(encoded_values(max_depth=3), st.data())
def test_every_strict_prefix_is_malformed_or_too_large(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(data) - 1))
    with pytest.raises(EncodingError) as excinfo:
        decode(data[:cut])
    assert excinfo.value.code in ("encoding.malformed", "encoding.too_large")


@settings(max_examples=200)
@given(encoded_values(max_depth=3), st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_refused(data: bytes, extra: bytes) -> None:
    with pytest.raises(EncodingError) as excinfo:
        decode(data + extra)
    assert excinfo.value.code == "encoding.malformed"


# -- decode and encode edges ----------------------------------------------------------------------


def test_decode_takes_bytes_like() -> None:
    assert decode(bytearray(b"\x91\x01")) == [1]
    assert decode(memoryview(b"\xc3")) is True


def test_decode_refuses_non_bytes_as_local_error() -> None:
    with pytest.raises(UsageError):
        decode("c0")  # type: ignore[arg-type]


def test_decode_max_bytes_is_checked_before_parsing() -> None:
    data = encode([b"x" * 100])
    assert decode(data, max_bytes=len(data)) == [b"x" * 100]
    with pytest.raises(TooLargeError):
        decode(data, max_bytes=len(data) - 1)
    # even garbage is refused for its size first
    with pytest.raises(TooLargeError):
        decode(b"\xc1" * 10, max_bytes=9)


@pytest.mark.parametrize(
    "value",
    [1.0, {"a": 1}, (1, 2), bytearray(b"x"), object(), "\ud800", [[1.5]]],
    ids=["float", "dict", "tuple", "bytearray", "object", "lone-surrogate", "nested-float"],
)
def test_encode_refuses_values_outside_the_subset(value: object) -> None:
    with pytest.raises(UsageError):
        encode(value)  # type: ignore[arg-type]


def test_array_depth_counts_arrays_only() -> None:
    value: Value = "leaf"
    for _ in range(MAX_DEPTH):
        value = [value]
    assert decode(encode(value)) == value
    with pytest.raises(UsageError):
        encode([value])
    with pytest.raises(TooLargeError):
        decode(b"\x91" + encode(value))


def test_map_is_refused_before_its_contents_are_read() -> None:
    # A map header promising more entries than exist is still a forbidden type, not truncation.
    with pytest.raises(NonCanonicalError):
        decode(b"\xdf\xff\xff\xff\xff")


# -- schema helpers -------------------------------------------------------------------------------


def test_decode_array_checks_arity() -> None:
    data = encode([1, b"", "x"])
    assert decode_array(data, 3, "thing") == [1, b"", "x"]
    with pytest.raises(SchemaError):
        decode_array(data, 2, "thing")
    with pytest.raises(SchemaError):
        decode_array(encode(1), 1, "thing")


def test_expect_int_refuses_bool_and_out_of_range() -> None:
    assert expect_int(5, "n") == 5
    with pytest.raises(SchemaError):
        expect_int(True, "n")
    with pytest.raises(SchemaError):
        expect_int(-1, "n")
    with pytest.raises(SchemaError):
        expect_int(11, "n", lo=0, hi=10)
    assert expect_int(-5, "n", lo=-10) == -5


def test_expect_bool_refuses_int() -> None:
    assert expect_bool(False, "b") is False
    with pytest.raises(SchemaError):
        expect_bool(0, "b")


def test_expect_bytes_sizes() -> None:
    assert expect_bytes(b"ab", "x", size=2) == b"ab"
    with pytest.raises(SchemaError):
        expect_bytes(b"ab", "x", size=3)
    with pytest.raises(TooLargeError):
        expect_bytes(b"abc", "x", max_size=2)
    with pytest.raises(SchemaError):
        expect_bytes("ab", "x")
    assert expect_optional_bytes(None, "x", size=2) is None
    with pytest.raises(SchemaError):
        expect_optional_bytes(b"a", "x", size=2)


def test_expect_str_limits_utf8_bytes_and_pattern() -> None:
    assert expect_str("ab", "s", max_bytes=2) == "ab"
    with pytest.raises(TooLargeError):
        expect_str("é", "s", max_bytes=1)  # one character, two bytes
    with pytest.raises(SchemaError):
        expect_str("AB", "s", max_bytes=8, pattern=re.compile("[a-z]+"))
    with pytest.raises(SchemaError):
        expect_str(b"ab", "s", max_bytes=8)


def test_expect_array_limits() -> None:
    assert expect_array([1, 2], "a", arity=2) == [1, 2]
    with pytest.raises(TooLargeError):
        expect_array([1, 2, 3], "a", max_len=2)
    with pytest.raises(SchemaError):
        expect_array(b"", "a")


def test_public_names() -> None:
    for name in encoding.__all__:
        assert hasattr(encoding, name), name


# -- the version of any versioned structure (spec/encoding.md §5.4) --------------------------------


@pytest.mark.parametrize(
    "fields",
    [[], [True], [False], ["1"], [None], [b"\x01"], [[1]], [2], [0], [-1], [2**64 - 1]],
    ids=repr,
)
def test_expect_version_refuses_anything_but_the_int(fields: list[Value]) -> None:
    with pytest.raises(AmityError) as excinfo:
        expect_version(fields, 1, "thing")
    assert excinfo.value.code == "version.unsupported"
    assert excinfo.value.hint == "version.unsupported"


def test_expect_version_ignores_the_arity() -> None:
    expect_version([1], 1, "thing")
    expect_version([1, 2, 3, 4, 5], 1, "thing")
