"""A simulated node's outbox: envelopes signed with their final seq, kept until ACKed or REFUSEd.

As spec/link.md §3 asks of a sender: an envelope is signed (seq, time, nonce) and stored before
it is first sent; every new link resends, in seq order, whatever is still unacknowledged; retries
send the same bytes, so the receiver sees one message however often it travels.

A peer that can never take an envelope (its session refuses the frames and closes the link, say)
would have it resent on every new link forever, and the run would never end: once the same
envelope has gone out on :data:`STUCK_AFTER_LINKS` links in a row, unacknowledged, the run stops
with :class:`~amity.protocol.errors.SimulationStuckError`, which names both nodes, the envelope
and what else is pending.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Final

from amity.protocol.encoding import decode_array
from amity.protocol.envelope import sign_envelope
from amity.protocol.errors import SimulationStuckError
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.relmessages import MSG_HELLO
from amity.simulations.link import SimLink
from amity.simulations.world.streams import ByteSource

__all__ = ["STUCK_AFTER_LINKS", "Outbox"]

#: Links in a row that may carry the same envelope unacknowledged before the run is stuck.
#: The quick runs of every shipped scenario need at most a few (loss, churn); a peer that cannot
#: take an envelope reaches this within minutes of virtual time (dial backoff starts at 0.25 s).
STUCK_AFTER_LINKS: Final = 100


class Outbox:
    """Per-peer sequence numbers and unacknowledged envelopes of one node."""

    __slots__ = (
        "_carried",
        "_clock_ms",
        "_hellos",
        "_identity",
        "_next_seq",
        "_pending",
        "_random",
        "owner",
        "transcript",
    )

    def __init__(
        self,
        identity: SigningIdentity,
        clock_ms: Callable[[], int],
        random: ByteSource,
        owner: str = "",
    ) -> None:
        self._identity = identity
        #: The node's name, for the error that says what is stuck.
        self.owner = owner
        self._clock_ms = clock_ms
        self._random = random
        #: The seq of the next envelope to each peer (seqs start at 1 and never repeat).
        self._next_seq: dict[PeerId, int] = {}
        #: seq -> signed envelope, in seq order, of the peers that have some unacknowledged.
        self._pending: dict[PeerId, dict[int, bytes]] = {}
        #: Per peer with something pending: the first unacknowledged seq, and how many links in a
        #: row have carried it.
        self._carried: dict[PeerId, tuple[int, int]] = {}
        #: Per peer, the seq of the newest rel.hello it has not settled yet.
        self._hellos: dict[PeerId, int] = {}
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
        if type_ == MSG_HELLO:
            self._hellos[peer] = seq
        return seq

    def pending_hello(self, peer: PeerId) -> bytes | None:
        """The newest rel.hello to ``peer`` still unsettled, if any (spec/node.md §5)."""
        seq = self._hellos.get(peer)
        return None if seq is None else self._pending[peer][seq]

    def signed(self, peer: PeerId) -> int:
        """Envelopes signed for ``peer`` (each counted once, however often it was resent)."""
        return self._next_seq.get(peer, 1) - 1

    def pending(self, peer: PeerId) -> int:
        return len(self._pending.get(peer, ()))

    def unacked(self, peer: PeerId) -> list[tuple[int, bytes]]:
        """(seq, signed envelope) of everything ``peer`` has not ACKed yet, in seq order."""
        return list(self._pending.get(peer, {}).items())

    def flush(self, peer: PeerId, link: SimLink) -> None:
        """Send on ``link`` every unacknowledged envelope it has not carried yet, in seq order.

        Raises :class:`SimulationStuckError` when the first of them has now gone out on
        :data:`STUCK_AFTER_LINKS` links in a row.
        """
        pending = self._pending.get(peer)
        if not pending:
            return
        if link.sent_upto == 0:  # a new link: the first envelope pending goes out once more
            self._count_carried(peer, next(iter(pending)), link)
        for seq, envelope in pending.items():
            if seq > link.sent_upto:
                link.send(encode_envelope_frame(envelope))
                link.sent_upto = seq

    def _count_carried(self, peer: PeerId, head: int, link: SimLink) -> None:
        seq, links = self._carried.get(peer, (head, 0))
        links = links + 1 if seq == head else 1
        self._carried[peer] = (head, links)
        if links >= STUCK_AFTER_LINKS:
            raise SimulationStuckError(self._stuck(peer, head, links, link))

    def _stuck(self, peer: PeerId, head: int, links: int, link: SimLink) -> str:
        pending = self._pending[peer]
        kinds = Counter(_type_of(envelope) for envelope in pending.values())
        them = link.peer_card.name if link.peer_card is not None else ""
        return (
            f"the world is stuck: {self.owner or self._identity.peer_id.short} has sent envelope "
            f"{head} ({_type_of(pending[head])}) to {them or peer.short} ({peer.short}) on "
            f"{links} links in a row, and it was never acknowledged; pending to that peer: "
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            + ". The peer cannot take it (its session refuses a frame, or it closes each link "
            "before it acknowledges), so the outbox would resend it forever."
        )

    def settled(self, peer: PeerId, seqs: Iterable[int]) -> None:
        """The peer ACKed (stored) or REFUSEd these: stop resending them."""
        pending = self._pending.get(peer)
        if pending is not None:
            hello = self._hellos.get(peer)
            for seq in seqs:
                pending.pop(seq, None)
                if seq == hello:
                    self._hellos.pop(peer, None)
            if not pending:
                del self._pending[peer]
                self._carried.pop(peer, None)
                if not self._pending:
                    self._pending.clear()  # an emptied dict keeps its table until cleared


def _type_of(envelope: bytes) -> str:
    """The type of one of our own signed envelopes (for the stuck message only)."""
    signed = decode_array(envelope, 2, "envelope", max_bytes=len(envelope))[0]
    assert isinstance(signed, bytes)  # we signed it
    return str(decode_array(signed, 8, "signed envelope", max_bytes=len(signed))[1])
