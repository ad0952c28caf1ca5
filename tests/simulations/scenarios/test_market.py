"""Scenario 1 end to end: agreements that verify, byte-identical results per seed, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from amity.protocol.agreement import Agreement
from amity.protocol.negotiation import MAX_ROUNDS
from amity.simulations.cli import EXIT_OK, EXIT_SCENARIO, main
from amity.simulations.crypto import CryptoMode
from amity.simulations.scenarios.market.results import RESULT_FILES, write_results
from amity.simulations.scenarios.market.scenario import load_scenario
from amity.simulations.scenarios.market.world import MarketWorld
from amity.simulations.scenarios.reader import SCENARIOS_DIR, ScenarioError, resolve_scenario_path


@pytest.fixture(scope="module")
def quick_world() -> MarketWorld:
    world = MarketWorld(load_scenario("market.toml", quick=True), seed=7, crypto=CryptoMode.REAL)
    world.run()
    return world


def run_cli(out: Path, *extra: str, seed: int = 7) -> Path:
    argv = ["run", "market.toml", "--seed", str(seed), "--out", str(out), "--quick", "--quiet"]
    assert main([*argv, *extra]) == 0
    (folder,) = out.iterdir()
    return folder


def test_the_quick_market_reaches_agreements_that_verify_with_real_crypto(
    quick_world: MarketWorld,
) -> None:
    agreed = [v for v in quick_world.visits if v.outcome == "agreed"]
    assert len(agreed) >= len(quick_world.visits) // 3
    for visit in agreed:
        assert visit.agreement is not None
        assert visit.agreement == visit.vendor_agreement  # both sides hold the same bytes
        agreement = Agreement.decode(visit.agreement)  # both signatures, checked for real
        assert agreement.person == visit.person.peer_id
        assert agreement.vendor == visit.vendor.peer_id
        assert agreement.agreement_id.hex() == visit.agreement_id
        assert 1 <= visit.rounds <= MAX_ROUNDS


def test_every_visit_settles_and_the_market_shows_all_kinds_of_outcome(
    quick_world: MarketWorld,
) -> None:
    outcomes = {v.outcome for v in quick_world.visits}
    assert "pending" not in outcomes
    assert {"agreed", "rejected"} <= outcomes
    assert max(v.rounds for v in quick_world.visits) == MAX_ROUNDS  # a ping-pong hit the limit
    assert quick_world.network.stats.broken  # churn, loss and the partition broke links


def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = run_cli(tmp_path / "a")
    second = run_cli(tmp_path / "b")
    other = run_cli(tmp_path / "c", seed=8)
    assert first.name == second.name == "market-seed7-quick"
    for name in RESULT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "negotiations.csv").read_bytes() != (other / "negotiations.csv").read_bytes()
    summary = json.loads((first / "summary.json").read_text())
    assert summary["seed"] == 7 and summary["quick"] is True and summary["crypto"] == "real"
    assert summary["agreements_identical_on_both_sides"] is True
    assert summary["outcomes"]["agreed"] > 0
    report = (first / "report.md").read_text()
    assert "crypto: **real**" in report and "seed 7" in report


def test_the_stand_in_runs_the_same_flow_and_says_so(tmp_path: Path) -> None:
    real = run_cli(tmp_path / "real")
    standin = run_cli(tmp_path / "standin", "--crypto", "standin")
    assert standin.name == "market-seed7-quick-standin"
    # Same draws, same message sizes: the same negotiations, frames and bytes, row for row.
    real_rows = (real / "negotiations.csv").read_text()
    assert (standin / "negotiations.csv").read_text() == real_rows
    assert "crypto: **stand-in**" in (standin / "report.md").read_text()
    assert json.loads((standin / "summary.json").read_text())["crypto"] == "standin"


def test_an_interrupted_run_writes_what_it_has(tmp_path: Path) -> None:
    world = MarketWorld(load_scenario("market", quick=True), seed=3, crypto=CryptoMode.REAL)

    def interrupt(_: MarketWorld) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        world.run(interrupt, chunk_events=500)
    folder = write_results(world, tmp_path, command="amity-sim run market.toml --seed 3 --quick")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["events_run"] == 500
    assert "interrupted" in (folder / "report.md").read_text()


def test_cli_help_version_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert "amity-sim" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "exit codes" in capsys.readouterr().out
    assert main([]) == 0
    assert main(["run", "no-such.toml", "--out", str(tmp_path)]) == 1
    assert (
        "shipped scenarios are: intents.toml, lifecycle.toml, market.toml"
        in capsys.readouterr().err
    )


def test_scenario_paths_resolve_against_the_shipped_folder() -> None:
    shipped = SCENARIOS_DIR / "market.toml"
    for text in ("market.toml", "market", "scenarios/market.toml", str(shipped)):
        assert resolve_scenario_path(text) == shipped


def test_a_wrong_scenario_names_the_key(tmp_path: Path) -> None:
    text = (SCENARIOS_DIR / "market.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("days = { min = 30 }\ncounter = { days = 30 }", "days = 3"))
    with pytest.raises(ScenarioError, match=r"vendor_policy\[0\]\.policy: policy line"):
        load_scenario(broken)
    broken.write_text(text.replace("vendors_per_person = 3", "vendors_per_person = 400"))
    with pytest.raises(ScenarioError, match=r"population\.vendors_per_person"):
        load_scenario(broken)


def test_the_command_ends_with_its_exit_code_and_everything_written(tmp_path: Path) -> None:
    """amity-sim ends the process without freeing the world: nothing may be lost by that."""
    command = [sys.executable, "-m", "amity.simulations", "run", "market.toml", "--quick"]
    done = subprocess.run(
        [*command, "--seed", "3", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_OK, done.stderr
    folder = Path(done.stdout.strip())
    assert sorted(p.name for p in folder.iterdir()) == sorted(RESULT_FILES)
    assert json.loads((folder / "summary.json").read_text())["seed"] == 3
    assert "done:" in done.stderr  # the last line, flushed before the end
    refused = subprocess.run(
        [*command[:4], "nosuch.toml"], capture_output=True, text=True, check=False
    )
    assert refused.returncode == EXIT_SCENARIO and "no scenario file" in refused.stderr
