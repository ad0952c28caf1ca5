"""Result files of a market run: summary.json, negotiations.csv, events.csv and report.md.

Everything written is a function of the scenario, the seed and the crypto mode: no wall-clock
times, no paths of this machine, floats rounded, rows in a fixed order, so two runs with the same
inputs write byte-identical files (tests/simulations checks it).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from amity.simulations.runs.results import (
    blank,
    crypto_line,
    nearest_rank,
    network_summary,
    nodes_summary,
    rate,
    result_folder,
    run_header,
    write_csv,
    write_texts,
)
from amity.simulations.scenarios.market.world import MarketWorld, Visit

__all__ = ["RESULT_FILES", "summarise", "metrics", "write_results"]

RESULT_FILES: Final = ("summary.json", "negotiations.csv", "events.csv", "report.md")
_INTERRUPTED: Final = " — **interrupted (Ctrl-C): partial results**"
_OUTCOMES: Final = ("agreed", "rejected", "expired", "withdrawn", "unreached", "pending")


def _stats(values: Sequence[int]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "median": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = nearest_rank(ordered, 95)
    return {
        "count": len(ordered),
        "mean": round(statistics.fmean(ordered), 3),
        "median": statistics.median(ordered),
        "p95": p95,
        "max": ordered[-1],
    }


def summarise(world: MarketWorld) -> dict[str, Any]:
    """The key figures of a run, as the JSON summary holds them."""
    sc = world.scenario
    visits = world.visits
    agreed = [v for v in visits if v.outcome == "agreed"]
    offered = [v for v in visits if v.negotiation_id is not None]
    outcomes = {name: sum(v.outcome == name for v in visits) for name in _OUTCOMES}
    pairings = []
    keys = sorted({(v.profile, v.policy) for v in visits})
    for profile, policy in keys:
        group = [v for v in visits if (v.profile, v.policy) == (profile, policy)]
        done = [v for v in group if v.outcome == "agreed"]
        pairings.append(
            {
                "person_profile": profile,
                "vendor_policy": policy,
                "visits": len(group),
                "agreed": len(done),
                "agreement_rate": rate(len(done), len(group)),
                "outcomes": {n: c for n in _OUTCOMES if (c := sum(v.outcome == n for v in group))},
                "mean_rounds": _stats([v.rounds for v in group if v.settled_ms is not None])[
                    "mean"
                ],
            }
        )
    nodes = [*world.vendors, *world.persons]
    net = world.network.stats
    return {
        **run_header(world, "market"),
        "population": {"persons": sc.persons, "vendors": sc.vendors, "visits": len(visits)},
        "outcomes": outcomes,
        "negotiations": len(offered),
        "agreement_rate": rate(len(agreed), len(visits)),
        "agreement_rate_of_negotiations": rate(len(agreed), len(offered)),
        "rounds_per_agreement": _stats([v.rounds for v in agreed]),
        "messages_per_agreement": _stats([v.messages for v in agreed]),
        "frames_per_agreement": _stats([v.frames for v in agreed]),
        "bytes_per_agreement": _stats([v.size_bytes for v in agreed]),
        "time_to_agreement_ms": _stats([_since(v, v.arrive_ms) for v in agreed]),
        "negotiation_time_ms": _stats([_since(v, v.offered_ms) for v in agreed]),
        "agreements_identical_on_both_sides": all(
            v.agreement == v.vendor_agreement for v in agreed
        ),
        "by_pairing": pairings,
        "network": network_summary(net, world.churn.departures),
        "nodes": nodes_summary(nodes),
    }


def metrics(world: MarketWorld) -> dict[str, float]:
    """The run's figures that ``amity-sim sweep`` averages over seeds, unrounded.

    A figure without data (rounds when nothing was agreed) is left out rather than made up.
    """
    visits = world.visits
    agreed = [v for v in visits if v.outcome == "agreed"]
    offered = sum(v.negotiation_id is not None for v in visits)
    figures: dict[str, float] = {}
    if visits:
        figures["agreement_rate"] = len(agreed) / len(visits)
        figures["unreached_rate"] = sum(v.outcome == "unreached" for v in visits) / len(visits)
    if offered:
        figures["agreement_rate_of_negotiations"] = len(agreed) / offered
    if agreed:
        times = sorted(_since(v, v.arrive_ms) for v in agreed)
        figures["median_rounds"] = float(statistics.median(v.rounds for v in agreed))
        figures["messages_per_agreement"] = statistics.fmean(v.messages for v in agreed)
        figures["frames_per_agreement"] = statistics.fmean(v.frames for v in agreed)
        figures["p50_time_to_agreement_ms"] = float(statistics.median(times))
        figures["p95_time_to_agreement_ms"] = float(nearest_rank(times, 95))
    return figures


def _since(visit: Visit, start_ms: int | None) -> int:
    assert visit.settled_ms is not None and start_ms is not None
    return visit.settled_ms - start_ms


def _negotiation_rows(world: MarketWorld) -> Iterator[list[object]]:
    yield [
        "visit", "person", "vendor", "person_profile", "vendor_policy", "offer",
        "arrive_ms", "connected_ms", "offered_ms", "settled_ms", "connect_attempts",
        "outcome", "person_state", "vendor_state", "rounds", "messages", "frames", "bytes",
        "negotiation_id", "agreement_id",
    ]  # fmt: skip
    for v in world.visits:
        yield [
            v.index, v.person.name, v.vendor.name, v.profile, v.policy, v.offer,
            v.arrive_ms, blank(v.connected_ms), blank(v.offered_ms), blank(v.settled_ms),
            v.attempts, v.outcome, v.person_state, v.vendor_state, v.rounds, v.messages,
            v.frames, v.size_bytes, "" if v.negotiation_id is None else v.negotiation_id.hex(),
            v.agreement_id,
        ]  # fmt: skip


def _event_rows(world: MarketWorld) -> Iterator[tuple[object, ...]]:
    yield ("time_ms", "node", "peer", "event", "detail")
    for e in world.events:
        yield (e.time_ms, e.node, e.peer, e.event, e.detail)


def _figure(stats: dict[str, Any], unit: str = "") -> str:
    if not stats["count"]:
        return "—"
    return f"mean {stats['mean']:g}{unit}, median {stats['median']:g}{unit}, p95 {stats['p95']:g}{unit}"


def _report(summary: dict[str, Any], command: str) -> str:
    s = summary
    crypto = crypto_line(s["crypto"])
    o = s["outcomes"]
    lines = [
        f"# amity-sim: {s['scenario']}, seed {s['seed']}" + (" (quick)" if s["quick"] else ""),
        "",
        s["description"],
        "",
        f"- scenario file: `{s['source']}`; command: `{command}`",
        f"- versions: amity {s['versions']['amity']}, protocol v{s['versions']['protocol']}, "
        f"Python {s['versions']['python']}",
        f"- crypto: {crypto}",
        f"- population: {s['population']['persons']} persons, {s['population']['vendors']} "
        f"vendors, {s['population']['visits']} visits",
        f"- virtual time at the end: {s['virtual_end_ms'] / 60_000:.1f} min; "
        f"{s['events_run']} events" + (_INTERRUPTED if s["interrupted"] else ""),
        "",
        "## Key figures",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| agreement rate (of visits) | {s['agreement_rate']} |",
        f"| agreement rate (of negotiations) | {s['agreement_rate_of_negotiations']} |",
        f"| outcomes | {', '.join(f'{k} {v}' for k, v in o.items() if v)} |",
        f"| rounds per agreement | {_figure(s['rounds_per_agreement'])} |",
        f"| messages per agreement (signed envelopes, both ways) | {_figure(s['messages_per_agreement'])} |",
        f"| link frames per agreement (handshakes, resends, ACKs) | {_figure(s['frames_per_agreement'])} |",
        f"| time to agreement (visit to both holding it) | {_figure(s['time_to_agreement_ms'], ' ms')} |",
        f"| negotiation time (offer to both holding it) | {_figure(s['negotiation_time_ms'], ' ms')} |",
        f"| both sides hold byte-identical agreements | {s['agreements_identical_on_both_sides']} |",
        "",
        "## By pairing",
        "",
        "| person profile | vendor policy | visits | agreed | rate | mean rounds | outcomes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for p in s["by_pairing"]:
        outcomes = ", ".join(f"{k} {v}" for k, v in p["outcomes"].items())
        lines.append(
            f"| {p['person_profile']} | {p['vendor_policy']} | {p['visits']} | {p['agreed']} | "
            f"{p['agreement_rate']} | {p['mean_rounds']} | {outcomes} |"
        )
    n = s["network"]
    lines += [
        "",
        "## Network",
        "",
        f"{n['messages_sent']} messages sent, {n['messages_delivered']} delivered, "
        f"{n['lost_in_transit']} lost in transit, {n['lost_on_dead_connection']} on dead "
        f"connections; {n['dials']} dials ({n['dials_failed']} failed), "
        f"{n['connections_opened']} connections, broken: "
        + (", ".join(f"{k} {v}" for k, v in n["connections_broken"].items()) or "none")
        + f"; {n['churn_departures']} nodes went offline. Nodes rejected "
        f"{s['nodes']['messages_rejected']} messages and acknowledged "
        f"{s['nodes']['duplicates_acked_again']} resent duplicates again.",
        "",
        "Files: `summary.json` (these figures), `negotiations.csv` (one row per visit), "
        "`events.csv` (what the nodes notified, in virtual time).",
        "",
    ]
    return "\n".join(lines)


def write_results(world: MarketWorld, out_dir: Path, *, command: str) -> Path:
    """Write the four result files into ``out_dir/<scenario>-seed<N>…/``; returns that folder."""
    folder = result_folder(world, out_dir)
    summary = summarise(world)
    write_texts(folder, summary, {"report.md": _report(summary, command)})
    write_csv(folder / "negotiations.csv", _negotiation_rows(world))
    write_csv(folder / "events.csv", _event_rows(world))
    return folder
