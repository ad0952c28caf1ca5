"""Scenario 2: the grants lifecycle under churn with relays, run small, and its result files."""

from __future__ import annotations

from pathlib import Path

import pytest

from amity.protocol.errors import ScenarioError
from amity.simulations.crypto import CryptoMode
from amity.simulations.kinds import KINDS, kind_of
from amity.simulations.lifecycle import LifecycleWorld, metrics
from amity.simulations.lifecycle_results import RESULT_FILES, write_results
from amity.simulations.lifecycle_scenario import load_lifecycle_scenario

SMALL = {
    "population.persons": 16,
    "population.vendors": 4,
    "run.duration_ms": 14_400_000,
    "population.arrival": {"kind": "uniform", "lo_ms": 0, "hi_ms": 3_600_000},
}


def run(seed: int = 3, **overrides: object) -> LifecycleWorld:
    scenario = load_lifecycle_scenario("lifecycle", quick=True, overrides={**SMALL, **overrides})
    world = LifecycleWorld(scenario, seed=seed, crypto=CryptoMode.STANDIN)
    world.run()
    return world


def test_the_kind_is_registered_and_the_file_names_it() -> None:
    assert kind_of("lifecycle") == "lifecycle" and "lifecycle" in KINDS
    with pytest.raises(ScenarioError, match=r"relays\.cuont"):
        load_lifecycle_scenario("lifecycle", overrides={"relays.cuont": 2})


def test_honest_vendors_delete_everything_and_receipts_come_back() -> None:
    world = run()
    figures = metrics(world)
    assert world.grants and figures["delivery_rate"] > 0.5
    assert figures["data_left_behind"] == 0
    deleted = [r for r in world.grants if r.deleted_ms is not None]
    assert deleted and all(r.deletion_reason == "expired" for r in deleted)
    assert all(r.deleted_ms >= r.ends_ms for r in deleted if r.deleted_ms is not None)


def test_breaching_vendors_leave_exactly_their_data_behind() -> None:
    world = run(**{"breach.keep_data_fraction": 0.5})
    assert len(world.breaching) == 2
    past = world.engine.now_ms - world.scenario.grace_ms
    behind = [r for r in world.grants if r.left_behind]
    expected = [
        r
        for r in world.grants
        if r.vendor_breaches and r.received_ms is not None and r.ends_ms <= past
    ]
    assert behind and behind == expected
    assert all(r.deleted_ms is None for r in world.grants if r.vendor_breaches)


def test_relays_carry_mail_when_there_are_relays_and_none_without() -> None:
    with_relays = run()
    assert sum(with_relays.by_mail.values()) > 0
    assert any(r.mailbox is not None and r.mailbox.acked for r in with_relays.relays)
    without = run(**{"relays.count": 0})
    assert without.by_mail == {} and without.relays == []


def test_the_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    folders = [write_results(run(), tmp_path / str(i), command="amity-sim run") for i in (1, 2)]
    for name in RESULT_FILES:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    header = (folders[0] / "grants.csv").read_text().splitlines()[0]
    assert header.startswith("grant,person,vendor,vendor_breaches,grant_id")
