"""Memory per simulated node: a bound that a return to the old size (or any doubling) breaks."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from amity.protocol.negotiation import Negotiation
from amity.simulations.crypto import CryptoMode
from amity.simulations.guard import NonceCache
from amity.simulations.link import SimLink
from amity.simulations.scenarios.market.scenario import load_scenario
from amity.simulations.scenarios.market.world import MarketWorld
from amity.simulations.world.network import Connection

#: tracemalloc's peak while the quick market (110 nodes, stand-in crypto) is built and run was
#: 24 KiB per node (CPython 3.11; 28 KiB before nodes packed finished negotiations, kept one link
#: epoch and each sender's nonces in one bytes, and closed links stopped holding their connection;
#: 31 KiB before sessions shared the peer's certificate and replay guards kept nonces compactly,
#: 69 KiB before nodes shared equal values). The bound leaves room for drift, not for a doubling.
MAX_BYTES_PER_NODE = 32 * 1024


@pytest.fixture(scope="module")
def measured() -> tuple[MarketWorld, float]:
    """The quick market, run once under tracemalloc, and its peak traced bytes per node."""
    scenario = load_scenario("market.toml", quick=True)
    gc.collect()
    tracing = tracemalloc.is_tracing()  # e.g. PYTHONTRACEMALLOC: measure within it
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        world = MarketWorld(scenario, seed=7, crypto=CryptoMode.STANDIN)
        world.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not tracing:
            tracemalloc.stop()
    return world, (peak - before) / (scenario.persons + scenario.vendors)


def test_a_node_stays_within_its_memory_budget(measured: tuple[MarketWorld, float]) -> None:
    world, per_node = measured
    assert world.settled == len(world.visits)
    assert per_node < MAX_BYTES_PER_NODE, (
        f"{per_node / 1024:.1f} KiB per simulated node (bound {MAX_BYTES_PER_NODE // 1024} KiB); "
        "run python benchmarks/sim_engine.py and look for what a node now keeps per peer"
    )


def test_both_ends_keep_one_copy_of_what_they_share(measured: tuple[MarketWorld, float]) -> None:
    world, _ = measured
    agreed = [v for v in world.visits if v.outcome == "agreed"]
    assert agreed
    for visit in agreed:
        assert visit.negotiation_id is not None
        ours = visit.person.terms.negotiations[visit.negotiation_id]
        theirs = visit.vendor.terms.negotiations[visit.negotiation_id]
        # A finished record keeps no agreement: it is rebuilt, equal, from the two signatures.
        assert ours.agreement is not None and ours.agreement == theirs.agreement
        assert ours.agreement.encoded == visit.agreement == visit.vendor_agreement
        assert not any(
            isinstance(record, Negotiation)
            for record in visit.person.terms.negotiations._records.values()
        )
        assert ours.terms is theirs.terms is ours.agreement.terms
        rel = visit.vendor.relationship(visit.person.peer_id)
        assert rel is not None and rel.peer is visit.person.peer_id
        assert rel.peer_card is visit.person.card()
    # An invitation is dropped once used: no attempt to connect follows a success.
    assert all(v.invitation is None for v in world.visits if v.connected_ms is not None)


def test_ended_links_leave_no_cycles_behind() -> None:
    """A closed link and its connection go by reference counting, not a full collection."""
    scenario = load_scenario("market.toml", quick=True)
    gc.collect()
    gc.disable()
    try:
        world = MarketWorld(scenario, seed=7, crypto=CryptoMode.STANDIN)
        world.run()
    finally:
        gc.enable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()  # while the world (itself a web of references) is still in use
        cycles = [o for o in gc.garbage if isinstance(o, (SimLink, Connection))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert world.network.stats.broken  # links ended: loss, churn, the partition
    assert not cycles


def test_the_compact_nonce_cache_is_a_dict_in_insertion_order() -> None:
    cache, reference = NonceCache(), dict[bytes, int]()
    nonces = [bytes([i]) * 8 + bytes([i + 1]) * 8 for i in range(6)]
    # The second nonce's bytes also occur straddling two entries: only whole entries count.
    steps = [(nonces[0], 5), (nonces[1], -7), (nonces[2], 1 << 62), (nonces[1], 9), (nonces[3], 0)]
    for nonce, ts_ms in steps:
        cache[nonce] = reference[nonce] = ts_ms
        assert list(cache.items()) == list(reference.items())
    del cache[nonces[0]], reference[nonces[0]]
    assert list(cache.items()) == list(reference.items()) and len(cache) == len(reference)
    assert nonces[0] not in cache and nonces[4] not in cache and b"short" not in cache
    with pytest.raises(KeyError):
        cache[nonces[5]]
