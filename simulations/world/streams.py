"""Seeded random streams: every draw of a run comes from a stream named after what it decides.

A stream's seed is SHA-256 over the run seed and the stream's name (never Python's salted
``hash``), so adding a stream, or drawing more from one, leaves every other stream unchanged, and
one seed fixes the whole run. Random *bytes* (nonces, ids, ephemeral keys) come from a
:class:`ByteSource`: BLAKE2b in counter mode, a few dozen bytes of state however many nodes.
"""

from __future__ import annotations

import hashlib
import random
from typing import Final

from amity.protocol.errors import UsageError

__all__ = ["RandomStreams", "ByteSource", "derive_key"]

_DOMAIN: Final = b"amity-sim/stream/v1\x00"


def derive_key(seed: int, name: str) -> bytes:
    """32 bytes that name ``name``'s stream in a run seeded with ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"a run seed is an int >= 0, got {seed!r}")
    return hashlib.sha256(_DOMAIN + str(seed).encode() + b"\x00" + name.encode()).digest()


class ByteSource:
    """Deterministic random bytes: BLAKE2b(key = stream key, message = counter)."""

    __slots__ = ("_counter", "_key")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._counter = 0

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes (1..64) of the stream."""
        if not 1 <= size <= 64:
            raise UsageError("a ByteSource hands out 1..64 bytes at a time")
        self._counter += 1
        block = hashlib.blake2b(self._counter.to_bytes(8, "big"), key=self._key, digest_size=size)
        return block.digest()


class RandomStreams:
    """The named streams of one run; the same name always gives the same stream."""

    __slots__ = ("_streams", "seed")

    def __init__(self, seed: int) -> None:
        derive_key(seed, "")  # validates the seed
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        """The ``random.Random`` for ``name`` (created on first use, then shared)."""
        found = self._streams.get(name)
        if found is None:
            found = random.Random(int.from_bytes(derive_key(self.seed, name), "big"))
            self._streams[name] = found
        return found

    def bytes_source(self, name: str) -> ByteSource:
        """A fresh :class:`ByteSource` for ``name`` (two calls give two equal sources)."""
        return ByteSource(derive_key(self.seed, name))

    def key(self, name: str) -> bytes:
        """32 fixed bytes for ``name`` (an identity seed, say)."""
        return derive_key(self.seed, name)
