"""Result files of a reputation run: summary.json, rounds.csv, report.md and fig-rounds.png.

The figure (when matplotlib is installed) draws both arms over the rounds on one plot, each
round's breached share with its Wilson interval.

Everything written is a function of the scenario, the seed and the crypto mode: counts, never
wall-clock times; floats rounded; rows in round order, so two runs with the same inputs write
byte-identical files (tests/simulations checks it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from amity.simulations.behaviours.attackers import ThreatModel
from amity.simulations.runs import plots
from amity.simulations.runs.results import (
    crypto_line,
    rate,
    result_folder,
    run_header,
    write_csv,
    write_texts,
)
from amity.simulations.runs.stats import wilson
from amity.simulations.scenarios.reputation.metrics import RoundRow, metrics
from amity.simulations.scenarios.reputation.world import ReputationWorld

__all__ = [
    "FIGURE",
    "RESULT_FILES",
    "avoided_sentence",
    "compare_arms",
    "summarise",
    "write_results",
]

RESULT_FILES: Final = ("summary.json", "rounds.csv", "report.md")
#: The run's figure, written when matplotlib is installed (``plots.available()``).
FIGURE: Final = "fig-rounds.png"
_INTERRUPTED: Final = " — **interrupted (Ctrl-C): partial results**"

#: What Kamvar, Schlosser and Garcia-Molina (WWW 2003) report for each threat model, in general
#: terms only: the paper's own figures are not repeated here.
_EIGENTRUST: Final = {
    ThreatModel.A: (
        "for independent malicious peers the share of inauthentic downloads stays near 10% or "
        "below with EigenTrust as the malicious share grows, against close to the malicious "
        "share without it"
    ),
    ThreatModel.B: (
        "for a malicious collective whose members rate one another highly the reduction is "
        "much as for independent malicious peers"
    ),
    ThreatModel.C: (
        "for a camouflaged collective, which serves authentic files part of the time, "
        "EigenTrust still reduces inauthentic downloads, but less than in A and B"
    ),
    ThreatModel.D: (
        "for a collective helped by spies, which serve honestly and lend it their trust, "
        "EigenTrust still reduces inauthentic downloads, but less than in A and B"
    ),
}


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def summarise(world: ReputationWorld) -> dict[str, Any]:
    """The key figures of a run, as the JSON summary holds them."""
    sc, rows = world.scenario, world.rows[: world.rounds_done]
    figures = metrics(world)
    roles = [c.label for c in world.cast.persons]
    friends = [len(f) for f, c in zip(world.friends, world.cast.persons, strict=True) if c.sociable]
    nodes, net = [*world.persons, *world.vendors], world.network.stats
    return {
        **run_header(world, "reputation"),
        "rounds": sc.rounds,
        "rounds_done": world.rounds_done,
        "population": {
            "persons": sc.persons,
            "vendors": sc.vendors,
            "honest_persons": roles.count("honest"),
            "colluders": roles.count("colluder"),
            "spies": roles.count("spy"),
            "malicious_vendors": len(world.cast.clique),
            "candidates_per_grant": sc.candidates,
            "friends_mean": round(sum(friends) / len(friends), 3) if friends else 0.0,
        },
        "attack": {
            "threat_model": sc.threat_model.value,
            "what": sc.threat_model.description,
            "malicious_fraction": sc.malicious_fraction,
            "colluder_fraction": sc.colluder_fraction,
            "breach_rate": sc.breach_rate,
            "camouflage": sc.camouflage,
            "praise": sc.praise,
            "slander": sc.slander,
            "sybils": sc.sybils,
        },
        "trust": {
            "choice": "cut off on negative standing, then score-proportional with exploration",
            "explore": sc.explore,
            "cutoff_evidence": sc.cutoff_evidence,
            "damping": sc.damping,
            "max_iterations": sc.max_iterations,
            "epsilon": sc.epsilon,
        },
        "grants": {
            "on": sum(r.grants_on for r in rows),
            "off": sum(r.grants_off for r in rows),
            "abstained_on": sum(r.abstained_on for r in rows),
        },
        "fraction_breaching": {
            key: _round4(figures.get(f"fraction_breaching_{key}"))
            for key in ("on", "off", "on_late", "off_late")
        },
        "fraction_to_malicious": {
            key: _round4(figures.get(f"fraction_to_malicious_{key}"))
            for key in ("on", "off", "on_late", "off_late")
        },
        "breach_reduction": _round4(figures.get("breach_reduction")),
        "counts": {
            "agreements": len(world.agreements),
            "attestations": sum(r.attestations for r in world.rows),
            "sybil_attestations": world.sybil_attestations,
            "grants_made": len(world.granted),
            "deletion_receipts": world.receipts,
            "verdicts_honoured": world.verdicts.get("honoured", 0),
            "verdicts_breached": world.verdicts.get("breached", 0),
            "verdicts_mistaken": world.mistaken,
            "trust_computations": sum(r.trust_computations for r in world.rows),
            "relationships": world.counts.get("rel.connected", 0) // 2,
            "attestations_shared": sum(n.reputation.shared for n in nodes),
            "attestations_received": sum(n.reputation.received for n in nodes),
            "messages_rejected": world.counts.get("message.rejected", 0),
            "frames_sent": net.messages_sent,
            "frames_lost": net.lost_in_transit + net.lost_on_dead_connection,
            "connections_broken": sum(net.broken.values()),
        },
    }


def _rounds_rows(rows: list[RoundRow]) -> Iterator[list[object]]:
    yield [
        "round", "fraction_on", "fraction_off", "grants_on", "breached_on", "malicious_on",
        "abstained_on", "grants_off", "breached_off", "malicious_off", "attestations",
        "trust_computations",
    ]  # fmt: skip
    for r in rows:
        on, off = rate(r.breached_on, r.grants_on), rate(r.breached_off, r.grants_off)
        yield [
            r.round, "" if on is None else on, "" if off is None else off, r.grants_on,
            r.breached_on, r.malicious_on, r.abstained_on, r.grants_off, r.breached_off,
            r.malicious_off, r.attestations, r.trust_computations,
        ]  # fmt: skip


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def avoided_sentence(reduction: float | None) -> str:
    """The key figures' sentence on ``1 - with / without``, worded by its sign."""
    if reduction is None:
        return "Breaches avoided by trust: — (no breach without it to compare with)."
    if reduction >= 0:
        return f"Breaches avoided by trust: {_shown(reduction)} (1 - with / without)."
    return (
        f"Breaches avoided by trust: none; with it, the breached share was {-reduction:.0%} "
        f"higher than without (1 - with / without = {_shown(reduction)})."
    )


def compare_arms(on: float | None, off: float | None) -> str:
    """What this run's two arms say, worded from the numbers' signs, never assumed."""
    if on is None or off is None:
        return "one arm made no grant, so there is nothing to compare"
    if on == off:
        return "local trust made no difference here"
    if off == 0:
        return "with local trust some grants were breached, and none without it: trust did harm"
    change = on / off - 1
    if change < 0:
        return f"local trust cut breaches by {-change:.0%} of the rate without it"
    return (
        f"local trust did not reduce breaches here; it raised them by {change:.0%} over "
        "choosing at random, the opposite of the paper's result"
    )


def _eigentrust(s: dict[str, Any]) -> list[str]:
    a, fb = s["attack"], s["fraction_breaching"]
    threat = ThreatModel(a["threat_model"])
    return [
        "## Beside EigenTrust",
        "",
        f"Kamvar, Schlosser and Garcia-Molina (WWW 2003) report that {_EIGENTRUST[threat]}. "
        f"Here, under threat model {threat.value} with {a['malicious_fraction']:g} of the vendors "
        f"malicious (breach rate {a['breach_rate']:g}), {_shown(fb['on'])} of honest persons' "
        f"grants were breached with local trust and {_shown(fb['off'])} without it "
        f"({_shown(fb['on_late'])} and {_shown(fb['off_late'])} over the last quarter of the "
        f"rounds): {compare_arms(fb['on'], fb['off'])}. A sweep over `attack.malicious_fraction` "
        "gives the curve the paper draws.",
        "",
        "The setting differs, so the figures are comparable in kind, not in value. EigenTrust "
        "computes one global trust vector, seeded by pre-trusted peers that the system chooses, "
        "over the local trust of every peer. Here trust is personal: each person computes her "
        "own, seeded only by her own relationships (the vendors she holds a signed agreement "
        "with, the friends she vouches for), over the attestations she holds, her own and what "
        "her friends shared. Nobody is trusted by everyone, so a collective has to win each "
        "person separately, but nobody sees the whole network either: a person learns of a "
        "vendor she never dealt with through a few friends, and only over the rounds of one "
        "run. Roles are split (vendors serve, persons attest), and every attestation needs a "
        "real two-party agreement behind it, so a colluder can praise or slander only a vendor "
        "it holds an agreement with. A person cuts off a vendor whose standing is negative on "
        "trusted evidence, with her own experience counting in full, and otherwise picks in "
        "proportion to score with some exploration of unscored vendors, after the paper's "
        "probabilistic peer selection; a malicious vendor that honours a "
        "grant by chance enters that person's pre-trusted set until it breaches her.",
        "",
    ]


def _report(summary: dict[str, Any], rows: list[RoundRow], command: str) -> str:
    s = summary
    crypto = (
        "**real** (Ed25519 signatures on agreements, grants, receipts, attestations and "
        "envelopes; Noise XX sessions; sealed deliveries; each attestation, card and link "
        "certificate verified once per run)"
        if s["crypto"] == "real"
        else crypto_line(s["crypto"])
    )
    p, a, t, c = s["population"], s["attack"], s["trust"], s["counts"]
    fb, fm = s["fraction_breaching"], s["fraction_to_malicious"]
    helpers = f", {p['colluders']} colluders" if p["colluders"] else ""
    helpers += f", {p['spies']} spies" if p["spies"] else ""
    lines = [
        f"# amity-sim: {s['scenario']}, seed {s['seed']}" + (" (quick)" if s["quick"] else ""),
        "",
        s["description"],
        "",
        f"- scenario file: `{s['source']}`; command: `{command}`",
        f"- versions: amity {s['versions']['amity']}, protocol v{s['versions']['protocol']}, "
        f"Python {s['versions']['python']}",
        f"- crypto: {crypto}",
        f"- population: {p['persons']} persons ({p['honest_persons']} honest{helpers}), "
        f"{p['vendors']} vendors ({p['malicious_vendors']} malicious), {p['candidates_per_grant']} "
        f"candidates per grant, {p['friends_mean']:g} friends on average",
        f"- threat model {a['threat_model']}: {a['what']}; malicious fraction "
        f"{a['malicious_fraction']:g}, breach rate {a['breach_rate']:g}"
        + (f", {a['sybils']} Sybils" if a["sybils"] else ""),
        f"- trust: {t['choice']} (explore {t['explore']:g}, cut-off evidence "
        f"{t['cutoff_evidence']:g}, damping {t['damping']:g})",
        f"- {s['rounds_done']}/{s['rounds']} rounds; virtual time at the end: "
        f"{s['virtual_end_ms'] / 3_600_000:.1f} h; {s['events_run']} events"
        + (_INTERRUPTED if s["interrupted"] else ""),
        "",
        "## Key figures",
        "",
        "| of honest persons' grants | with local trust | without (uniform pick) |",
        "| --- | --- | --- |",
        f"| breached (data kept, no deletion receipt) | {_shown(fb['on'])} | {_shown(fb['off'])} |",
        f"| breached, last quarter of the rounds | {_shown(fb['on_late'])} | {_shown(fb['off_late'])} |",
        f"| to a malicious vendor | {_shown(fm['on'])} | {_shown(fm['off'])} |",
        f"| grants made | {s['grants']['on']} | {s['grants']['off']} |",
        f"| grants forgone (every candidate cut off) | {s['grants']['abstained_on']} | — |",
        "",
        f"{avoided_sentence(s['breach_reduction'])} "
        f"Signed: {c['agreements']} agreements, negotiated by messages; {c['grants_made']} "
        f"grants delivered as messages, {c['deletion_receipts']} deletion receipts back; her "
        f"nodes judged {c['verdicts_honoured']} honoured and {c['verdicts_breached']} breached "
        f"({c['verdicts_mistaken']} mistaken about what the vendor did); "
        f"{c['attestations']} attestations"
        + (f" (and {c['sybil_attestations']} by Sybils)" if c["sybil_attestations"] else "")
        + f"; {c['trust_computations']} trust computations. Over {c['relationships']} "
        f"relationships, {c['attestations_shared']} attestations shared in reputation.share "
        f"envelopes and {c['attestations_received']} newly held on arrival, each verified by "
        f"its receiver; {c['messages_rejected']} messages rejected; {c['frames_sent']} frames "
        f"sent, {c['frames_lost']} lost, {c['connections_broken']} connections broken and "
        "resumed.",
        "",
        "## By round",
        "",
        "| round | breached, with trust | breached, without | grants with trust | cut off |",
        "| --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r.round} | {_shown(rate(r.breached_on, r.grants_on))} | "
            f"{_shown(rate(r.breached_off, r.grants_off))} | {r.grants_on} | "
            f"{r.abstained_on} |"
        )
    lines += ["", *_eigentrust(s)]
    lines += [
        "Files: `summary.json` (these figures), `rounds.csv` (one row per round, both arms)"
        + (
            f", `{FIGURE}` (both arms by round, each with its 95% Wilson interval)."
            if plots.available()
            else f"; the figure was skipped: matplotlib is not installed (`{plots.INSTALL_HINT}`)."
        ),
        "",
    ]
    if plots.available():
        lines[-1:-1] = ["", f"![breached share by round]({FIGURE})"]
    return "\n".join(lines)


def write_results(world: ReputationWorld, out_dir: Path, *, command: str) -> Path:
    """Write the result files into ``out_dir/<scenario>-seed<N>…/``; returns that folder."""
    folder = result_folder(world, out_dir)
    summary = summarise(world)
    rows = world.rows[: world.rounds_done]
    write_texts(folder, summary, {"report.md": _report(summary, rows, command)})
    write_csv(folder / "rounds.csv", _rounds_rows(rows))
    if plots.available():
        _figure(folder / FIGURE, summary, rows)
    return folder


def _figure(path: Path, s: dict[str, Any], rows: list[RoundRow]) -> None:
    """Both arms' breached share by round, each round's with its 95% Wilson interval."""
    arms = (
        ("with local trust", [(r.breached_on, r.grants_on) for r in rows]),
        ("without (uniform pick)", [(r.breached_off, r.grants_off) for r in rows]),
    )
    series = []
    for label, counts in arms:
        points = [
            (float(r.round), k / n, *interval)
            for r, (k, n) in zip(rows, counts, strict=True)
            if (interval := wilson(k, n)) is not None
        ]
        if points:  # none before the first round ends (an early Ctrl-C)
            xs, ys, lows, highs = (tuple(column) for column in zip(*points, strict=True))
            series.append(plots.Series(label, xs, ys, lows, highs))
    p, a = s["population"], s["attack"]
    plots.write_figure(
        path,
        title="honest persons' grants breached, by round",
        caption=(
            f"{s['scenario']}, seed {s['seed']}"
            + (" (quick)" if s["quick"] else "")
            + f", {s['crypto']} crypto; threat model {a['threat_model']}, malicious fraction "
            f"{a['malicious_fraction']:g}, breach rate {a['breach_rate']:g}"
            + (f", {a['sybils']} Sybils" if a["sybils"] else "")
            + f"; {p['persons']} persons, {p['vendors']} vendors; "
            "band: 95% Wilson interval of each round's share"
        ),
        x_label="round",
        y_label="share of grants breached",
        series=series,
    )
