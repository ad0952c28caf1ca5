"""Result files of a lifecycle run (scenario 2): summary.json, grants.csv and report.md.

As for every kind, everything written is a function of the scenario, the seed and the crypto
mode (no wall-clock time, no local path), so the same inputs write byte-identical files. The
figures on data shared onward (breaches of amity.no-third-party-sharing) appear only in a run
whose scenario sets ``breach.share_onward_fraction``, so the files of every other run stay as
they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from amity.protocol.receipts import MSG_RECEIPT
from amity.simulations.behaviours.owners import NO_THIRD_PARTY_SHARING
from amity.simulations.runs import plots
from amity.simulations.runs.results import (
    blank,
    crypto_line,
    network_summary,
    nodes_summary,
    quantiles,
    rate,
    result_folder,
    run_header,
    write_csv,
    write_texts,
)
from amity.simulations.scenarios.lifecycle.world import GrantRow, LifecycleWorld

__all__ = ["RESULT_FILES", "summarise", "write_results"]

RESULT_FILES: Final = ("summary.json", "grants.csv", "report.md")
#: The run's figure, written when matplotlib is installed (``plots.available()``).
FIGURE: Final = "fig-delays.png"
_OUTCOMES: Final = ("deleted", "delivered", "kept", "expired-undelivered", "pending")


def summarise(world: LifecycleWorld) -> dict[str, Any]:
    """The key figures of a run, as the JSON summary holds them."""
    sc = world.scenario
    rows = world.grants
    honest = [r for r in rows if not r.vendor_breaches]
    breaching = [r for r in rows if r.vendor_breaches]
    keeping = [r for r in rows if r.vendor_keeps_data]
    delivered = [r for r in rows if r.delivered_ms is not None]
    deleted = [r for r in rows if r.deleted_ms is not None]
    received = [r for r in rows if r.received_ms is not None]
    ended = [r for r in rows if r.ends_ms + sc.grace_ms <= world.engine.now_ms]
    net = world.network.stats
    receipts = world.counts.get("grant.receipt.delivery", 0)
    receipts += world.counts.get("grant.receipt.deletion", 0)
    receipts += world.counts.get("grant.receipt.update", 0)  # all three come by relay alike
    by_relay_deliveries = sum(r.received_via == "relay" for r in received)
    by_relay_receipts = world.by_mail.get(MSG_RECEIPT, 0)
    nodes = [*world.persons, *world.vendors, *world.relays]
    summary: dict[str, Any] = {
        **run_header(world, "lifecycle"),
        "population": {
            "persons": sc.persons,
            "vendors": sc.vendors,
            "breaching_vendors": len(world.breaching),
            "relays": sc.relays,
            "visits": world.visits,
            "relay_users_connected": world.relay_meetings,
        },
        "visits_connected": world.connected,
        "agreements": world.agreements,
        "grants": {
            "issued": len(rows),
            "to_honest_vendors": len(honest),
            "to_breaching_vendors": len(breaching),
            "outcomes": {name: sum(r.outcome == name for r in rows) for name in _OUTCOMES},
        },
        "delivery_rate": rate(len(delivered), len(rows)),
        "deletion_receipt_rate": rate(len(deleted), len(rows)),
        "deletion_receipt_rate_honest": rate(
            sum(r.deleted_ms is not None for r in honest), len(honest)
        ),
        "deletion_receipt_rate_of_ended_grants": rate(
            sum(r.deleted_ms is not None for r in ended), len(ended)
        ),
        "issue_to_delivery_receipt_ms": quantiles(
            [r.delivered_ms - r.issued_ms for r in delivered if r.delivered_ms is not None]
        ),
        "end_to_deletion_receipt_ms": quantiles(
            [r.deleted_ms - r.ends_ms for r in deleted if r.deleted_ms is not None]
        ),
        "data_left_behind": {
            "grace_ms": sc.grace_ms,
            "grants": sum(r.left_behind for r in rows),
            "at_honest_vendors": sum(r.left_behind for r in honest),
            "at_breaching_vendors": sum(r.left_behind for r in breaching),
            # What a vendor that keeps data received and whose grace is over: all of it stays.
            "breaching_grants_received_and_past_grace": sum(
                r.received_ms is not None and r.ends_ms + sc.grace_ms <= world.engine.now_ms
                for r in keeping
            ),
        },
        "messages": {
            "grant_deliveries": {
                "received": len(received),
                "via_relay": by_relay_deliveries,
                "direct": len(received) - by_relay_deliveries,
            },
            "receipts": {
                "received": receipts,
                "via_relay": by_relay_receipts,
                "direct": receipts - by_relay_receipts,
            },
            "by_relay_by_type": dict(sorted(world.by_mail.items())),
        },
        "relays": [
            {
                "relay": relay.name,
                "held": box.held_total,
                "acked": box.acked,
                "expired": box.expired,
                "still_held": len(box.held()),
                "refused": dict(sorted(box.refused.items())),
            }
            for relay in world.relays
            if (box := relay.mailbox) is not None
        ],
        "deposits_sent": sum(n.deposits.sent for n in nodes if n.deposits is not None),
        "network": network_summary(net, world.churn.departures),
        "nodes": nodes_summary(nodes),
        "events": dict(sorted(world.counts.items())),
    }
    if sc.share_onward_fraction > 0:
        summary["population"]["vendors_keeping_data"] = len(world.keeping_data)
        summary["population"]["vendors_sharing_onward"] = len(world.sharing_onward)
        summary["shared_onward"] = _shared_onward(world)
    if sc.change_interval is not None:
        summary["changes"] = world.changes.summary()
    return summary


def _shared_onward(world: LifecycleWorld) -> dict[str, Any]:
    """What owners passed on outside amity: her node sees none of it (no message carries it)."""
    sc, rows = world.scenario, world.grants
    shared = [r for r in rows if r.copies_onward]
    return {
        "clause_broken": NO_THIRD_PARTY_SHARING,
        "seen_by_her_node": False,
        "share_onward_rate": sc.share_onward_rate,
        "onward_parties": sc.onward_parties,
        "grants_received_by_sharing_vendors": sum(
            r.vendor_shares_onward and r.received_ms is not None for r in rows
        ),
        "grants_shared_onward": len(shared),
        "copies_onward": {
            "total": sum(r.copies_onward for r in rows),
            "from_honest_vendors": sum(r.copies_onward for r in rows if not r.vendor_breaches),
            "from_breaching_vendors": sum(r.copies_onward for r in rows if r.vendor_breaches),
        },
        "copies_outside_grants_at_end": sum(r.copies_outside_grants for r in rows),
        "persons_with_copies_onward": len({c.person for c in world.copies}),
        "third_parties_holding_copies": len({c.party.peer_id for c in world.copies}),
        # Her node holds a signed deletion receipt for these, yet copies of them live on.
        "shared_grants_with_deletion_receipt": sum(r.deleted_ms is not None for r in shared),
    }


def _grants_rows(rows: list[GrantRow], *, onward: bool) -> Iterator[list[object]]:
    """One row per grant; with ``onward``, also which breach its vendor commits and the copies."""
    extra = ["vendor_keeps_data", "vendor_shares_onward", "copies_onward",
             "copies_outside_grants"] if onward else []  # fmt: skip
    yield [
        "grant", "person", "vendor", "vendor_breaches", "grant_id", "issued_ms", "ends_ms",
        "received_ms", "received_via", "delivery_receipt_ms", "deletion_receipt_ms",
        "deletion_reason", "left_behind", "outcome", *extra,
    ]  # fmt: skip
    for r in rows:
        more = [r.vendor_keeps_data, r.vendor_shares_onward, r.copies_onward,
                r.copies_outside_grants] if onward else []  # fmt: skip
        yield [
            r.index, r.person.name, r.vendor.name, r.vendor_breaches, r.grant_id.hex(),
            r.issued_ms, r.ends_ms, blank(r.received_ms), r.received_via,
            blank(r.delivered_ms), blank(r.deleted_ms), r.deletion_reason, r.left_behind,
            r.outcome, *more,
        ]  # fmt: skip


def _ms(stats: dict[str, int | None]) -> str:
    if not stats["count"]:
        return "—"
    return f"p50 {stats['p50']} ms, p90 {stats['p90']} ms, max {stats['max']} ms"


def _report(s: dict[str, Any], command: str) -> str:
    crypto = crypto_line(s["crypto"])
    pop, g, left, msg = s["population"], s["grants"], s["data_left_behind"], s["messages"]
    outcomes = ", ".join(f"{k} {v}" for k, v in g["outcomes"].items() if v)
    breaches = f"{pop['breaching_vendors']} keep data"
    if "vendors_sharing_onward" in pop:
        breaches = (
            f"{pop['breaching_vendors']} breach: {pop['vendors_keeping_data']} keep data, "
            f"{pop['vendors_sharing_onward']} share onward"
        )
    lines = [
        f"# amity-sim: {s['scenario']}, seed {s['seed']}" + (" (quick)" if s["quick"] else ""),
        "",
        s["description"],
        "",
        f"- scenario file: `{s['source']}`; command: `{command}`",
        f"- versions: amity {s['versions']['amity']}, protocol v{s['versions']['protocol']}, "
        f"Python {s['versions']['python']}",
        f"- crypto: {crypto}",
        f"- population: {pop['persons']} persons, {pop['vendors']} vendors "
        f"({breaches}), {pop['relays']} relays; {pop['visits']} visits, "
        f"{s['visits_connected']} connected, {s['agreements']} agreements",
        f"- virtual time at the end: {s['virtual_end_ms'] / 60_000:.1f} min; "
        f"{s['events_run']} events"
        + (" — **interrupted (Ctrl-C): partial results**" if s["interrupted"] else ""),
        "",
        "## Key figures",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| grants issued | {g['issued']} ({g['to_breaching_vendors']} to breaching vendors) |",
        f"| outcomes | {outcomes or '—'} |",
        f"| delivery rate (delivery receipt held / issued) | {s['delivery_rate']} |",
        f"| issue to delivery receipt | {_ms(s['issue_to_delivery_receipt_ms'])} |",
        f"| grant end to deletion receipt | {_ms(s['end_to_deletion_receipt_ms'])} |",
        f"| deletion receipts by the end (of issued; honest vendors; of grants past grace) | "
        f"{s['deletion_receipt_rate']}; {s['deletion_receipt_rate_honest']}; "
        f"{s['deletion_receipt_rate_of_ended_grants']} |",
        f"| data left behind after end + {left['grace_ms'] // 60_000} min (honest; breaching) | "
        f"{left['grants']} ({left['at_honest_vendors']}; {left['at_breaching_vendors']} of the "
        f"{left['breaching_grants_received_and_past_grace']} they received) |",
        f"| grant deliveries by relay / directly | {msg['grant_deliveries']['via_relay']} / "
        f"{msg['grant_deliveries']['direct']} |",
        f"| receipts by relay / directly | {msg['receipts']['via_relay']} / "
        f"{msg['receipts']['direct']} |",
        *_onward_lines(s.get("shared_onward")),
        *_change_lines(s.get("changes")),
        "",
        "## Relays",
        "",
        "| relay | held | handed over and ACKed | expired | still held | refused |",
        "| --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for r in s["relays"]:
        refused = ", ".join(f"{k} {v}" for k, v in r["refused"].items()) or "—"
        lines.append(
            f"| {r['relay']} | {r['held']} | {r['acked']} | {r['expired']} | {r['still_held']} "
            f"| {refused} |"
        )
    n = s["network"]
    lines += [
        "",
        f"{s['deposits_sent']} DEPOSIT frames sent; envelopes taken from relay mail by type: "
        + (", ".join(f"{k} {v}" for k, v in msg["by_relay_by_type"].items()) or "none")
        + ".",
        "",
        "## Network",
        "",
        f"{n['messages_sent']} messages sent, {n['messages_delivered']} delivered; "
        f"{n['dials']} dials ({n['dials_failed']} failed), {n['connections_opened']} connections, "
        "broken: "
        + (", ".join(f"{k} {v}" for k, v in n["connections_broken"].items()) or "none")
        + f"; {n['churn_departures']} nodes went offline. Nodes rejected "
        f"{s['nodes']['messages_rejected']} messages (grants that ended before they arrived are "
        f"refused as `grants.expired`) and acknowledged {s['nodes']['duplicates_acked_again']} "
        "resent duplicates again.",
        "",
        "Files: `summary.json` (these figures and the count of every event the nodes notified), "
        "`grants.csv` (one row per grant, times in virtual ms)"
        + (
            f", `{FIGURE}` (each delay as the share done by a time)."
            if plots.available()
            else f"; the figure was skipped: matplotlib is not installed (`{plots.INSTALL_HINT}`)."
        ),
        "",
    ]
    return "\n".join(lines)


def _onward_lines(onward: dict[str, Any] | None) -> list[str]:
    """The key figures of data shared onward, and what they mean; none if no owner could share."""
    if onward is None:
        return []
    copies = onward["copies_onward"]
    return [
        f"| grants shared onward (of those the sharing vendors received) | "
        f"{onward['grants_shared_onward']} (of {onward['grants_received_by_sharing_vendors']}; "
        f"rate {onward['share_onward_rate']}, to {onward['onward_parties']} other vendor(s) each) |",
        f"| copies onward (honest vendors; breaching) | {copies['total']} "
        f"({copies['from_honest_vendors']}; {copies['from_breaching_vendors']}) |",
        f"| copies held outside any grant of hers at the end | "
        f"{onward['copies_outside_grants_at_end']} (data of {onward['persons_with_copies_onward']} "
        f"persons, at {onward['third_parties_holding_copies']} third parties) |",
        f"| shared grants whose deletion receipt she holds | "
        f"{onward['shared_grants_with_deletion_receipt']} |",
        "",
        f"Sharing onward breaks `{onward['clause_broken']}` and the grant's `onward` word, but no "
        "amity message carries it: the vendor's owner reads values its node legitimately holds "
        "and passes them on outside the protocol. Her node sees nothing: delivery and deletion "
        "receipts come back as from an honest vendor, and a copy held under no grant is never "
        "deleted. Only a canary value or a leak would reveal it.",
    ]  # fmt: skip


def _change_lines(changes: dict[str, Any] | None) -> list[str]:
    """Change once, everywhere: the key figures of her changes; none if nobody changes."""
    if changes is None:
        return []
    not_updated = ", ".join(f"{k} {v}" for k, v in changes["not_updated"].items() if v) or "—"
    return [
        f"| her changes (email) / updates sent to live grantees | {changes['changes_made']} / "
        f"{changes['updates_sent']} |",
        f"| grants naming it not updated, by why | {not_updated} |",
        f"| updates applied by the vendors / update receipts back | {changes['updates_applied']} "
        f"/ {changes['update_receipts']} |",
        f"| her change to the vendor's new value | {_ms(changes['change_to_vendor_ms'])} |",
        f"| updates applied after their grant's end | {changes['updates_applied_after_grant_end']} "
        "|",
        f"| updates whose grant ended before the vendor's node took them (refused there, or still "
        f"queued) | {changes['updates_not_taken_grant_ended']} |",
        f"| live grants whose vendor is a version behind at the end (updates still travelling) | "
        f"{changes['live_grants_behind_at_end']} ({changes['updates_travelling_at_end']}) |",
    ]


def _delays(world: LifecycleWorld) -> list[tuple[str, list[int]]]:
    """Each delay the run measures, in virtual ms, for the figure."""
    rows = world.grants
    found = [
        (
            "issue to delivery receipt",
            [r.delivered_ms - r.issued_ms for r in rows if r.delivered_ms is not None],
        ),
        (
            "grant end to deletion receipt",
            [r.deleted_ms - r.ends_ms for r in rows if r.deleted_ms is not None],
        ),
        ("her change to the vendor's new value", list(world.changes.latencies)),
    ]
    return [(label, values) for label, values in found if values]


def _figure(path: Path, s: dict[str, Any], world: LifecycleWorld) -> None:
    """Each delay as the share of cases done by a time (an empirical CDF), log time axis."""
    series = []
    for label, values in _delays(world):
        ordered = sorted(max(1, v) for v in values)  # a log axis starts above 0 ms
        xs = tuple(v / 1000 for v in ordered)
        ys = tuple((i + 1) / len(ordered) for i in range(len(ordered)))
        series.append(plots.Series(f"{label} (n = {len(ordered)})", xs, ys, ys, ys))
    if not series:
        return
    p = s["population"]
    plots.write_figure(
        path,
        title="how long the lifecycle's steps take, in network time",
        caption=(
            f"{s['scenario']}, seed {s['seed']}"
            + (" (quick)" if s["quick"] else "")
            + f", {s['crypto']} crypto; {p['persons']} persons, {p['vendors']} vendors, "
            f"{p['relays']} relays; churn as the scenario says; each curve: the share of cases "
            "done by that time (receipts wait in outboxes and at relays while a peer is offline)"
        ),
        x_label="seconds (log scale)",
        y_label="share done",
        series=series,
        scale="log",
    )


def write_results(world: LifecycleWorld, out_dir: Path, *, command: str) -> Path:
    """Write the result files into ``out_dir/<scenario>-seed<N>…/``; returns that folder."""
    folder = result_folder(world, out_dir)
    summary = summarise(world)
    write_texts(folder, summary, {"report.md": _report(summary, command)})
    if plots.available():
        _figure(folder / FIGURE, summary, world)
    onward = world.scenario.share_onward_fraction > 0
    write_csv(folder / "grants.csv", _grants_rows(world.grants, onward=onward))
    return folder
