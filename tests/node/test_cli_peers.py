"""Every command that names a peer takes its name, a fingerprint prefix or its did:key, and
refuses an unknown or ambiguous one with its own code (real nodes, the real ``amity`` command)."""

from __future__ import annotations

import json

from tests.node.conftest import NodeFactory, meet, run_amity, texts, wait_for
from tests.node.test_grants import cli


def _error(*args: str) -> dict[str, str]:
    done = run_amity(*args, "--json")
    assert done.returncode == 1, done.stderr
    error: dict[str, str] = json.loads(done.stdout)["error"]
    return error


def test_peers_are_named_by_name_fingerprint_or_did(nodes: NodeFactory) -> None:
    alice, corner, shop, shop2 = nodes.create_many(
        [("alice", "person"), ("Corner", "vendor"), ("Shop", "vendor"), ("shop", "vendor")]
    )
    for vendor in (corner, shop, shop2):
        meet(alice, vendor)
    home = str(alice.home)

    cli("send", "--home", home, "corner", "by name, any case")
    prefix = corner.fingerprint.replace("-", "")[:6].lower()
    cli("send", "--home", home, prefix, "by fingerprint prefix")
    cli("send", "--home", home, corner.did, "by did")
    wait_for(
        lambda: (
            texts(corner, alice.did) == ["by name, any case", "by fingerprint prefix", "by did"]
        ),
        what="three notes at the corner shop",
    )

    ambiguous = _error("end", "--home", home, "SHOP")
    assert ambiguous["code"] == "cli.ambiguous_peer"
    assert shop.fingerprint in ambiguous["message"] and shop2.fingerprint in ambiguous["message"]
    unknown = _error("send", "--home", home, "Nobody", "hello?")
    assert unknown["code"] == "cli.unknown_peer"
    assert "amity peers" in unknown["message"]

    cli("end", "--home", home, shop.fingerprint[:9], "--reason", "moving on")
    wait_for(lambda: alice.peer(shop.did)["state"] == "ended", what="the relationship ended")
    # Among two of that name, the one still connected is the one meant.
    cli("send", "--home", home, "shop", "to the one still connected")
    wait_for(lambda: texts(shop2, alice.did) == ["to the one still connected"], what="the note")
