"""Node throughput and time to connect, against the bare per-note crypto in the same run.

    python benchmarks/node_throughput.py [--quick] [--seconds 3.0] [--json] [--profile DIR]

Two processes, as two machines would be, so both cores work: a server child process and this
one as the client side.

- crypto limit: what one note costs that no node can avoid, one core each side, measured in two
  worker processes at the same time: the sender signs the note's envelope (Ed25519) and seals
  its frame (ChaCha20-Poly1305, as Noise does), the receiver opens the frame and verifies the
  signature, on the exact sizes of one NOTE_TEXT note. The limit is the slower side's rate;
  the main ratio is amity's acknowledged notes/s over it (goal >= 0.5).
- bare limit: an aiohttp WebSocket echo server (child) and 1 or 50 client connections (here),
  each keeping WINDOW messages in flight; a message is the wire size of one amity note, and its
  echo counts as its acknowledgement.
- amity: a vendor built by ``amity.node.runner.create_app``, exactly as ``amity run`` builds it
  (store, node, peer server, local API) in the child; here, person nodes built as
  ``amity run --listen none`` builds them, each with its own home and store. Each relationship
  keeps WINDOW notes in flight through the real path: Node.send_note → outbox → envelope →
  Noise → WebSocket → open, replay guard, inbox (one transaction) → ACK. A note counts when
  the sender's outbox row is marked acknowledged. Both directions are measured:
  persons → vendor (the vendor receives) and vendor → persons (the vendor sends).
- CPU per note: the vendor's and the persons' CPU µs per acknowledged note (from /proc), next
  to the bare crypto's CPU µs per note (both sides); their ratio is the share of the nodes'
  CPU the unavoidable crypto takes, a figure a busy machine disturbs far less than notes/s.
- time to connect: invitation URI in hand → relationship CONNECTED on both sides
  (``Node.connect``; the vendor's invitation comes from its local API), median and p95, on a
  vendor whose store already holds 0, 10 000 and 100 000 relationships. The fill writes
  CONNECTED relationships with distinct valid peer ids and secrets through RelationshipBook,
  in one transaction; their cards come from a pool of 64 real, signed person cards (a card per
  row only makes the fill slow: connecting never reads those rows' cards).

The parts live in ``benchmarks/nodebench/``: ``measure`` (the window of notes in flight, the
acknowledgement counter, CPU shares), ``crypto`` (the bare per-note limit), ``peers`` (the echo
and vendor child processes, the persons, the store fill) and ``report`` (rows, goals, table).

``--profile DIR`` writes cProfile stats of both processes during the 50-relationship rows
(``DIR/{persons-to-vendor,vendor-to-persons}-{vendor,persons}.pstats``).
Throughput depends on the disk: every group commit is followed by an fsync of the WAL (in a
worker thread, amity.node.commits) before anything in it is acknowledged. On a shared machine
the absolute figures follow the load; the ratio to the crypto limit, measured in the same run
under the same load, is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from nodebench.crypto import crypto_limit, note_sizes
from nodebench.measure import (
    DRAIN_S,
    WINDOW,
    Hook,
    count_over,
    profiling,
    pump_notes,
)
from nodebench.peers import (
    child,
    connect,
    new_vendor_home,
    person,
    serve_echo,
    serve_vendor,
    time_to_connect,
    vendor_process,
)
from nodebench.report import CONNECTIONS, goals, print_table, row

from amity.protocol.noise import MAX_MESSAGE_BYTES

# -- the runs ----------------------------------------------------------------------------------


async def bare_echo(
    port: int, pid: int, connections: int, size: int, warmup_s: float, seconds: float
) -> dict[str, Any]:
    """Echoed messages per second with WINDOW in flight on each of ``connections``."""
    payload, stop = os.urandom(size), asyncio.Event()
    echoed = [0] * connections
    wake = [asyncio.Event() for _ in range(connections)]

    async def sender(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        sent = 0
        while not stop.is_set() or echoed[i] < sent:
            if stop.is_set() or sent - echoed[i] >= WINDOW:
                wake[i].clear()
                await wake[i].wait()
                continue
            await ws.send_bytes(payload)
            sent += 1
        await ws.close()

    async def receiver(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.BINARY:
                echoed[i] += 1
                wake[i].set()

    async with aiohttp.ClientSession() as client:
        sockets = [
            await client.ws_connect(f"http://127.0.0.1:{port}/echo", max_msg_size=MAX_MESSAGE_BYTES)
            for _ in range(connections)
        ]
        tasks = [asyncio.ensure_future(sender(i, ws)) for i, ws in enumerate(sockets)]
        tasks += [asyncio.ensure_future(receiver(i, ws)) for i, ws in enumerate(sockets)]
        try:
            result = await count_over(lambda: sum(echoed), warmup_s, seconds, [pid, os.getpid()])
        finally:
            stop.set()
            for event in wake:
                event.set()
            async with asyncio.timeout(DRAIN_S):
                await asyncio.gather(*tasks)
    return result


async def throughput(
    tmp: Path,
    args: argparse.Namespace,
    bare: dict[int, dict[str, Any]],
    crypto: tuple[float, float],
) -> list[dict[str, Any]]:
    """amity notes/s both ways over 1 and max(CONNECTIONS) relationships with one vendor.

    ``crypto``: the bare crypto's notes/s (the slower side) and CPU µs per note (both sides).
    """
    rows = []
    home = new_vendor_home(tmp / "vendor-throughput")
    async with vendor_process(home) as vendor, contextlib.AsyncExitStack() as stack:
        persons = []
        for i in range(max(CONNECTIONS)):
            node, counter = await stack.enter_async_context(
                person(tmp / f"person-{i}", f"Customer {i}")
            )
            await connect(node, vendor)
            persons.append((node, counter))
        for connections in CONNECTIONS:
            chosen = persons[:connections]
            profile = args.profile if connections == max(CONNECTIONS) else None
            # persons → vendor: the vendor opens, guards, stores and ACKs.
            hooks = None
            if profile:
                here_start, here_stop = profiling(profile / "persons-to-vendor-persons.pstats")
                vendor_stats = str(profile / "persons-to-vendor-vendor.pstats")

                async def start(here: Hook = here_start) -> None:
                    await vendor.call("POST", "/bench/profile", {"action": "start"})
                    await here()

                async def stop(here: Hook = here_stop, path: str = vendor_stats) -> None:
                    await here()
                    await vendor.call("POST", "/bench/profile", {"action": "stop", "path": path})

                hooks = (start, stop)
            result = await pump_notes(
                [(node, counter, vendor.peer_id) for node, counter in chosen],
                window=WINDOW,
                warmup_s=args.warmup,
                seconds=args.seconds,
                pids=[vendor.pid, os.getpid()],
                hooks=hooks,
            )
            rows.append(row("persons → vendor", connections, result, bare[connections], *crypto))
            # vendor → persons: the vendor signs, stores, sends and records ACKs.
            request = {
                "peers": [node.peer_id.did for node, _ in chosen],
                "window": WINDOW,
                "warmup_s": args.warmup,
                "seconds": args.seconds,
                "parent_pid": os.getpid(),
                "profile": str(profile / "vendor-to-persons-vendor.pstats") if profile else None,
            }

            async def profile_persons(path: Path | None) -> None:
                if path is not None:  # the same window as the vendor's, give or take a request
                    here_start, here_stop = profiling(path)
                    await asyncio.sleep(args.warmup)
                    await here_start()
                    await asyncio.sleep(args.seconds)
                    await here_stop()

            result, _ = await asyncio.gather(
                vendor.call("POST", "/bench/pump", request),
                profile_persons(profile / "vendor-to-persons-persons.pstats" if profile else None),
            )
            rows.append(row("vendor → persons", connections, result, bare[connections], *crypto))
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = note_sizes()
    size = sizes["wire"]
    crypto = await crypto_limit(sizes, args.warmup, args.seconds)
    with tempfile.TemporaryDirectory(prefix="amity-bench-") as name:
        tmp = Path(name)
        bare = {}
        async with child("echo", tmp / "echo.log") as (announced, pid):
            for connections in CONNECTIONS:
                bare[connections] = await bare_echo(
                    announced["port"], pid, connections, size, args.warmup, args.seconds
                )
        rows = [
            {
                "measurement": "bare WS echo",
                "connections": connections,
                "ours_per_s": round(result["per_s"]),
                "crypto_per_s": round(crypto["per_s"]),
                "crypto_ratio": round(result["per_s"] / crypto["per_s"], 3),
                "bare_per_s": round(result["per_s"]),
                "ratio": 1.0,
                "bare_cpu": result["cpu"],
            }
            for connections, result in bare.items()
        ]
        crypto_cpu_us = crypto["send_cpu_us"] + crypto["receive_cpu_us"]
        rows += await throughput(tmp, args, bare, (crypto["per_s"], crypto_cpu_us))
        connects = []
        for fill in args.fills:
            home = new_vendor_home(tmp / f"vendor-{fill}")
            connects.append(await time_to_connect(tmp, home, home.db_path, fill, args.connects))
    return {
        "wire_bytes": size,
        "signed_bytes": sizes["signed"],
        "frame_bytes": sizes["frame"],
        "crypto": crypto,
        "window": WINDOW,
        "seconds": args.seconds,
        "rows": rows,
        "connect": connects,
        "goals": goals(rows, connects),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts, well under 30 s")
    parser.add_argument("--seconds", type=float, help="measured time per row (default 3, quick 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the 50-rel rows here")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)  # the child processes
    args = parser.parse_args()
    if args.serve:
        role, *rest = args.serve
        asyncio.run(serve_echo() if role == "echo" else serve_vendor(Path(rest[0])))
        return 0
    if args.seconds is None:
        args.seconds = 1.0 if args.quick else 3.0
    args.warmup = 0.3 if args.quick else 1.0
    args.connects = 10 if args.quick else 30
    args.fills = (0, 10_000) if args.quick else (0, 10_000, 100_000)
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
