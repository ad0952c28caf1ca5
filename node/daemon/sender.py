"""The daemon's outbox, sending side: sign and store before the first send; resend on each link.

Every outgoing envelope is signed with its final seq and stored in the outbox inside the
transaction that caused it; a flusher per peer then sends, over the peer's newest link and in seq
order, every envelope that link has not carried, until the peer ACKs or REFUSEs it
(spec/link.md §3). A new link starts from the first unacknowledged envelope.

A live link does not read back what was just committed: the envelopes of each commit are kept
in memory, per peer, as a run of consecutive seqs ending at the newest; the flusher takes them
from there when the run starts right after what the link carried, and reads the outbox table
otherwise (a new link, a backlog, a gap).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from amity.node.net.link import Link
from amity.node.net.transport import TransportClosed
from amity.node.store import OutboxItem
from amity.protocol.envelope import sign_envelope
from amity.protocol.frames import (
    encode_envelope_frame,
)
from amity.protocol.identity import PeerId

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Sender"]

#: Envelopes kept in memory per peer at most; past that the flusher reads the table.
_FRESH_MAX: Final = 4096


class Sender:
    """See the module docstring."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._flushing: set[PeerId] = set()
        self._dirty: set[PeerId] = set()
        #: Highest outbox seq already sent on each live link (a new link starts from zero).
        self.sent_upto: dict[Link, int] = {}
        #: Envelopes queued in the transaction now being committed.
        self._uncommitted: list[tuple[PeerId, OutboxItem]] = []
        #: Committed envelopes not yet handed to a link, per peer: consecutive seqs, the newest
        #: last (see the module docstring).
        self._fresh: dict[PeerId, list[OutboxItem]] = {}
        #: The newest seq committed towards each peer since this node started.
        self._newest: dict[PeerId, int] = {}
        node.commits.after_transaction.append(self._committed)

    async def enqueue(self, peer: PeerId, type_: str, body: bytes) -> int:
        """Sign and store one envelope (group commit), then start delivering it."""
        seqs: list[int] = []
        await self.node.commits.write(
            lambda: seqs.append(self.queue(peer, type_, body, self.node.clock_ms()))
        )
        self.node.net.ensure(peer)
        self.kick(peer)
        return seqs[0]

    def queue(self, peer: PeerId, type_: str, body: bytes, now: int) -> int:
        """Sign and store one envelope (inside the caller's transaction)."""
        seq = self.node.store.next_seq(peer.key)
        envelope = sign_envelope(
            self.node.keyring.identity,
            type=type_,
            recipient=peer,
            seq=seq,
            ts_ms=now,
            nonce=os.urandom(16),
            body=body,
        )
        item = OutboxItem(peer.key, seq, type_, envelope, now)
        self.node.store.add_outbox(item)
        self._uncommitted.append((peer, item))
        return seq

    def _committed(self, ok: bool) -> None:
        """A transaction ended: keep what it committed for the flusher (nothing if it failed)."""
        if not self._uncommitted:
            return
        queued, self._uncommitted = self._uncommitted, []
        if not ok:
            return
        for peer, item in queued:
            self._newest[peer] = item.seq
            fresh = self._fresh.get(peer)
            if (
                fresh is None
                or len(fresh) >= _FRESH_MAX
                or (fresh and fresh[-1].seq + 1 != item.seq)
            ):
                self._fresh[peer] = [item]  # a new run: what came before is in the table
            else:
                fresh.append(item)

    def forget(self, peer: PeerId) -> None:
        """Drop what is kept in memory for ``peer`` (a pseudonym the hub forgets)."""
        self._fresh.pop(peer, None)
        self._newest.pop(peer, None)
        self._dirty.discard(peer)

    def settled(self, peer: PeerId, seqs: list[int]) -> None:
        """The peer ACKed or REFUSEd these: never send them again from memory."""
        fresh = self._fresh.get(peer)
        if fresh and any(seq >= fresh[0].seq for seq in seqs):
            done = set(seqs)
            self._fresh[peer] = [item for item in fresh if item.seq not in done]

    def _next_items(self, peer: PeerId, last: int) -> list[OutboxItem]:
        """What the link that carried up to ``last`` sends next: from memory when the fresh run
        starts right after ``last`` and has no gap, else from the outbox table."""
        if last > 0 and self._newest.get(peer) == last:
            return []  # the link carried the newest envelope committed: nothing to read back
        fresh = self._fresh.get(peer)
        if (
            last > 0
            and fresh
            and fresh[0].seq == last + 1
            and fresh[-1].seq - fresh[0].seq + 1 == len(fresh)
        ):
            self._fresh[peer] = []
            return fresh
        items = self.node.store.pending_outbox(peer.key, after_seq=last, limit=512)
        if fresh and items:
            newest = items[-1].seq
            self._fresh[peer] = [item for item in fresh if item.seq > newest]
        return items

    def kick(self, peer: PeerId) -> None:
        """Make sure a flusher is sending ``peer``'s outbox (one per peer at a time)."""
        self._dirty.add(peer)
        if peer not in self._flushing and self.node.links.get(peer):
            self._flushing.add(peer)
            self.node._spawn(self._flusher(peer), f"flush-{peer.short}")

    async def _flusher(self, peer: PeerId) -> None:
        """Send every unacknowledged envelope to ``peer`` over its newest link, in seq order.

        Reads the outbox in pages; a new link starts again from the first unacknowledged
        envelope (the receiver answers duplicates with an ACK and stores nothing twice).
        """
        try:
            while True:
                link = self.node.net.link_to(peer)
                if link is None:
                    return
                self._dirty.discard(peer)
                last = self.sent_upto.get(link, 0)
                items = self._next_items(peer, last)
                if not items:
                    if peer in self._dirty:
                        continue
                    return
                if not self.node.commits.durable():
                    # A row may be committed but not yet fsynced: a power cut would then
                    # reissue its seq for another envelope, which the peer drops as a replay.
                    await self.node.commits.write()
                    if self.node.net.link_to(peer) is not link:
                        continue
                for item in items:
                    try:
                        await link.send(encode_envelope_frame(item.envelope))
                    except TransportClosed:
                        return  # the link is dying; the next link's attach flushes again
                    self.sent_upto[link] = item.seq
        finally:
            self._flushing.discard(peer)
