"""A sweep: one scenario over a grid of parameter values and seeds, run in parallel, summarised.

``amity-sim sweep market --param network.loss=0,0.01,0.05 --seeds 10`` runs every combination
of the ``--param`` values (dotted keys of the scenario file) with every seed. Each run writes its
usual result folder under ``runs/``; beside them the sweep writes ``sweep.json`` (the grid and
every run's figures), ``aggregate.csv`` (per combination and figure: n, mean, standard deviation
and the Student-t 95% CI over the seeds), one PNG per figure and ``report.md``. Runs go to worker
processes or a Ray cluster; what is written depends only on the command, never on the number of
workers or the order in which runs finish. Wall-clock time is read for the progress line only.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import logging
import math
import multiprocessing
import re
import signal
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from amity.protocol.errors import SimulationStuckError, UsageError
from amity.simulations.crypto import CryptoMode
from amity.simulations.kinds import KINDS, Scenario, kind_of
from amity.simulations.runs.collector import run_collections
from amity.simulations.scenarios.reader import SCENARIOS_DIR, resolve_scenario_path

__all__ = [
    "Setting",
    "Param",
    "Point",
    "Grid",
    "RunSpec",
    "RunOutcome",
    "Sweep",
    "SweepResult",
    "SweepProgress",
    "RAY_INSTALL_HINT",
    "parse_setting",
    "parse_param",
    "prepare_sweep",
    "run_one",
    "execute",
]

#: A value a ``--param`` sets: parsed as TOML would read it (int, float, bool), else a string.
Setting = bool | int | float | str

RAY_INSTALL_HINT: Final = "pip install 'amity[ray]'"
_INT: Final = re.compile(r"[+-]?[0-9][0-9_]*")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._=+-]")


def parse_setting(text: str) -> Setting:
    """``true``/``false`` → bool, ``20`` → int, ``0.1`` or ``1e-3`` → float, else the string."""
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


@dataclass(frozen=True, slots=True)
class Param:
    """One ``--param KEY=v1,v2``: a dotted key of the scenario and its values as given."""

    key: str
    texts: tuple[str, ...]

    @property
    def values(self) -> tuple[Setting, ...]:
        return tuple(parse_setting(t) for t in self.texts)

    @property
    def numeric(self) -> bool:
        """All values are numbers (not booleans): figures put them on a numeric axis."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


def parse_param(text: str) -> Param:
    """``KEY=v1,v2,…`` → :class:`Param`; UsageError saying what is wrong."""
    key, sep, values = text.partition("=")
    key = key.strip()
    texts = tuple(v.strip() for v in values.split(","))
    if not sep or not key or not all(texts):
        raise UsageError(
            f"--param {text!r}: expected KEY=v1,v2,… with a dotted key of the scenario, "
            "e.g. network.loss=0,0.01,0.05"
        )
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    if repeated:
        raise UsageError(f"--param {key}: the values {', '.join(repeated)} are given twice")
    return Param(key, texts)


@dataclass(frozen=True, slots=True)
class Point:
    """One combination of parameter values: ``(key, value as given)`` in the order of --param."""

    index: int
    settings: tuple[tuple[str, str], ...]

    @property
    def overrides(self) -> dict[str, Setting]:
        return {key: parse_setting(text) for key, text in self.settings}

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={t}" for k, t in self.settings) or "the scenario as written"

    def folder(self, width: int) -> str:
        """``03_network.loss=0.1_population.persons=20``: unique by its index, readable by the rest."""
        name = "_".join(f"{k}={t}" for k, t in self.settings) or "base"
        return f"{self.index:0{width}d}_{_UNSAFE.sub('_', name)}"


@dataclass(frozen=True, slots=True)
class Grid:
    """The cartesian product of the parameters' values (the first varies slowest), times seeds."""

    params: tuple[Param, ...]
    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        keys = [p.key for p in self.params]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise UsageError(f"--param {', '.join(twice)} is given twice; list all its values once")
        if not self.seeds:
            raise UsageError("a sweep needs at least one seed")

    @property
    def points(self) -> tuple[Point, ...]:
        combos = itertools.product(*(p.texts for p in self.params))
        keys = [p.key for p in self.params]
        return tuple(
            Point(i, tuple(zip(keys, combo, strict=True))) for i, combo in enumerate(combos)
        )

    @property
    def runs(self) -> int:
        return math.prod(len(p.texts) for p in self.params) * len(self.seeds)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything a worker process needs for one run (plain values: it is pickled)."""

    kind: str
    scenario: str
    quick: bool
    crypto: str
    point: int
    overrides: tuple[tuple[str, Setting], ...]
    seed: int
    command: str
    #: The run's folder goes to ``out_dir/subdir/``; with no out_dir (a Ray worker on another
    #: machine) its files come back in the outcome and the driver writes them.
    subdir: str
    out_dir: str | None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    point: int
    seed: int
    #: The run's folder, relative to the sweep's.
    folder: str
    metrics: dict[str, float]
    headline: str
    files: tuple[tuple[str, bytes], ...] = ()


def run_one(spec: RunSpec) -> RunOutcome:
    """Load, run and write one run of the grid; in a worker process or in this one."""
    kind = KINDS[spec.kind]
    scenario = kind.load(spec.scenario, quick=spec.quick, overrides=dict(spec.overrides))
    with run_collections():  # building the world allocates as much as running it
        world = kind.make_world(scenario, seed=spec.seed, crypto=CryptoMode(spec.crypto))
        try:
            world.run()
        except SimulationStuckError as exc:  # say which run of the grid
            raise SimulationStuckError(f"`{spec.command}`: {exc.message}") from None
    if spec.out_dir is not None:
        written = kind.write_results(world, Path(spec.out_dir) / spec.subdir, command=spec.command)
        files: tuple[tuple[str, bytes], ...] = ()
    else:
        with tempfile.TemporaryDirectory(prefix="amity-sweep-") as tmp:
            written = kind.write_results(world, Path(tmp) / spec.subdir, command=spec.command)
            files = tuple(
                (p.relative_to(tmp).as_posix(), p.read_bytes())
                for p in sorted(Path(tmp).rglob("*"))
                if p.is_file()
            )
    return RunOutcome(
        spec.point,
        spec.seed,
        f"{spec.subdir}/{written.name}",
        kind.metrics(world),
        kind.headline(world),
        files,
    )


@dataclass(frozen=True, slots=True)
class Sweep:
    """A checked sweep: the scenario, the grid, and how every run and the sweep are named."""

    kind: str
    source: Path
    scenario: Scenario
    grid: Grid
    quick: bool
    crypto: CryptoMode

    @property
    def command(self) -> str:
        """The command that writes this sweep again, byte for byte (workers and --out aside)."""
        parts = ["amity-sim", "sweep", self.source.name]
        for p in self.grid.params:
            parts += ["--param", f"{p.key}={','.join(p.texts)}"]
        seeds = self.grid.seeds
        parts += ["--seeds", str(len(seeds)), "--seed-base", str(seeds[0])]
        return " ".join(parts + self._flags())

    def run_command(self, point: Point, seed: int) -> str:
        """The ``amity-sim run`` command that writes this one run again."""
        parts = ["amity-sim", "run", self.source.name, "--seed", str(seed)]
        for key, text in point.settings:
            parts += ["--param", f"{key}={text}"]
        return " ".join(parts + self._flags())

    def _flags(self) -> list[str]:
        flags = ["--quick"] if self.quick else []
        if self.crypto is not CryptoMode.REAL:
            flags += ["--crypto", self.crypto.value]
        return flags

    @property
    def folder_name(self) -> str:
        """``<scenario>-sweep-<8 hex of the command>``: a new grid never overwrites another's."""
        digest = hashlib.blake2b(self.command.encode(), digest_size=4).hexdigest()
        return f"{self.scenario.name}-sweep-{digest}"

    def specs(self, folder: Path | None) -> list[RunSpec]:
        points = self.grid.points
        width = max(2, len(str(len(points) - 1)))
        # Ray workers (no folder: they may be other machines) find a shipped scenario by its
        # name in their own install; anything else goes by its path on this machine.
        by_name = folder is None and self.source.parent == SCENARIOS_DIR
        return [
            RunSpec(
                kind=self.kind,
                scenario=self.source.name if by_name else str(self.source),
                quick=self.quick,
                crypto=self.crypto.value,
                point=point.index,
                overrides=tuple(point.overrides.items()),
                seed=seed,
                command=self.run_command(point, seed),
                subdir=f"runs/{point.folder(width)}",
                out_dir=None if folder is None else str(folder),
            )
            for point in points
            for seed in self.grid.seeds
        ]


def prepare_sweep(
    scenario: str | Path,
    params: Sequence[Param],
    *,
    seeds: int,
    seed_base: int = 1,
    quick: bool = False,
    crypto: CryptoMode = CryptoMode.REAL,
) -> Sweep:
    """Check the whole grid before any run starts: every combination loads, or ScenarioError."""
    if seeds < 1 or seed_base < 0:
        raise UsageError("--seeds is an integer >= 1 and --seed-base one >= 0")
    source = resolve_scenario_path(scenario).resolve()
    kind = kind_of(source)
    grid = Grid(tuple(params), tuple(range(seed_base, seed_base + seeds)))
    base = KINDS[kind].load(source, quick=quick, overrides=None)
    for point in grid.points:
        KINDS[kind].load(source, quick=quick, overrides=point.overrides)
    return Sweep(kind, source, base, grid, quick, crypto)


# -- running the grid ------------------------------------------------------------------------------


class SweepProgress:
    """Runs done of all, with an ETA, on stderr: one rewritten line on a terminal."""

    def __init__(self, stream: TextIO, grid: Grid, *, every_s: float = 1.0) -> None:
        self.stream = stream
        self.total = grid.runs
        self.labels = [point.label for point in grid.points]
        self.every_s = every_s
        self.started = time.perf_counter()
        self._last = -math.inf

    def __call__(self, outcome: RunOutcome, done: int) -> None:
        now = time.perf_counter()
        if done < self.total and now - self._last < self.every_s and not self.stream.isatty():
            return
        self._last = now
        elapsed = now - self.started
        eta = elapsed / done * (self.total - done)
        line = (
            f"sweep: {done}/{self.total} runs · {_clock(elapsed)} elapsed · "
            f"ETA {_clock(eta)} · {self.labels[outcome.point]}, seed {outcome.seed}: "
            f"{outcome.headline}"
        )
        end = "\r" if self.stream.isatty() and done < self.total else "\n"
        self.stream.write(line + end)
        self.stream.flush()


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


@dataclass(slots=True)
class SweepResult:
    folder: Path
    outcomes: list[RunOutcome] = field(default_factory=list)
    interrupted: bool = False


def execute(
    sweep: Sweep,
    out_dir: Path,
    *,
    workers: int = 1,
    ray_address: str | None = None,
    on_run: Callable[[RunOutcome, int], None] | None = None,
) -> SweepResult:
    """Run the grid: in this process (one worker), worker processes, or Ray (``ray_address``
    given; "" starts a local Ray). Ctrl-C stops it; the runs finished so far are kept.
    """
    folder = out_dir / sweep.folder_name
    folder.mkdir(parents=True, exist_ok=True)
    result = SweepResult(folder)
    if ray_address is not None:
        runs = _on_ray(sweep.specs(None), ray_address, workers)
    elif workers > 1:
        runs = _in_pool(sweep.specs(folder), workers)
    else:
        runs = (run_one(spec) for spec in sweep.specs(folder))
    with contextlib.closing(runs):
        try:
            for outcome in runs:
                for name, data in outcome.files:
                    (folder / name).parent.mkdir(parents=True, exist_ok=True)
                    (folder / name).write_bytes(data)
                result.outcomes.append(outcome)
                if on_run is not None:
                    on_run(outcome, len(result.outcomes))
        except KeyboardInterrupt:
            result.interrupted = True
    result.outcomes.sort(key=lambda o: (o.point, o.seed))
    return result


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops them and writes what has finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_pool(specs: Sequence[RunSpec], workers: int) -> Generator[RunOutcome, None, None]:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context: Any = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # workers fork with amity already imported
    else:
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)
    finished = False
    try:
        futures = [pool.submit(run_one, spec) for spec in specs]
        for future in as_completed(futures):
            yield future.result()
        finished = True
    finally:
        if finished:
            pool.shutdown()
        else:
            _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the runs not started and end those under way, rather than wait for them."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14; shuts down too
    if terminate is not None:
        terminate()
        return
    processes = list((pool._processes or {}).values())  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _on_ray(
    specs: Sequence[RunSpec], address: str, workers: int
) -> Generator[RunOutcome, None, None]:
    """The same runs as Ray tasks; the driver writes their files (workers may be elsewhere)."""
    ray: Any = importlib.import_module("ray")
    started = not ray.is_initialized()
    if started and address:
        ray.init(address=address, logging_level=logging.WARNING)
    elif started:
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    remote = ray.remote(num_cpus=1)(run_one)
    pending = [remote.remote(spec) for spec in specs]
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
