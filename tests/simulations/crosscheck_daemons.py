"""The core cross-check story told by five real ``amity run`` daemons, each tracing its core's
answers to a file (tests/simulations/traced_amity.py). The story: test_core_crosscheck.py."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from amity.protocol.terms import ROSTER
from tests.node.conftest import (
    Node,
    NodeFactory,
    invite,
    meet,
    run_amity,
    send,
    start_all,
    texts,
    wait_for,
)
from tests.node.test_grants import cli
from tests.simulations.crosscheck_story import (
    BUNDLE,
    EMAIL,
    GRACE_S,
    GRANT_S,
    NOTE,
    Streams,
    in_roles,
    streams,
)
from tests.simulations.traced_amity import TRACE_ENV

_REPO = Path(__file__).resolve().parents[2]


class TracedDaemon(Node):
    """A real ``amity run`` daemon whose node writes its core trace to a file."""

    @property
    def trace_path(self) -> Path:
        return self.home.parent / f"{self.name}.trace.jsonl"

    def spawn(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        env = {**os.environ, TRACE_ENV: str(self.trace_path)}
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts} (traced) ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.simulations.traced_amity",
                    "run",
                    "--home",
                    str(self.home),
                    "--no-mdns",
                    *self.run_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=_REPO,
            )

    def trace(self) -> list[Any]:
        try:
            lines = self.trace_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines]


def _held_at_relay(relay: Node) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{relay.home}/amity.db?mode=ro", uri=True)) as db:
        (count,) = db.execute("SELECT count(*) FROM mailbox").fetchone()
    return int(count)


def _drained(node: Node) -> bool:
    return node.pending() == 0


def _attestations(node: Node, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli("attestations", "--home", node.home, *args)["attestations"]
    return found


def daemon_story(factory: NodeFactory) -> tuple[Streams, str]:
    specs = [
        ("person", "person", []),
        ("vendor", "vendor", []),
        ("breacher", "vendor", ["--misbehave", "keep-data"]),
        ("friend", "person", []),
        ("relay", "relay", ["--relay"]),
    ]
    made = [TracedDaemon(factory.root, name, kind, args) for name, kind, args in specs]
    factory.nodes.extend(made)
    for node in made:
        node.init()
    start_all(made)
    person, vendor, breacher, friend, relay = made

    def settled() -> None:
        for node in made:
            if node.running:
                wait_for(functools.partial(_drained, node), what=f"{node.name}'s outbox to drain")

    # 1. the relay
    assert person.api.post("/api/relays", {"uri": invite(relay)})["state"] == "connected"
    settled()
    # 2. meet and agree
    meet(person, vendor)
    settled()

    def agree(customer: Node, shop: Node) -> None:
        offered = cli("terms", "offer", "--home", customer.home, shop.name, "--roster", "P2B1")
        wait_for(
            lambda: shop.api.request("GET", f"/api/terms/{offered['id']}").status == 200,
            what="the offer reaches the vendor",
        )
        settled()
        accepted = cli("terms", "accept", "--home", shop.home, offered["id"][:8])
        wait_for(
            lambda: (
                customer.api.request("GET", f"/api/agreements/{accepted['agreement_id']}").status
                == 200
            ),
            what="the customer holds the agreement",
        )
        settled()

    agree(person, vendor)
    # 3. grant, read, expire with receipt; her node attests by itself
    cli("reputation", "--home", person.home, "--auto-share", "on", "--grace", f"{GRACE_S}s")
    cli("vault", "set", "--home", person.home, "email", "email", EMAIL)

    def grant(shop: Node) -> str:
        made = cli(
            "grant", "--home", person.home, shop.name, "--fields", "email",
            "--purpose", "service-provision", "--context", "order 42",
            "--expires", f"{GRANT_S}s",
        )  # fmt: skip
        gid: str = made["grant_id"]
        wait_for(
            lambda: person.api.get(f"/api/grants/{gid}")["delivered"], what="the delivery receipt"
        )
        settled()
        return gid

    honest = grant(vendor)
    read = vendor.api.get(f"/api/holdings/{person.did}/email")
    assert read["grant_id"] == honest and EMAIL in json.dumps(read)
    wait_for(
        lambda: person.api.get(f"/api/grants/{honest}")["state"] == "deleted",
        what="the deletion receipt",
    )
    wait_for(lambda: _attestations(person), what="her automatic attestation")
    settled()
    # 4. breach
    meet(person, breacher)
    settled()
    agree(person, breacher)
    grant(breacher)
    wait_for(lambda: len(_attestations(person)) == 2, what="the breach attested")
    settled()
    verdicts = sorted(a["verdict"] for a in _attestations(person))
    assert verdicts == ["breached", "honoured"], verdicts
    # 5. the friend deals with the breacher too
    meet(friend, breacher)
    settled()
    agree(friend, breacher)
    # 6. a share bundle larger than one message
    clause = ROSTER["P2B1"].document.clause_ids[0]
    for i in range(BUNDLE):
        person.api.post(
            "/api/attestations",
            {"peer": vendor.did, "clause": clause, "verdict": "honoured", "note": f"bundle {i}"},
        )
    meet(person, friend)
    settled()
    cli("vouch", "--home", friend.home, person.name)
    cli("share-policy", "--home", person.home, friend.name, "mine")
    wait_for(lambda: len(_attestations(friend)) == BUNDLE + 2, what="the friend holds them all")
    settled()
    # 7. cut-off: the friend's trust cuts the breacher off; a grant to it is refused
    cli("vault", "set", "--home", friend.home, "email", "email", "friend@example.org")
    wait_for(
        lambda: cli("reputation", "--home", friend.home, breacher.name)["cut_off"],
        what="the friend's trust cuts the breacher off",
    )
    refused = run_amity(
        "grant", "--home", friend.home, breacher.name, "--fields", "email",
        "--purpose", "delivery", "--expires", "1h",
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    said = refused.stderr.strip().removeprefix("amity: error: ")
    cut_off = in_roles(said, {breacher.did: "breacher"})
    cli("end", "--home", friend.home, breacher.did, "--reason", "cut off")
    wait_for(
        lambda: (breacher.peer(friend.did) or {}).get("state") == "ended",
        what="the breacher hears of the end",
    )
    settled()
    # 8. relay delivery while she is offline
    person.stop()
    send(vendor, person.did, NOTE)
    wait_for(lambda: _held_at_relay(relay) == 1, what="the relay holds the note")
    vendor.stop()
    person.start()
    wait_for(lambda: NOTE in texts(person, vendor.did), what="the note through the relay")
    wait_for(lambda: _held_at_relay(relay) == 0, what="the relay deletes the note")
    vendor.start()
    settled()

    dids = {node.did: node.name for node in made}
    return streams({node.name: node.trace() for node in made}, dids), cut_off
