"""Canonical encoding: the strict msgpack subset all signed amity structures use.

One value has exactly one encoding, so a signature is over exactly one byte string. Allowed types:
nil, bool, int (-2**63 .. 2**64-1), bin, str (UTF-8) and arrays of these. No maps, floats or
extension types. Each length prefix and each integer takes its shortest msgpack form. The decoder
rejects anything else with an :class:`~amity.protocol.errors.EncodingError` subclass and nothing
else, whatever the input. Verification always runs on the bytes received: decoding checks that
re-encoding the value reproduces them, it never hands out a re-encoding to sign or verify.
"""

from __future__ import annotations

import re
from typing import Final, TypeAlias, cast

import msgpack

from amity.protocol.errors import (
    MalformedError,
    NonCanonicalError,
    SchemaError,
    TooLargeError,
    UnsupportedVersionError,
    UsageError,
)

__all__ = [
    "Value",
    "MAX_MESSAGE_BYTES",
    "MAX_DEPTH",
    "MAX_ARRAY_LEN",
    "MAX_STR_BYTES",
    "INT_MIN",
    "INT_MAX",
    "encode",
    "decode",
    "decode_array",
    "expect_array",
    "expect_version",
    "expect_bytes",
    "expect_int",
    "expect_str",
    "expect_bool",
    "expect_optional_bytes",
    "utf8_size",
]

Value: TypeAlias = "bool | int | bytes | str | list[Value] | None"

#: Upper bound for any one encoded message; callers pass a smaller limit where they can.
MAX_MESSAGE_BYTES: Final = 1 << 20
#: Arrays nest at most this deep (the outermost array is depth 1).
MAX_DEPTH: Final = 16
#: No array holds more elements than this.
MAX_ARRAY_LEN: Final = 4096
#: No str is longer than this many UTF-8 bytes.
MAX_STR_BYTES: Final = 1 << 16
INT_MIN: Final = -(1 << 63)
INT_MAX: Final = (1 << 64) - 1


def encode(value: Value) -> bytes:
    """Encode ``value`` canonically; raises UsageError for anything outside the subset."""
    _check_value(value, 1)
    try:
        data: bytes = msgpack.packb(value, use_bin_type=True)
    except UnicodeEncodeError:  # a short str the check let through to msgpack
        raise UsageError(_SURROGATE.format(what="str")) from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise UsageError(f"encoded value is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    return data


def decode(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Value:
    """Decode one canonical value that fills ``data`` exactly; see spec/encoding.md §4."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError(f"decode() takes bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise TooLargeError(f"message is {len(data)} bytes; the limit here is {max_bytes}")
    if not data:
        raise MalformedError("empty input: expected one msgpack value")
    try:
        # Maps and ext (timestamps included) are refused as forbidden types wherever they
        # appear, whatever their keys or payload: a zero length limit stops every non-empty
        # one at its header, and the pairs hook catches the empty map.
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=False,
            object_pairs_hook=_refuse_map,
            timestamp=0,
            max_str_len=MAX_STR_BYTES,
            max_bin_len=max_bytes,
            max_array_len=MAX_ARRAY_LEN,
            max_map_len=0,
            max_ext_len=0,
        )
    except UnicodeDecodeError as exc:
        raise MalformedError(f"str is not valid UTF-8 ({exc.reason})") from None
    except msgpack.ExtraData:
        raise MalformedError("trailing bytes after the value") from None
    except msgpack.StackError:
        raise TooLargeError(f"nesting deeper than {MAX_DEPTH}") from None
    except (ValueError, OverflowError) as exc:
        # msgpack reports truncation, reserved bytes and exceeded limits as ValueError kinds.
        text = str(exc)
        if any(mark in text for mark in _FORBIDDEN_TYPE_MARKS):
            raise NonCanonicalError(
                "maps and ext types are not allowed in the canonical subset"
            ) from None
        if "exceeds max" in text:
            raise TooLargeError(f"a field exceeds its limit: {text}") from None
        raise MalformedError(f"not a msgpack value: {text or type(exc).__name__}") from None
    _check_decoded(value, 1)
    checked: Value = value
    # The one canonical form: re-encoding must give back exactly the bytes received.
    if msgpack.packb(value, use_bin_type=True) != data:
        raise NonCanonicalError("value is not in its canonical (shortest) msgpack form")
    return checked


def decode_array(
    data: bytes, arity: int, what: str, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> list[Value]:
    """Decode a fixed-position array of exactly ``arity`` elements (a signed structure's shape)."""
    return expect_array(decode(data, max_bytes=max_bytes), what, arity=arity)


#: msgpack's messages for a map or ext header (max_map_len / max_ext_len are 0) and for an
#: ext -1 it could not read as a timestamp; the encoding vectors pin these down.
_FORBIDDEN_TYPE_MARKS: Final = ("max_map_len(", "max_ext_len(", "invalid timestamp")


def _refuse_map(pairs: object) -> None:
    raise NonCanonicalError("a map is not allowed in the canonical subset; use a fixed array")


_LEAF_TYPES: Final = frozenset({type(None), bool, bytes})
#: A str of at most this many characters cannot exceed MAX_STR_BYTES in UTF-8 (4 bytes a
#: character at most): its size needs no check, and msgpack finds a lone surrogate in it.
_SHORT_STR: Final = MAX_STR_BYTES // 4


_SURROGATE: Final = "{what} holds a lone surrogate and cannot be UTF-8"


def utf8_size(text: str, what: str) -> int:
    """``text``'s size in UTF-8 bytes; UsageError naming ``what`` if it holds a lone surrogate."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UsageError(_SURROGATE.format(what=what)) from None


def _check_value(value: object, depth: int) -> None:
    """What :func:`encode` refuses, as UsageError: anything outside the subset."""
    if isinstance(value, list):  # first: what encode() is given is nearly always an array
        # Only arrays count towards the depth: 16 nested arrays may still hold scalars.
        if depth > MAX_DEPTH:
            raise UsageError(f"arrays nested deeper than {MAX_DEPTH}")
        if len(value) > MAX_ARRAY_LEN:
            raise UsageError(f"array of {len(value)} elements; limit {MAX_ARRAY_LEN}")
        for item in value:
            item_type = type(item)
            # Fast path for the common leaves (exact types; subclasses take the full check).
            if item_type in _LEAF_TYPES or (item_type is str and len(item) <= _SHORT_STR):
                continue
            if item_type is int and INT_MIN <= item <= INT_MAX:
                continue
            _check_value(item, depth + 1)
        return
    if value is None or isinstance(value, bool | bytes):
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise UsageError(f"integer {value} outside the 64-bit range")
        return
    if isinstance(value, str):
        size = utf8_size(value, "str")
        if size > MAX_STR_BYTES:
            raise UsageError(f"str of {size} bytes; the limit is {MAX_STR_BYTES}")
        return
    raise UsageError(f"{_kind_name(value)} is not allowed in the canonical subset")


def _check_decoded(value: object, depth: int) -> None:
    """What :func:`decode` refuses beyond msgpack's own limits: other types, deep nesting.

    msgpack.unpackb, as called there, gives only nil, bool, int in INT_MIN..INT_MAX, float, bin,
    str, arrays of at most MAX_ARRAY_LEN elements and (for an empty ext) an ExtType.
    """
    value_type = type(value)
    if value_type is list:
        # Only arrays count towards the depth: 16 nested arrays may still hold scalars.
        if depth > MAX_DEPTH:
            raise TooLargeError(f"arrays nested deeper than {MAX_DEPTH}")
        for item in cast("list[object]", value):
            item_type = type(item)
            if item_type is list or item_type not in _DECODED_LEAF_TYPES:
                _check_decoded(item, depth + 1)
    elif value_type not in _DECODED_LEAF_TYPES:
        raise NonCanonicalError(f"{_kind_name(value)} is not allowed in the canonical subset")


_DECODED_LEAF_TYPES: Final = frozenset({type(None), bool, int, bytes, str})


def _kind_name(value: object) -> str:
    return {dict: "map", float: "float", tuple: "tuple"}.get(type(value), type(value).__name__)


# -- schema checks: turn decoded values into typed fields, with SchemaError on any mismatch --------


def expect_array(
    value: Value, what: str, *, arity: int | None = None, max_len: int = MAX_ARRAY_LEN
) -> list[Value]:
    """``value`` as an array (of exactly ``arity`` elements when given)."""
    if not isinstance(value, list):
        raise SchemaError(f"{what}: expected an array, got {_kind(value)}")
    if arity is not None and len(value) != arity:
        raise SchemaError(f"{what}: expected {arity} fields, got {len(value)}")
    if len(value) > max_len:
        raise TooLargeError(f"{what}: {len(value)} elements; the limit is {max_len}")
    return value


def expect_version(fields: list[Value], version: int, what: str) -> None:
    """Field 0 must be the int ``version``, read before the arity (spec/encoding.md §5.4).

    A missing field 0, a bool (msgpack ``true`` is not 1, though ``True == 1`` in Python), a str
    or any other int is ``version.unsupported``, with the code as hint: never a schema error.
    """
    found = fields[0] if fields else None
    if isinstance(found, bool) or not isinstance(found, int) or found != version:
        shown = "missing" if not fields else repr(found)[:20]
        raise UnsupportedVersionError(
            f"{what} version {shown}; this node speaks {version}",
            hint=UnsupportedVersionError.code,
        )


def expect_bytes(
    value: Value, what: str, *, size: int | None = None, max_size: int | None = None
) -> bytes:
    """``value`` as bin, of exactly ``size`` bytes or at most ``max_size`` bytes."""
    if not isinstance(value, bytes):
        raise SchemaError(f"{what}: expected bin, got {_kind(value)}")
    if size is not None and len(value) != size:
        raise SchemaError(f"{what}: expected {size} bytes, got {len(value)}")
    if max_size is not None and len(value) > max_size:
        raise TooLargeError(f"{what}: {len(value)} bytes; the limit is {max_size}")
    return value


def expect_optional_bytes(value: Value, what: str, *, size: int) -> bytes | None:
    """``value`` as nil or bin of exactly ``size`` bytes."""
    return None if value is None else expect_bytes(value, what, size=size)


def expect_int(value: Value, what: str, *, lo: int = 0, hi: int = INT_MAX) -> int:
    """``value`` as an int in ``lo..hi`` inclusive (bool is not an int here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{what}: expected int, got {_kind(value)}")
    if not lo <= value <= hi:
        raise SchemaError(f"{what}: {value} is outside {lo}..{hi}")
    return value


def expect_bool(value: Value, what: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(f"{what}: expected bool, got {_kind(value)}")
    return value


def expect_str(
    value: Value, what: str, *, max_bytes: int, pattern: re.Pattern[str] | None = None
) -> str:
    """``value`` as a str of at most ``max_bytes`` UTF-8 bytes, matching ``pattern`` if given."""
    if not isinstance(value, str):
        raise SchemaError(f"{what}: expected str, got {_kind(value)}")
    if len(value) > max_bytes or len(value.encode("utf-8")) > max_bytes:
        raise TooLargeError(f"{what}: longer than {max_bytes} bytes")
    if pattern is not None and not pattern.fullmatch(value):
        raise SchemaError(f"{what}: {value!r} does not match {pattern.pattern}")
    return value


def _kind(value: Value) -> str:
    names = {type(None): "nil", bool: "bool", int: "int", bytes: "bin", str: "str", list: "array"}
    return names.get(type(value), type(value).__name__)
