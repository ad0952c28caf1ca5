"""Figures: a sweep's figure per metric against its first parameter, and a run's curves.

matplotlib is optional (``pip install 'amity[sim]'``): :func:`available` says whether it is
there, and runs and sweeps write their tables without it (saying the figures were skipped).
Figures are drawn on matplotlib's Agg canvas without touching pyplot's global backend, and saved
without the metadata that names the matplotlib version, so the same inputs write the same PNG
bytes.

What a reader of a paper expects of a figure: the arms compared (with and without trust) on one
plot; the legend names only what differs between curves, and what every curve shares goes in
the caption under the plot; an axis that spans decades from 0 (a Sybil count K = 0, 10, 100,
1000) is logarithmic past 1; and an interval never leaves the range of what it bounds (a share's
is a bootstrap over seeds or Wilson's, not a t-interval that can dip below 0).
"""

from __future__ import annotations

import importlib
import importlib.util
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from amity.simulations.runs.stats import Estimate

__all__ = [
    "INSTALL_HINT",
    "Curve",
    "Series",
    "available",
    "figure_name",
    "write_figure",
    "write_plots",
    "x_scale",
]

INSTALL_HINT: Final = "pip install 'amity[sim]'"
_DPI: Final = 100
_SIZE_IN: Final = (7.0, 4.8)
_CAPTION_CHARS: Final = 110


@dataclass(frozen=True, slots=True)
class Curve:
    """One line of a sweep's figure: the points of one combination of the other parameters."""

    #: What tells this curve from the others on the figure ("" for a single curve).
    label: str
    #: The first parameter's values as given on the command line, and the estimate at each.
    points: tuple[tuple[str, Estimate], ...]


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a figure: x, y and the interval around each y (``low <= y <= high``)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]


def available() -> bool:
    """Whether matplotlib can be imported (the ``sim`` extra is installed)."""
    return importlib.util.find_spec("matplotlib") is not None


def figure_name(metric: str) -> str:
    return f"fig-{metric}.png"


def x_scale(values: Sequence[float]) -> str:
    """``linear``, or ``log`` for positive values a decade or more apart, ``symlog`` (linear
    below the smallest positive value) when 0 is one of them: K = 0, 10, 100, 1000."""
    positive = [v for v in values if v > 0]
    if len(positive) < 2 or min(values) < 0 or max(positive) < 10 * min(positive):
        return "linear"
    return "symlog" if len(positive) < len(values) else "log"


def write_figure(
    path: Path,
    *,
    title: str,
    caption: str,
    x_label: str,
    y_label: str,
    series: Sequence[Series],
    x_ticks: tuple[Sequence[float], Sequence[str]] | None = None,
    scale: str = "linear",
) -> None:
    """One PNG: each series as a line with its interval as a band, the caption under the axes."""
    figure_mod = importlib.import_module("matplotlib.figure")
    agg = importlib.import_module("matplotlib.backends.backend_agg")
    figure = figure_mod.Figure(figsize=_SIZE_IN, dpi=_DPI)
    agg.FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for line in series:
        drawn = axes.plot(line.xs, line.ys, marker="o", markersize=4, label=line.label or None)
        axes.fill_between(line.xs, line.lows, line.highs, alpha=0.2, color=drawn[0].get_color())
    if scale == "symlog":
        xs = [x for line in series for x in line.xs if x > 0]
        axes.set_xscale("symlog", linthresh=min(xs, default=1.0))
    elif scale == "log":
        axes.set_xscale("log")
    if x_ticks is not None:
        axes.set_xticks(list(x_ticks[0]), labels=list(x_ticks[1]))
        axes.minorticks_off()
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title, fontsize="medium")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    if any(line.label for line in series):
        axes.legend(fontsize="small")
    lines = textwrap.wrap(caption, _CAPTION_CHARS)
    figure.text(0.01, 0.01, "\n".join(lines), fontsize="x-small", va="bottom", ha="left")
    figure.tight_layout(rect=(0, 0.035 * len(lines) + 0.01, 1, 1))
    figure.savefig(path, format="png", metadata={"Software": None})


def write_plots(
    folder: Path,
    *,
    x_label: str,
    x_values: Sequence[float] | None,
    curves_by_figure: Mapping[str, Sequence[Curve]],
    caption: str,
) -> list[str]:
    """A sweep's figures: one PNG per entry (a metric, or a metric's two arms) into ``folder``;
    returns their file names in order.

    ``x_values`` places the first parameter's values on a numeric axis; None spaces them evenly
    as categories (strings, booleans). Each point is the mean over the seeds, its band the
    bootstrap interval of that mean (none for one seed).
    """
    names = []
    for name, curves in curves_by_figure.items():
        texts = [text for text, _ in curves[0].points] if curves else []
        positions = (
            list(x_values) if x_values is not None else [float(i) for i in range(len(texts))]
        )
        series = [_series(curve, positions) for curve in curves]
        file = figure_name(name)
        write_figure(
            folder / file,
            title=name,
            caption=caption,
            x_label=x_label,
            y_label=name,
            series=series,
            x_ticks=(positions, texts),
            scale=x_scale(positions) if x_values is not None else "linear",
        )
        names.append(file)
    return names


def _series(curve: Curve, positions: Sequence[float]) -> Series:
    xs: list[float] = []
    ys: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for index, (_, est) in enumerate(curve.points):
        if est.mean is None:
            continue
        xs.append(positions[index])
        ys.append(est.mean)
        lows.append(est.mean if est.boot_low is None else est.boot_low)  # one run: no interval
        highs.append(est.mean if est.boot_high is None else est.boot_high)
    return Series(curve.label, tuple(xs), tuple(ys), tuple(lows), tuple(highs))
