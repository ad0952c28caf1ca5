"""How long a person waits for the ``amity`` command, the whole process timed, against a bare
Python interpreter start in the same run.

    python benchmarks/cli_startup.py [--runs 15] [--json]

Each row runs the command ``--runs`` times as a new process (as a shell would) and prints the
median wall time and its ratio to ``python -c pass`` (the floor no Python command can beat).
``amity status`` asks a real node, started here in a temporary home and stopped at the end.
Goals (issue 19): ``--version`` under 0.15 s, ``status`` under 0.35 s, on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The console script a person runs, beside this interpreter (else the module, a little slower).
_SCRIPT = Path(sys.executable).parent / "amity"
AMITY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "amity.node.cli"]


def wall(argv: list[str], runs: int) -> float:
    """The median wall time of ``argv`` as a new process, in seconds (one warm-up run first)."""
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:  # the first run warms the page cache
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def start_node(home: Path) -> subprocess.Popen[bytes]:
    subprocess.run(
        [*AMITY, "init", "--home", str(home), "--name", "Bench"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    node = subprocess.Popen(
        [*AMITY, "run", "--home", str(home), "--no-mdns"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):  # up to 30 s for the node to answer
        done = subprocess.run(
            [*AMITY, "status", "--home", str(home)], capture_output=True, check=False
        )
        if done.returncode == 0:
            return node
        time.sleep(0.1)
    node.kill()
    raise SystemExit("the node did not start: see `amity run --home` by hand")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per command (median)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="amity-cli-bench-")) / "node"
    node = start_node(home)
    try:
        bare = wall([sys.executable, "-c", "pass"], args.runs)
        rows = []
        for label, argv in (
            ("amity --version", [*AMITY, "--version"]),
            ("amity status", [*AMITY, "status", "--home", str(home)]),
            ("amity status --json", [*AMITY, "status", "--home", str(home), "--json"]),
            ("amity --help", [*AMITY, "--help"]),
        ):
            seconds = wall(argv, args.runs)
            rows.append({"command": label, "seconds": seconds, "ratio_to_bare": seconds / bare})
    finally:
        node.terminate()
        node.wait(timeout=30)
        shutil.rmtree(home.parent, ignore_errors=True)

    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"bare_python_s": bare, "load_1min": load, "rows": rows}, indent=2))
        return 0
    print(f"bare `python -c pass`: {bare * 1000:.0f} ms (median of {args.runs}; load {load:.2f})")
    print(f"{'command':<22} {'median':>9} {'x bare':>7}")
    for row in rows:
        print(f"{row['command']:<22} {row['seconds'] * 1000:>6.0f} ms {row['ratio_to_bare']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
