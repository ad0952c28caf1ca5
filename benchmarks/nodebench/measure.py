"""Measuring node_throughput: notes kept in flight, acknowledgements counted, CPU shares read.

What one run of ``benchmarks/node_throughput.py`` measures with, on either side: the window of
notes each relationship keeps in flight, the counter of acknowledged outbox rows, the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from amity.node.daemon import Node
from amity.node.store import Store
from amity.protocol.identity import PeerId

#: What a vendor's node typically carries: a short signed note.
NOTE_TEXT: Final = "Order 100234: ready for pickup at the Corner Bookshop, desk 2."
#: Messages in flight per connection / relationship.
WINDOW: Final = 64
DRAIN_S: Final = 60.0

Hook = Callable[[], Awaitable[None]]


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    if pid == os.getpid():
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def count_over(
    total: Callable[[], int], warmup_s: float, seconds: float, pids: list[int]
) -> dict[str, Any]:
    """How far ``total`` moves in ``seconds`` after ``warmup_s``, and each process's CPU share.

    The sleeps are the measuring clock, not synchronisation.
    """
    await asyncio.sleep(warmup_s)
    cpu0 = [cpu_seconds(pid) for pid in pids]
    count0, started = total(), time.perf_counter()
    await asyncio.sleep(seconds)
    count, elapsed = total() - count0, time.perf_counter() - started
    cpu1 = [cpu_seconds(pid) for pid in pids]
    shares = [
        None if a is None or b is None else round((b - a) / elapsed, 2)
        for a, b in zip(cpu0, cpu1, strict=True)
    ]
    return {"count": count, "seconds": elapsed, "per_s": count / elapsed, "cpu": shares}


class AckCounter:
    """Counts a node's outbox rows as its peers acknowledge them, and wakes waiting senders.

    It wraps this node's ``store.ack_outbox`` (the one place an ACK or REFUSE marks rows), so
    nothing else about the node changes.
    """

    def __init__(self, store: Store) -> None:
        self.total = 0
        self._acked: defaultdict[bytes, int] = defaultdict(int)
        self._wake: defaultdict[bytes, asyncio.Event] = defaultdict(asyncio.Event)
        original = store.ack_outbox

        def ack_outbox(peer_id: bytes, seqs: list[int], now_ms: int) -> int:
            marked = original(peer_id, seqs, now_ms)
            self.total += marked
            self._acked[peer_id] += marked
            self._wake[peer_id].set()
            return marked

        store.ack_outbox = ack_outbox  # type: ignore[method-assign]

    def acked(self, peer: PeerId) -> int:
        return self._acked[peer.key]

    async def next_ack(self, peer: PeerId) -> None:
        event = self._wake[peer.key]
        event.clear()
        await event.wait()

    def wake_all(self) -> None:
        for event in self._wake.values():
            event.set()


async def pump_notes(
    senders: list[tuple[Node, AckCounter, PeerId]],
    *,
    window: int,
    warmup_s: float,
    seconds: float,
    pids: list[int],
    hooks: tuple[Hook, Hook] | None = None,
) -> dict[str, Any]:
    """Keep ``window`` notes in flight on every (node → peer); acknowledged notes per second.

    ``hooks`` run as the measured window starts and ends (to profile only that window).
    """
    stop = asyncio.Event()
    counters = {id(counter): counter for _, counter, _ in senders}

    async def one(node: Node, counter: AckCounter, peer: PeerId) -> int:
        while node.store.count_pending(peer.key):  # hellos of the connect, if still unacked
            await counter.next_ack(peer)
        base, sent = counter.acked(peer), 0
        # Sends are issued concurrently, as a CRM posting to the API would: each send_note
        # waits for its group commit, and notes queued in one loop pass share that commit.
        queued: set[asyncio.Future[int]] = set()
        while not stop.is_set():
            if sent - (counter.acked(peer) - base) >= window:
                await counter.next_ack(peer)
                continue
            future = asyncio.ensure_future(node.send_note(peer, NOTE_TEXT))
            queued.add(future)
            future.add_done_callback(queued.discard)
            sent += 1
            if len(queued) >= window:
                await asyncio.wait(queued, return_when=asyncio.FIRST_COMPLETED)
        if queued:
            await asyncio.wait(queued)
        with contextlib.suppress(TimeoutError):  # what stays unacknowledged is reported
            async with asyncio.timeout(DRAIN_S):
                while counter.acked(peer) - base < sent:
                    await counter.next_ack(peer)
        return sent

    def acked() -> int:
        return sum(counter.total for counter in counters.values())

    tasks = [asyncio.ensure_future(one(*sender)) for sender in senders]
    try:
        await asyncio.sleep(warmup_s)
        if hooks:
            await hooks[0]()
        result = await count_over(acked, 0.0, seconds, pids)
        if hooks:
            await hooks[1]()
    finally:
        stop.set()
        for counter in counters.values():
            counter.wake_all()
        sent = await asyncio.gather(*tasks)
    result["sent"] = sum(sent)
    result["pending_after"] = sum(node.store.count_pending(peer.key) for node, _, peer in senders)
    return result


def profiling(path: Path) -> tuple[Hook, Hook]:
    """Hooks that profile this process between them and write the stats to ``path``."""
    profiler = cProfile.Profile()

    async def start() -> None:
        profiler.enable()

    async def stop() -> None:
        profiler.disable()
        profiler.dump_stats(path)

    return start, stop


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
