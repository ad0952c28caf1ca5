"""amity-sim's command line: what its help lists, what a run prints and exits with."""

from __future__ import annotations

import contextlib

import pytest

from amity.simulations.cli import main
from amity.simulations.scenarios.reader import SCENARIOS_DIR


def test_help_lists_every_shipped_scenario_file(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = sorted(p.name for p in SCENARIOS_DIR.glob("*.toml"))
    assert "scale.toml" in shipped
    for argv in ([], ["run", "--help"], ["sweep", "--help"]):
        with contextlib.suppress(SystemExit):  # --help exits 0 after printing
            main(argv)
        listing = capsys.readouterr().out.partition("scenarios shipped")[2].partition("\n\n")[0]
        listed = [line.split()[0] for line in listing.splitlines()[1:]]
        assert listed == shipped, argv
        assert all(len(line.split()) > 2 for line in listing.splitlines()[1:])  # a summary each
