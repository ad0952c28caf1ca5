"""Scenario 3's figures: each round's grants in both arms, the nodes' verdicts, what a sweep averages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from amity.protocol.attestation import Verdict

if TYPE_CHECKING:
    from amity.simulations.scenarios.reputation.world import ReputationWorld

__all__ = ["RoundRow", "headline", "metrics", "tally"]


@dataclass(slots=True)
class RoundRow:
    """What honest persons' grants came to in one round, in each arm."""

    round: int
    grants_on: int = 0
    breached_on: int = 0
    malicious_on: int = 0
    abstained_on: int = 0
    grants_off: int = 0
    breached_off: int = 0
    malicious_off: int = 0
    #: Attestations signed and trust computations made in the round (trust-on arm).
    attestations: int = 0
    trust_computations: int = 0


def tally(world: ReputationWorld) -> None:
    """Count what persons and vendors signed, by round, and her nodes' verdicts on grants.

    A verdict cites the grant's hash first (spec/reputation.md §6.2); it is mistaken when it
    says breached of a grant the vendor honoured (its receipt came too late) or the reverse.
    """
    sc = world.scenario
    for row in world.rows:
        row.attestations = 0
    honoured: dict[bytes, bool] = {}
    for person, conduct in zip(world.persons, world.cast.persons, strict=True):
        if conduct.deals:
            for gid, issued in person.grants.issued.items():
                digest = hashlib.sha256(issued.grant.encoded).digest()
                honoured[digest] = world.granted[gid]
    world.verdicts, world.mistaken = {}, 0
    for node in [*world.persons, *world.vendors]:
        for held in node.reputation.held_items():
            if held.origin is not None:
                continue
            item = held.attestation
            r = min((item.issued_ms - sc.start_ms) // sc.round_ms, sc.rounds - 1)
            world.rows[r].attestations += 1
            kept = honoured.get(item.evidence[0]) if item.evidence else None
            if kept is not None:  # her node's own verdict on one of her grants
                verdict = item.verdict.value
                world.verdicts[verdict] = world.verdicts.get(verdict, 0) + 1
                world.mistaken += kept != (item.verdict is Verdict.HONOURED)


def _fraction(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _arm_figures(rows: list[RoundRow], suffix: str) -> dict[str, float]:
    arms = {
        "on": (
            sum(row.grants_on for row in rows),
            sum(row.breached_on for row in rows),
            sum(row.malicious_on for row in rows),
        ),
        "off": (
            sum(row.grants_off for row in rows),
            sum(row.breached_off for row in rows),
            sum(row.malicious_off for row in rows),
        ),
    }
    figures: dict[str, float] = {}
    for arm, (grants, breached, malicious) in arms.items():
        for name, count in (("breaching", breached), ("to_malicious", malicious)):
            value = _fraction(count, grants)
            if value is not None:
                figures[f"fraction_{name}_{arm}{suffix}"] = value
    return figures


def metrics(world: ReputationWorld) -> dict[str, float]:
    """The run's figures a sweep averages over seeds, unrounded; a figure without data is left out.

    Fractions are of honest persons' grants. ``fraction_breaching_*``: the grant was breached;
    ``fraction_to_malicious_*``: it went to a malicious vendor (which may have kept it this time).
    ``*_late``: over the last quarter of the rounds, once trust has had time to form.
    """
    rows = world.rows[: world.rounds_done]
    late = rows[len(rows) - max(1, len(rows) // 4) :]
    figures = {**_arm_figures(rows, ""), **_arm_figures(late, "_late")}
    asked = sum(row.grants_on + row.abstained_on for row in rows)
    if asked:
        figures["abstention_rate_on"] = sum(row.abstained_on for row in rows) / asked
    on, off = figures.get("fraction_breaching_on"), figures.get("fraction_breaching_off")
    if on is not None and off:
        figures["breach_reduction"] = 1.0 - on / off
    masses = _clique_masses(world)
    if masses:
        figures["clique_score_mass"] = sum(masses) / len(masses)
    return figures


def _clique_masses(world: ReputationWorld) -> list[float]:
    """Per honest person, the trust score her last choice gave the clique's vendors, summed.

    Scenario 4 (Sybil) watches it as the number of Sybils grows: identities without
    agreement-backed links to her must not move it (spec/reputation.md §4.5).
    """
    clique = [world.vendors[v].peer_id for v in world.cast.clique]
    masses = []
    for trust, conduct in zip(world.trust, world.cast.persons, strict=True):
        if conduct.honest and trust is not None:
            masses.append(sum(trust.score(peer) for peer in clique))
    return masses


def headline(world: ReputationWorld) -> str:
    """One line on where the run is: rounds done and the two arms' fractions so far."""
    figures = metrics(world)
    on, off = figures.get("fraction_breaching_on"), figures.get("fraction_breaching_off")
    shown = "—" if on is None or off is None else f"{on:.3f} with trust, {off:.3f} without"
    return (
        f"round {world.rounds_done}/{world.scenario.rounds}; grants to breaching vendors: {shown}"
    )
