"""The figures of a sweep: one PNG per metric, its mean and 95% CI against the first parameter.

matplotlib is optional (``pip install 'amity[sim]'``): :func:`available` says whether it is
there, and the sweep writes its tables without it. Figures are drawn on matplotlib's Agg canvas
without touching pyplot's global backend, and saved without the metadata that names the
matplotlib version, so the same sweep writes the same PNG bytes.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from amity.simulations.runs.stats import Estimate

__all__ = ["INSTALL_HINT", "Curve", "available", "figure_name", "write_plots"]

INSTALL_HINT: Final = "pip install 'amity[sim]'"
_DPI: Final = 100
_SIZE_IN: Final = (7.0, 4.5)


@dataclass(frozen=True, slots=True)
class Curve:
    """One line of a figure: the points of one combination of the other parameters."""

    #: ``key=value, …`` of the other parameters ("" when the first is the only one).
    label: str
    #: The first parameter's values as given on the command line, and the estimate at each.
    points: tuple[tuple[str, Estimate], ...]


def available() -> bool:
    """Whether matplotlib can be imported (the ``sim`` extra is installed)."""
    return importlib.util.find_spec("matplotlib") is not None


def figure_name(metric: str) -> str:
    return f"fig-{metric}.png"


def write_plots(
    folder: Path,
    *,
    x_label: str,
    x_values: Sequence[float] | None,
    curves_by_metric: Mapping[str, Sequence[Curve]],
    subtitle: str,
) -> list[str]:
    """Write one PNG per metric into ``folder``; returns their file names in metric order.

    ``x_values`` places the first parameter's values on a numeric axis; None spaces them evenly
    as categories (strings, booleans).
    """
    figure_mod = importlib.import_module("matplotlib.figure")
    agg = importlib.import_module("matplotlib.backends.backend_agg")
    names = []
    for metric, curves in curves_by_metric.items():
        figure = figure_mod.Figure(figsize=_SIZE_IN, dpi=_DPI)
        agg.FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for curve in curves:
            _draw(axes, curve, x_values)
        texts = [text for text, _ in curves[0].points] if curves else []
        axes.set_xticks(x_values if x_values is not None else range(len(texts)), labels=texts)
        axes.set_xlabel(x_label)
        axes.set_ylabel(metric)
        axes.set_title(f"{metric}\n{subtitle}", fontsize="medium")
        axes.grid(alpha=0.3)
        if any(c.label for c in curves):
            axes.legend(fontsize="small")
        figure.tight_layout()
        name = figure_name(metric)
        figure.savefig(folder / name, format="png", metadata={"Software": None})
        names.append(name)
    return names


def _draw(axes: Any, curve: Curve, x_values: Sequence[float] | None) -> None:
    xs, ys, below, above = [], [], [], []
    for index, (_, est) in enumerate(curve.points):
        if est.mean is None:
            continue
        xs.append(x_values[index] if x_values is not None else index)
        ys.append(est.mean)
        low = est.mean if est.ci_low is None else est.ci_low  # one run: no interval
        high = est.mean if est.ci_high is None else est.ci_high
        below.append(est.mean - low)
        above.append(high - est.mean)
    axes.errorbar(xs, ys, yerr=[below, above], marker="o", capsize=4, label=curve.label or None)
