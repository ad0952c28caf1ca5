"""A simulated node's outbox: envelopes signed with their final seq, kept until ACKed or REFUSEd.

As spec/link.md §3 asks of a sender: an envelope is signed (seq, time, nonce) and stored before
it is first sent; every new link resends, in seq order, whatever is still unacknowledged; retries
send the same bytes, so the receiver sees one message however often it travels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from amity.protocol.envelope import sign_envelope
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.simulations.link import SimLink
from amity.simulations.world.streams import ByteSource

__all__ = ["Outbox"]


class Outbox:
    """Per-peer sequence numbers and unacknowledged envelopes of one node."""

    __slots__ = ("_clock_ms", "_identity", "_next_seq", "_pending", "_random", "transcript")

    def __init__(
        self, identity: SigningIdentity, clock_ms: Callable[[], int], random: ByteSource
    ) -> None:
        self._identity = identity
        self._clock_ms = clock_ms
        self._random = random
        #: The seq of the next envelope to each peer (seqs start at 1 and never repeat).
        self._next_seq: dict[PeerId, int] = {}
        #: seq -> signed envelope, in seq order, of the peers that have some unacknowledged.
        self._pending: dict[PeerId, dict[int, bytes]] = {}
        #: Every envelope signed, in order, once :meth:`keep_transcript` is called (the
        #: cross-check against the daemon's outbox table reads it).
        self.transcript: list[bytes] | None = None

    def keep_transcript(self) -> None:
        """From now on, keep every envelope this node signs (memory grows with the run)."""
        if self.transcript is None:
            self.transcript = []

    def add(self, peer: PeerId, type_: str, body: bytes) -> int:
        """Sign one envelope for ``peer`` and keep it until acknowledged; returns its seq."""
        seq = self._next_seq.get(peer, 1)
        self._next_seq[peer] = seq + 1
        pending = self._pending.get(peer)
        if pending is None:
            pending = self._pending[peer] = {}
        envelope = pending[seq] = sign_envelope(
            self._identity,
            type=type_,
            recipient=peer,
            seq=seq,
            ts_ms=self._clock_ms(),
            nonce=self._random.take(16),
            body=body,
        )
        if self.transcript is not None:
            self.transcript.append(envelope)
        return seq

    def signed(self, peer: PeerId) -> int:
        """Envelopes signed for ``peer`` (each counted once, however often it was resent)."""
        return self._next_seq.get(peer, 1) - 1

    def pending(self, peer: PeerId) -> int:
        return len(self._pending.get(peer, ()))

    def unacked(self, peer: PeerId) -> list[tuple[int, bytes]]:
        """(seq, signed envelope) of everything ``peer`` has not ACKed yet, in seq order."""
        return list(self._pending.get(peer, {}).items())

    def flush(self, peer: PeerId, link: SimLink) -> None:
        """Send on ``link`` every unacknowledged envelope it has not carried yet, in seq order."""
        for seq, envelope in self._pending.get(peer, {}).items():
            if seq > link.sent_upto:
                link.send(encode_envelope_frame(envelope))
                link.sent_upto = seq

    def settled(self, peer: PeerId, seqs: Iterable[int]) -> None:
        """The peer ACKed (stored) or REFUSEd these: stop resending them."""
        pending = self._pending.get(peer)
        if pending is not None:
            for seq in seqs:
                pending.pop(seq, None)
            if not pending:
                del self._pending[peer]
                if not self._pending:
                    self._pending.clear()  # an emptied dict keeps its table until cleared
