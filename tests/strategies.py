"""hypothesis strategies shared by the whole test suite.

Import what you need (``from tests.strategies import values, mutated``) rather than writing local
variants, so every decoder is fuzzed with the same inputs. Strategies here only draw data; the
properties live in the test modules.
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from amity.protocol.encoding import INT_MAX, INT_MIN, MAX_DEPTH, Value, encode
from amity.protocol.identity import SEED_BYTES, PeerId, SigningIdentity
from amity.protocol.linkcert import LINK_KEY_BYTES, LinkKey

__all__ = [
    "arbitrary_bytes",
    "each_byte_tampered",
    "encoded_values",
    "ints",
    "link_keys",
    "mutated",
    "peer_ids",
    "scalars",
    "seeds",
    "signing_identities",
    "strs",
    "timestamps_ms",
    "values",
]

#: Integers across the whole range, with the msgpack format boundaries drawn often.
_INT_EDGES = sorted(
    {
        edge + delta
        for edge in (0, 127, 255, 65535, 2**32 - 1, 2**63 - 1, INT_MAX, -32, -128, -32768)
        for delta in (-1, 0, 1)
    }
    | {-(2**31), -(2**31) - 1, INT_MIN, INT_MIN + 1}
)
_INT_EDGES = [n for n in _INT_EDGES if INT_MIN <= n <= INT_MAX]


def ints() -> st.SearchStrategy[int]:
    """Any int the encoding allows (-2**63 .. 2**64-1), favouring format boundaries."""
    return st.one_of(st.sampled_from(_INT_EDGES), st.integers(INT_MIN, INT_MAX))


def strs(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text that is valid UTF-8 (no lone surrogates), including non-ASCII and NUL."""
    return st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=max_size)


def arbitrary_bytes(max_size: int = 64) -> st.SearchStrategy[bytes]:
    """Any bytes at all: for decoders, which must refuse garbage with an AmityError only."""
    return st.binary(max_size=max_size)


def scalars(*, max_bytes: int = 40) -> st.SearchStrategy[Value]:
    """nil, bool, int, bin and str: every non-array value of the canonical subset."""
    return st.one_of(
        st.none(),
        st.booleans(),
        ints(),
        st.binary(max_size=max_bytes),
        strs(max_bytes),
    )


def values(*, max_depth: int = 4, max_len: int = 6) -> st.SearchStrategy[Value]:
    """Canonical values: scalars and arrays of them, nested up to ``max_depth`` arrays deep.

    ``max_depth`` may go up to MAX_DEPTH (16); arrays hold at most ``max_len`` elements so that
    examples stay small (the limits themselves are covered by the vectors).
    """
    if not 0 <= max_depth <= MAX_DEPTH:
        raise ValueError(f"max_depth must be 0..{MAX_DEPTH}")
    strategy: st.SearchStrategy[Value] = scalars()
    for _ in range(max_depth):
        strategy = st.one_of(scalars(), st.lists(strategy, max_size=max_len))
    return strategy


def encoded_values(**kwargs: int) -> st.SearchStrategy[bytes]:
    """Canonical encodings of :func:`values` (same keyword arguments)."""
    return values(**kwargs).map(encode)


# -- mutations of valid inputs ---------------------------------------------------------------------


def _flip_bit(data: bytes, index: int, bit: int) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    out[index % len(out)] ^= 1 << bit
    return bytes(out)


def _set_byte(data: bytes, index: int, byte: int) -> bytes:
    if not data:
        return bytes([byte])
    out = bytearray(data)
    out[index % len(out)] = byte
    return bytes(out)


@st.composite
def _mutation(draw: st.DrawFn, data: bytes) -> bytes:
    index = draw(st.integers(0, max(len(data), 1) - 1)) if data else 0
    kind = draw(
        st.sampled_from(["flip", "set", "truncate", "insert", "delete", "append", "prepend"])
    )
    if kind == "flip":
        return _flip_bit(data, index, draw(st.integers(0, 7)))
    if kind == "set":
        # Format bytes are where decoders go wrong: favour them over uniform bytes.
        special = st.sampled_from(
            [0x80, 0x90, 0xC0, 0xC1, 0xC4, 0xC7, 0xCA, 0xCB, 0xCC, 0xD0, 0xD9, 0xDC, 0xDD, 0xDF]
        )
        return _set_byte(data, index, draw(st.one_of(special, st.integers(0, 255))))
    if kind == "truncate":
        return data[:index]
    if kind == "insert":
        return data[:index] + draw(st.binary(min_size=1, max_size=4)) + data[index:]
    if kind == "delete":
        return data[:index] + data[index + 1 :]
    if kind == "append":
        return data + draw(st.binary(min_size=1, max_size=4))
    return draw(st.binary(min_size=1, max_size=4)) + data


def mutated(valid: st.SearchStrategy[bytes], *, max_mutations: int = 3) -> st.SearchStrategy[bytes]:
    """``valid`` inputs after 1..max_mutations bit flips, byte changes, cuts or insertions.

    The result may happen to be valid again; properties should only rely on "decoding raises
    nothing but AmityError", or compare against a re-check.
    """

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = draw(valid)
        for _ in range(draw(st.integers(1, max_mutations))):
            data = draw(_mutation(data))
        return data

    return build()


# -- keys and identities ---------------------------------------------------------------------------


def seeds() -> st.SearchStrategy[bytes]:
    """32-byte secrets: Ed25519 seeds or X25519 private keys."""
    return st.binary(min_size=SEED_BYTES, max_size=SEED_BYTES)


def signing_identities() -> st.SearchStrategy[SigningIdentity]:
    return seeds().map(SigningIdentity)


def peer_ids() -> st.SearchStrategy[PeerId]:
    return signing_identities().map(lambda identity: identity.peer_id)


def link_keys() -> st.SearchStrategy[LinkKey]:
    return st.binary(min_size=LINK_KEY_BYTES, max_size=LINK_KEY_BYTES).map(LinkKey)


def timestamps_ms(*, lo: int = 0, hi: int = 2**48) -> st.SearchStrategy[int]:
    """Protocol times in ms since the Unix epoch (2**48 ms is about the year 10889)."""
    return st.integers(lo, hi)


def each_byte_tampered(
    data: bytes, masks: tuple[int, ...] = (0x01, 0x80, 0xFF)
) -> Iterator[tuple[int, int, bytes]]:
    """Every single-byte change of ``data`` (byte XOR each mask), for exhaustive tamper tests.

    Yields ``(index, mask, tampered)``; not a strategy, so a test can try every position.
    """
    for index in range(len(data)):
        for mask in masks:
            out = bytearray(data)
            out[index] ^= mask
            yield index, mask, bytes(out)
