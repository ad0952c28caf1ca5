"""Seeded mutations of valid inputs: the input generator of the decoder fuzz run.

Pure random bytes mostly fail a decoder's first check, so most inputs here start from a valid (or
nearly valid) encoding taken from the spec vectors and change it a little: bytes (flip, set, cut,
insert, splice, deepen) or, when the input is canonical msgpack, one value inside it (retype, grow,
shrink, nest), also inside bins that hold encodings of their own (signed parts, embedded terms).
Everything is drawn from one ``random.Random``, so a seed gives the same inputs on every machine.
Text decoders (did:key, card URIs, policy TOML) get the same treatment on characters.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from amity.protocol.encoding import INT_MAX, INT_MIN, MAX_DEPTH, Value, decode, encode
from amity.protocol.errors import AmityError

__all__ = ["mutate_bytes", "mutate_text", "mutate_value", "random_value"]

_Sized = TypeVar("_Sized", bytes, str)

#: msgpack format bytes: where a decoder's length and type handling is tested.
_FORMAT_BYTES = (
    0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6,
    0xC7, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD3, 0xD4, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD,
    0xDE, 0xDF, 0xE0, 0xFF,
)  # fmt: skip
#: Lengths at which a field's size check flips (keys, tags, nonces, ids, signatures).
_SIZES = (0, 1, 2, 15, 16, 17, 23, 24, 25, 31, 32, 33, 63, 64, 65, 255, 256, 4097)
#: Sizes of the larger limits (field, reason, terms, body, envelope, session message).
_BIG_SIZES = (200, 201, 4096, 4097, 4200, 16384, 16385, 65535, 65536, 262144, 262145)
_INTS = (
    0, 1, 2, 7, 8, 127, 128, 255, 256, 65535, 65536, 2**31, 2**32 - 1, 2**32, 2**48, 2**53,
    2**63 - 1, 2**63, INT_MAX, -1, -32, -33, -128, -129, -(2**31), INT_MIN,
)  # fmt: skip
_STRS = (
    "", "a", "amity.no-tracking", "email", "1", "\x00", "\n", "\x1b[2J", "\u0085", "\u202e",
    "é", "\U0001f600", "did:key:z6Mk", "x" * 65, "é" * 2049,
    # values the vocabularies give meaning to: dates, addresses, codes, names, types
    "2026-02-29", "2024-02-29", "0000-01-01", "9999-12-31", "1979-13-01", "+491701234567", "+0",
    "a@b.c", "a@b", "DE", "XK", "de", "birth-date", "age-over", "country-of", "postal-address",
    "phone", "preferences", "text", "delivery", "any", "json", "none", "aggregate-only",
    "honoured", "breached", "terms.offer", "rel.end", "mail.note", "grant.deliver", "routine",
    "compromised", "order-fulfilment", "amity.delete-on-end", "amity.purpose-limitation",
)  # fmt: skip
_TEXT_TOKENS = (
    "[", "]", "{", "}", "=", '"', "'", '"""', "'''", "\n", "\r\n", "#", ".", ",", "\\", "\\u0000",
    "\x00", "\t", " ", "1", "-1", "0x1F", "1e400", "inf", "nan", "99999999999999999999999",
    "true", "1979-05-27T07:32:00Z", "clause", "action", "within", "counter", "min", "max",
    "include", "one_of", "version", "vocabulary", "default", "amity.delete-on-end", "%", "&",
    "?", "/", ":", "@", "é", "\U0001f600", "\udcff", "z", "6Mk", "amity:", "card=", "1" * 40,
)  # fmt: skip


def mutate_bytes(rng: random.Random, corpus: Sequence[bytes]) -> bytes:
    """One fuzz input: usually a corpus entry changed 1-4 times, sometimes fresh random bytes."""
    roll = rng.random()
    if roll < 0.05 or not corpus:
        return rng.randbytes(rng.choice((0, 1, 2, 3, 8, 33, 64, 300)))
    data = rng.choice(corpus)
    if roll < 0.6:
        try:
            return mutate_value(rng, data)
        except AmityError:  # not canonical msgpack: change its bytes instead
            pass
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        data = _byte_mutation(rng, data, corpus)
    return data


def _byte_mutation(rng: random.Random, data: bytes, corpus: Sequence[bytes]) -> bytes:
    at = rng.randrange(len(data) + 1)
    op = rng.randrange(11)
    if op == 0 and data:  # flip one bit
        out = bytearray(data)
        out[at % len(data)] ^= 1 << rng.randrange(8)
        return bytes(out)
    if op == 1 and data:  # a format byte where another byte was
        out = bytearray(data)
        out[at % len(data)] = rng.choice(_FORMAT_BYTES)
        return bytes(out)
    if op == 2:  # an extreme big-endian number over the bytes at ``at``
        width = rng.choice((1, 2, 4, 8))
        fill = rng.choice((b"\x00", b"\xff", b"\x7f", b"\x80"))
        return data[:at] + fill * width + data[at + width :]
    if op == 3:  # cut
        return data[:at]
    if op == 4:  # delete a range
        return data[:at] + data[at + rng.randint(1, 8) :]
    if op == 5:  # insert random bytes
        return data[:at] + rng.randbytes(rng.randint(1, 8)) + data[at:]
    if op == 6 and data:  # repeat a range
        end = min(len(data), at + rng.randint(1, 32))
        return data[:end] + data[at:end] + data[end:]
    if op == 7:  # splice: this one's head, another one's tail
        other = rng.choice(corpus)
        return data[:at] + other[rng.randrange(len(other) + 1) :]
    if op == 8:  # nest: arrays of one, deep (past MAX_DEPTH sometimes)
        return data[:at] + b"\x91" * rng.randint(1, MAX_DEPTH + 4) + data[at:]
    if op == 9:  # a huge length header
        header = rng.choice((b"\xc6", b"\xdb", b"\xdd", b"\xdf", b"\xc5", b"\xdc"))
        return data[:at] + header + b"\xff" * rng.randint(2, 4) + data[at:]
    return data + rng.randbytes(rng.randint(1, 4))


# -- values ----------------------------------------------------------------------------------------


def random_value(rng: random.Random, depth: int = 0) -> Value:
    """A value of any type the encoding allows, small, with boundary sizes and numbers favoured."""
    kind = rng.randrange(7 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice(_INTS) if rng.random() < 0.8 else rng.randint(INT_MIN, INT_MAX)
    if kind == 3:
        return rng.randbytes(rng.choice(_SIZES))
    if kind == 4:
        return rng.choice(_STRS)
    if kind == 5:
        return "".join(chr(rng.randrange(0x20, 0x250)) for _ in range(rng.randrange(12)))
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def mutate_value(rng: random.Random, data: bytes) -> bytes:
    """``data`` decoded, one value inside it changed, encoded again (AmityError: not canonical)."""
    value = decode(data)
    return bytes(encode(_mutate_tree(rng, value, 0)))


def _mutate_tree(rng: random.Random, value: Value, depth: int) -> Value:
    """Change one node: walk down a random path, then replace, grow, shrink or nest."""
    if isinstance(value, list) and value and rng.random() < 0.75:
        index = rng.randrange(len(value))
        out = list(value)
        out[index] = _mutate_tree(rng, value[index], depth + 1)
        return out
    # A bin that holds an encoding of its own: change what is inside (most of the time).
    if isinstance(value, bytes) and _holds_array(value) and rng.random() < 0.8:
        try:
            return mutate_value(rng, value)
        except AmityError:
            pass
    return _change(rng, value, depth)


def _holds_array(value: Value) -> bool:
    return (
        isinstance(value, bytes)
        and value[:1] != b""
        and (0x90 <= value[0] <= 0x9F or value[0] == 0xDC)
    )


def _resize(rng: random.Random, value: _Sized, filler: _Sized) -> _Sized:
    if rng.random() < 0.1:  # right at, or one past, a size limit somewhere
        return (value or filler)[:1] * rng.choice(_BIG_SIZES)
    cut = rng.randrange(len(value) + 1)
    return value[:cut] if rng.random() < 0.5 else value + value[:cut] * rng.randint(1, 3)


def _change(rng: random.Random, value: Value, depth: int) -> Value:
    op = rng.randrange(8)
    if op == 0 or depth >= MAX_DEPTH:
        return random_value(rng, 3)
    if op == 1 and isinstance(value, list):
        out = list(value)
        if out:
            del out[rng.randrange(len(out))]
        return out
    if op == 2 and isinstance(value, list):
        out = list(value)
        extra = rng.choice(out) if out and rng.random() < 0.5 else random_value(rng, 2)
        out.insert(rng.randrange(len(out) + 1), extra)
        return out
    if op == 3 and isinstance(value, list) and len(value) > 1:
        out = list(value)
        i, j = rng.randrange(len(out)), rng.randrange(len(out))
        out[i], out[j] = out[j], out[i]
        return out
    if op == 4 and isinstance(value, bytes):
        return _resize(rng, value, b"\x00")
    if op == 4 and isinstance(value, str):
        return _resize(rng, value, "x")
    if op == 5 and isinstance(value, int) and not isinstance(value, bool):
        return max(INT_MIN, min(INT_MAX, value + rng.choice((-1, 1, -(2**32), 2**32))))
    if op == 6:
        return [value]
    return random_value(rng, depth)


# -- text ------------------------------------------------------------------------------------------


def mutate_text(rng: random.Random, corpus: Sequence[str]) -> str:
    """One text input: a corpus entry with 1-4 character changes, or a run of random tokens."""
    if rng.random() < 0.05 or not corpus:
        return "".join(rng.choice(_TEXT_TOKENS) for _ in range(rng.randrange(40)))
    text = rng.choice(corpus)
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        text = _text_mutation(rng, text)
    return text


def _text_mutation(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text) + 1)
    op = rng.randrange(8)
    if op == 0:
        return text[:at] + rng.choice(_TEXT_TOKENS) + text[at:]
    if op == 1:
        return text[:at] + text[at + rng.randint(1, 6) :]
    if op == 2 and text:
        char = chr(rng.choice((0, 0x7F, 0x85, 0xD800, 0xFFFF, rng.randrange(0x110000))))
        return text[:at] + char + text[at + 1 :]
    if op == 3:
        return text[:at]
    if op == 4:  # repeat a piece (deep nesting, long lines)
        end = min(len(text), at + rng.randint(1, 8))
        return text[:at] + text[at:end] * rng.choice((2, 10, 100, 600)) + text[end:]
    if op == 5:  # swap two lines
        lines = text.split("\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if op == 6 and text:  # case flip (base58 and TOML keys are case-sensitive)
        return text[:at] + text[at : at + 1].swapcase() + text[at + 1 :]
    return text + rng.choice(_TEXT_TOKENS)
