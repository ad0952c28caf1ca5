"""Simulator speed against a bare heapq loop, measured in the same run; memory per simulated node.

    python benchmarks/sim_engine.py [--events 300000] [--persons 300] [--json]

Rows (events per second, one core, this process):

- bare heapq:  a loop popping (time, seq, callback) tuples and calling a trivial callback that
               schedules the next one: the floor any discrete-event engine in Python stands on
- engine:      the same workload through amity.simulations.world.engine.Engine (timers, cancel, ties)
- market, stand-in crypto:  scenario 1 (market.toml, quick settings, --persons persons), every
               node the real protocol core, signatures and sessions replaced by the declared stand-in
- market, real crypto:      the same world with Ed25519 and Noise XX as the daemon runs them

The ratio column is events/s relative to the bare heapq loop. Memory, per node of the market
world (persons and vendors), two ways:

- traced:  tracemalloc's peak while building and running the world: the Python objects alone,
           exact and the same from run to run
- RSS:     the process's peak resident set size minus its size just before the world was built,
           in a fresh process (so no earlier run's memory is reused): what the machine must have,
           with the allocator's overhead and fragmentation
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

from amity.simulations.crypto import CryptoMode
from amity.simulations.scenarios.market.scenario import MarketScenario, load_scenario
from amity.simulations.scenarios.market.world import MarketWorld
from amity.simulations.world.engine import Engine

#: Concurrent "processes" rescheduling themselves, so the heap is not trivially small.
_WIDTH = 1_000


def bare_heapq(events: int) -> float:
    heap: list[tuple[int, int, Callable[[int], None]]] = []
    seq = 0
    count = 0

    def tick(now: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (now + 1 + seq % 7, seq, tick))

    for i in range(_WIDTH):
        seq += 1
        heapq.heappush(heap, (i, seq, tick))
    started = time.perf_counter()
    while count < events:
        now, _, callback = heapq.heappop(heap)
        callback(now)
        count += 1
    return count / (time.perf_counter() - started)


def engine_loop(events: int) -> float:
    engine = Engine()
    counter = [0]

    def tick() -> None:
        counter[0] += 1
        engine.call_later(1 + counter[0] % 7, tick)

    for i in range(_WIDTH):
        engine.call_at(i, tick)
    started = time.perf_counter()
    engine.run(max_events=events)
    return engine.events_run / (time.perf_counter() - started)


def market_scenario(persons: int) -> MarketScenario:
    return dataclasses.replace(load_scenario("market.toml", quick=True), persons=persons)


def market(scenario: MarketScenario, crypto: CryptoMode) -> tuple[float, int, float]:
    """events/s of a full run, its events, and tracemalloc's peak bytes per node."""
    nodes = scenario.persons + scenario.vendors
    tracemalloc.start()
    world = MarketWorld(scenario, seed=1, crypto=crypto)
    world.run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Time a fresh run without tracemalloc (it slows allocation-heavy code a lot).
    world = MarketWorld(scenario, seed=1, crypto=crypto)
    started = time.perf_counter()
    world.run()
    elapsed = time.perf_counter() - started
    return world.engine.events_run / elapsed, world.engine.events_run, peak / nodes


def _rss_bytes(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak) of this process, from /proc on Linux.

    Not ``ru_maxrss``: Linux carries it over from the parent across fork and exec.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def rss_child(persons: int, crypto: CryptoMode) -> None:
    """In a fresh process: build and run the world, print the peak RSS increase in bytes."""
    scenario = market_scenario(persons)
    before = _rss_bytes("VmRSS")
    MarketWorld(scenario, seed=1, crypto=crypto).run()
    print(max(_rss_bytes("VmHWM") - before, 0))


def market_rss(persons: int, crypto: CryptoMode) -> float:
    """Peak RSS increase per node of one run, measured in a fresh process."""
    child = [sys.executable, __file__, "--rss-child", str(persons), crypto.value]
    grew = int(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
    scenario = market_scenario(persons)
    return grew / (scenario.persons + scenario.vendors)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300_000, help="events for the bare loops")
    parser.add_argument("--persons", type=int, default=300, help="persons in the market world")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--rss-child", nargs=2, metavar=("PERSONS", "CRYPTO"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.rss_child:
        rss_child(int(args.rss_child[0]), CryptoMode(args.rss_child[1]))
        return 0

    scenario = market_scenario(args.persons)
    nodes = scenario.persons + scenario.vendors
    bare = bare_heapq(args.events)
    engine = engine_loop(args.events)
    standin_rate, standin_events, standin_bytes = market(scenario, CryptoMode.STANDIN)
    real_rate, real_events, real_bytes = market(scenario, CryptoMode.REAL)
    standin_rss = market_rss(args.persons, CryptoMode.STANDIN)
    real_rss = market_rss(args.persons, CryptoMode.REAL)
    rows: list[dict[str, str | int | float]] = [
        {"run": "bare heapq", "events": args.events, "events_per_s": round(bare)},
        {"run": "engine", "events": args.events, "events_per_s": round(engine)},
        {
            "run": "market, stand-in crypto",
            "events": standin_events,
            "events_per_s": round(standin_rate),
            "peak_bytes_per_node": round(standin_bytes),
            "peak_rss_bytes_per_node": round(standin_rss),
        },
        {
            "run": "market, real crypto",
            "events": real_events,
            "events_per_s": round(real_rate),
            "peak_bytes_per_node": round(real_bytes),
            "peak_rss_bytes_per_node": round(real_rss),
        },
    ]
    for row in rows:
        row["ratio_to_bare"] = round(float(row["events_per_s"]) / bare, 4)
    if args.json:
        print(json.dumps({"nodes": nodes, "rows": rows}, indent=2))
        return 0
    print(f"simulator benchmark: market with {nodes} nodes; one core; ratios against bare heapq")
    print(
        f"{'run':<26} {'events':>9} {'events/s':>11} {'ratio':>8} "
        f"{'traced KiB/node':>16} {'RSS KiB/node':>13}"
    )
    for row in rows:
        traced, rss = row.get("peak_bytes_per_node"), row.get("peak_rss_bytes_per_node")
        traced_text = "" if traced is None else f"{float(traced) / 1024:.1f}"
        rss_text = "" if rss is None else f"{float(rss) / 1024:.1f}"
        print(
            f"{row['run']:<26} {row['events']:>9,} {row['events_per_s']:>11,} "
            f"{row['ratio_to_bare']:>8.4f} {traced_text:>16} {rss_text:>13}"
        )
    ratio = standin_rate / max(real_rate, 1.0)
    print(f"stand-in / real crypto: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
