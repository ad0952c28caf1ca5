"""A hub's listed hubs changed while it runs (spec/intents.md §7.6): config.toml's [hub] peers
edited in place (the rest of the file as it was), and on real daemons: in force at once for the
next intent, kept across a restart, and refused with what to do when it cannot be done."""

from __future__ import annotations

import tomllib

import pytest

from amity.node.intents.hubpeers import rewrite_peers
from amity.protocol.errors import NodeError
from tests.node.conftest import NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import cli
from tests.node.test_intents import CATEGORY, cast, inbox

A = "did:key:z6Mks694y8xFwUk6Np3ztvTWVFSjNdYnupKECQCvThEJyLxa"
B = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
CONFIG = """# my hub
[node]
name = "hub"  # a comment that stays

[hub]
work_bits = 8   # cheap
peers = ["%s"]
max_hops = 2

[inbox]
keep_days = 30
"""


def test_the_peers_line_alone_changes() -> None:
    text = CONFIG % A
    out = rewrite_peers(text, [A, B])
    assert out == text.replace(f'peers = ["{A}"]', f'peers = ["{A}", "{B}"]')
    assert "# a comment that stays" in out and "work_bits = 8   # cheap" in out
    # a [hub] table without peers gets the line under its header; no [hub] table, a new one
    no_peers = text.replace(f'peers = ["{A}"]\n', "")
    assert tomllib.loads(rewrite_peers(no_peers, [B]))["hub"] == {
        "work_bits": 8,
        "peers": [B],
        "max_hops": 2,
    }
    bare = '[node]\nname = "hub"'
    assert tomllib.loads(rewrite_peers(bare, [A]))["hub"] == {"peers": [A]}
    assert tomllib.loads(rewrite_peers(text, []))["hub"]["peers"] == []


def test_a_list_over_several_lines_is_refused_and_nothing_changes() -> None:
    several = CONFIG.replace('peers = ["%s"]', 'peers = [\n  "%s",\n]') % A
    with pytest.raises(NodeError) as refused:
        rewrite_peers(several, [A, B])
    assert "one line" in refused.value.message


def test_a_running_hub_lists_another_at_once_and_keeps_it(nodes: NodeFactory) -> None:
    hub_a = nodes.create("hub-a", "vendor", run_args=["--hub"])
    hub_b = nodes.create("hub-b", "vendor", run_args=["--hub"])
    person, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(hub_b, hub_a)
    meet(person, hub_a)
    meet(shop, hub_b)
    cli("intent", "subscribe", "--home", shop.home, "--hub", "hub-b", "--category", CATEGORY)

    first = cast(person, hub_a)  # hub-a lists nobody: the shop at hub-b never sees it
    # hub-a lists hub-b, and hub-b hub-a (it takes forwards only from hubs it lists)
    listed = cli("intent", "hub", "--home", hub_a.home, "add", "hub-b")
    assert [(p["did"], p["state"]) for p in listed["peers"]] == [(hub_b.did, "connected")]
    cli("intent", "hub", "--home", hub_b.home, "add", hub_a.did)
    assert hub_a.log_lines("intents.hub_peer_added")
    second = cast(person, hub_a)
    (seen,) = wait_for(lambda: inbox(shop), what="the intent forwarded to the newly listed hub")
    assert seen["id"] == second["id"] != first["id"]

    # kept: in config.toml, and after a restart
    assert hub_b.did in (hub_a.home / "config.toml").read_text(encoding="utf-8")
    hub_a.stop()
    hub_a.start()
    assert [p["did"] for p in cli("intent", "hub", "--home", hub_a.home)["peers"]] == [hub_b.did]

    removed = cli("intent", "hub", "--home", hub_a.home, "remove", hub_b.did)
    assert removed["peers"] == []
    assert hub_b.did not in (hub_a.home / "config.toml").read_text(encoding="utf-8")
    third = cast(person, hub_a)
    held = hub_a.api.get("/api/intents/hub")["intents"]
    assert third["id"] in [i["id"] for i in held] and "sent_to" in held[0]
    (mine,) = [i for i in held if i["id"] == third["id"]]
    assert mine["sent_to"] == []  # no subscriber here, and hub-b is no longer listed
    assert third["id"] not in [i["id"] for i in inbox(shop)]  # not forwarded any more

    # what cannot be done is refused with its reason
    again = run_amity("intent", "hub", "--home", hub_a.home, "remove", hub_b.did, "--json")
    assert again.returncode == 1 and "does not list" in again.stdout
    person_hub = run_amity("intent", "hub", "--home", person.home, "add", hub_a.did, "--json")
    assert person_hub.returncode == 1 and "not a hub" in person_hub.stdout
