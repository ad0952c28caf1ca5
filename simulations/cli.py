"""The ``amity-sim`` command line: run a scenario, write its results, say where they are."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from amity.protocol import PROTOCOL_VERSION, __version__
from amity.protocol.errors import UsageError
from amity.simulations.crypto import CryptoMode
from amity.simulations.market import MarketWorld
from amity.simulations.results import write_results
from amity.simulations.scenario import SCENARIOS_DIR, load_scenario

__all__ = ["main", "Progress"]

EXIT_OK = 0
EXIT_SCENARIO = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_EPILOG = f"""\
scenarios shipped (give a path, or just the name): {SCENARIOS_DIR}
  market.toml   persons proffer terms to vendors with varied policies

results: OUT/<scenario>-seed<N>[-quick][-standin]/ summary.json negotiations.csv events.csv report.md
  The same scenario, seed and crypto mode always write byte-identical files.

exit codes:
  0    the run finished and its results are written
  1    the scenario file is wrong (the message names the key)
  2    wrong command-line usage
  130  interrupted (Ctrl-C): the results so far are written, marked interrupted
"""


class Progress:
    """A progress line on stderr for long runs (wall-clock time is read here, never in a run)."""

    def __init__(self, stream: TextIO, *, every_s: float = 1.0, after_s: float = 2.0) -> None:
        self.stream = stream
        self.every_s = every_s
        self.after_s = after_s
        self.started = time.perf_counter()
        self._last = self.started
        self._shown = False

    def __call__(self, world: MarketWorld) -> None:
        now = time.perf_counter()
        if now - self.started < self.after_s or now - self._last < self.every_s:
            return
        self._last = now
        self.show(world, now)

    def show(self, world: MarketWorld, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        events = world.engine.events_run
        line = (
            f"{world.scenario.name}: {world.engine.now_ms / 60_000:7.1f} virtual min · "
            f"{world.settled}/{len(world.visits)} visits settled · {events} events · "
            f"{events / elapsed:,.0f} events/s"
        )
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(line + end)
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown and self.stream.isatty():
            self.stream.write("\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amity-sim",
        description=(
            "Discrete-event simulations of amity networks: every simulated node runs the real "
            "amity.protocol core (signed envelopes, replay guard, relationship and negotiation "
            "machines) on a virtual clock over a simulated network."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"amity-sim {__version__} (protocol v{PROTOCOL_VERSION})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run one scenario with one seed",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("scenario", help="scenario TOML (a path, or the name of a shipped one)")
    run.add_argument("--seed", type=int, default=1, help="the run seed (default 1)")
    run.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    run.add_argument("--quick", action="store_true", help="the scenario at its small size")
    run.add_argument(
        "--crypto",
        choices=[m.value for m in CryptoMode],
        default=CryptoMode.REAL.value,
        help="real (default) or the declared stand-in for very large runs",
    )
    run.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    return parser


def _canonical_command(scenario: str, seed: int, quick: bool, crypto: CryptoMode) -> str:
    parts = ["amity-sim", "run", scenario, "--seed", str(seed)]
    if quick:
        parts.append("--quick")
    if crypto is not CryptoMode.REAL:
        parts += ["--crypto", crypto.value]
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.seed < 0:
        parser.error("--seed is an integer >= 0")
    crypto = CryptoMode(args.crypto)
    try:
        scenario = load_scenario(args.scenario, quick=args.quick)
    except UsageError as exc:
        print(f"amity-sim: {exc.message}", file=sys.stderr)
        return EXIT_SCENARIO
    world = MarketWorld(scenario, seed=args.seed, crypto=crypto)
    progress = Progress(sys.stderr)
    code = EXIT_OK
    try:
        world.run(None if args.quiet else progress)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    progress.finish()
    command = _canonical_command(scenario.source.name, args.seed, args.quick, crypto)
    folder = write_results(world, args.out, command=command)
    elapsed = time.perf_counter() - progress.started
    agreed = sum(v.outcome == "agreed" for v in world.visits)
    state = "interrupted; partial results" if code else "done"
    print(
        f"{scenario.name} seed {args.seed} ({crypto.value} crypto): {state}: "
        f"{agreed}/{len(world.visits)} visits agreed, {world.engine.events_run} events in "
        f"{elapsed:.1f} s ({world.engine.events_run / max(elapsed, 1e-9):,.0f} events/s)",
        file=sys.stderr,
    )
    print(folder)
    return code


if __name__ == "__main__":
    sys.exit(main())
