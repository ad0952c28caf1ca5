"""Result files of a sweep: sweep.json, aggregate.csv, one figure per metric, report.md.

Like a run's files (runs/results.py), they are a function of the sweep command alone: runs in grid
order whatever order they finished in, estimates over the seeds in seed order, no wall-clock
times or paths of this machine. So the same command writes byte-identical files, with one worker
or many.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol import PROTOCOL_VERSION, __version__
from amity.simulations.runs import plots
from amity.simulations.runs.results import crypto_line
from amity.simulations.runs.stats import Estimate, estimate
from amity.simulations.runs.sweep import Point, RunOutcome, Sweep, SweepResult

__all__ = ["SWEEP_FILES", "Cell", "aggregate", "figure_of", "write_sweep"]

SWEEP_FILES: Final = ("sweep.json", "aggregate.csv", "report.md")


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure at one point of the grid, over the seeds that finished."""

    point: Point
    metric: str
    estimate: Estimate


def aggregate(sweep: Sweep, outcomes: Sequence[RunOutcome]) -> list[Cell]:
    """Estimates per point and metric, in grid order; metrics in the order runs report them."""
    metrics = _metric_names(outcomes)
    cells = []
    for point in sweep.grid.points:
        runs = sorted((o for o in outcomes if o.point == point.index), key=lambda o: o.seed)
        for metric in metrics:
            values = [o.metrics[metric] for o in runs if metric in o.metrics]
            cells.append(Cell(point, metric, estimate(values)))
    return cells


def _metric_names(outcomes: Sequence[RunOutcome]) -> list[str]:
    names: dict[str, None] = {}
    for outcome in sorted(outcomes, key=lambda o: (o.point, o.seed)):
        names.update(dict.fromkeys(outcome.metrics))
    return list(names)


def _versions() -> dict[str, str | int | None]:
    def installed(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "amity": __version__,
        "protocol": PROTOCOL_VERSION,
        "python": platform.python_version(),
        "numpy": installed("numpy"),
        "matplotlib": installed("matplotlib"),
    }


def _number(value: float | None, spec: str = ".10g") -> str:
    return "" if value is None else format(value, spec)


def _aggregate_csv(sweep: Sweep, cells: Sequence[Cell]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = [p.key for p in sweep.grid.params]
    writer.writerow(
        [*keys, "metric", "n", "mean", "std", "ci95_low", "ci95_high", "boot95_low", "boot95_high"]
    )
    for cell in cells:
        est = cell.estimate
        writer.writerow(
            [
                *(text for _, text in cell.point.settings),
                cell.metric,
                est.n,
                *map(
                    _number,
                    (est.mean, est.std, est.ci_low, est.ci_high, est.boot_low, est.boot_high),
                ),
            ]
        )
    return buffer.getvalue()


def _sweep_json(sweep: Sweep, result: SweepResult, metrics: Sequence[str]) -> str:
    sc = sweep.scenario
    points = {p.index: p for p in sweep.grid.points}
    document = {
        "scenario": sc.name,
        "kind": sweep.kind,
        "source": sweep.source.name,
        "description": sc.description,
        "command": sweep.command,
        "quick": sweep.quick,
        "crypto": sweep.crypto.value,
        "grid": {p.key: list(p.values) for p in sweep.grid.params},
        "seeds": list(sweep.grid.seeds),
        "runs_total": sweep.grid.runs,
        "runs_done": len(result.outcomes),
        "interrupted": result.interrupted,
        "versions": _versions(),
        "metrics": list(metrics),
        "runs": [
            {
                "params": points[o.point].overrides,
                "seed": o.seed,
                "folder": o.folder,
                "metrics": o.metrics,
            }
            for o in result.outcomes
        ],
    }
    return json.dumps(document, indent=2) + "\n"


#: The two arms of a run, as its metrics name them (``fraction_breaching_on`` / ``_off``: the
#: reputation kind's with and without local trust): one figure shows both.
_ARMS: Final = (("on", "with local trust"), ("off", "without (uniform pick)"))


def _arm_of(metric: str, metrics: Sequence[str]) -> tuple[str, str] | None:
    """(figure, arm label) if ``metric`` is one arm of a pair whose other arm is in ``metrics``."""
    tokens = metric.split("_")
    for (arm, label), (other, _) in zip(_ARMS, reversed(_ARMS), strict=True):
        if arm in tokens:
            at = tokens.index(arm)
            partner = "_".join([*tokens[:at], other, *tokens[at + 1 :]])
            if partner in metrics:
                return "_".join(tokens[:at] + tokens[at + 1 :]), label
    return None


def figure_of(metric: str, metrics: Sequence[str]) -> str:
    """The figure a metric is drawn in: its own, or the one it shares with its other arm."""
    arm = _arm_of(metric, metrics)
    return metric if arm is None else arm[0]


def _curves(sweep: Sweep, cells: Sequence[Cell]) -> dict[str, list[plots.Curve]]:
    """Per figure, one curve per arm and combination of the parameters after the first that
    take more than one value (those that take one are constant: the caption gives them)."""
    varying = {p.key for p in sweep.grid.params[1:] if len(p.values) > 1}
    metrics = list(dict.fromkeys(cell.metric for cell in cells))
    grouped: dict[str, dict[str, list[tuple[str, Estimate]]]] = {}
    for cell in cells:
        first, *others = cell.point.settings
        arm = _arm_of(cell.metric, metrics)
        parts = [f"{k}={t}" for k, t in others if k in varying]
        if arm is not None:
            parts.insert(0, arm[1])
        figure = figure_of(cell.metric, metrics)
        grouped.setdefault(figure, {}).setdefault(", ".join(parts), []).append(
            (first[1], cell.estimate)
        )
    return {
        figure: [plots.Curve(label, tuple(points)) for label, points in by_label.items()]
        for figure, by_label in grouped.items()
    }


def _caption(sweep: Sweep) -> str:
    grid, seeds = sweep.grid, sweep.grid.seeds
    constant = [f"{p.key}={p.texts[0]}" for p in grid.params[1:] if len(p.values) == 1]
    spread = (
        f"mean and 95% bootstrap interval of the mean over {len(seeds)} seeds "
        f"({seeds[0]} to {seeds[-1]})"
        if len(seeds) > 1
        else f"one seed ({seeds[0]}): no interval"
    )
    return "; ".join(
        [
            f"{sweep.scenario.name}"
            + (" (quick)" if sweep.quick else "")
            + f", {sweep.crypto.value} crypto",
            spread,
            *constant,
        ]
    )


def write_sweep(sweep: Sweep, result: SweepResult) -> list[str]:
    """Write sweep.json, aggregate.csv, the figures and report.md; returns their names."""
    cells = aggregate(sweep, result.outcomes)
    metrics = _metric_names(result.outcomes)
    figures: list[str] = []
    if not sweep.grid.params:
        skipped = "a sweep without --param has no axis to plot the figures against"
    elif not plots.available():
        skipped = (
            f"matplotlib is not installed; `{plots.INSTALL_HINT}` and run the sweep again "
            "to get them"
        )
    else:
        skipped = ""
        first = sweep.grid.params[0]
        figures = plots.write_plots(
            result.folder,
            x_label=first.key,
            x_values=[float(v) for v in first.values] if first.numeric else None,
            curves_by_figure=_curves(sweep, cells),
            caption=_caption(sweep),
        )
    files = {
        "sweep.json": _sweep_json(sweep, result, metrics),
        "aggregate.csv": _aggregate_csv(sweep, cells),
        "report.md": _report(sweep, result, cells, metrics, figures, skipped),
    }
    for name, text in files.items():
        (result.folder / name).write_text(text, encoding="utf-8", newline="\n")
    return [*files, *figures]


def _report(
    sweep: Sweep,
    result: SweepResult,
    cells: Sequence[Cell],
    metrics: Sequence[str],
    figures: Sequence[str],
    skipped: str,
) -> str:
    sc, grid = sweep.scenario, sweep.grid
    v = _versions()
    crypto = crypto_line(sweep.crypto.value)
    axes = ", ".join(f"`{p.key}` = {', '.join(p.texts)}" for p in grid.params)
    seeds = grid.seeds
    lines = [
        f"# amity-sim sweep: {sc.name}" + (" (quick)" if sweep.quick else ""),
        "",
        sc.description,
        "",
        f"- scenario file: `{sweep.source.name}` (kind {sweep.kind}); command: `{sweep.command}`",
        f"- grid: {axes or 'no parameters'}; {len(grid.points)} combinations x {len(seeds)} "
        f"seeds ({seeds[0]} to {seeds[-1]}) = {grid.runs} runs",
        f"- versions: amity {v['amity']}, protocol v{v['protocol']}, Python {v['python']}, "
        f"numpy {v['numpy'] or 'not installed'}, matplotlib {v['matplotlib'] or 'not installed'}",
        f"- crypto: {crypto}",
        f"- runs finished: {len(result.outcomes)} of {grid.runs}"
        + (
            " — **interrupted (Ctrl-C): the tables cover the finished runs only**"
            if result.interrupted
            else ""
        ),
    ]
    if skipped:
        lines.append(f"- figures: skipped: {skipped}")
    lines += [
        "",
        "Each row is the mean over the seeds with its 95% confidence interval (Student t, "
        "n - 1 degrees of freedom) and the 95% percentile bootstrap interval of the mean "
        "(4 000 resamples, which the figures draw: it stays within the values seen, so a "
        "share's never goes below 0); n counts the runs that have the metric (a run without "
        "the data for one, such as rounds when nothing was agreed, leaves it out).",
    ]
    keys = [p.key for p in grid.params]
    shown: set[str] = set()
    for metric in metrics:
        lines += [
            "",
            f"## {metric}",
            "",
            "| " + " | ".join([*keys, "n", "mean", "std", "95% CI", "95% bootstrap"]) + " |",
            "|" + " --- |" * (len(keys) + 5),
        ]
        for cell in (c for c in cells if c.metric == metric):
            est = cell.estimate
            interval = (
                f"{_number(est.ci_low, '.4g')} to {_number(est.ci_high, '.4g')}"
                if est.ci_low is not None
                else ""
            )
            boot = (
                f"{_number(est.boot_low, '.4g')} to {_number(est.boot_high, '.4g')}"
                if est.boot_low is not None
                else ""
            )
            row = [t for _, t in cell.point.settings]
            row += [str(est.n), _number(est.mean, ".4g"), _number(est.std, ".4g"), interval, boot]
            lines.append("| " + " | ".join(row) + " |")
        figure = plots.figure_name(figure_of(metric, metrics))
        if figure in figures and figure not in shown:
            shown.add(figure)
            lines += ["", f"![{figure_of(metric, metrics)}]({figure})"]
    lines += [
        "",
        "Files: `sweep.json` (the grid, versions and every run's figures), `aggregate.csv` "
        "(the tables above), `runs/<combination>/<run>/` (each run's own results and report, "
        "with the `amity-sim run` command that writes it again).",
        "",
    ]
    return "\n".join(lines)
