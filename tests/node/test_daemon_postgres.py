"""A vendor daemon on PostgreSQL and a customer on SQLite: the whole flow, a restart, and the
database server killed with -9 in the middle of a stream.

Real ``amity run`` processes (conftest.py) and a real PostgreSQL server (pgcluster.py). See
README, "Choosing the store".
"""

from __future__ import annotations

import json
from pathlib import Path

from amity.node.store import Store
from amity.protocol.identity import PeerId
from tests.node.conftest import NodeFactory, is_connected, meet, send, texts, wait_for
from tests.node.pgcluster import PgCluster
from tests.node.test_daemon import Streamer, acked_seqs, stored_seqs
from tests.node.test_grants import agree, fill_vault, grant, read


def test_a_customer_on_sqlite_and_a_vendor_on_postgresql_agree_grant_and_restart(
    nodes: NodeFactory, pg_url: str, tmp_path: Path
) -> None:
    alice, shop = nodes.create_many(
        [("alice", "person"), ("shop", "vendor")], stores={"shop": pg_url}
    )
    assert shop.log_lines("store.opened", engine="postgresql")
    assert alice.log_lines("store.opened", engine="sqlite")
    assert not (shop.home / "amity.db").exists()

    meet(alice, shop)
    agreement_id = agree(alice, shop, tmp_path)
    fill_vault(alice)
    grant_id = grant(alice, shop, "email", "1h")
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the vendor holds the email")
    notes = [f"order {i}" for i in range(5)]
    for text in notes:
        send(alice, shop.did, text)
    wait_for(lambda: texts(shop, alice.did) == notes, what="the notes at the vendor")

    with Store(pg_url) as store:  # beside the running vendor: it is all in PostgreSQL
        held = store.holdings(grantor=PeerId.from_did(alice.did).key)
        assert [row.grant_id.hex() for row in held] == [grant_id]
        assert [a.agreement_id.hex() for a in store.agreements()] == [agreement_id]

    assert shop.stop() == 0
    shop.start()

    assert len(shop.log_lines("store.opened", engine="postgresql", migrated="-")) == 1
    wait_for(lambda: is_connected(alice, shop) and is_connected(shop, alice), what="reconnected")
    email = read(shop, alice, "email")
    assert email.status == 200 and "alice@example.org" in json.dumps(email.body)
    assert shop.api.get(f"/api/agreements/{agreement_id}")["agreement_id"] == agreement_id
    assert texts(shop, alice.did) == notes
    send(alice, shop.did, "after the restart")
    wait_for(lambda: texts(shop, alice.did) == [*notes, "after the restart"], what="a new note")


def test_kill_9_of_postgresql_loses_nothing_the_vendor_acknowledged(
    nodes: NodeFactory, postgres: PgCluster, pg_url: str
) -> None:
    """The server dies mid-stream. The vendor's next commit fails: it stops acknowledging and
    exits 1, saying why; restarted once the server is back (as its supervisor would), it has
    every note it acknowledged, and the customer's outbox brings the rest, once each."""
    a, b = nodes.create_many([("a", "person"), ("b", "vendor")], stores={"b": pg_url})
    meet(a, b)
    notes = [f"note {i:03d}" for i in range(300)]

    streamer = Streamer(a, b.did, notes, hold_after=200)
    streamer.start()
    wait_for(lambda: len(acked_seqs(a, b)) >= 40, what="b acknowledges some notes")
    postgres.kill()
    streamer.go_on.set()
    streamer.join(60)
    assert streamer.accepted == notes, f"a stopped accepting notes at {streamer.stopped_by}"

    wait_for(lambda: not b.running, what="b stops once a commit fails")
    assert b.stop() == 1
    assert "a database commit failed" in b.log()
    acked = acked_seqs(a, b)
    assert len(acked) < len(notes), "the server was not killed mid-stream"

    postgres.start()
    stored = stored_seqs(b, a)
    assert acked <= set(stored), f"ACKed but not stored by b: {sorted(acked - set(stored))}"
    assert len(stored) == len(set(stored))
    b.start()
    wait_for(lambda: a.pending() == 0, what="a's outbox drains once b is back")
    assert texts(b, a.did) == notes


def test_a_vendor_rides_out_a_postgresql_restart_while_it_is_idle(
    nodes: NodeFactory, postgres: PgCluster, pg_url: str
) -> None:
    """No transaction was open when the server went: the vendor's next BEGIN finds its
    session gone, takes a new one, and goes on without stopping."""
    a, b = nodes.create_many([("a", "person"), ("b", "vendor")], stores={"b": pg_url})
    meet(a, b)
    send(a, b.did, "before")
    wait_for(lambda: texts(b, a.did) == ["before"] and a.pending() == 0, what="the first note")

    postgres.kill()
    # Meanwhile the vendor's API says its database is away, in words and with its own code.
    away = b.api.request("GET", f"/api/messages?peer={a.did}")
    assert away.status == 503 and away.body["error"]["code"] == "store.error"
    assert "cannot be reached now" in away.body["error"]["message"]
    postgres.start()

    send(a, b.did, "after")
    wait_for(lambda: texts(b, a.did) == ["before", "after"], what="a note after the restart")
    assert b.running and not b.log_lines("node.failed")
