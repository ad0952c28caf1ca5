"""amity-sim's command line: what its help lists, what a run prints and exits with."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from amity.protocol.errors import SessionPayloadError
from amity.simulations.cli import main
from amity.simulations.crypto import PlainSession
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


def test_a_stuck_run_ends_with_what_is_stuck_and_exit_code_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = PlainSession.decrypt

    def refusing_long_frames(session: PlainSession, frame: bytes) -> bytes | None:
        """A fault: a session that cannot take a frame over 300 bytes (its peer never learns)."""
        if len(frame) > 300:
            raise SessionPayloadError("frame too long for this faulty session")
        return real(session, frame)

    monkeypatch.setattr(PlainSession, "decrypt", refusing_long_frames)
    argv = ["run", "market", "--quick", "--crypto", "standin", "--quiet", "--out", str(tmp_path)]
    assert main([*argv, "--seed", "7"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("amity-sim: market seed 7 (standin crypto), at ")
    assert "the world is stuck: " in err and "links in a row" in err and "pending to that" in err
    assert not list(tmp_path.iterdir())
