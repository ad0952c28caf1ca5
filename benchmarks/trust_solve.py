"""Trust on small graphs, the simulator's case: time per TrustState.result against bare bincount.

    python benchmarks/trust_solve.py [--quick] [--seconds 2.0] [--owners 60] [--json]

The reputation scenario recomputes each person's local trust after almost every attestation she
learns of, some 285 000 times in a full run, over small views: about 23 peers, 18 attester-subject
pairs and 31 steps of the iteration each. There numpy's cost per call, not the arithmetic, is what
a result costs. The workload: --owners owners (default 60), each a person whose
neighbourhood of PERSONS persons and VENDORS vendors attest one another over PAIRS pairs (persons
about vendors, mostly honoured; a third of the pairs vendors about persons), met a few at a time,
while her agreements (the pre-trusted set) grow: each owner's graph settles at about 23 peers and
21 pairs, and a result takes some 20 steps. Each owner learns the first half of her stream
untimed; then, owner after owner (so caches are as cold as in a run), she learns BATCH more
attestations and her result is read. The scenario's parameters: damping 0.15, at most 100 steps,
epsilon 1e-9.

Rows (one core, this process; signing and set-up are outside the timing):

- add:      TrustState.add per attestation (with set_direct when an agreement is new)
- result:   TrustState.result after a batch (the warm-started iteration and the TrustResult)
- bare:     the same number of steps of np.bincount over the same edge arrays, in a loop:
            the floor of the iteration's arithmetic

The ratio is result / bare at the same iteration count: what a result costs beyond the steps'
sums (the per-call overhead this benchmark is about).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.identity import SigningIdentity
from amity.protocol.terms import Clause, TermsDocument
from amity.protocol.trustgraph import counted, graph_of
from amity.protocol.trustindex import TrustState

T0 = 1_767_225_600_000
EXPIRES = T0 + 400 * 86_400_000
CLAUSE = "amity.delete-on-end"
TERMS = TermsDocument.create([Clause.of(CLAUSE, days=30)], "Delete on end")
PERSONS, VENDORS, DIRECT = 20, 10, 8
PAIRS, STREAM, BATCH = 22, 60, 6
DAMPING, MAX_ITERATIONS, EPSILON = 0.15, 100, 1e-9


def identity(kind: str, number: int) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(f"bench {kind} {number}".encode()).digest())


@dataclass
class Owner:
    """One owner, her vendors, and what she learns in order: attestations, new agreements."""

    me: SigningIdentity
    vendors: list[SigningIdentity]
    stream: list[Attestation]
    #: Per attestation: how many of ``vendors`` she holds agreements with once it arrives.
    direct: list[int]


class Maker:
    """Signs attestations, one agreement per person-vendor pair."""

    def __init__(self) -> None:
        self._agreements: dict[tuple[bytes, bytes], Agreement] = {}
        self._issued = 0

    def attest(
        self,
        attester: SigningIdentity,
        subject: SigningIdentity,
        verdict: Verdict,
        *,
        by_person: bool,
    ) -> Attestation:
        person, vendor = (attester, subject) if by_person else (subject, attester)
        pair = (person.peer_id.key, vendor.peer_id.key)
        if pair not in self._agreements:
            nid = hashlib.sha256(pair[0] + pair[1]).digest()[:16]
            self._agreements[pair] = Agreement.create(TERMS, person, vendor, nid, T0)
        self._issued += 1  # a fresh issued_ms: a distinct attestation, even for the same pair
        return Attestation.issue(
            attester,
            self._agreements[pair],
            clause_id=CLAUSE,
            verdict=verdict,
            issued_ms=T0 + self._issued,
            expires_ms=EXPIRES,
        )


def neighbourhood(maker: Maker, number: int, rng: random.Random) -> Owner:
    """An owner and a stream of attestations over PAIRS pairs, met a few at a time.

    New pairs and new agreements (the pre-trusted set) keep arriving, as in a run, so that a
    result is often far from the last one and the iteration takes tens of steps.
    """
    me = identity(f"owner {number}", 0)
    persons = [identity(f"person {number}", i) for i in range(PERSONS)]
    vendors = [identity(f"vendor {number}", i) for i in range(VENDORS)]
    pairs: list[tuple[SigningIdentity, SigningIdentity, bool]] = [
        (me, vendor, True) for vendor in vendors[:2]
    ]
    while len(pairs) < PAIRS:
        person, vendor = rng.choice(persons), rng.choice(vendors)
        pair = (vendor, person, False) if rng.random() < 0.35 else (person, vendor, True)
        if pair not in pairs:
            pairs.append(pair)
    stream, direct = [], []
    for k in range(STREAM):
        met = 3 + k * (PAIRS - 3) // STREAM
        attester, subject, by_person = rng.choice(pairs[:met]) if k % 3 else pairs[met - 1]
        roll = rng.random()
        verdict = (
            Verdict.HONOURED
            if roll < 0.75
            else Verdict.BREACHED
            if roll < 0.95
            else Verdict.DISPUTED
        )
        stream.append(maker.attest(attester, subject, verdict, by_person=by_person))
        direct.append(2 + k * (DIRECT - 1) // STREAM)
    return Owner(me, vendors, stream, direct)


def fresh_state(owner: Owner) -> TrustState:
    return TrustState(
        owner.me.peer_id, damping=DAMPING, max_iterations=MAX_ITERATIONS, epsilon=EPSILON
    )


def learn(state: TrustState, owner: Owner, k: int) -> None:
    """The owner's k-th news: an attestation, and her agreements as they stand then."""
    state.add(owner.stream[k])
    if k == 0 or owner.direct[k] != owner.direct[k - 1]:
        state.set_direct(vendor.peer_id for vendor in owner.vendors[: owner.direct[k]])


def one_round(owners: list[Owner]) -> tuple[list[float], list[float], list[int]]:
    """Seconds per add and per result, and the iterations, over the second half of each stream."""
    states = [fresh_state(owner) for owner in owners]
    half = STREAM // 2
    for state, owner in zip(states, owners, strict=True):
        for k in range(half):
            learn(state, owner, k)
            if k % BATCH == BATCH - 1:
                state.result()
    adds, results, iterations = [], [], []
    clock = time.perf_counter
    for first in range(half, STREAM, BATCH):
        for state, owner in zip(states, owners, strict=True):
            started = clock()
            for k in range(first, first + BATCH):
                learn(state, owner, k)
            added = clock()
            result = state.result()
            done = clock()
            adds.append((added - started) / BATCH)
            results.append(done - added)
            iterations.append(result.iterations)
    return adds, results, iterations


def bare_steps(owners: list[Owner], steps: int, seconds: float) -> float:
    """Seconds for ``steps`` bare bincount steps over one owner's final edge arrays (averaged)."""
    graphs = [graph_of(o.me.peer_id, counted(o.stream, None), None) for o in owners]
    arrays = []
    for graph in graphs:
        net = np.maximum(graph.counts[:, 0] - graph.counts[:, 1], 0).astype(np.float64)
        edges = net > 0
        src, dst, n = graph.src[edges], graph.dst[edges], len(graph.peers)
        local = net[edges] / np.bincount(src, weights=net[edges], minlength=n)[src]
        arrays.append((src, dst, local, np.full(n, 1.0 / n), n))
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while best == float("inf") or time.perf_counter() < deadline:
        started = time.perf_counter()
        for src, dst, local, trust, n in arrays:
            for _ in range(steps):
                np.bincount(dst, weights=local * trust[src], minlength=n)
        best = min(best, (time.perf_counter() - started) / len(arrays))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter timing (same sizes)")
    parser.add_argument("--seconds", type=float, help="time per measurement (default 2, quick 0.5)")
    parser.add_argument("--owners", type=int, default=60, help="owners, each with her own graph")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    seconds = args.seconds or (0.5 if args.quick else 2.0)

    started = time.perf_counter()
    maker, rng = Maker(), random.Random(1)
    owners = [neighbourhood(maker, k, rng) for k in range(args.owners)]
    setup_s = time.perf_counter() - started

    adds: list[float] = []
    results: list[float] = []
    iterations: list[int] = []
    deadline = time.perf_counter() + seconds
    while not results or time.perf_counter() < deadline:
        more = one_round(owners)
        adds += more[0]
        results += more[1]
        iterations += more[2]
    sizes = [graph_of(o.me.peer_id, counted(o.stream, None), None) for o in owners]
    mean_iterations = statistics.mean(iterations)
    bare = bare_steps(owners, round(mean_iterations), seconds / 4)
    row = {
        "owners": args.owners,
        "peers": statistics.mean(len(g.peers) for g in sizes),
        "pairs": statistics.mean(len(g.src) for g in sizes),
        "iterations": mean_iterations,
        "calls": len(results),
        "add_us": statistics.mean(adds) * 1e6,
        "result_us": statistics.mean(results) * 1e6,
        "result_median_us": statistics.median(results) * 1e6,
        "bare_us": bare * 1e6,
        "ratio": statistics.mean(results) / bare,
    }
    if args.json:
        print(json.dumps({"setup_s": round(setup_s, 1), **row}, indent=2))
        return 0
    print(
        f"trust on small graphs: {args.owners} owners, {row['peers']:.1f} peers and "
        f"{row['pairs']:.1f} pairs each, {mean_iterations:.1f} steps per result; one core; "
        f"{len(results):,} calls in >= {seconds:.1f} s (setup {setup_s:.1f} s, not timed)"
    )
    print(f"{'operation':<9} {'mean us':>9} {'median us':>10} {'ratio':>6}")
    print(f"{'add':<9} {row['add_us']:>9.1f} {statistics.median(adds) * 1e6:>10.1f}")
    print(
        f"{'result':<9} {row['result_us']:>9.1f} {row['result_median_us']:>10.1f} "
        f"{row['ratio']:>6.1f}"
    )
    print(
        f"{'bare':<9} {row['bare_us']:>9.1f} {'':>10} {1.0:>6.1f}  "
        f"{round(mean_iterations)} np.bincount steps, the floor"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
