"""The ``amity-sim`` command line: run a scenario or sweep a grid of them, say where results are."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn, TextIO

from amity.protocol import PROTOCOL_VERSION, __version__
from amity.protocol.errors import ScenarioError, SimulationStuckError, UsageError
from amity.simulations.crypto import CryptoMode
from amity.simulations.kinds import World, kind_for
from amity.simulations.runs import plots
from amity.simulations.runs.collector import run_collections
from amity.simulations.runs.plots import INSTALL_HINT
from amity.simulations.runs.sweep import (
    RAY_INSTALL_HINT,
    Setting,
    SweepProgress,
    execute,
    parse_param,
    prepare_sweep,
)
from amity.simulations.runs.sweep_results import write_sweep
from amity.simulations.scenarios.reader import SCENARIOS_DIR, shipped_scenarios
from amity.simulations.verifier import can_verify_ahead, verifying_ahead

__all__ = ["main", "Progress"]

EXIT_OK = 0
EXIT_SCENARIO = 1
EXIT_USAGE = 2
EXIT_STUCK = 3
EXIT_INTERRUPTED = 130


def _shipped() -> str:
    lines = [f"scenarios shipped (give a path, or just the name): {SCENARIOS_DIR}"]
    lines += [f"  {name:<17} {summary}" for name, summary in shipped_scenarios()]
    return "\n".join(lines)


_EPILOG = f"""\
{_shipped()}

run: OUT/<scenario>-seed<N>[-quick][-standin]/ summary.json, report.md and the scenario's CSVs
  (with pip install 'amity[sim]', a reputation run also draws fig-rounds.png, both arms by
  round, and a lifecycle run fig-delays.png, each delay as the share done by a time)
  The same scenario, seed and crypto mode always write byte-identical files.
  --param KEY=VALUE sets a dotted key of the scenario file for this run (repeatable).

sweep: every combination of --param values, each with --seeds seeds, on --workers processes
  amity-sim sweep market --param network.loss=0,0.01,0.05 --seeds 10 --workers 2 --out results/
  amity-sim sweep market --quick --param population.persons=50,100 --param network.loss=0,0.05
  amity-sim sweep reputation --param attack.breach_rate=0,0.1,0.2,0.4 --param attack.threat_model=A,B
  --param KEY=v1,v2,...  KEY is a dotted key of the scenario file (population.persons,
      network.loss, churn.person.start_online, vendor_policy.0.weight); values are read as
      int, float, true/false or text. A key the scenario does not read is an error (exit 1).
  OUT/<scenario>-sweep-<hash of the command>/ holds sweep.json (grid, versions, every run's
      figures), aggregate.csv (per combination and figure: n, mean, std, 95% CI by Student t
      and by bootstrap), fig-<figure>.png (mean and bootstrap interval against the first
      --param, both arms of a reputation figure on one plot, parameters that take one value in
      the caption; needs pip install 'amity[sim]'), report.md, and runs/<combination>/<run>/
      with each run's own files.
  The same sweep command writes byte-identical files, whatever --workers. Ctrl-C stops the runs
  and writes the aggregate of those finished. --ray [ADDRESS] runs the grid as Ray tasks on the
  cluster at ADDRESS, or on a Ray started here (pip install 'amity[ray]'; put --ray last).

exit codes:
  0    the run or sweep finished and its results are written
  1    the scenario file or a --param key is wrong (the message names the key)
  2    wrong command-line usage (also: --ray without Ray installed)
  3    the world got stuck (a node resent the same message on 100 links in a row and its peer
       never took it): the message says which nodes and messages; no results are written
  130  interrupted (Ctrl-C): the results so far are written, marked interrupted
"""


class Progress:
    """A progress line on stderr for long runs (wall-clock time is read here, never in a run)."""

    def __init__(
        self,
        stream: TextIO,
        headline: Callable[[Any], str],
        *,
        every_s: float = 1.0,
        after_s: float = 2.0,
    ) -> None:
        self.stream = stream
        self.headline = headline
        self.every_s = every_s
        self.after_s = after_s
        self.started = time.perf_counter()
        self._last = self.started
        self._shown = False

    def __call__(self, world: World) -> None:
        now = time.perf_counter()
        if now - self.started < self.after_s or now - self._last < self.every_s:
            return
        self._last = now
        self.show(world, now)

    def show(self, world: World, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        events = world.engine.events_run
        line = (
            f"{world.scenario.name}: {world.engine.now_ms / 60_000:7.1f} virtual min · "
            f"{self.headline(world)} · {events} events · {events / elapsed:,.0f} events/s"
        )
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(line + end)
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown and self.stream.isatty():
            self.stream.write("\n")


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("scenario", help="scenario TOML (a path, or the name of a shipped one)")
    command.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    command.add_argument("--quick", action="store_true", help="the scenario at its small size")
    command.add_argument(
        "--crypto",
        choices=[m.value for m in CryptoMode],
        default=CryptoMode.REAL.value,
        help="real (default) or the declared stand-in for very large runs",
    )
    command.add_argument("--quiet", action="store_true", help="no progress line on stderr")


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
    _common(run)
    run.set_defaults(usage=run)  # errors show the usage of the command given
    run.add_argument("--seed", type=int, default=1, help="the run seed (default 1)")
    run.add_argument(
        "--verifier",
        choices=["ahead", "here"],
        default="here",
        help=(
            "real crypto: verify every signature here (default), or the run's own ahead on a "
            "second core where one is free (fork only); the results are the same"
        ),
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a dotted key of the scenario file, e.g. network.loss=0.01 (repeatable)",
    )
    sweep = commands.add_parser(
        "sweep",
        help="run a scenario over a grid of parameter values and seeds, with mean and 95%% CI",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(sweep)
    sweep.set_defaults(usage=sweep)
    sweep.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=v1,v2",
        help="a dotted key of the scenario file and its values (repeatable: every combination)",
    )
    sweep.add_argument("--seeds", type=int, default=10, help="seeds per combination (default 10)")
    sweep.add_argument("--seed-base", type=int, default=1, help="the first seed (default 1)")
    sweep.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: one per core; 1 runs in this process)",
    )
    sweep.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run the grid on the Ray cluster at ADDRESS, or on a local Ray without one",
    )
    return parser


def _run_overrides(parser: argparse.ArgumentParser, texts: Sequence[str]) -> dict[str, Setting]:
    overrides: dict[str, Setting] = {}
    for text in texts:
        try:
            param = parse_param(text)
        except UsageError as exc:
            parser.error(exc.message)
        if len(param.values) != 1 or param.key in overrides:
            parser.error(f"--param {param.key}: run takes one value per key; sweep takes several")
        overrides[param.key] = param.values[0]
    return overrides


def _canonical_command(
    scenario: str, seed: int, quick: bool, crypto: CryptoMode, params: Sequence[str]
) -> str:
    parts = ["amity-sim", "run", scenario, "--seed", str(seed)]
    for text in params:
        key, _, value = text.partition("=")
        parts += ["--param", f"{key.strip()}={value.strip()}"]
    if quick:
        parts.append("--quick")
    if crypto is not CryptoMode.REAL:
        parts += ["--crypto", crypto.value]
    return " ".join(parts)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.seed < 0:
        parser.error("--seed is an integer >= 0")
    crypto = CryptoMode(args.crypto)
    overrides = _run_overrides(parser, args.param)
    try:
        kind = kind_for(args.scenario)
        scenario = kind.load(args.scenario, quick=args.quick, overrides=overrides or None)
    except UsageError as exc:
        print(f"amity-sim: {exc.message}", file=sys.stderr)
        return EXIT_SCENARIO
    ahead = crypto is CryptoMode.REAL and args.verifier == "ahead" and can_verify_ahead()
    with run_collections(), verifying_ahead() if ahead else nullcontext() as verifier:
        # Building the world allocates (and signs) as much as running it.
        world = kind.make_world(scenario, seed=args.seed, crypto=crypto)
        progress = Progress(sys.stderr, kind.headline)
        code = EXIT_OK
        try:
            world.run(None if args.quiet else progress)
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        except SimulationStuckError as exc:
            progress.finish()
            print(
                f"amity-sim: {scenario.name} seed {args.seed} ({crypto.value} crypto), at "
                f"{world.engine.now_ms / 60_000:.1f} virtual min: {exc.message}",
                file=sys.stderr,
            )
            return EXIT_STUCK
    progress.finish()
    command = _canonical_command(scenario.source.name, args.seed, args.quick, crypto, args.param)
    folder = kind.write_results(world, args.out, command=command)
    elapsed = time.perf_counter() - progress.started
    events = world.engine.events_run
    state = "interrupted; partial results" if code else "done"
    print(
        f"{scenario.name} seed {args.seed} ({crypto.value} crypto): {state}: "
        f"{kind.headline(world)}, {events} events in {elapsed:.1f} s "
        f"({events / max(elapsed, 1e-9):,.0f} events/s)"
        + (
            ""
            if verifier is None
            else f"; {verifier.ahead} signatures verified ahead, {verifier.here} here"
        ),
        file=sys.stderr,
    )
    if kind.figures and not plots.available():
        print(
            f"amity-sim: figure skipped ({', '.join(kind.figures)}): matplotlib is not "
            f"installed; {INSTALL_HINT} for it",
            file=sys.stderr,
        )
    print(folder)
    return code


def _sweep(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.ray is not None and importlib.util.find_spec("ray") is None:
        print(
            f"amity-sim: --ray needs Ray, which is not installed here: {RAY_INSTALL_HINT} "
            "(or run the sweep without --ray on worker processes)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.workers < 1:
        parser.error("--workers is an integer >= 1")
    try:
        params = [parse_param(text) for text in args.param]
        sweep = prepare_sweep(
            args.scenario,
            params,
            seeds=args.seeds,
            seed_base=args.seed_base,
            quick=args.quick,
            crypto=CryptoMode(args.crypto),
        )
    except ScenarioError as exc:
        print(f"amity-sim: {exc.message}", file=sys.stderr)
        return EXIT_SCENARIO
    except UsageError as exc:
        parser.error(exc.message)
    grid = sweep.grid
    if args.ray is not None:
        where = f"Ray at {args.ray}" if args.ray else "a local Ray"
    else:
        where = "this process" if args.workers == 1 else f"{args.workers} worker processes"
    print(
        f"{sweep.scenario.name} sweep: {grid.runs} runs ({len(grid.points)} combinations x "
        f"{len(grid.seeds)} seeds) on {where}",
        file=sys.stderr,
    )
    started = time.perf_counter()
    progress = None if args.quiet else SweepProgress(sys.stderr, grid)
    try:
        result = execute(
            sweep, args.out, workers=args.workers, ray_address=args.ray, on_run=progress
        )
    except SimulationStuckError as exc:
        print(f"amity-sim: {exc.message}", file=sys.stderr)
        return EXIT_STUCK
    written = write_sweep(sweep, result)
    state = "interrupted; the aggregate covers the finished runs" if result.interrupted else "done"
    figures = [name for name in written if name.endswith(".png")]
    print(
        f"{sweep.scenario.name} sweep: {state}: {len(result.outcomes)}/{grid.runs} runs in "
        f"{time.perf_counter() - started:.1f} s; "
        + (
            f"{len(figures)} figures"
            if figures or not grid.params
            else f"figures skipped ({INSTALL_HINT} for them)"
        ),
        file=sys.stderr,
    )
    print(result.folder)
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.command == "sweep":
        return _sweep(args.usage, args)
    return _run(args.usage, args)


def console() -> NoReturn:
    """``amity-sim`` and ``python -m amity.simulations``: :func:`main`, then a quick exit.

    After ``run`` the process still holds the whole world, and freeing it object by object at
    exit takes seconds (10 s after a 10 000-node run) for nothing: by now every result file is
    written and closed, sweeps' worker pools and Ray are shut down, and only the standard
    streams need flushing. So the process ends there and the system takes the memory back.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
