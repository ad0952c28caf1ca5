"""What every kind's result files share: the folder, the summary's opening, CSV and text files.

Everything written is a function of the scenario, the seed and the crypto mode: no wall-clock
times, no paths of this machine, floats rounded, rows in a fixed order, so two runs with the same
inputs write byte-identical files. Each kind's own files are its ``results`` module (for example
:mod:`~amity.simulations.scenarios.market.results`).
"""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from amity.protocol import PROTOCOL_VERSION, __version__
from amity.simulations.crypto import CryptoMode
from amity.simulations.node import SimNode
from amity.simulations.world.network import NetworkStats

__all__ = [
    "result_dir_name",
    "result_folder",
    "run_header",
    "network_summary",
    "nodes_summary",
    "rate",
    "nearest_rank",
    "blank",
    "write_csv",
    "write_texts",
    "crypto_line",
]


def result_dir_name(scenario: str, seed: int, *, quick: bool, crypto: CryptoMode) -> str:
    """``<scenario>-seed<N>``, with ``-quick`` / ``-standin`` when those apply."""
    name = f"{scenario}-seed{seed}"
    if quick:
        name += "-quick"
    if crypto is CryptoMode.STANDIN:
        name += "-standin"
    return name


def nearest_rank(ordered: Sequence[int], percent: int) -> int:
    return ordered[max(0, -(-percent * len(ordered) // 100) - 1)]


def quantiles(values: Iterable[int]) -> dict[str, int | None]:
    """Count, median, p90 and max of ``values`` (nearest rank; None for no values)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": None, "p90": None, "max": None}
    return {
        "count": len(ordered),
        "p50": nearest_rank(ordered, 50),
        "p90": nearest_rank(ordered, 90),
        "max": ordered[-1],
    }


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` to 4 places; None when there is no whole."""
    return round(part / whole, 4) if whole else None


def run_header(world: Any, kind: str) -> dict[str, Any]:
    """What every run's summary opens with: which scenario, seed, mode and versions ran."""
    sc = world.scenario
    return {
        "scenario": sc.name,
        "kind": kind,
        "source": sc.source.name,
        "description": sc.description,
        "seed": world.seed,
        "quick": sc.quick,
        "crypto": world.crypto.value,
        "interrupted": world.interrupted,
        "versions": {
            "amity": __version__,
            "protocol": PROTOCOL_VERSION,
            "python": platform.python_version(),
        },
        "virtual_end_ms": world.engine.now_ms,
        "events_run": world.engine.events_run,
    }


def network_summary(net: NetworkStats, churn_departures: int) -> dict[str, Any]:
    """What the network carried, lost and broke over a run (the summary's ``network``)."""
    return {
        "messages_sent": net.messages_sent,
        "messages_delivered": net.messages_delivered,
        "bytes_sent": net.bytes_sent,
        "lost_in_transit": net.lost_in_transit,
        "lost_on_dead_connection": net.lost_on_dead_connection,
        "dials": net.dials,
        "dials_failed": net.dials_failed,
        "connections_opened": net.connections_opened,
        "connections_broken": dict(sorted(net.broken.items())),
        "churn_departures": churn_departures,
    }


def nodes_summary(nodes: Iterable[SimNode]) -> dict[str, int]:
    """What nodes refused, had refused and acknowledged twice (the summary's ``nodes``)."""
    counted = list(nodes)
    return {
        "messages_rejected": sum(n.rejected for n in counted),
        "refused_by_peers": sum(n.refused_by_peers for n in counted),
        "duplicates_acked_again": sum(n.duplicates for n in counted),
    }


def blank(value: int | None) -> object:
    """A CSV cell: empty for a missing value."""
    return "" if value is None else value


def write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Write ``rows`` as they come: a large run's events.csv is hundreds of megabytes."""
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, lineterminator="\n").writerows(rows)


def crypto_line(mode: str) -> str:
    """The report's "crypto" line for a run or a sweep in ``mode`` (a CryptoMode value)."""
    if mode == CryptoMode.REAL.value:
        return (
            "**real** (Ed25519 signatures, Noise XX sessions, as the daemon runs them; each card, "
            "link certificate and attestation verified once per run)"
        )
    return (
        "**stand-in** (declared: signatures are BLAKE2b-512 over key and bytes, sessions "
        "unencrypted; same message flow and sizes; see amity.simulations.crypto)"
    )


def result_folder(world: Any, out_dir: Path) -> Path:
    """``out_dir/<scenario>-seed<N>[-quick][-standin]/``, made if need be, for any kind's world."""
    sc = world.scenario
    folder = out_dir / result_dir_name(sc.name, world.seed, quick=sc.quick, crypto=world.crypto)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_texts(folder: Path, summary: dict[str, Any], texts: dict[str, str]) -> None:
    """``summary.json`` and the other text files of a run, with Unix newlines on every OS."""
    files = {"summary.json": json.dumps(summary, indent=2) + "\n", **texts}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
