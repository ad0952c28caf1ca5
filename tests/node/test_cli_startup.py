"""A command loads what it needs and no more: the parser is built from the named command's module
alone, and the same as in the full parser (timings: benchmarks/cli_startup.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from amity.node.cli import GROUPS, build_parser
from amity.node.cli.peers import qr_text
from amity.protocol.card import Card, NodeKind
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey

#: What no light command may load: the daemon, the network stack, the solver's numpy.
_HEAVY = ("aiohttp", "numpy", "zeroconf", "amity.node.runner", "amity.node.store", "sqlite3")


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_each_module_registers_the_commands_the_registry_names() -> None:
    full = _commands(build_parser())
    seen: list[str] = []
    for group, commands in GROUPS.items():
        assert tuple(_commands(build_parser((group,)))) == commands, group
        seen.extend(commands)
    assert list(full) == seen


@pytest.mark.parametrize("command", [c for commands in GROUPS.values() for c in commands])
def test_a_command_alone_parses_as_in_the_full_parser(command: str) -> None:
    group = next(g for g, commands in GROUPS.items() if command in commands)
    alone = _commands(build_parser((group,)))[command]
    assert alone.format_help() == _commands(build_parser())[command].format_help()


def _loaded(*argv: str) -> set[str]:
    """The modules loaded by ``amity ARGV`` in a fresh interpreter (up to its exit)."""
    code = (
        "import sys, json, atexit\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
        "from amity.node.cli import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_version_loads_no_command() -> None:
    loaded = _loaded("--version")
    assert {m for m in loaded if m.startswith("amity.node.")} == {
        "amity.node.cli",
        "amity.node.cli.render",
    }
    assert not {m for m in loaded if m.startswith(_HEAVY)}


def test_status_loads_neither_the_daemon_nor_the_network_stack(tmp_path: Path) -> None:
    loaded = _loaded("status", "--home", str(tmp_path / "none"))  # no node: an error, same imports
    assert "amity.node.cli.peers" in loaded
    assert not {m for m in loaded if m.startswith(_HEAVY)}


@pytest.mark.parametrize(
    "argv",
    [
        ["--home", "H", "--json", "vault", "list"],
        ["--json", "vault", "list", "--home", "H"],
        ["vault", "list", "--home", "H", "--json"],
        ["--home=H", "vault", "list", "--json"],
    ],
)
def test_home_and_json_work_before_and_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.home, args.json, args.command) == ("H", True, "vault")


def test_a_command_without_them_keeps_the_defaults() -> None:
    args = build_parser().parse_args(["vault", "list"])
    assert (args.home, args.json) == (None, False)


def test_a_json_error_is_one_json_object_and_nothing_else(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "amity.node.cli", "--json", "--home", str(tmp_path / "x"), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"]
    assert done.stderr == ""  # once, not twice


def test_an_invitation_qr_fits_an_80_column_terminal_or_says_why_not() -> None:
    identity, link = SigningIdentity(bytes(32)), LinkKey(bytes(range(32)))
    now = 1_800_000_000_000
    card = Card.issue(
        identity,
        link_cert=LinkCert.issue(identity, link.public, now, now + 30 * 86_400_000),
        kind=NodeKind.VENDOR,
        name="Corner Bookshop and Café",
        endpoints=["ws://192.0.2.7:31406/amity/v1/ws", "ws://[2001:db8::7]:31406/amity/v1/ws"],
        issued_ms=now,
        not_after_ms=now + 7 * 86_400_000,
        invite_secret=bytes(16),
    )
    drawn = qr_text(card.to_uri().upper(), 80)
    assert max(len(line) for line in drawn.splitlines()) <= 80
    assert "█" in drawn or "▀" in drawn
    assert "needs" in qr_text(card.to_uri().upper(), 40)


def test_bash_completion_completes_commands_and_options(tmp_path: Path) -> None:
    script = subprocess.run(
        [sys.executable, "-m", "amity.node.cli", "completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "amity.bash").write_text(script, encoding="utf-8")

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        shell = (
            f"source {tmp_path / 'amity.bash'}; COMP_WORDS=({line}); "
            f"COMP_CWORD={len(words) - 1}; COMP_LINE='{line}'; COMP_POINT={len(line)}; "
            '_shtab_amity; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True)
        return sorted(done.stdout.split())

    assert complete("amity", "inv") == ["invitations", "invite"]
    assert complete("amity", "invite", "--ex") == ["--expires"]
    assert "set" in complete("amity", "vault", "")
