"""Scenario 2: the grants lifecycle under churn with relays, run small, and its result files."""

from __future__ import annotations

from pathlib import Path

import pytest

from amity.protocol.errors import ScenarioError
from amity.protocol.holder import HoldingState
from amity.simulations.crypto import CryptoMode
from amity.simulations.kinds import KINDS, kind_of
from amity.simulations.scenarios.lifecycle.results import RESULT_FILES, summarise, write_results
from amity.simulations.scenarios.lifecycle.scenario import load_lifecycle_scenario
from amity.simulations.scenarios.lifecycle.world import LifecycleWorld, metrics

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


SHARING = {"breach.share_onward_fraction": 0.5, "breach.share_onward_rate": 1.0}


def test_owners_that_share_onward_copy_every_grant_they_hold_and_honest_ones_none() -> None:
    world = run(**SHARING)
    figures = metrics(world)
    assert len(world.sharing_onward) == 2 and world.breaching == world.sharing_onward
    assert figures["copies_onward"] > 0 and figures["copies_onward_honest"] == 0
    assert all(c.source.peer_id in world.sharing_onward for c in world.copies)
    assert all(c.party is not c.source for c in world.copies)
    held_at_sharers = [r for r in world.grants if r.vendor_shares_onward and r.received_ms]
    assert figures["grants_shared_onward"] == len(held_at_sharers), "rate 1.0: every one"
    assert all(r.copies_onward == 1 for r in held_at_sharers)
    assert 0 < figures["copies_outside_grants_at_end"] <= figures["copies_onward"]


def test_sharing_onward_changes_nothing_her_node_sees() -> None:
    def seen(world: LifecycleWorld) -> list[tuple[object, ...]]:
        return [(r.grant_id, r.delivered_ms, r.deleted_ms, r.outcome) for r in world.grants]

    plain, sharing = run(), run(**SHARING)
    assert seen(sharing) == seen(plain)
    counts = {k: v for k, v in sharing.counts.items() if k != "misbehave.shared_onward"}
    assert counts == plain.counts and sharing.engine.now_ms == plain.engine.now_ms
    assert any(r.copies_onward and r.deleted_ms is not None for r in sharing.grants), (
        "a deletion receipt from a vendor whose owner already passed the data on"
    )


def test_sharing_onward_is_the_same_for_the_same_seed_and_absent_by_default() -> None:
    def copies(world: LifecycleWorld) -> list[tuple[bytes, str, str]]:
        return [(c.grant_id, c.source.name, c.party.name) for c in world.copies]

    first, second = run(**SHARING), run(**SHARING)
    assert copies(first) and copies(first) == copies(second)
    assert metrics(first) == metrics(second)
    plain = run()
    figures = metrics(plain)
    assert plain.copies == [] and plain.sharing_onward == set()
    assert figures["copies_onward"] == figures["grants_shared_onward"] == 0
    assert "shared_onward" not in summarise(plain)


def test_sharing_onward_and_keeping_data_are_independent_breaches(tmp_path: Path) -> None:
    world = run(**SHARING, **{"breach.keep_data_fraction": 0.5, "breach.onward_parties": 2})
    assert world.breaching == world.keeping_data | world.sharing_onward
    assert all(r.copies_onward == 2 for r in world.grants if r.copies_onward)
    only_sharing = [r for r in world.grants if r.vendor_shares_onward and not r.vendor_keeps_data]
    assert any(r.deleted_ms is not None for r in only_sharing)
    assert not any(r.left_behind for r in only_sharing)
    summary = summarise(world)["shared_onward"]
    assert summary["clause_broken"] == "amity.no-third-party-sharing"
    assert summary["copies_onward"]["from_honest_vendors"] == 0
    folder = write_results(world, tmp_path, command="amity-sim run")
    header = (folder / "grants.csv").read_text().splitlines()[0]
    assert header.endswith("vendor_shares_onward,copies_onward,copies_outside_grants")


def test_more_onward_parties_than_other_vendors_is_refused_by_name() -> None:
    with pytest.raises(ScenarioError, match=r"onward_parties"):
        load_lifecycle_scenario(
            "lifecycle", quick=True, overrides={**SMALL, **SHARING, "breach.onward_parties": 4}
        )


def test_a_changed_email_reaches_every_live_grantee_and_none_past_its_grant() -> None:
    # Half the grants outlive the run (live at the end), half end before it.
    world = run(
        **{
            "changes.interval": {"kind": "exponential", "mean_ms": 1_800_000},
            "grants.duration": {"kind": "uniform", "lo_ms": 1_800_000, "hi_ms": 28_800_000},
        }
    )
    changes, now = world.changes, world.engine.now_ms

    assert changes.made > 0 and changes.applied > 0
    assert changes.applied_after_end == 0
    assert changes.not_sent.get("expired", 0) > 0  # an expired grant's vendor gets nothing
    checked = 0
    for row in world.grants:
        issued = row.person.grants.issued[row.grant_id]
        held = row.vendor.grants.held.get(row.grant_id)
        if held is None or held.state is not HoldingState.HELD or now >= row.ends_ms:
            continue
        assert held.version <= issued.version
        if held.version == issued.version:  # not still travelling: her newest value
            newest = world.current_email.get(row.person.peer_id)
            value = next(f.value for f in held.fields if f.name == "email")
            assert newest is None or value == newest.value
            checked += 1
    assert checked > 0
    figures = metrics(world)
    assert figures["updates_applied"] == changes.applied
    assert figures["updates_applied_after_grant_end"] == 0
