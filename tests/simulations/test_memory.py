"""Memory per simulated node: a bound that a return to the old size (or any doubling) breaks."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from amity.simulations.crypto import CryptoMode
from amity.simulations.market import MarketWorld
from amity.simulations.scenario import load_scenario

#: tracemalloc's peak while the quick market (110 nodes, stand-in crypto) is built and run was
#: 28 KiB per node (CPython 3.11; 31 KiB before sessions shared the peer's certificate and replay
#: guards kept nonces compactly, 69 KiB before nodes shared equal values).
#: The bound leaves room for drift, not for a doubling.
MAX_BYTES_PER_NODE = 40 * 1024


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
        assert ours.agreement is theirs.agreement is not None
        assert ours.terms is theirs.terms
        rel = visit.vendor.relationship(visit.person.peer_id)
        assert rel is not None and rel.peer is visit.person.peer_id
        assert rel.peer_card is visit.person.card()
    # An invitation is dropped once used: no attempt to connect follows a success.
    assert all(v.invitation is None for v in world.visits if v.connected_ms is not None)
