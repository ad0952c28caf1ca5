"""contrib/: the systemd user unit and the container recipe run command lines amity accepts."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from amity.node.cli import build_parser

_CONTRIB = Path(__file__).resolve().parents[1] / "contrib"


def test_the_systemd_unit_starts_the_node_with_options_it_has() -> None:
    unit = (_CONTRIB / "amity.service").read_text(encoding="utf-8")
    (line,) = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    program, *args = shlex.split(line)
    assert program == "%h/.local/bin/amity"
    parsed = build_parser().parse_args(args)
    assert parsed.command == "run" and parsed.log_json
    assert re.search(r"^ReadWritePaths=%h/\.local/share/amity$", unit, re.M)  # the default home
    assert re.search(r"^WantedBy=default\.target$", unit, re.M)


def test_the_container_runs_commands_amity_has() -> None:
    recipe = (_CONTRIB / "Containerfile").read_text(encoding="utf-8")
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", recipe, re.M)[1])  # type: ignore[index]
    command = json.loads(re.search(r"^CMD (.+)$", recipe, re.M)[1])  # type: ignore[index]
    assert entry == ["amity"]
    assert build_parser().parse_args(command).command == "run"
    for line in re.findall(r"^#\s+podman run .* amity (init .+)$", recipe, re.M):
        assert build_parser().parse_args(shlex.split(line)).command == "init"
    copied = re.findall(r"^COPY (\S+)", recipe, re.M)
    assert {"protocol", "node", "simulations"} <= set(copied)
