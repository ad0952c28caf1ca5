"""Replay protection: a per-sender sequence window, a nonce cache and a timestamp window.

Sans-IO: the caller passes the current time in. A message is accepted once; a replay, a message
older than the sequence window, or one whose timestamp is outside the accepted window is refused
with its own error. The state is small and can be exported for storage and restored after a
restart (:meth:`ReplayGuard.export_peer`). See spec/replay.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    DuplicateError,
    SequenceTooOldError,
    TimestampSkewError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PeerId

__all__ = ["ReplayPolicy", "PeerWindow", "ReplayGuard", "LIVE_POLICY", "MAIL_POLICY"]

_DAY_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class ReplayPolicy:
    """How far back (sequence numbers and time) and how far ahead (clock skew) to accept."""

    #: Sequence numbers this far below the highest seen are still accepted (once each).
    window: int = 1024
    #: Messages older than this are refused as expired.
    max_age_ms: int = 10 * 60 * 1000
    #: Messages stamped this far in the future are refused (sender's clock is ahead).
    max_skew_ms: int = 60 * 1000
    #: Nonces remembered per sender; the sequence window still guards once one is forgotten.
    max_nonces: int = 4096

    def __post_init__(self) -> None:
        if self.window < 1 or self.max_age_ms < 0 or self.max_skew_ms < 0 or self.max_nonces < 1:
            raise UsageError("replay policy limits must be positive")


#: Live sessions: messages arrive within seconds.
LIVE_POLICY: Final = ReplayPolicy()
#: Sealed mail held by relays: messages may wait for days before delivery.
MAIL_POLICY: Final = ReplayPolicy(max_age_ms=14 * _DAY_MS, window=8192, max_nonces=16384)


@dataclass(slots=True)
class PeerWindow:
    """What one sender has used: highest seq, a bitmap of the window below it, recent nonces."""

    highest: int = 0
    #: Bit i set means seq ``highest - i`` was seen.
    bitmap: int = 0
    #: nonce -> timestamp, oldest first (a dict keeps insertion order, at half the memory).
    nonces: dict[bytes, int] = field(default_factory=dict)


class ReplayGuard:
    """Accepts each (sender, seq, nonce) once, within the policy's sequence and time windows."""

    __slots__ = ("_peers", "policy")

    def __init__(self, policy: ReplayPolicy = LIVE_POLICY) -> None:
        self.policy = policy
        self._peers: dict[PeerId, PeerWindow] = {}

    def check(self, envelope: Envelope, now_ms: int) -> None:
        """Raise the matching ReplayError if ``envelope`` must be refused; changes nothing."""
        policy = self.policy
        sender = envelope.sender
        if envelope.ts_ms > now_ms + policy.max_skew_ms:
            raise TimestampSkewError(
                f"envelope from {sender.short} is stamped {format_time_ms(envelope.ts_ms)}, "
                f"ahead of this node's clock ({format_time_ms(now_ms)}) by more than "
                f"{policy.max_skew_ms} ms; check the sender's clock",
                hint="replay.expired",
            )
        if envelope.ts_ms < now_ms - policy.max_age_ms:
            raise TimestampSkewError(
                f"envelope from {sender.short} stamped {format_time_ms(envelope.ts_ms)} is older "
                f"than the accepted {policy.max_age_ms} ms; it expired",
                hint="replay.expired",
            )
        state = self._peers.get(sender)
        if state is None:
            return
        if envelope.nonce in state.nonces:
            raise DuplicateError(f"nonce from {sender.short} was already used: a replay")
        seq = envelope.seq
        if seq > state.highest:
            return
        offset = state.highest - seq
        if offset >= policy.window:
            raise SequenceTooOldError(
                f"seq {seq} from {sender.short} is more than {policy.window} behind the newest "
                f"({state.highest}); refused as too old to tell from a replay"
            )
        if state.bitmap >> offset & 1:
            raise DuplicateError(f"seq {seq} from {sender.short} was already accepted: a replay")

    def record(self, envelope: Envelope, now_ms: int) -> None:
        """Remember ``envelope`` as accepted (call only after :meth:`check` passed)."""
        policy = self.policy
        state = self._peers.get(envelope.sender)
        if state is None:
            state = self._peers[envelope.sender] = PeerWindow()
        seq = envelope.seq
        if seq > state.highest:
            shift = seq - state.highest
            mask = (1 << policy.window) - 1
            state.bitmap = ((state.bitmap << shift) | 1) & mask if shift < policy.window else 1
            state.highest = seq
        else:
            state.bitmap |= 1 << (state.highest - seq)
        nonces = state.nonces
        nonces[envelope.nonce] = envelope.ts_ms
        # Forget nonces that the timestamp window now refuses anyway, then enforce the cap.
        horizon = now_ms - policy.max_age_ms
        while nonces:
            oldest_nonce, oldest_ts = next(iter(nonces.items()))
            if oldest_ts >= horizon and len(nonces) <= policy.max_nonces:
                break
            del nonces[oldest_nonce]

    def accept(self, envelope: Envelope, now_ms: int) -> None:
        """Check, then record: the one call a receiver normally makes."""
        self.check(envelope, now_ms)
        self.record(envelope, now_ms)

    def export_peer(self, sender: PeerId) -> PeerWindow | None:
        """A snapshot of the state kept for ``sender``, to persist (None if never heard from)."""
        state = self._peers.get(sender)
        return None if state is None else _copy_window(state)

    def sequence_window(self, sender: PeerId) -> tuple[int, int] | None:
        """``(highest, bitmap)`` for ``sender``: the part worth persisting, without copying nonces."""
        state = self._peers.get(sender)
        return None if state is None else (state.highest, state.bitmap)

    def restore_peer(self, sender: PeerId, window: PeerWindow) -> None:
        """Reinstate state persisted by :meth:`export_peer` after a restart (copied, not shared)."""
        self._peers[sender] = _copy_window(window)

    def forget(self, sender: PeerId) -> None:
        """Drop all state for ``sender`` (the relationship ended and its key will not return)."""
        self._peers.pop(sender, None)


def _copy_window(window: PeerWindow) -> PeerWindow:
    # Exported state must not change under the caller, nor restored state be shared by two guards.
    return PeerWindow(window.highest, window.bitmap, dict(window.nonces))
