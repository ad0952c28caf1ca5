"""node_throughput's report: one row per measurement, the goals, the table."""

from __future__ import annotations

import argparse
import os
from typing import Any, Final

from nodebench.measure import WINDOW

CONNECTIONS: Final = (1, 50)
GOAL_MSGS_PER_S: Final = 8_000
#: Acknowledged notes/s over the bare per-note crypto (one core each side).
GOAL_CRYPTO_RATIO: Final = 0.5
GOAL_CONNECT_MS: Final = 50.0


def row(
    name: str,
    connections: int,
    result: dict[str, Any],
    bare: dict[str, Any],
    crypto: float,
    crypto_cpu_us: float,
) -> dict[str, Any]:
    vendor_cpu, persons_cpu = result["cpu"]
    cpu_us = [
        None if share is None or not result["count"] else share * 1e6 / result["per_s"]
        for share in (vendor_cpu, persons_cpu)
    ]
    if result["pending_after"]:
        raise RuntimeError(f"{name}: {result['pending_after']} notes never acknowledged")
    return {
        "measurement": name,
        "connections": connections,
        "ours_per_s": round(result["per_s"]),
        "crypto_per_s": round(crypto),
        "crypto_ratio": round(result["per_s"] / crypto, 3),
        "bare_per_s": round(bare["per_s"]),
        "ratio": round(result["per_s"] / bare["per_s"], 3),
        "vendor_cpu": vendor_cpu,
        "persons_cpu": persons_cpu,
        "vendor_cpu_us": None if cpu_us[0] is None else round(cpu_us[0], 1),
        "persons_cpu_us": None if cpu_us[1] is None else round(cpu_us[1], 1),
        # The note's bare crypto CPU (both sides) over the nodes' CPU per note (both sides).
        "cpu_ratio": None if None in cpu_us else round(crypto_cpu_us / (cpu_us[0] + cpu_us[1]), 3),  # type: ignore[operator]
        "bare_cpu": bare["cpu"],
        "notes_acked": result["sent"],
    }


def goals(rows: list[dict[str, Any]], connects: list[dict[str, Any]]) -> dict[str, Any]:
    inbound = next(
        r
        for r in rows
        if r["measurement"] == "persons → vendor" and r["connections"] == max(CONNECTIONS)
    )
    medians = [c["median_ms"] for c in connects]
    return {
        "msgs_per_s_50": inbound["ours_per_s"],
        "msgs_per_s_met": inbound["ours_per_s"] >= GOAL_MSGS_PER_S,
        "crypto_ratio_50": inbound["crypto_ratio"],
        "crypto_ratio_met": inbound["crypto_ratio"] >= GOAL_CRYPTO_RATIO,
        "cpu_ratio_50": inbound["cpu_ratio"],
        "connect_p95_ms_worst": max(c["p95_ms"] for c in connects),
        "connect_met": all(c["p95_ms"] < GOAL_CONNECT_MS for c in connects),
        "connect_growth": round(max(medians) / min(medians), 2),
    }


def print_table(report: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"node throughput: note = {report['wire_bytes']} B on the wire, window {WINDOW} "
        f"per connection, {args.warmup:.1f} s warm-up + {args.seconds:.1f} s per row, "
        f"{os.cpu_count()} cores"
    )
    crypto = report["crypto"]
    print(
        f"crypto limit: {crypto['send_per_s']:,} notes/s signed + sealed on one core, "
        f"{crypto['receive_per_s']:,} opened + verified on the other "
        f"({report['signed_bytes']} B signed, {report['frame_bytes']} B sealed); CPU per note "
        f"{crypto['send_cpu_us']} + {crypto['receive_cpu_us']} µs"
    )
    print(
        f"{'measurement':<18} {'conns':>5} {'msgs/s':>9} {'crypto/s':>9} {'ratio':>6} "
        f"{'echo/s':>9} {'echo':>6} {'µs/note':>15} {'cpu':>5}  cpu: vendor or echo server, "
        "persons or echo clients"
    )
    for row in report["rows"]:
        cpu = (
            row["bare_cpu"] if "vendor_cpu" not in row else [row["vendor_cpu"], row["persons_cpu"]]
        )
        cpu_text = ", ".join("?" if c is None else f"{c:.0%}" for c in cpu)
        us = [row.get("vendor_cpu_us"), row.get("persons_cpu_us")]
        us_text = "" if None in us else f"{us[0]:.0f} + {us[1]:.0f}"
        cpu_ratio = row.get("cpu_ratio")
        print(
            f"{row['measurement']:<18} {row['connections']:>5} {row['ours_per_s']:>9,} "
            f"{row['crypto_per_s']:>9,} {row['crypto_ratio']:>6.2f} "
            f"{row['bare_per_s']:>9,} {row['ratio']:>6.2f} {us_text:>15} "
            f"{'' if cpu_ratio is None else f'{cpu_ratio:.2f}':>5}  {cpu_text}"
        )
    print()
    print("time to connect: invitation URI → CONNECTED on both sides (Node.connect)")
    print(
        f"{'vendor rels':>11} {'connects':>8} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} "
        f"{'invite ms':>9} {'vendor start ms':>15}"
    )
    for c in report["connect"]:
        print(
            f"{c['relationships']:>11,} {c['connects']:>8} {c['median_ms']:>9.1f} "
            f"{c['p95_ms']:>7.1f} {c['max_ms']:>7.1f} {c['invite_median_ms']:>9.1f} "
            f"{c['vendor_start_ms']:>15.1f}"
        )
    goals = report["goals"]
    print()
    print(
        f"goal >= {GOAL_MSGS_PER_S:,} acknowledged msgs/s over {max(CONNECTIONS)} relationships: "
        f"{goals['msgs_per_s_50']:,} ({'met' if goals['msgs_per_s_met'] else 'missed'})"
    )
    print(
        f"goal >= {GOAL_CRYPTO_RATIO} of the bare per-note crypto over {max(CONNECTIONS)} "
        f"relationships: {goals['crypto_ratio_50']:.2f} "
        f"({'met' if goals['crypto_ratio_met'] else 'missed'}); in CPU per note, both sides: "
        f"{goals['cpu_ratio_50']}"
    )
    print(
        f"goal < {GOAL_CONNECT_MS:.0f} ms to connect, flat: worst p95 "
        f"{goals['connect_p95_ms_worst']:.1f} ms ({'met' if goals['connect_met'] else 'missed'}), "
        f"median grows x{goals['connect_growth']:.2f} from the emptiest to the fullest store"
    )
