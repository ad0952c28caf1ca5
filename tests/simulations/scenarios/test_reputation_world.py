"""Scenario 3 end to end: trust cuts breaches, runs replay byte for byte, Sybils change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amity.protocol.attestation import Attestation
from amity.simulations.behaviours.attackers import ThreatModel
from amity.simulations.cli import main
from amity.simulations.crypto import CryptoMode
from amity.simulations.runs import plots
from amity.simulations.scenarios.reader import SCENARIOS_DIR, ScenarioError
from amity.simulations.scenarios.reputation.metrics import RoundRow, metrics
from amity.simulations.scenarios.reputation.results import FIGURE, RESULT_FILES, write_results
from amity.simulations.scenarios.reputation.scenario import load_reputation_scenario
from amity.simulations.scenarios.reputation.world import ReputationWorld
from tests.hashseed import run_with_hash_seed

#: The figure a run writes when matplotlib is installed (the dev extra installs it).
FIGURES = (FIGURE,) if plots.available() else ()
#: A smaller world than --quick, for the tests that run it several times.
SMALL = {"population.persons": 60, "population.vendors": 20, "run.rounds": 8}


def run_world(seed: int, **overrides: object) -> ReputationWorld:
    scenario = load_reputation_scenario("reputation", quick=True, overrides=overrides or None)
    world = ReputationWorld(scenario, seed=seed, crypto=CryptoMode.REAL)
    world.run()
    return world


def run_cli(out: Path, *extra: str, seed: int = 7) -> Path:
    params = [arg for key, value in SMALL.items() for arg in ("--param", f"{key}={value}")]
    argv = ["run", "reputation", "--seed", str(seed), "--out", str(out), "--quick", "--quiet"]
    assert main([*argv, *params, *extra]) == 0
    (folder,) = out.iterdir()
    return folder


def grants(rows: list[RoundRow]) -> list[tuple[int, ...]]:
    return [
        (r.grants_on, r.breached_on, r.malicious_on, r.abstained_on, r.grants_off, r.breached_off)
        for r in rows
    ]


@pytest.fixture(scope="module")
def quick_world() -> ReputationWorld:
    return run_world(7)


def test_quick_scenario_is_threat_model_a_with_every_round_run(
    quick_world: ReputationWorld,
) -> None:
    sc = quick_world.scenario
    assert sc.threat_model is ThreatModel.A and sc.quick
    assert quick_world.rounds_done == sc.rounds == len(quick_world.rows)
    honest = sum(c.honest for c in quick_world.cast.persons)
    assert all(r.grants_off == honest for r in quick_world.rows)


def test_with_trust_fewer_grants_go_to_breaching_vendors(quick_world: ReputationWorld) -> None:
    # Measured over seeds 1..11 at this size: with trust 0.045..0.053, without 0.145..0.171;
    # over the last quarter 0.020..0.047 against 0.132..0.185.
    for world in (quick_world, run_world(11)):
        figures = metrics(world)
        on, off = figures["fraction_breaching_on"], figures["fraction_breaching_off"]
        assert off > 0.1
        assert on < 0.6 * off, (world.seed, on, off)
        assert figures["fraction_breaching_on_late"] < 0.5 * figures["fraction_breaching_off_late"]


def test_what_a_person_holds_is_real_and_came_as_messages(quick_world: ReputationWorld) -> None:
    person = quick_world.persons[0]
    friends = {quick_world.persons[f].peer_id.key for f in quick_world.friends[0]}
    held = list(person.reputation.held_items())
    received = [h for h in held if h.origin is not None]
    assert received and {h.origin for h in received} <= friends
    for h in held[:40]:
        item = h.attestation
        again = Attestation.decode(item.encoded)  # every signature, checked again for real
        assert again.attestation_id == item.attestation_id
        assert {item.attester, item.subject} == {item.agreement.person, item.agreement.vendor}
    # Each friend's share arrived as reputation.share envelopes over a real relationship.
    for key in friends:
        (friend,) = [n for n in quick_world.persons if n.peer_id.key == key]
        rel = person.relationship(friend.peer_id)
        assert rel is not None and rel.state.value == "connected"
        assert friend.peer_id in person.reputation.direct  # she vouches for her friends
    net = quick_world.network.stats
    assert quick_world.receipts > 0 and net.lost_in_transit > 0  # loss applies
    assert sum(n.reputation.received for n in quick_world.persons) > 0
    # Nothing was refused: every offer, grant, receipt and share arrived in time (an envelope
    # that only a dead link carried goes again on the link left, spec/node.md §5).
    assert quick_world.counts.get("message.rejected", 0) == 0


def test_grants_travel_as_messages_and_her_node_judges_them(quick_world: ReputationWorld) -> None:
    world = quick_world
    made = sum(r.grants_on for r in world.rows)
    assert len(world.granted) == made  # every pick became a grant, under a negotiated agreement
    assert len(world.agreements) == world.counts["agreements"] > 0
    kept = sum(not honoured for honoured in world.granted.values())
    # One deletion receipt per honoured grant.
    assert world.receipts == made - kept
    # Her node's own verdicts (protocol/verdicts.py), one per grant, none mistaken about what the
    # vendor did.
    judged = sum(world.verdicts.values())
    assert judged == made and world.mistaken == 0
    assert world.verdicts["breached"] == kept
    # A kept grant is still held by the vendor's node; an honoured one was deleted.
    unheld = 0
    for gid, honoured in world.granted.items():
        holders = [v for v in world.vendors if gid in v.grants.held]
        assert len(holders) <= 1
        unheld += not holders
        if holders:
            assert holders[0].grants.holds_values(gid) is not honoured
    assert unheld == 0


def test_metrics_are_flat_numbers_a_sweep_can_average(quick_world: ReputationWorld) -> None:
    figures = metrics(quick_world)
    assert {"fraction_breaching_on", "fraction_breaching_off", "breach_reduction"} <= set(figures)
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in figures.values())


def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = run_cli(tmp_path / "a")
    second = run_cli(tmp_path / "b")
    other = run_cli(tmp_path / "c", seed=8)
    assert first.name == second.name == "reputation-seed7-quick"
    for name in (*RESULT_FILES, *FIGURES):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for name in FIGURES:
        assert (first / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (first / "rounds.csv").read_bytes() != (other / "rounds.csv").read_bytes()
    summary = json.loads((first / "summary.json").read_text())
    assert summary["kind"] == "reputation" and summary["crypto"] == "real"
    assert summary["attack"]["threat_model"] == "A"
    report = (first / "report.md").read_text()
    assert "## Beside EigenTrust" in report and "crypto: **real**" in report
    assert (f"![breached share by round]({FIGURE})" in report) == bool(FIGURES)


def test_without_matplotlib_a_run_says_its_figure_was_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plots, "available", lambda: False)
    folder = run_cli(tmp_path, "--crypto", "standin")
    assert sorted(p.name for p in folder.iterdir()) == sorted(RESULT_FILES)
    assert "figure skipped (fig-rounds.png): matplotlib is not installed" in capsys.readouterr().err
    assert (
        "the figure was skipped: matplotlib is not installed" in (folder / "report.md").read_text()
    )


#: One run in a fresh process: its files in argv[1], and every node's local trust to the bit.
_RUN_AND_DIGEST_TRUST = """
import hashlib, sys
from pathlib import Path
from amity.simulations.crypto import CryptoMode
from amity.simulations.scenarios.reputation.world import ReputationWorld
from amity.simulations.scenarios.reputation.results import write_results
from amity.simulations.scenarios.reputation.scenario import load_reputation_scenario
from tests.simulations.scenarios.test_reputation_world import SMALL
overrides = {**SMALL, "attack.threat_model": "B"}
world = ReputationWorld(
    load_reputation_scenario("reputation", quick=True, overrides=overrides),
    seed=7,
    crypto=CryptoMode.STANDIN,
)
world.run()
write_results(world, Path(sys.argv[1]), command="amity-sim run reputation --quick")
digest = hashlib.sha256()
for node in [*world.persons, *world.vendors]:
    result = node.reputation.result()
    for peer, score in result.scores.items():
        standing = result.standing(peer)
        digest.update(peer.key)
        digest.update(f"{score.hex()} {standing.honoured.hex()} {standing.breached.hex()}".encode())
    digest.update(str(result.iterations).encode())
print(digest.hexdigest())
"""


def test_two_hash_seeds_write_the_same_files_and_compute_the_same_trust(tmp_path: Path) -> None:
    # Her node hands TrustState a set of direct peers, whose order is PYTHONHASHSEED's; trust
    # sums by key (spec/reputation.md §4.3), so neither the files nor any score's last bit move.
    digests, files = [], []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        digests.append(run_with_hash_seed(_RUN_AND_DIGEST_TRUST, hash_seed, str(out)))
        (folder,) = out.iterdir()
        files.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert set(files[0]) == {*RESULT_FILES, *FIGURES}
    assert files[0] == files[1]  # every byte
    assert digests[0] == digests[1]


def test_the_stand_in_grants_the_same_and_says_so(tmp_path: Path) -> None:
    real = run_cli(tmp_path / "real")
    standin = run_cli(tmp_path / "standin", "--crypto", "standin")
    assert standin.name == "reputation-seed7-quick-standin"
    assert (standin / "rounds.csv").read_text() == (real / "rounds.csv").read_text()
    assert "crypto: **stand-in**" in (standin / "report.md").read_text()


def test_sybils_nobody_vouches_for_change_no_grant() -> None:
    # Sybils praise every clique vendor under real agreements, and every honest person holds
    # their attestations; trust never reaches them, so no choice changes (spec/reputation.md §4.5).
    plain = run_world(5, **SMALL)
    attacked = run_world(5, **SMALL, **{"attack.sybils": 8})
    assert attacked.sybil_attestations == 8 * len(attacked.cast.clique) > 0
    # Each honest person holds every Sybil's praise, each item shared by that Sybil's own node.
    sybils = {s.peer_id.key for s in attacked.sybils}
    for person, conduct in zip(attacked.persons, attacked.cast.persons, strict=True):
        if conduct.honest:
            held = [h for h in person.reputation.held_items() if h.attester in sybils]
            assert len(held) == attacked.sybil_attestations
            assert all(h.origin == h.attester and h.hops == 0 for h in held)
    assert grants(attacked.rows) == grants(plain.rows)
    # Equal to the last bit: the Sybils are rows of zero trust in her TrustState's arrays, and
    # trust sums by key, not in the order rows were made, so they add nothing, not even a rounding.
    mass = metrics(plain)["clique_score_mass"]
    assert mass > 0 and metrics(attacked)["clique_score_mass"] == mass


@pytest.mark.parametrize("threat", ["B", "C", "D"])
def test_every_threat_model_runs_and_measures_honest_persons_only(threat: str) -> None:
    world = run_world(3, **SMALL, **{"attack.threat_model": threat})
    helpers = [c for c in world.cast.persons if not c.honest]
    assert helpers and all(c.praises for c in helpers)
    honest = len(world.cast.persons) - len(helpers)
    assert all(r.grants_on + r.abstained_on == honest == r.grants_off for r in world.rows)
    assert {"fraction_breaching_on", "fraction_breaching_off"} <= set(metrics(world))
    # What a helper said reached honest persons only as reputation.share envelopes: a spy's from
    # her own node (a friend's), a colluder's from a clique vendor's node, one hop on.
    liars = {world.persons[p].peer_id.key for p, c in enumerate(world.cast.persons) if c.praises}
    clique = {world.vendors[v].peer_id.key for v in world.cast.clique}
    came = [
        h
        for person, conduct in zip(world.persons, world.cast.persons, strict=True)
        if conduct.honest
        for h in person.reputation.held_items()
        if h.attester in liars
    ]
    assert came
    if threat == "D":
        assert all(h.origin == h.attester and h.hops == 0 for h in came)
    else:
        assert all(h.origin in clique and h.hops == 1 for h in came)


def test_an_interrupted_run_writes_what_it_has(tmp_path: Path) -> None:
    scenario = load_reputation_scenario("reputation", quick=True, overrides=SMALL)
    world = ReputationWorld(scenario, seed=3, crypto=CryptoMode.REAL)

    def interrupt(w: ReputationWorld) -> None:
        if w.rounds_done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        world.run(interrupt)
    folder = write_results(world, tmp_path, command="amity-sim run reputation --quick")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["rounds_done"] == 2
    assert len((folder / "rounds.csv").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('threat_model = "A"', 'threat_model = "E"', r"attack\.threat_model"),
        ("malicious_fraction = 0.2", "malicious_fraction = 1.5", r"attack\.malicious_fraction"),
        ("breach_rate = 0.8", "breach_rte = 0.8", r"attack\.breach_rte: unknown key"),
        ("candidates = 5", "candidates = 500", r"population\.candidates"),
        ('terms = "AMITY-SHOP"', 'terms = "P2B1"', r"population\.terms"),
        ("grant_ms = 21_600_000", "grant_ms = 86_400_000", r"run\.grant_ms"),
    ],
)
def test_a_wrong_scenario_names_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = (SCENARIOS_DIR / "reputation.toml").read_text()
    assert old in text
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace(old, new))
    with pytest.raises(ScenarioError, match=key):
        load_reputation_scenario(broken)


def test_overrides_set_dotted_keys_and_a_misspelt_one_names_itself() -> None:
    scenario = load_reputation_scenario(
        "reputation",
        overrides={"attack.threat_model": "C", "attack.malicious_fraction": 0.4},
    )
    assert scenario.threat_model is ThreatModel.C and scenario.malicious_fraction == 0.4
    assert scenario.colluder_fraction == 0.4  # follows the malicious fraction unless set
    with pytest.raises(ScenarioError, match=r"attack\.malicous_fraction"):
        load_reputation_scenario("reputation", overrides={"attack.malicous_fraction": 0.4})
