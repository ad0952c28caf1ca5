"""README's walkthrough, run as written: each line of its ``sh`` block, in order, with the real
``amity`` command and two real nodes. Only the placeholders are filled in: ``~`` is a temporary
directory, ``'amity:…'`` the URI the invitation printed, ``ID`` the offer's id that
``terms show`` printed. Where a line needs what the one before sent to arrive (a note, an offer,
an agreement), the test waits for it first, as a person would."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.node.conftest import run_amity, wait_for

_README = Path(__file__).resolve().parents[2] / "README.md"
_INTRO = "Run two nodes on one machine"


def walkthrough() -> list[str]:
    """The lines of the ``sh`` block after README's walkthrough intro."""
    text = _README.read_text(encoding="utf-8")
    block = text[text.index("```sh", text.index(_INTRO)) :].split("\n", 1)[1]
    return [line for line in block[: block.index("```")].splitlines() if line.strip()]


@pytest.fixture
def daemons() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _json(*args: str) -> Any:
    done = run_amity(*args, "--json")
    return json.loads(done.stdout) if done.returncode == 0 else None


def test_readme_walkthrough_runs_as_written(
    tmp_path: Path, daemons: list[subprocess.Popen[bytes]]
) -> None:
    lines = walkthrough()
    assert len(lines) >= 15, lines
    home = {"alice": str(tmp_path / "amity-alice"), "shop": str(tmp_path / "amity-shop")}
    last = ""
    for line in lines:
        words = [word.replace("~", str(tmp_path), 1) for word in shlex.split(line, comments=True)]
        assert words[0] == "amity", line
        background = words[-1] == "&"
        args = [a for a in words[1:] if a != "&"]
        if "amity:…" in args:
            args[args.index("amity:…")] = re.search(r"amity:[A-Z2-7]+", last).group(0)  # type: ignore[union-attr]
        if "ID" in args:
            args[args.index("ID")] = re.search(r"^([0-9a-f]{8}) +offered", last, re.M).group(1)  # type: ignore[union-attr]
        if background:
            log = (tmp_path / f"{Path(args[-1]).name}.log").open("ab")
            daemons.append(
                subprocess.Popen(
                    [sys.executable, "-m", "amity.node.cli", *args, "--no-mdns"],
                    stdout=log,
                    stderr=log,
                )
            )
            wait_for(lambda a=args: _json("status", a[1], a[2]), what=f"`{line}` to answer")
            continue
        done = run_amity(*args)
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        last = done.stdout
        # What the next line needs to have arrived, and what a person would see.
        if args[:1] == ["send"]:
            wait_for(
                lambda: any(
                    m["text"] == "hello"
                    for m in _json("messages", "--home", home["shop"])["messages"]
                ),
                what="the note at the shop",
            )
        elif args[:1] == ["messages"]:
            assert "hello" in last
        elif args[:2] == ["terms", "offer"]:
            wait_for(
                lambda: _json("terms", "show", "--home", home["shop"])["negotiations"],
                what="the offer at the shop",
            )
        elif args[:2] == ["terms", "accept"]:
            wait_for(
                lambda: _json("agreements", "--home", home["alice"])["agreements"],
                what="the agreement at Alice's node",
            )
        elif args[:1] == ["peers"]:
            assert re.search(r"Corner Shop +vendor +connected", last), last
        elif args[:1] == ["end"]:
            assert "ended" in last, last
