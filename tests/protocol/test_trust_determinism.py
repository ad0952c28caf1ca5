"""Local trust is a function of the attestations alone: not of their order, nor of hash order.

A float sum depends on the order of its terms. ``TrustState`` numbers peers and pairs as they
arrive, and its callers hand it sets (of direct peers; a node may read attestations in any order),
whose order changes with PYTHONHASHSEED; so ``trust.solve`` sums in key order (spec/reputation.md
§4.3), and the same attestations give the same bits in every order and in every process.
"""

from __future__ import annotations

import hashlib
import random
from functools import cache

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.terms import Clause, TermsDocument
from amity.protocol.trust import TrustResult, compute_trust
from amity.protocol.trustindex import TrustState
from tests.hashseed import run_with_hash_seed

T0 = 1_767_225_600_000
EXPIRES = T0 + 400 * 86_400_000
CLAUSE = "amity.delete-on-end"


def _identity(kind: str, number: int) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(f"trust order {kind} {number}".encode()).digest())


@cache
def world() -> tuple[PeerId, tuple[PeerId, ...], tuple[Attestation, ...]]:
    """An owner, her direct peers, and ~400 attestations among 16 persons and 10 vendors.

    Persons attest vendors and vendors attest persons (so trust flows in cycles, and many peers
    hold some), with every verdict: enough terms per sum that their order shows in the last bit.
    """
    terms = TermsDocument.create([Clause.of(CLAUSE, days=30)], "Delete on end")
    owner = _identity("owner", 0)
    persons = [owner, *(_identity("person", i) for i in range(15))]
    vendors = [_identity("vendor", i) for i in range(10)]
    rng = random.Random(15)
    agreements = {
        (p, v): Agreement.create(terms, persons[p], vendors[v], bytes([p, v]) * 8, T0)
        for p in range(len(persons))
        for v in range(len(vendors))
        if p == 0 or rng.random() < 0.5
    }
    made = []
    for k in range(400):
        p, v = rng.choice(sorted(agreements))
        by_person = rng.random() < 0.7
        roll = rng.random()
        verdict = (
            Verdict.HONOURED
            if roll < 0.75
            else Verdict.BREACHED
            if roll < 0.93
            else Verdict.DISPUTED
        )
        made.append(
            Attestation.issue(
                persons[p] if by_person else vendors[v],
                agreements[(p, v)],
                clause_id=CLAUSE,
                verdict=verdict,
                issued_ms=T0 + k,
                expires_ms=EXPIRES,
            )
        )
    direct = (*(vendors[v].peer_id for v in range(6)), persons[3].peer_id)
    return owner.peer_id, direct, tuple(made)


def bits(result: TrustResult) -> list[tuple[str, str, str, str]]:
    """Every score and standing, peer by peer in key order, to the last bit."""
    return [
        (
            peer.did,
            score.hex(),
            result.standing(peer).honoured.hex(),
            result.standing(peer).breached.hex(),
        )
        for peer, score in result.scores.items()
    ] + [("iterations", str(result.iterations), "", "")]


def batch_results(
    owner: PeerId, direct: list[PeerId] | set[PeerId], batches: list[list[Attestation]]
) -> list[TrustResult]:
    """A TrustState fed ``direct``, then each batch in turn, read after each: the first result
    cold, the others warm-started from the last scores (spec/reputation.md §4.7)."""
    state = TrustState(owner)
    state.set_direct(direct)
    results = []
    for batch in batches:
        for item in batch:
            state.add(item)
        results.append(state.result())
    return results


def chunks(made: tuple[Attestation, ...]) -> list[list[Attestation]]:
    """``made`` in batches of 50, as a node learns of them over time."""
    return [list(made[k : k + 50]) for k in range(0, len(made), 50)]


def test_the_same_attestations_in_any_order_give_the_same_bits() -> None:
    owner, direct, made = world()
    expected = bits(compute_trust(owner, made, direct=direct))
    assert len(expected) > 20
    in_batches = [bits(result) for result in batch_results(owner, list(direct), chunks(made))]
    for seed in range(4):
        rng = random.Random(seed)
        items, peers = list(made), list(direct)
        rng.shuffle(items)
        rng.shuffle(peers)
        assert bits(compute_trust(owner, items, direct=peers)) == expected
        # The incremental state, which numbers peers and pairs as they arrive, sums as
        # compute_trust does, by key: a cold result is compute_trust's to the bit...
        assert [bits(r) for r in batch_results(owner, peers, [items])] == [expected]
        # ...and warm-started results depend on what was learnt between them, not its order.
        batches = [rng.sample(batch, len(batch)) for batch in chunks(made)]
        assert [bits(r) for r in batch_results(owner, peers, batches)] == in_batches


#: Run in a fresh process: direct peers and each batch of attestations handed over in the order
#: of a set (PYTHONHASHSEED's); print the digest of every result's bits, then of the order used.
_DIGEST_IN_HASH_ORDER = """
import hashlib
from tests.protocol.test_trust_determinism import batch_results, bits, chunks, world
owner, direct, made = world()
by_id = {item.attestation_id: item for item in made}
batches = [[by_id[i] for i in {item.attestation_id for item in batch}] for batch in chunks(made)]
results = batch_results(owner, set(direct), batches)
print(hashlib.sha256(repr([bits(r) for r in results]).encode()).hexdigest())
print(hashlib.sha256(repr([i.attestation_id for b in batches for i in b]).encode()).hexdigest())
"""


def test_two_hash_seeds_give_the_same_bits() -> None:
    owner, direct, made = world()
    runs = [run_with_hash_seed(_DIGEST_IN_HASH_ORDER, seed).split() for seed in ("1", "2")]
    (first_digest, first_order), (second_digest, second_order) = runs
    assert first_order != second_order  # the attestations did arrive in different orders
    assert first_digest == second_digest
    here = [bits(r) for r in batch_results(owner, list(direct), chunks(made))]
    assert first_digest == hashlib.sha256(repr(here).encode()).hexdigest()
