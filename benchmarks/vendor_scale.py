"""A vendor at scale: its store on SQLite and on PostgreSQL, in the same run (issue 21).

    python benchmarks/vendor_scale.py [--quick] [--seconds 3.0] [--fills 0,100000,1000000] [--json]

Rows (the parts are benchmarks/nodebench/, as node_throughput.py uses them):

- notes/s: acknowledged notes per second over 50 relationships, both ways (persons → vendor:
  the vendor opens, guards, stores and ACKs; vendor → persons: it signs, stores, sends and
  records ACKs), with the vendor's store on SQLite (amity.db in its home) and on PostgreSQL (a
  throwaway cluster of Debian's server, fsync on, on a Unix socket: tests/node/pgcluster.py),
  one after the other under the same load. Goal: PostgreSQL >= 0.5x SQLite.
- two workers: ``amity run --workers`` is not built yet; the row says so rather than guess.
- time to connect: invitation in hand -> CONNECTED on both sides, to a vendor on PostgreSQL
  already holding 0, 100 000 and 1 000 000 relationships (--quick: 0 and 10 000), median and
  p95 of --connects connects. Goal: p95 < 50 ms, flat.

The vendor is a child process built as ``amity run`` builds it; the persons are nodes in this
process. Absolute figures follow the machine's load (printed): compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nodebench.measure import WINDOW, pump_notes
from nodebench.peers import connect, person, time_to_connect, vendor_process

from amity.node.home import Config, Home
from amity.protocol.card import NodeKind

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.node.pgcluster
from tests.node.pgcluster import PgCluster

_CONNECTIONS = 50
_GOAL_PG_RATIO = 0.5
_GOAL_CONNECT_P95_MS = 50.0


@contextlib.contextmanager
def postgres() -> Iterator[PgCluster]:
    """A throwaway server with fsync on (SQLite fsyncs its WAL too): a fair comparison."""
    root = Path(tempfile.mkdtemp(prefix="amity-pg-bench-"))
    cluster = PgCluster(root, fsync=True)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def vendor_home(path: Path, store: str = "") -> Home:
    home = Home(path)
    home.create(Config(name="Corner Bookshop", kind=NodeKind.VENDOR, mdns=False, store=store))
    return home


async def notes_per_s(tmp: Path, home: Home, args: argparse.Namespace) -> dict[str, float]:
    """Acknowledged notes/s over 50 relationships with the vendor in ``home``, both ways."""
    async with vendor_process(home) as vendor, contextlib.AsyncExitStack() as stack:
        persons = []
        for i in range(_CONNECTIONS):
            node, counter = await stack.enter_async_context(
                person(tmp / f"{home.path.name}-person-{i}", f"Customer {i}")
            )
            await connect(node, vendor)
            persons.append((node, counter))
        inbound = await pump_notes(
            [(node, counter, vendor.peer_id) for node, counter in persons],
            window=WINDOW,
            warmup_s=args.warmup,
            seconds=args.seconds,
            pids=[vendor.pid, os.getpid()],
        )
        request = {
            "peers": [node.peer_id.did for node, _ in persons],
            "window": WINDOW,
            "warmup_s": args.warmup,
            "seconds": args.seconds,
            "parent_pid": os.getpid(),
            "profile": None,
        }
        outbound = await vendor.call("POST", "/bench/pump", request)
    for name, result in (("persons → vendor", inbound), ("vendor → persons", outbound)):
        if result["pending_after"]:
            raise RuntimeError(f"{name}: {result['pending_after']} notes never acknowledged")
    return {"in_per_s": inbound["per_s"], "out_per_s": outbound["per_s"]}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="amity-vendor-scale-") as name, postgres() as pg:
        tmp = Path(name)
        sqlite = await notes_per_s(tmp, vendor_home(tmp / "sqlite-vendor"), args)
        print(f"  SQLite: {sqlite}", file=sys.stderr)
        on_pg = await notes_per_s(tmp, vendor_home(tmp / "pg-vendor", pg.new_database()), args)
        print(f"  PostgreSQL: {on_pg}", file=sys.stderr)
        connects = []
        for fill in args.fills:
            url = pg.new_database()
            home = vendor_home(tmp / f"pg-vendor-{fill}", url)
            connects.append(await time_to_connect(tmp, home, url, fill, args.connects))
    ratio_in = on_pg["in_per_s"] / sqlite["in_per_s"]
    ratio_out = on_pg["out_per_s"] / sqlite["out_per_s"]
    worst_p95 = max(c["p95_ms"] for c in connects)
    return {
        "load_average": os.getloadavg(),
        "connections": _CONNECTIONS,
        "seconds": args.seconds,
        "sqlite": {k: round(v) for k, v in sqlite.items()},
        "postgresql_1_worker": {k: round(v) for k, v in on_pg.items()},
        "postgresql_2_workers": None,
        "ratio_pg_to_sqlite": {"in": round(ratio_in, 2), "out": round(ratio_out, 2)},
        "connect_pg": connects,
        "goals": {
            "pg_ratio": min(ratio_in, ratio_out) >= _GOAL_PG_RATIO,
            "two_workers": None,
            "connect_p95": worst_p95 < _GOAL_CONNECT_P95_MS,
        },
    }


def print_report(report: dict[str, Any]) -> None:
    load = report["load_average"]
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{report['connections']} relationships, {report['seconds']:g} s per row"
    )
    print(f"{'store':<24} {'persons → vendor':>17} {'vendor → persons':>17}")
    for label, key in (("SQLite", "sqlite"), ("PostgreSQL, 1 worker", "postgresql_1_worker")):
        r = report[key]
        print(f"{label:<24} {r['in_per_s']:>13} n/s {r['out_per_s']:>13} n/s")
    ratio = report["ratio_pg_to_sqlite"]
    print(
        f"{'PostgreSQL / SQLite':<24} {ratio['in']:>17.2f} {ratio['out']:>17.2f}"
        f"   goal >= {_GOAL_PG_RATIO}: {'met' if report['goals']['pg_ratio'] else 'MISSED'}"
    )
    print("PostgreSQL, 2 workers: not measured (amity run --workers is not built yet)")
    print(f"{'relationships':>13} {'median ms':>10} {'p95 ms':>8} {'start ms':>9} {'fill s':>7}")
    for c in report["connect_pg"]:
        print(
            f"{c['relationships']:>13} {c['median_ms']:>10.2f} {c['p95_ms']:>8.2f} "
            f"{c['vendor_start_ms']:>9.0f} {c['fill_s']:>7.0f}"
        )
    met = "met" if report["goals"]["connect_p95"] else "MISSED"
    print(f"time to connect, p95 < {_GOAL_CONNECT_P95_MS:.0f} ms at every size: {met}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 s rows, fills 0 and 10 000")
    parser.add_argument("--seconds", type=float, help="measured time per row (default 3)")
    parser.add_argument("--fills", help="relationships stored before connecting, comma-separated")
    parser.add_argument("--connects", type=int, help="connects per fill (default 30, quick 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    args.seconds = args.seconds or (1.0 if args.quick else 3.0)
    args.warmup = 0.3 if args.quick else 1.0
    args.connects = args.connects or (10 if args.quick else 30)
    default = "0,10000" if args.quick else "0,100000,1000000"
    args.fills = [int(f) for f in (args.fills or default).split(",")]
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
