"""Result files of an intents run: summary.json, intents.csv, refusals.csv, linkability.csv and
report.md.

Everything written is a function of the scenario and the seed: no wall-clock times, no paths of
this machine, floats rounded, rows in a fixed order (intents by cast time, then id), so two runs
with the same inputs write byte-identical files (tests/simulations checks it under two
PYTHONHASHSEED values).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from amity.simulations.crypto import crypto_mode
from amity.simulations.runs.results import (
    blank,
    crypto_line,
    nearest_rank,
    rate,
    result_folder,
    run_header,
    write_csv,
    write_texts,
)
from amity.simulations.scenarios.intents.linkability import (
    AttackResult,
    link_intents,
    link_persons,
    observe,
)
from amity.simulations.scenarios.intents.world import CastRecord, IntentsWorld

__all__ = ["RESULT_FILES", "linkability", "summarise", "figures", "write_results"]

RESULT_FILES: Final = (
    "summary.json",
    "intents.csv",
    "refusals.csv",
    "linkability.csv",
    "report.md",
)


def _stats(values: Sequence[int]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "median": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "mean": round(statistics.fmean(ordered), 3),
        "median": statistics.median(ordered),
        "p95": nearest_rank(ordered, 95),
        "max": ordered[-1],
    }


def _ordered(world: IntentsWorld) -> list[CastRecord]:
    return sorted(world.casts.values(), key=lambda c: (c.cast_ms, c.owner, c.who, c.intent_id))


def linkability(world: IntentsWorld) -> list[AttackResult]:
    """The adversary's attacks on this run's logs (computed once per world)."""
    cached: list[AttackResult] | None = getattr(world, "_linkability", None)
    if cached is not None:
        return cached
    hubs = {h.name: h.peer_id for h in world.hubs}
    with crypto_mode(world.crypto):  # it opens what the hubs received, as they did
        observed = observe(world.wire.log, hubs)
    owner = {c.intent_id: c.who for c in world.casts.values() if c.owner == "person"}
    revealed = {
        intent_id: world.persons_by_key[person].node.index
        for _, _, intent_id, person, _ in world.wins
        if person is not None
    }
    found = [*link_intents(observed, owner), *link_persons(observed, owner, revealed)]
    world._linkability = found  # type: ignore[attr-defined]
    return found


def _refusals(world: IntentsWorld) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (role, _type, code, who), n in sorted(world.wire.refused.items()):
        group = out.setdefault(f"{who} at {role}", {})
        group[code] = group.get(code, 0) + n
    return out


def summarise(world: IntentsWorld) -> dict[str, Any]:
    sc = world.scenario
    people = [c for c in world.casts.values() if c.owner == "person"]
    stored = [c for c in people if c.hub_code is None]
    sybil = [c for c in world.casts.values() if c.owner == "sybil"]
    firsts = [c.first_offer_ms - c.cast_ms for c in stored if c.first_offer_ms is not None]
    hidden = sum(c.hidden for c in people)
    shown_cut = sum(c.shown_cut_off for c in people)
    by_strategy: dict[str, dict[str, int]] = {}
    for c in sybil:
        group = by_strategy.setdefault(c.strategy, {})
        key = c.hub_code or "stored"
        group[key] = group.get(key, 0) + 1
    outcomes: dict[str, int] = {}
    for c in people:
        outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    spam_refused: dict[str, int] = {}
    for (_role, _type, code, who), n in sorted(world.wire.refused.items()):
        if who == "spammer":
            spam_refused[code] = spam_refused.get(code, 0) + n
    return {
        **run_header(world, "intents"),
        "population": {
            "persons": sc.persons.count,
            "vendors_honest": sc.vendors.honest,
            "vendors_spamming": sc.vendors.spammers,
            "sybils": sc.sybils.count,
            "hubs": sc.hubs.count,
            "leaky_control_reuse_key": sc.reuse_key,
        },
        "hub_rules": {
            "work_bits": sc.hubs.work_bits,
            "offer_cap": sc.hubs.offer_cap,
            "rate_per_hour": sc.hubs.rate_per_hour,
            "max_hops": sc.hubs.max_hops,
        },
        "intents": {
            "cast": len(people),
            "stored_by_hub": len(stored),
            "refused_by_hub": len(people) - len(stored),
            "with_an_offer_shown": len(firsts),
            "outcomes": dict(sorted(outcomes.items())),
            "accepts_that_reached_the_vendor": sum(c.won_at_vendor for c in people),
            "welcomes_sent": sum(c.welcome_sent for c in people),
            "welcomes_that_reached_her": sum(c.welcomed for c in people),
            "revealed": sum(c.revealed for c in people),
            "receipts_kept": sum(c.receipts for c in people),
        },
        "time_to_first_offer_ms": _stats(firsts),
        "offers_kept_per_intent": _stats([c.kept for c in stored]),
        "offers_shown_per_intent": _stats([c.shown for c in stored]),
        "cut_off_vendors": {
            "offers_that_reached_her_node": hidden + shown_cut,
            "hidden_by_her_node": hidden,
            "shown_to_her": shown_cut,
            "share_shown": rate(shown_cut, hidden + shown_cut),
        },
        "spam": {
            "extra_offers_tried": world.spam_tries,
            "refused_by_reason": spam_refused,
        },
        "sybils": {
            "intents_tried": len(sybil),
            "refused": sum(c.hub_code is not None for c in sybil),
            "by_strategy": dict(sorted(by_strategy.items())),
            "offers_vendors_spent_on_them": sum(c.kept for c in sybil),
        },
        "work_hashes_paid": dict(sorted(world.hashes_paid.items())),
        "refusals": _refusals(world),
        "linkability": [
            {
                "attack": r.attack,
                "task": r.task,
                "evaluated": r.evaluated,
                "success": r.success,
                "chance": r.chance,
                "lift": None if r.lift is None else round(r.lift, 3),
            }
            for r in linkability(world)
        ],
    }


def figures(world: IntentsWorld) -> dict[str, float]:
    """The run's figures that ``amity-sim sweep`` averages over seeds."""
    people = [c for c in world.casts.values() if c.owner == "person" and c.hub_code is None]
    out: dict[str, float] = {}
    firsts = sorted(c.first_offer_ms - c.cast_ms for c in people if c.first_offer_ms is not None)
    if people:
        out["offer_rate"] = len(firsts) / len(people)
        out["offers_shown_per_intent"] = statistics.fmean(c.shown for c in people)
    if firsts:
        out["p50_time_to_first_offer_ms"] = float(statistics.median(firsts))
    cut = sum(c.hidden + c.shown_cut_off for c in people)
    if cut:
        out["cut_off_share_shown"] = sum(c.shown_cut_off for c in people) / cut
    for r in linkability(world):
        if r.evaluated and r.task == "intent-intent":
            out[f"link_{_slug(r.attack)}_success"] = r.success
            out["link_chance"] = r.chance
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _report(world: IntentsWorld, summary: dict[str, Any]) -> str:
    s = summary
    lines = [
        f"# {s['scenario']}: seed {s['seed']}{' (quick)' if s['quick'] else ''}",
        "",
        s["description"],
        "",
        f"- crypto: {crypto_line(s['crypto'])}",
        f"- population: {s['population']}",
        f"- hub rules: {s['hub_rules']}",
        f"- intents: {s['intents']}",
        f"- time to first offer (ms): {s['time_to_first_offer_ms']}",
        f"- offers kept / shown per intent: {s['offers_kept_per_intent']} / "
        f"{s['offers_shown_per_intent']}",
        f"- offers from vendors she cut off: {s['cut_off_vendors']} (goal: none shown)",
        f"- spam: {s['spam']}",
        f"- Sybils: {s['sybils']}",
        f"- hashes of work paid: {s['work_hashes_paid']}",
        "",
        "## Linkability: an adversary holding every hub's and vendor's logs",
        "",
        "success: the expected share of right guesses (random tie-breaks); chance: the share of"
        " right answers among all candidates.",
        "",
        "| task | attack | evaluated | success | chance | lift |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in s["linkability"]:
        lift = "" if r["lift"] is None else f"{r['lift']:.2f}"
        lines.append(
            f"| {r['task']} | {r['attack']} | {r['evaluated']} | {r['success']:.4f} | "
            f"{r['chance']:.4f} | {lift} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_results(world: IntentsWorld, out_dir: Path, *, command: str) -> Path:
    folder = result_folder(world, out_dir)
    summary = summarise(world)
    summary["command"] = command
    rows: list[list[object]] = [
        [
            "intent",
            "owner",
            "who",
            "strategy",
            "hub",
            "cast_ms",
            "category",
            "region",
            "hub_code",
            "first_offer_ms",
            "kept",
            "shown",
            "hidden",
            "shown_cut_off",
            "outcome",
            "revealed",
            "receipts",
        ]
    ]
    for c in _ordered(world):
        first = None if c.first_offer_ms is None else c.first_offer_ms - c.cast_ms
        rows.append(
            [
                c.intent_id.hex()[:16],
                c.owner,
                c.who,
                c.strategy,
                c.hub,
                c.cast_ms - world.scenario.start_ms,
                c.category,
                c.region,
                c.hub_code or "",
                blank(first),
                c.kept,
                c.shown,
                c.hidden,
                c.shown_cut_off,
                c.outcome,
                int(c.revealed),
                c.receipts,
            ]
        )
    write_csv(folder / "intents.csv", rows)
    refusals: list[list[object]] = [["receiver", "type", "code", "sender", "count"]]
    refusals += [[*k, n] for k, n in sorted(world.wire.refused.items())]
    write_csv(folder / "refusals.csv", refusals)
    links: list[list[object]] = [["task", "attack", "evaluated", "success", "chance"]]
    links += [[r.task, r.attack, r.evaluated, r.success, r.chance] for r in linkability(world)]
    write_csv(folder / "linkability.csv", links)
    write_texts(folder, summary, {"report.md": _report(world, summary)})
    return folder
