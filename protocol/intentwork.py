"""Proof of work for intents: a stamp bound to one intent id, at a hub's difficulty. Sans-IO.

``SHA-256("amity/intent-work/v1\0" || intent_id || nonce)`` must start with ``work_bits`` zero
bits. A stamp cannot be moved to another intent; checking one costs one hash. See
spec/intents.md §4.1 and §7.4.
"""

from __future__ import annotations

import hashlib
from typing import Final

from amity.protocol.errors import BadWorkError, UsageError

__all__ = [
    "WORK_DOMAIN",
    "WORK_NONCE_BYTES",
    "MAX_WORK_BITS",
    "work_bits_of",
    "check_work",
    "solve_work",
]

WORK_DOMAIN: Final = b"amity/intent-work/v1\x00"
WORK_NONCE_BYTES: Final = 16
MAX_WORK_BITS: Final = 32


def work_bits_of(intent_id: bytes, nonce: bytes) -> int:
    """How many leading zero bits the stamp ``nonce`` earns for ``intent_id``."""
    digest = hashlib.sha256(WORK_DOMAIN + intent_id + nonce).digest()
    value = int.from_bytes(digest, "big")
    return 256 - value.bit_length()


def check_work(intent_id: bytes, nonce: bytes, work_bits: int) -> None:
    """Raise ``intent.bad_work`` unless ``nonce`` is a stamp of ``work_bits`` for ``intent_id``."""
    if len(nonce) != WORK_NONCE_BYTES:
        raise BadWorkError(f"a work stamp is {WORK_NONCE_BYTES} bytes, got {len(nonce)}")
    earned = work_bits_of(intent_id, nonce)
    if earned < work_bits:
        raise BadWorkError(
            f"work stamp earns {earned} bits; this hub asks for {work_bits}: solve it again",
            hint=BadWorkError.code,
        )


def solve_work(intent_id: bytes, work_bits: int, *, start: int = 0) -> bytes:
    """The first stamp from counter ``start`` on that earns ``work_bits`` (about 2^bits hashes).

    The counter start is the caller's randomness (two casters need not start alike)."""
    if not 0 <= work_bits <= MAX_WORK_BITS:
        raise UsageError(f"work_bits is 0..{MAX_WORK_BITS}")
    if not 0 <= start < 1 << 127:
        raise UsageError("start is a counter of 0..2^127")
    counter = start
    prefix = hashlib.sha256(WORK_DOMAIN + intent_id)
    while True:
        nonce = counter.to_bytes(WORK_NONCE_BYTES, "big")
        attempt = prefix.copy()
        attempt.update(nonce)
        if 256 - int.from_bytes(attempt.digest(), "big").bit_length() >= work_bits:
            return nonce
        counter += 1
