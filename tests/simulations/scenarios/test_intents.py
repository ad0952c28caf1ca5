"""Scenario 5 end to end: the intent market on the real intent core, its rules against spam and
Sybils, byte-identical results, and the linkability adversary against a leaky control."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amity.protocol.core.intents.hub import QUOTA
from amity.simulations.cli import main
from amity.simulations.crypto import CryptoMode
from amity.simulations.scenarios.intents.linkability import ATTACKS, AttackResult
from amity.simulations.scenarios.intents.results import (
    RESULT_FILES,
    figures,
    linkability,
    summarise,
)
from amity.simulations.scenarios.intents.scenario import load_intents_scenario
from amity.simulations.scenarios.intents.world import IntentsWorld
from tests.hashseed import run_with_hash_seed

#: A smaller market for the linkability checks (they need many intents, not many vendors).
SMALL = {"vendors.honest": 6, "vendors.spammers": 1, "sybils.count": 0}
#: How far above chance an attack may land on the real protocol and still count as chance:
#: about 3.5 standard deviations of a mean of ~100 guesses that are right 2 % of the time.
TOLERANCE = 0.05


def run_world(seed: int = 7, **overrides: object) -> IntentsWorld:
    scenario = load_intents_scenario("intents", quick=True, overrides=overrides or None)
    world = IntentsWorld(scenario, seed=seed, crypto=CryptoMode.REAL)
    world.run()
    return world


@pytest.fixture(scope="module")
def quick_world() -> IntentsWorld:
    return run_world()


def attacks(world: IntentsWorld, task: str = "intent-intent") -> dict[str, AttackResult]:
    return {r.attack: r for r in linkability(world) if r.task == task}


def test_persons_get_offers_and_accepts_reach_their_vendor(quick_world: IntentsWorld) -> None:
    s = summarise(quick_world)
    intents = s["intents"]
    assert intents["cast"] == intents["stored_by_hub"] > 50
    assert intents["with_an_offer_shown"] > intents["cast"] // 4
    assert s["time_to_first_offer_ms"]["median"] > 0
    accepted = intents["outcomes"]["accepted"]
    assert accepted > 0 and intents["accepts_that_reached_the_vendor"] == accepted
    # Each vendor she revealed herself to invites her in, through the hubs (§6.1); the hub
    # counts the welcome against the vendor's hourly rate, so a spammer past it loses some.
    assert intents["welcomes_sent"] == intents["revealed"] > 0
    for c in quick_world.casts.values():
        if c.revealed and not c.won_by_spammer:
            assert c.welcomed
    assert intents["receipts_kept"] > 0  # withdraw and expiry bring deletion receipts
    # Offers come through hubs that federate: some reached her through a hub she never used.
    shown = [c for c in quick_world.casts.values() if c.owner == "person" and c.shown]
    assert shown and max(c.shown for c in shown) >= 2


def test_a_sweep_averages_one_figure_per_attack(quick_world: IntentsWorld) -> None:
    found = figures(quick_world)
    links = [k for k in found if k.startswith("link_") and k.endswith("_success")]
    assert len(links) == len(ATTACKS)  # one each: no two attacks share a name
    assert found["cut_off_share_shown"] == 0.0 and 0 < found["offer_rate"] <= 1
    assert found["link_intent_key_success"] == pytest.approx(found["link_chance"])


def test_no_offer_from_a_vendor_she_cut_off_is_shown(quick_world: IntentsWorld) -> None:
    cut = summarise(quick_world)["cut_off_vendors"]
    assert cut["offers_that_reached_her_node"] > 0  # spammers answer everything
    assert cut["shown_to_her"] == 0 and cut["hidden_by_her_node"] > 0
    for person in quick_world.persons:
        for casting in person.node.castings.values():
            assert not any(k.offer.vendor in person.node.cut_offs for k in casting.shown())


def test_the_hubs_refuse_spam_and_sybil_floods_by_their_rules(quick_world: IntentsWorld) -> None:
    s = summarise(quick_world)
    assert s["spam"]["refused_by_reason"].get("intent.duplicate_offer", 0) > 0
    by = s["sybils"]["by_strategy"]
    assert by["replay"].get("intent.replayed", 0) == sum(by["replay"].values()) - 1
    assert by["one_key"].get("intent.quota", 0) == sum(by["one_key"].values()) - QUOTA
    # A stamp of no work passes a 6-bit check one time in 64; the rest are refused.
    assert by["no_work"].get("intent.bad_work", 0) >= sum(by["no_work"].values()) - 2
    assert "intent.quota" not in by["paying"] and by["paying"]["stored"] > 0


def test_the_real_protocol_links_nothing_by_key_or_link(quick_world: IntentsWorld) -> None:
    for task in ("intent-intent", "intent-person"):
        found = attacks(quick_world, task)
        for name in ("intent key", "link key (pseudonymous link)"):
            assert found[name].evaluated > 10
            assert found[name].success == pytest.approx(found[name].chance, abs=1e-9), name


def test_the_adversary_links_a_leaky_control_that_reuses_one_key() -> None:
    # The control's node reuses one intent key and link key for all her intents: the same
    # adversary that is at chance on the real protocol must link them (or this test is blind).
    found = attacks(run_world(**SMALL, **{"control.reuse_key": True}))
    for name in ("intent key", "link key (pseudonymous link)"):
        assert found[name].chance < 0.1
        assert found[name].success == 1.0, name


def test_without_habits_or_bursts_no_attack_beats_chance_beyond_the_tolerance() -> None:
    # Persons who cast at random times, hubs, regions, terms and categories: what is left for
    # the adversary is the protocol itself. Casting straight from her own address is the one
    # linkage the protocol leaves to the driver (spec/intents.md §8).
    found = attacks(run_world(**SMALL, **{"persons.habits": False, "persons.burst_share": 0.0}))
    for name, result in found.items():
        assert result.evaluated > 50
        if name.startswith("network address (cast directly)") or name.endswith("address direct"):
            assert result.success == 1.0
            continue
        assert result.success <= result.chance + TOLERANCE, (name, result)


def test_timing_links_intents_cast_in_one_sitting() -> None:
    # The honest counterpart: the same persons, each casting her intents a minute or so apart
    # (among everyone else's casts, some 50 s apart on average in the quick run).
    found = attacks(run_world(**SMALL, **{"persons.habits": False, "persons.burst_share": 1.0}))
    timing = found["timing"]
    assert timing.success > 5 * timing.chance and timing.success > timing.chance + 0.1
    assert found["intent key"].success == pytest.approx(found["intent key"].chance, abs=1e-9)


def run_cli(out: Path, *extra: str, seed: int = 7) -> Path:
    argv = ["run", "intents", "--seed", str(seed), "--out", str(out), "--quick", "--quiet"]
    assert main([*argv, *extra]) == 0
    (folder,) = out.iterdir()
    return folder


_RUN = """
import sys
from amity.simulations.cli import main
main(["run", "intents", "--seed", "7", "--quick", "--quiet", "--out", sys.argv[1]])
"""


def test_two_hash_seeds_write_byte_identical_files(tmp_path: Path) -> None:
    files = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        run_with_hash_seed(_RUN, hash_seed, str(out))
        (folder,) = out.iterdir()
        assert folder.name == "intents-seed7-quick"
        files.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert set(files[0]) == set(RESULT_FILES)
    assert files[0] == files[1]  # every byte
    summary = json.loads(files[0]["summary.json"])
    assert summary["kind"] == "intents" and summary["crypto"] == "real"
    assert b"| intent-intent | intent key |" in files[0]["report.md"]


def test_another_seed_writes_other_intents(tmp_path: Path, quick_world: IntentsWorld) -> None:
    other = run_cli(tmp_path / "b", seed=8)
    ids = {c.intent_id.hex()[:16] for c in quick_world.casts.values()}
    assert not ids & {row.split(",")[0] for row in (other / "intents.csv").read_text().split()}


def test_the_stand_in_runs_the_same_market_and_says_so(tmp_path: Path) -> None:
    # Node identities sign with the stand-in; each intent's own key, made by the core, for
    # real (and is checked as Ed25519). The flow, the draws and so every intent are the same.
    real = run_cli(tmp_path / "real")
    standin = run_cli(tmp_path / "standin", "--crypto", "standin")
    assert standin.name == "intents-seed7-quick-standin"
    for name in ("intents.csv", "refusals.csv", "linkability.csv"):
        assert (standin / name).read_bytes() == (real / name).read_bytes(), name
    assert "crypto: **stand-in**" in (standin / "report.md").read_text()


def test_a_random_cast_delay_cuts_the_timing_link_of_one_sitting() -> None:
    # The same sittings, each cast held back by her node up to two hours at random
    # (spec/intents.md §7.10): the nearest cast in time is no longer hers.
    found = attacks(
        run_world(
            **SMALL,
            **{
                "persons.habits": False,
                "persons.burst_share": 1.0,
                "persons.cast_delay_max_ms": 7_200_000,
            },
        )
    )
    timing = found["timing"]
    assert timing.evaluated > 50
    assert timing.success <= timing.chance + TOLERANCE, timing
