"""Trust computation speed against a bare sparse mat-vec of the same size, measured in the same run.

    python benchmarks/trust.py [--quick] [--seconds 2.0] [--attestations 10000] [--json]

A node's view: --attestations attestations (default 10 000) about 1 000 vendors from 2 000
persons, plus the owner's 20 direct agreements. Persons attest vendors (85 % honoured, 10 %
breached, 5 % disputed, vendors drawn by popularity); some vendors attest their customers, so
persons become reachable from the owner's pre-trusted vendors. The owner vouches for her direct
vendors (they are pre-trusted anyway), so that their word about their customers counts
(spec/reputation.md §4.8) and trust reaches persons as plain EigenTrust's did; each person's word
then counts as far as it agrees with the owner's verdicts on those vendors. Two worlds:

- realistic:  6 % of the attestations are vendors attesting persons
- worst case: every person is attested by one of its vendors, so nearly every attester is
              reachable and the iteration runs over the whole graph

Rows (one core, this process; setup and signing are outside the timing):

- full:         compute_trust over all attestations (decoded objects in, TrustResult out)
- incremental:  TrustState.add(one new attestation) + result(), warm-started from the last scores
- mat-vec:      one bare sparse mat-vec over the same edge arrays, numpy bincount (and scipy's
                csr_matrix @ vector when scipy is installed): the floor of one iteration step

The ratio is ours / (iterations x bare bincount mat-vec): what a step costs beyond the arithmetic.
Goals: full < 100 ms, incremental < 10 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.identity import SigningIdentity
from amity.protocol.terms import Clause, TermsDocument
from amity.protocol.trust import compute_trust
from amity.protocol.trustgraph import counted, graph_of
from amity.protocol.trustindex import TrustState

T0 = 1_767_225_600_000
EXPIRES = T0 + 400 * 86_400_000
CLAUSE = "amity.delete-on-end"
TERMS = TermsDocument.create([Clause.of(CLAUSE, days=30)], "Delete on end")
PERSONS, VENDORS, DIRECT = 2_000, 1_000, 20
GOALS_MS = {"full": 100.0, "incremental": 10.0}


def identity(kind: str, number: int) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(f"bench {kind} {number}".encode()).digest())


class World:
    """Identities and agreements, made once and shared by both worlds."""

    def __init__(self) -> None:
        self.owner = identity("owner", 0)
        self.persons = [identity("person", i) for i in range(PERSONS)]
        self.vendors = [identity("vendor", i) for i in range(VENDORS)]
        self.by_key = {s.peer_id.key: s for s in (self.owner, *self.persons, *self.vendors)}
        self._agreements: dict[tuple[int, int], Agreement] = {}
        self._issued = 0

    def agreement(self, person: SigningIdentity, vendor: SigningIdentity) -> Agreement:
        pair = (id(person), id(vendor))
        if pair not in self._agreements:
            nid = hashlib.sha256(person.peer_id.key + vendor.peer_id.key).digest()[:16]
            self._agreements[pair] = Agreement.create(TERMS, person, vendor, nid, T0)
        return self._agreements[pair]

    def attest(
        self,
        attester: SigningIdentity,
        subject: SigningIdentity,
        verdict: Verdict,
        *,
        as_person: bool,
    ) -> Attestation:
        person, vendor = (attester, subject) if as_person else (subject, attester)
        self._issued += 1  # a fresh issued_ms: a distinct attestation, even for the same pair
        return Attestation.issue(
            attester,
            self.agreement(person, vendor),
            clause_id=CLAUSE,
            verdict=verdict,
            issued_ms=T0 + self._issued,
            expires_ms=EXPIRES,
        )


def person_verdict(rng: random.Random) -> Verdict:
    roll = rng.random()
    return (
        Verdict.HONOURED if roll < 0.85 else Verdict.BREACHED if roll < 0.95 else Verdict.DISPUTED
    )


def build(world: World, total: int, *, worst: bool, seed: int) -> list[Attestation]:
    """``total`` attestations: the owner's, persons about vendors, vendors about persons."""
    rng = random.Random(seed)
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(VENDORS)]
    made = [
        world.attest(
            world.owner,
            world.vendors[v],
            Verdict.BREACHED if v >= DIRECT - 2 else Verdict.HONOURED,
            as_person=True,
        )
        for v in range(DIRECT)
    ]
    by_vendors = PERSONS if worst else int(total * 0.06)
    by_persons = total - by_vendors - DIRECT
    customers: dict[int, list[int]] = {}
    for k in range(by_persons):
        p = k % PERSONS  # every person attests something
        v = rng.choices(range(VENDORS), weights=popularity)[0]
        customers.setdefault(p, []).append(v)
        made.append(
            world.attest(world.persons[p], world.vendors[v], person_verdict(rng), as_person=True)
        )
    people = sorted(customers)
    for k in range(by_vendors):
        p = people[k % len(people)] if worst else rng.choice(people)
        v = rng.choice(customers[p])
        verdict = Verdict.HONOURED if rng.random() < 0.95 else Verdict.BREACHED
        made.append(world.attest(world.vendors[v], world.persons[p], verdict, as_person=False))
    return made


def timings(
    operation: Callable[[], Any], seconds: float, least: int = 5, most: int | None = None
) -> list[float]:
    """Seconds per call of ``operation``: as many calls as fit in ``seconds`` (within bounds)."""
    spent: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(spent) < least or time.perf_counter() < deadline:
        if most is not None and len(spent) >= most:
            break
        started = time.perf_counter()
        operation()
        spent.append(time.perf_counter() - started)
    return spent


def p95(spent: list[float]) -> float:
    return statistics.quantiles(spent, n=20)[-1]


def bare_matvec(attestations: list[Attestation], seconds: float) -> dict[str, float | None]:
    """One step's arithmetic over every positive edge: numpy bincount, scipy csr if present."""
    graph = graph_of(attestations[0].attester, counted(attestations, None), None)
    n = len(graph.peers)
    net = np.maximum(graph.counts[:, 0] - graph.counts[:, 1], 0).astype(np.float64)
    edges = net > 0
    src, dst = graph.src[edges], graph.dst[edges]
    local = net[edges] / np.bincount(src, weights=net[edges], minlength=n)[src]
    trust = np.full(n, 1.0 / n)
    rounds = 200
    spent = timings(
        lambda: [np.bincount(dst, weights=local * trust[src], minlength=n) for _ in range(rounds)],
        seconds,
    )
    figures: dict[str, float | None] = {
        "peers": n,
        "edges": int(edges.sum()),
        "bincount_us": min(spent) / rounds * 1e6,
        "scipy_us": None,
    }
    try:
        from scipy import sparse  # type: ignore[import-untyped]
    except ImportError:
        return figures
    matrix = sparse.csr_matrix((local, (dst, src)), shape=(n, n))
    spent = timings(lambda: [matrix @ trust for _ in range(rounds)], seconds)
    figures["scipy_us"] = min(spent) / rounds * 1e6
    return figures


def measure(
    world: World, attestations: list[Attestation], seconds: float, seed: int
) -> dict[str, Any]:
    owner = world.owner.peer_id
    vouched = [vendor.peer_id for vendor in world.vendors[:DIRECT]]
    full_result = compute_trust(owner, attestations, vouched=vouched)
    full = timings(lambda: compute_trust(owner, attestations, vouched=vouched), seconds)

    state = TrustState(owner, vouched=vouched)
    for item in attestations:
        state.add(item)
    state.result()
    # New attestations under agreements that exist already, so each one moves some trust.
    rng = random.Random(seed)
    fresh = []
    while len(fresh) < 1000:
        item = rng.choice(attestations)
        if item.attester != item.agreement.person or item.attester == owner:
            continue
        verdict = Verdict.HONOURED if rng.random() < 0.8 else Verdict.BREACHED
        fresh.append(
            world.attest(
                world.by_key[item.attester.key],
                world.by_key[item.subject.key],
                verdict,
                as_person=True,
            )
        )
    iterations: list[int] = []
    position = [0]

    def incremental() -> None:
        assert state.add(fresh[position[0]])
        position[0] += 1
        iterations.append(state.result().iterations)

    spent = timings(incremental, seconds, most=len(fresh))
    members = sum(1 for score in full_result.scores.values() if score > 0)
    return {
        "attestations": len(attestations),
        "peers": len(full_result.scores),
        "reachable": members,
        "full_ms": statistics.median(full) * 1e3,
        "full_best_ms": min(full) * 1e3,
        "full_p95_ms": p95(full) * 1e3,
        "full_iterations": full_result.iterations,
        "incremental_ms": statistics.median(spent) * 1e3,
        "incremental_best_ms": min(spent) * 1e3,
        "incremental_p95_ms": p95(spent) * 1e3,
        "incremental_iterations": statistics.mean(iterations),
        **bare_matvec(attestations, seconds / 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter timing (same sizes)")
    parser.add_argument("--seconds", type=float, help="time per measurement (default 2, quick 0.5)")
    parser.add_argument("--attestations", type=int, default=10_000, help="attestations per world")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    seconds = args.seconds or (0.5 if args.quick else 2.0)

    world = World()
    started = time.perf_counter()
    worlds = {
        "realistic": build(world, args.attestations, worst=False, seed=1),
        "worst case": build(world, args.attestations, worst=True, seed=2),
    }
    setup_s = time.perf_counter() - started
    rows = {name: measure(world, made, seconds, seed=3) for name, made in worlds.items()}
    if args.json:
        print(json.dumps({"setup_s": round(setup_s, 1), "worlds": rows}, indent=2))
        return 0
    print(
        f"trust benchmark: {args.attestations:,} attestations, {VENDORS:,} vendors, "
        f"{PERSONS:,} persons, {DIRECT} direct; one core; median of >= {seconds:.1f} s per row "
        f"(setup {setup_s:.1f} s, not timed)"
    )
    for name, row in rows.items():
        bare = row["bincount_us"] / 1e3
        scipy_us = row["scipy_us"]
        print(
            f"\n{name}: {row['peers']:,} peers, {row['reachable']:,} with trust, "
            f"{row['edges']:,} positive edges"
        )
        print(
            f"{'operation':<13} {'median ms':>10} {'best ms':>8} {'p95 ms':>8} {'iters':>6} "
            f"{'ratio':>6}  goal"
        )
        for what, goal in GOALS_MS.items():
            ms, iters = row[f"{what}_ms"], row[f"{what}_iterations"]
            verdict = "ok" if ms < goal else "MISSED"
            print(
                f"{what:<13} {ms:>10.2f} {row[f'{what}_best_ms']:>8.2f} "
                f"{row[f'{what}_p95_ms']:>8.2f} {iters:>6.1f} "
                f"{ms / (iters * bare):>6.1f}  < {goal:.0f} ms {verdict}"
            )
        print(
            f"{'mat-vec':<13} {bare:>10.4f} {'':>8} {1:>6} {1.0:>6.1f}  numpy bincount, the floor"
        )
        if scipy_us is None:
            print(f"{'':<13} scipy not installed: csr_matrix @ vector skipped")
        else:
            print(
                f"{'':<13} {scipy_us / 1e3:>10.4f} {'':>8} {'':>8} {1:>6} {'':>6}  "
                "scipy csr @ vector"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
