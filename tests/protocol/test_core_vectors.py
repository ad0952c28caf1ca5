"""spec/vectors/node.json: the node core gives the checked-in answer to each checked-in input.

The frames are read from the file, not rebuilt, and the node from its seed, kind, name, time and
invitation secret: what another implementation has to go on. Effects are written as plain
values by the vector generator's own description (spec/tools/vectors_node.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from amity.protocol.card import NodeKind
from amity.protocol.core import commands
from amity.protocol.core.links import on_link_up
from amity.protocol.core.memory import MemoryHost
from amity.protocol.core.receive import on_frame
from amity.protocol.keyring import Keyring
from tests.vectors import vector_cases

_TOOL = Path(__file__).resolve().parents[2] / "spec" / "tools" / "vectors_node.py"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("vectors_node", _TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("vector", **vector_cases("node"))
def test_node_script(vector: dict[str, Any]) -> None:
    now = vector["now_ms"]
    node = MemoryHost(
        bytes.fromhex(vector["node_seed_hex"]),
        name=vector["node_name"],
        kind=NodeKind(vector["node_kind"]),
        now_ms=now,
    )
    node.apply(
        commands.invite(node.card(invite_secret=bytes.fromhex(vector["invite_secret_hex"])), now)
    )
    peers = {
        role: Keyring(bytes.fromhex(seed)).identity.peer_id
        for role, seed in vector["peer_seeds_hex"].items()
    }
    words = _generator()._Script()
    words.roles = {**{peer: role for role, peer in peers.items()}, node.peer_id: "node"}
    assert len(vector["steps"]) == 17
    for step in vector["steps"]:
        peer = peers[step["from"]]
        if step["input"] == "frame":
            answer = on_frame(node, peer, bytes.fromhex(step["frame_hex"]), now)
        else:
            answer = on_link_up(node, peer, now)
        node.apply(answer)
        assert [words.describe(e) for e in answer] == step["expect"], step["what"]
