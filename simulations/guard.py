"""The simulated node's replay guard: the core's, with each sender's nonces kept compactly.

:class:`~amity.protocol.replay.ReplayGuard` remembers nonce -> timestamp per sender in a dict:
about 90 bytes a nonce in objects, which a large run pays some forty times per node. The daemon
keeps that cache in SQLite; the simulator keeps it in memory, so it stores the same mapping as one
run of 16-byte nonces and one array of timestamps, oldest first, and the guard's rules, which only
read and write the mapping, stay the core's own. A lookup is a linear scan of the sender's
nonces: cheap for the handful of messages a simulated pair exchanges, not for a long-lived link.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, MutableMapping
from typing import cast

from amity.protocol.envelope import NONCE_BYTES, Envelope
from amity.protocol.errors import UsageError
from amity.protocol.replay import PeerWindow, ReplayGuard

__all__ = ["NonceCache", "SimReplayGuard"]


class NonceCache(MutableMapping[bytes, int]):
    """nonce -> timestamp in insertion order, as a dict keeps it, in two flat buffers."""

    __slots__ = ("_nonces", "_times")

    def __init__(self) -> None:
        self._nonces = bytearray()
        self._times = array("q")

    def _index(self, nonce: object) -> int:
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_BYTES:
            return -1
        nonces = self._nonces
        at = nonces.find(nonce)
        while at != -1 and at % NONCE_BYTES:  # only whole nonces count, not straddling bytes
            at = nonces.find(nonce, at + 1)
        return -1 if at == -1 else at // NONCE_BYTES

    def __contains__(self, nonce: object) -> bool:
        return self._index(nonce) >= 0

    def __getitem__(self, nonce: bytes) -> int:
        index = self._index(nonce)
        if index < 0:
            raise KeyError(nonce)
        return self._times[index]

    def __setitem__(self, nonce: bytes, ts_ms: int) -> None:
        if len(nonce) != NONCE_BYTES:
            raise UsageError(f"an envelope nonce is {NONCE_BYTES} bytes, not {len(nonce)}")
        index = self._index(nonce)
        if index >= 0:
            self._times[index] = ts_ms
            return
        self._nonces += nonce
        self._times.append(ts_ms)

    def __delitem__(self, nonce: bytes) -> None:
        index = self._index(nonce)
        if index < 0:
            raise KeyError(nonce)
        del self._nonces[index * NONCE_BYTES : (index + 1) * NONCE_BYTES]
        del self._times[index]

    def __iter__(self) -> Iterator[bytes]:
        nonces = bytes(self._nonces)
        return (nonces[at : at + NONCE_BYTES] for at in range(0, len(nonces), NONCE_BYTES))

    def __len__(self) -> int:
        return len(self._times)


class SimReplayGuard(ReplayGuard):
    """:class:`ReplayGuard` whose per-sender nonce caches are :class:`NonceCache` objects."""

    __slots__ = ()

    def record(self, envelope: Envelope, now_ms: int) -> None:
        if envelope.sender not in self._peers:
            # The core's window, made here only so that its nonces go to the compact cache.
            nonces = cast(dict[bytes, int], NonceCache())
            self._peers[envelope.sender] = PeerWindow(nonces=nonces)
        super().record(envelope, now_ms)
