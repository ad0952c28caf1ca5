"""The installed ``amity`` console script, run as a real subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from amity.protocol import __version__
from amity.protocol.identity import PeerId

AMITY = Path(sys.executable).parent / "amity"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``amity`` with ``args``; never raises on a non-zero exit (tests check the status)."""
    return subprocess.run(
        [str(AMITY), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def run_json(*args: str | Path, status: int = 0) -> dict[str, Any]:
    result = run(*args)
    assert result.returncode == status, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def new_identity() -> dict[str, Any]:
    return run_json("id", "new", "--name", "Corner Bookshop", "--kind", "vendor", "--json")


def test_console_script_is_installed() -> None:
    assert AMITY.is_file(), f"no console script at {AMITY}; run pip install -e ."


def test_help_lists_commands_and_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("id", "card", "demo"):
        assert command in result.stdout
    assert "exit status" in result.stdout
    for status in ("0", "1", "2", "3"):
        assert f"  {status}  " in result.stdout


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout
    assert "protocol v1" in result.stdout


def test_usage_error_exits_2() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_id_new_gives_a_did_a_fingerprint_and_a_card(new_identity: dict[str, Any]) -> None:
    peer = PeerId.from_did(new_identity["did"])
    assert peer.key.hex() == new_identity["peer_id_hex"]
    assert new_identity["fingerprint"] == peer.fingerprint
    assert new_identity["card_uri"].startswith("amity:")
    assert new_identity["secret_out"] is None


def test_card_show_verifies_the_card_of_id_new(new_identity: dict[str, Any]) -> None:
    shown = run_json("card", "show", new_identity["card_uri"], "--json")
    assert shown["verified"] is True
    assert shown["did"] == new_identity["did"]
    assert shown["fingerprint"] == new_identity["fingerprint"]
    assert (shown["kind"], shown["name"]) == ("vendor", "Corner Bookshop")
    assert shown["invitation"] is False


def test_card_show_accepts_lower_case(new_identity: dict[str, Any]) -> None:
    shown = run_json("card", "show", new_identity["card_uri"].lower(), "--json")
    assert shown["did"] == new_identity["did"]


def test_id_new_without_a_name() -> None:
    # Regression: a card with an empty name (the default) could not be issued.
    made = run_json("id", "new", "--json")
    assert made["name"] == ""
    assert run_json("card", "show", made["card_uri"], "--json")["did"] == made["did"]


def test_secret_out_is_private_and_never_overwritten(tmp_path: Path) -> None:
    secret = tmp_path / "seed.hex"
    made = run_json("id", "new", "--secret-out", secret, "--json")
    assert made["secret_out"] == str(secret)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    seed = secret.read_text(encoding="ascii").strip()
    assert len(bytes.fromhex(seed)) == 32

    again = run("id", "new", "--secret-out", secret, "--json")
    assert again.returncode == 1
    error = json.loads(again.stdout)["error"]
    assert error["code"] == "cli.error" and "exists" in error["message"]
    assert again.stderr == ""  # with --json, the error is printed once, as JSON
    assert secret.read_text(encoding="ascii").strip() == seed


def test_secret_out_in_a_missing_directory_is_a_clean_error(tmp_path: Path) -> None:
    result = run("id", "new", "--secret-out", tmp_path / "missing" / "seed.hex")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot create" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_secret_out_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    # The file is created 0600 from the start, not chmod-ed afterwards: a permissive umask
    # cannot widen it.
    secret = tmp_path / "seed.hex"
    result = subprocess.run(
        ["sh", "-c", f'umask 000 && exec "{AMITY}" id new --secret-out "{secret}"'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def _damage(uri: str) -> str:
    # Change one base32 character in the middle of the card body.
    position = len(uri) // 2
    replacement = "A" if uri[position] != "A" else "B"
    return uri[:position] + replacement + uri[position + 1 :]


@pytest.mark.parametrize(
    "make_bad",
    [_damage, lambda uri: uri[:-9], lambda uri: uri.replace("amity:", "https:"), lambda _: "1"],
    ids=["flipped-char", "truncated", "wrong-scheme", "garbage"],
)
def test_card_show_of_a_damaged_uri_exits_3(new_identity: dict[str, Any], make_bad: Any) -> None:
    result = run("card", "show", make_bad(new_identity["card_uri"]), "--json")
    assert result.returncode == 3, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"].startswith(("card.", "cert.", "encoding.", "identity."))
    assert error["message"]
    assert result.stderr == ""
    human = run("card", "show", make_bad(new_identity["card_uri"]))
    assert human.returncode == 3 and human.stdout == ""
    assert human.stderr == f"amity: error: {error['message']} [{error['code']}]\n"


def test_card_show_human_output(new_identity: dict[str, Any]) -> None:
    result = run("card", "show", new_identity["card_uri"])
    assert result.returncode == 0
    assert new_identity["fingerprint"] in result.stdout
    assert "signatures verified" in result.stdout


def test_demo_reports_refusals() -> None:
    data = run_json("demo", "--json")
    refusals = [step["refused"] for step in data["steps"] if "refused" in step]
    assert "replay.duplicate" in refusals
    assert "envelope.bad_signature" in refusals
    handshake = next(step for step in data["steps"] if "handshake" in step["what"])
    assert handshake["same_handshake_hash"] is True
