"""The simulated node's replay guard: the core's, with each sender's nonces kept compactly.

:class:`~amity.protocol.replay.ReplayGuard` remembers nonce -> timestamp per sender in a dict:
about 90 bytes a nonce in objects, which a large run pays some forty times per node. The daemon
keeps that cache in SQLite; the simulator keeps it in memory, so it stores the same mapping as one
``bytes`` of (nonce, timestamp) entries, oldest first, and the guard's rules, which only read and
write the mapping, stay the core's own. A lookup is a linear scan of the sender's nonces and a
change copies them: cheap for the handful of messages a simulated pair exchanges, not for a
long-lived link.
"""

from __future__ import annotations

import struct
from collections.abc import ItemsView, Iterator, MutableMapping
from typing import Final, cast

from amity.protocol.envelope import NONCE_BYTES, Envelope
from amity.protocol.errors import UsageError
from amity.protocol.replay import PeerWindow, ReplayGuard

__all__ = ["NonceCache", "SimReplayGuard"]

_TIME: Final = struct.Struct("<q")
_ENTRY_BYTES: Final = NONCE_BYTES + _TIME.size


class NonceCache(MutableMapping[bytes, int]):
    """nonce -> timestamp in insertion order, as a dict keeps it, in one ``bytes``.

    Each entry is 24 bytes: the nonce, then the timestamp as a signed little-endian 64-bit int.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries = b""

    def _index(self, nonce: object) -> int:
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_BYTES:
            return -1
        entries = self._entries
        at = entries.find(nonce)
        while at != -1 and at % _ENTRY_BYTES:  # only whole nonces count, not straddling bytes
            at = entries.find(nonce, at + 1)
        return -1 if at == -1 else at // _ENTRY_BYTES

    def __contains__(self, nonce: object) -> bool:
        return self._index(nonce) >= 0

    def __getitem__(self, nonce: bytes) -> int:
        index = self._index(nonce)
        if index < 0:
            raise KeyError(nonce)
        return _time_at(self._entries, index)

    def __setitem__(self, nonce: bytes, ts_ms: int) -> None:
        if len(nonce) != NONCE_BYTES:
            raise UsageError(f"an envelope nonce is {NONCE_BYTES} bytes, not {len(nonce)}")
        entry = nonce + _TIME.pack(ts_ms)
        index = self._index(nonce)
        entries = self._entries
        if index < 0:
            self._entries = entries + entry
        else:
            at = index * _ENTRY_BYTES
            self._entries = entries[:at] + entry + entries[at + _ENTRY_BYTES :]

    def __delitem__(self, nonce: bytes) -> None:
        index = self._index(nonce)
        if index < 0:
            raise KeyError(nonce)
        at = index * _ENTRY_BYTES
        self._entries = self._entries[:at] + self._entries[at + _ENTRY_BYTES :]

    def __iter__(self) -> Iterator[bytes]:
        entries = self._entries
        return (entries[at : at + NONCE_BYTES] for at in range(0, len(entries), _ENTRY_BYTES))

    def __len__(self) -> int:
        return len(self._entries) // _ENTRY_BYTES

    def items(self) -> ItemsView[bytes, int]:
        # The guard reads the oldest entry on every record: straight from the bytes, not
        # through the generic view's lookup of each key it iterates.
        return _Items(self)


class _Items(ItemsView[bytes, int]):
    __slots__ = ("_cache",)

    def __init__(self, cache: NonceCache) -> None:
        super().__init__(cache)
        self._cache = cache

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        entries = self._cache._entries
        for at in range(0, len(entries), _ENTRY_BYTES):
            yield entries[at : at + NONCE_BYTES], _TIME.unpack_from(entries, at + NONCE_BYTES)[0]


def _time_at(entries: bytes, index: int) -> int:
    ts_ms: int = _TIME.unpack_from(entries, index * _ENTRY_BYTES + NONCE_BYTES)[0]
    return ts_ms


class SimReplayGuard(ReplayGuard):
    """:class:`ReplayGuard` whose per-sender nonce caches are :class:`NonceCache` objects."""

    __slots__ = ()

    def record(self, envelope: Envelope, now_ms: int) -> None:
        if envelope.sender not in self._peers:
            # The core's window, made here only so that its nonces go to the compact cache.
            nonces = cast(dict[bytes, int], NonceCache())
            self._peers[envelope.sender] = PeerWindow(nonces=nonces)
        super().record(envelope, now_ms)
