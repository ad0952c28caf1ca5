"""Test vectors for spec/encoding.md: the canonical msgpack subset.

Every expected encoding below is written out by hand from the msgpack specification, not produced
by amity's encoder, so the vectors check the code rather than restate it
(tests/protocol/test_encoding.py runs each one).
"""

from __future__ import annotations

from typing import Any

NOTES = (
    "Values are written in a tagged JSON form: {'nil': null}, {'bool': true}, "
    "{'int': '<decimal string>'}, {'str': '<text>'}, {'bin': '<hex>'}, {'array': [<value>, ...]}; "
    "long values use {'str_repeat': ['<text>', n]}, {'bin_repeat': ['<hex>', n]} or "
    "{'array_repeat': [<value>, n]}: the unit repeated n times. Byte strings are '<x>_hex', or for "
    "long ones '<x>_parts': a list to concatenate, each part either {'bytes_hex': h} or "
    "{'repeat_hex': h, 'count': n} (as in envelope.json, spec/vectors/README.md). "
    "A positive vector has 'value' and 'encoded_hex' (or 'encoded_parts'): encoding value gives "
    "exactly those bytes, and decoding them gives back value. A negative decoding vector has "
    "'input_hex' (or 'input_parts') and 'error', the code decoding must raise. A negative "
    "encoding vector has 'value' and 'error' (a local error: the caller broke the rules). Each "
    "negative vector carries exactly one defect (spec/encoding.md §4.2)."
)

U64 = (1 << 64) - 1
I64 = -(1 << 63)


def _int(n: int) -> dict[str, Any]:
    return {"int": str(n)}


def _str(text: str) -> dict[str, Any]:
    return {"str": text}


def _bin(data: bytes) -> dict[str, Any]:
    return {"bin": data.hex()}


def _array(*items: dict[str, Any]) -> dict[str, Any]:
    return {"array": list(items)}


NIL: dict[str, Any] = {"nil": None}


def _bytes_field(stem: str, data: str | list[tuple[str, int]]) -> dict[str, Any]:
    if isinstance(data, str):
        return {f"{stem}_hex": data}
    parts = [
        {"bytes_hex": unit} if count == 1 else {"repeat_hex": unit, "count": count}
        for unit, count in data
    ]
    return {f"{stem}_parts": parts}


def _ok(
    name: str, description: str, value: dict[str, Any], encoded: str | list[tuple[str, int]]
) -> dict[str, Any]:
    vector = {"name": name, "description": description, "value": value}
    vector.update(_bytes_field("encoded", encoded))
    return vector


def _bad(
    name: str, description: str, data: str | list[tuple[str, int]], error: str
) -> dict[str, Any]:
    vector: dict[str, Any] = {"name": name, "description": description}
    vector.update(_bytes_field("input", data))
    vector["error"] = error
    return vector


def _bad_value(name: str, description: str, value: dict[str, Any], error: str) -> dict[str, Any]:
    return {"name": name, "description": description, "value": value, "error": error}


MALFORMED = "encoding.malformed"
NON_CANONICAL = "encoding.non_canonical"
TOO_LARGE = "encoding.too_large"
USAGE = "local.usage"


def _positive() -> list[dict[str, Any]]:
    nested16: dict[str, Any] = _int(1)
    for _ in range(16):
        nested16 = _array(nested16)
    return [
        _ok("nil", "nil is 0xc0", NIL, "c0"),
        _ok("false", "false is 0xc2", {"bool": False}, "c2"),
        _ok("true", "true is 0xc3", {"bool": True}, "c3"),
        # positive fixint, uint8..64
        _ok("int-0", "0 is a positive fixint", _int(0), "00"),
        _ok("int-1", "1 is a positive fixint", _int(1), "01"),
        _ok("int-127", "127, the largest positive fixint", _int(127), "7f"),
        _ok("int-128", "128, the smallest uint8", _int(128), "cc80"),
        _ok("int-255", "255, the largest uint8", _int(255), "ccff"),
        _ok("int-256", "256, the smallest uint16", _int(256), "cd0100"),
        _ok("int-65535", "65535, the largest uint16", _int(65535), "cdffff"),
        _ok("int-65536", "65536, the smallest uint32", _int(65536), "ce00010000"),
        _ok("int-2pow32-minus-1", "2**32-1, the largest uint32", _int(2**32 - 1), "ceffffffff"),
        _ok("int-2pow32", "2**32, the smallest uint64", _int(2**32), "cf0000000100000000"),
        _ok(
            "int-2pow63",
            "2**63 does not fit int64 and is a uint64, as every non-negative int",
            _int(2**63),
            "cf8000000000000000",
        ),
        _ok("int-2pow64-minus-1", "2**64-1, the largest int", _int(U64), "cf" + "ff" * 8),
        # negative fixint, int8..64
        _ok("int-minus-1", "-1 is a negative fixint", _int(-1), "ff"),
        _ok("int-minus-32", "-32, the smallest negative fixint", _int(-32), "e0"),
        _ok("int-minus-33", "-33, the largest int8 that is not a fixint", _int(-33), "d0df"),
        _ok("int-minus-128", "-128, the smallest int8", _int(-128), "d080"),
        _ok("int-minus-129", "-129, the largest int16 that is not an int8", _int(-129), "d1ff7f"),
        _ok("int-minus-32768", "-32768, the smallest int16", _int(-32768), "d18000"),
        _ok("int-minus-32769", "-32769 is an int32", _int(-32769), "d2ffff7fff"),
        _ok("int-minus-2pow31", "-2**31, the smallest int32", _int(-(2**31)), "d280000000"),
        _ok(
            "int-minus-2pow31-minus-1",
            "-2**31-1 is an int64",
            _int(-(2**31) - 1),
            "d3ffffffff7fffffff",
        ),
        _ok("int-minus-2pow63", "-2**63, the smallest int", _int(I64), "d38000000000000000"),
        # str
        _ok("str-empty", "the empty str is fixstr 0xa0", _str(""), "a0"),
        _ok("str-a", "a one-byte str", _str("a"), "a161"),
        _ok("str-31", "31 bytes, the longest fixstr", _str("a" * 31), "bf" + "61" * 31),
        _ok("str-32", "32 bytes, the shortest str8", _str("a" * 32), "d920" + "61" * 32),
        _ok("str-255", "255 bytes, the longest str8", _str("a" * 255), "d9ff" + "61" * 255),
        _ok(
            "str-256",
            "256 bytes, the shortest str16",
            {"str_repeat": ["a", 256]},
            [("da0100", 1), ("61", 256)],
        ),
        _ok(
            "str-65535",
            "65535 bytes, the longest str16",
            {"str_repeat": ["a", 65535]},
            [("daffff", 1), ("61", 65535)],
        ),
        _ok(
            "str-65536",
            "65536 bytes, the longest str allowed and the only str32 length that is canonical",
            {"str_repeat": ["a", 65536]},
            [("db00010000", 1), ("61", 65536)],
        ),
        _ok(
            "str-utf8-multibyte",
            "length prefixes count UTF-8 bytes, not characters: é (2) € (3) 😀 (4)",
            _str("é€😀"),
            "a9c3a9e282acf09f9880",
        ),
        _ok("str-nul", "a str may hold U+0000", _str("a\x00b"), "a3610062"),
        # bin
        _ok("bin-empty", "the empty bin is bin8 of length 0", _bin(b""), "c400"),
        _ok("bin-1", "a one-byte bin", _bin(b"\x00"), "c40100"),
        _ok("bin-255", "255 bytes, the longest bin8", _bin(b"\xab" * 255), "c4ff" + "ab" * 255),
        _ok(
            "bin-256",
            "256 bytes, the shortest bin16",
            {"bin_repeat": ["ab", 256]},
            [("c50100", 1), ("ab", 256)],
        ),
        _ok(
            "bin-65535",
            "65535 bytes, the longest bin16",
            {"bin_repeat": ["ab", 65535]},
            [("c5ffff", 1), ("ab", 65535)],
        ),
        _ok(
            "bin-65536",
            "65536 bytes, the shortest bin32",
            {"bin_repeat": ["ab", 65536]},
            [("c600010000", 1), ("ab", 65536)],
        ),
        # array
        _ok("array-empty", "the empty array is fixarray 0x90", _array(), "90"),
        _ok(
            "array-15",
            "15 elements, the longest fixarray",
            {"array_repeat": [NIL, 15]},
            "9f" + "c0" * 15,
        ),
        _ok(
            "array-16",
            "16 elements, the shortest array16",
            {"array_repeat": [NIL, 16]},
            "dc0010" + "c0" * 16,
        ),
        _ok(
            "array-4096",
            "4096 elements, the longest array allowed (so array32 is never canonical)",
            {"array_repeat": [NIL, 4096]},
            [("dc1000", 1), ("c0", 4096)],
        ),
        _ok(
            "array-mixed",
            "an array holds any mix of allowed types",
            _array(NIL, {"bool": True}, _int(1), _int(-1), _str("a"), _bin(b"\x01")),
            "96c0c301ffa161c40101",
        ),
        _ok(
            "array-nested",
            "arrays nest: [[], [[]], [1, [2]]]",
            _array(_array(), _array(_array()), _array(_int(1), _array(_int(2)))),
            "9390919092019102",
        ),
        _ok(
            "array-depth-16",
            "16 nested arrays, the deepest allowed, and the innermost may hold scalars",
            nested16,
            "91" * 16 + "01",
        ),
        _ok(
            "signed-structure-shape",
            "the shape of every signed structure (§5): [signed_bytes (bin), signature (bin 64)]",
            _array(_bin(bytes.fromhex("9301a161c0")), _bin(b"\x5a" * 64)),
            "92c40593" + "01a161c0" + "c440" + "5a" * 64,
        ),
    ]


def _negative() -> list[dict[str, Any]]:
    return [
        # not msgpack / truncated / trailing
        _bad("empty-input", "no bytes at all", "", MALFORMED),
        _bad("reserved-c1", "0xc1 is never used by msgpack", "c1", MALFORMED),
        _bad("truncated-uint16", "a uint16 missing its last byte", "cd01", MALFORMED),
        _bad("truncated-uint64", "a uint64 missing bytes", "cf00000000", MALFORMED),
        _bad("truncated-str8-header", "str8 without its length byte", "d9", MALFORMED),
        _bad("truncated-str", "a str shorter than its length prefix", "a261", MALFORMED),
        _bad("truncated-bin", "a bin shorter than its length prefix", "c40261", MALFORMED),
        _bad("truncated-array", "an array missing an element", "92c0", MALFORMED),
        _bad("truncated-nested", "the inner array is cut short", "9191", MALFORMED),
        _bad("trailing-byte", "a complete value followed by another byte", "c0c0", MALFORMED),
        _bad("trailing-after-array", "a complete array followed by a byte", "9000", MALFORMED),
        # invalid UTF-8 in str
        _bad("utf8-invalid-byte", "0xff never occurs in UTF-8", "a1ff", MALFORMED),
        _bad("utf8-lone-continuation", "a continuation byte with no lead", "a180", MALFORMED),
        _bad("utf8-overlong", "an overlong encoding of U+0000", "a2c080", MALFORMED),
        _bad(
            "utf8-surrogate",
            "U+D800 encoded as UTF-8 (surrogates are not scalars)",
            "a3eda080",
            MALFORMED,
        ),
        _bad("utf8-beyond-10ffff", "a code point above U+10FFFF", "a4f4908080", MALFORMED),
        _bad("utf8-cut-short", "a multi-byte sequence cut by the str's end", "a2e282", MALFORMED),
        # not the shortest form
        _bad("uint8-for-fixint", "127 as uint8", "cc7f", NON_CANONICAL),
        _bad("uint16-for-uint8", "255 as uint16", "cd00ff", NON_CANONICAL),
        _bad("uint32-for-uint16", "65535 as uint32", "ce0000ffff", NON_CANONICAL),
        _bad("uint64-for-uint32", "2**32-1 as uint64", "cf00000000ffffffff", NON_CANONICAL),
        _bad("uint16-for-fixint", "0 as uint16", "cd0000", NON_CANONICAL),
        _bad("int8-for-negative-fixint", "-1 as int8", "d0ff", NON_CANONICAL),
        _bad("int16-for-int8", "-128 as int16", "d1ff80", NON_CANONICAL),
        _bad("int32-for-int16", "-32768 as int32", "d2ffff8000", NON_CANONICAL),
        _bad("int64-for-int32", "-2**31 as int64", "d3ffffffff80000000", NON_CANONICAL),
        _bad(
            "int8-for-positive",
            "0 as int8: a non-negative int is never signed",
            "d000",
            NON_CANONICAL,
        ),
        _bad(
            "int16-for-uint8",
            "128 as int16: non-negative ints use the uint forms",
            "d10080",
            NON_CANONICAL,
        ),
        _bad("int64-for-uint64", "2**63-1 as int64", "d37fffffffffffffff", NON_CANONICAL),
        _bad("str8-for-fixstr", "'a' as str8", "d90161", NON_CANONICAL),
        _bad("str16-for-str8", "'a' as str16", "da000161", NON_CANONICAL),
        _bad("str32-for-fixstr", "'a' as str32", "db0000000161", NON_CANONICAL),
        _bad(
            "str32-for-str16",
            "65535 bytes as str32",
            [("db0000ffff", 1), ("61", 65535)],
            NON_CANONICAL,
        ),
        _bad("bin16-for-bin8", "one byte as bin16", "c5000161", NON_CANONICAL),
        _bad("bin32-for-bin8", "one byte as bin32", "c60000000161", NON_CANONICAL),
        _bad(
            "bin32-for-bin16",
            "65535 bytes as bin32",
            [("c60000ffff", 1), ("ab", 65535)],
            NON_CANONICAL,
        ),
        _bad("array16-for-fixarray", "[nil] as array16", "dc0001c0", NON_CANONICAL),
        _bad("array32-for-fixarray", "[nil] as array32", "dd00000001c0", NON_CANONICAL),
        _bad("array32-for-array16", "16 nils as array32", "dd00000010" + "c0" * 16, NON_CANONICAL),
        _bad("non-canonical-nested", "a uint8 for 1 deep inside arrays", "9191cc01", NON_CANONICAL),
        # forbidden types
        _bad("map-empty", "maps are forbidden, even empty", "80", NON_CANONICAL),
        _bad("map-str-key", "{'a': 1}", "81a16101", NON_CANONICAL),
        _bad(
            "map-int-key", "{1: 2}: forbidden as a map whatever its keys", "810102", NON_CANONICAL
        ),
        _bad("map-array-key", "{[]: 1}", "819001", NON_CANONICAL),
        _bad("map16-empty", "an empty map16", "de0000", NON_CANONICAL),
        _bad("map32-empty", "an empty map32", "df00000000", NON_CANONICAL),
        _bad("map-in-array", "a map nested inside an array", "9180", NON_CANONICAL),
        _bad("float32", "1.0 as float32", "ca3f800000", NON_CANONICAL),
        _bad("float64", "1.0 as float64", "cb3ff0000000000000", NON_CANONICAL),
        _bad("float64-in-array", "a float inside an array", "91cb0000000000000000", NON_CANONICAL),
        _bad("fixext1", "ext type 5, one byte", "d40500", NON_CANONICAL),
        _bad("fixext2", "ext type 5, two bytes", "d5050000", NON_CANONICAL),
        _bad("fixext16", "ext type 5, sixteen bytes", "d805" + "00" * 16, NON_CANONICAL),
        _bad("ext8", "ext8 type 5, one byte", "c7010500", NON_CANONICAL),
        _bad("ext8-empty", "ext8 type 5 with no payload", "c70005", NON_CANONICAL),
        _bad("ext16", "ext16 type 5, one byte", "c800010500", NON_CANONICAL),
        _bad("ext32", "ext32 type 5, one byte", "c9000000010500", NON_CANONICAL),
        _bad(
            "timestamp32",
            "the msgpack timestamp (ext -1), 32-bit form",
            "d6ff00000000",
            NON_CANONICAL,
        ),
        _bad("timestamp64", "timestamp, 64-bit form", "d7ff0000000000000000", NON_CANONICAL),
        _bad("timestamp96", "timestamp, 96-bit form", "c70cff" + "00" * 12, NON_CANONICAL),
        _bad(
            "timestamp-bad-length",
            "ext -1 with a 5-byte payload (no such timestamp)",
            "c705ff0000000000",
            NON_CANONICAL,
        ),
        _bad("timestamp-empty", "ext -1 with no payload", "c700ff", NON_CANONICAL),
        _bad(
            "timestamp96-bad-nanoseconds",
            "ext -1, 96-bit, nanoseconds >= 10**9",
            "c70cff" + "ffffffff" + "00" * 8,
            NON_CANONICAL,
        ),
        # limits
        _bad(
            "str-65537",
            "one byte over the str limit",
            [("db00010001", 1), ("61", 65537)],
            TOO_LARGE,
        ),
        _bad(
            "array-4097",
            "one element over the array limit",
            [("dc1001", 1), ("c0", 4097)],
            TOO_LARGE,
        ),
        _bad("depth-17", "17 nested arrays", "91" * 16 + "90", TOO_LARGE),
        _bad("depth-17-scalar", "17 nested arrays around a scalar", "91" * 17 + "01", TOO_LARGE),
        _bad(
            "depth-2000", "far deeper nesting than any parser stack", "91" * 2000 + "90", TOO_LARGE
        ),
        _bad(
            "message-over-1mib",
            "a bin32 whose encoding is 5 bytes over the 1 MiB message limit",
            [("c600100000", 1), ("00", 1 << 20)],
            TOO_LARGE,
        ),
    ]


def _encode_negative() -> list[dict[str, Any]]:
    deep: dict[str, Any] = _array()
    for _ in range(16):
        deep = _array(deep)
    return [
        _bad_value("encode-int-2pow64", "2**64 is above the int range", _int(2**64), USAGE),
        _bad_value("encode-int-below-min", "-2**63-1 is below the int range", _int(I64 - 1), USAGE),
        _bad_value("encode-str-65537", "a str over the limit", {"str_repeat": ["a", 65537]}, USAGE),
        _bad_value(
            "encode-array-4097", "an array over the limit", {"array_repeat": [NIL, 4097]}, USAGE
        ),
        _bad_value("encode-depth-17", "17 nested arrays", deep, USAGE),
        _bad_value(
            "encode-over-1mib",
            "a bin whose encoding is over 1 MiB",
            {"bin_repeat": ["00", 1 << 20]},
            USAGE,
        ),
    ]


def build() -> dict[str, Any]:
    vectors = _positive() + _negative() + _encode_negative()
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "Canonical encoding: the strict msgpack subset",
        "spec": "spec/encoding.md",
        "notes": NOTES,
        "vectors": vectors,
    }
