"""The store on its two engines: the same schema, the same answers, versioned migrations, and
on PostgreSQL a server that is killed and restarted under a store that goes on.

See README ("Choosing the store") and node/store/engine.py.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.node.store import SCHEMA_VERSION, Store, StoreError
from amity.node.store.core import OutboxItem
from amity.node.store.engine import hex_prefix_range
from amity.node.store.grants import GrantRequestRow, IssuedGrantRow
from tests.node.conftest import run_amity, wait_for
from tests.node.pgcluster import PgCluster

PEER = b"P" * 32


def _columns(store: Store) -> dict[str, set[str]]:
    """Every table's column names (without PostgreSQL's rowid and version bookkeeping)."""
    if store.dialect == "sqlite":
        tables = [
            r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {t: {r[1] for r in store._db.execute(f"PRAGMA table_info({t})")} for t in tables}
    found: dict[str, set[str]] = {}
    for table, column in store._db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name <> 'amity_schema'"
    ):
        if column != "rowid":
            found.setdefault(str(table), set()).add(str(column))
    return found


def test_both_engines_hold_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    with Store(tmp_path / "amity.db") as lite, Store(pg_url) as pg:
        assert (lite.dialect, pg.dialect) == ("sqlite", "postgresql")
        assert lite.schema_version() == pg.schema_version() == SCHEMA_VERSION
        assert _columns(lite) == _columns(pg)
        assert len(_columns(pg)) > 30


def test_a_database_newer_than_this_amity_is_refused(store_target: Path | str) -> None:
    with Store(store_target) as store, store.transaction():
        store._engine.set_schema_version(SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=f"schema {SCHEMA_VERSION + 1}, newer than this amity"):
        Store(store_target)


def test_new_row_ids_and_counts_of_many_rows_alike(store_target: Path | str) -> None:
    request = GrantRequestRow(0, PEER, False, b"body", 1, "pending")
    with Store(store_target) as store:
        with store.transaction():
            assert [store.add_grant_request(request) for _ in range(3)] == [1, 2, 3]
            assert store.add_mail(PEER, PEER, b"sealed", 0, 10) == 1
            for _ in range(4):
                store.add_outbox(OutboxItem(PEER, store.next_seq(PEER), "note", b"e", 0))
        with store.transaction():
            assert store.ack_outbox(PEER, [1, 2, 9], 5) == 2
            assert store.ack_outbox(PEER, [2, 3], 6) == 1
        assert store.mail_bytes_from(PEER) == len(b"sealed")
        assert [i.seq for i in store.pending_outbox(PEER)] == [4]


def test_an_id_is_found_by_any_hex_prefix(store_target: Path | str) -> None:
    ids = [bytes.fromhex(h) for h in ("ab12" + "00" * 30, "abff" + "11" * 30, "ff" * 32)]
    with Store(store_target) as store:
        with store.transaction():
            for n, grant_id in enumerate(ids):
                store.save_issued_grant(IssuedGrantRow(grant_id, PEER, b"a", b"e", n, 99))

        def found(prefix: str) -> set[bytes]:
            return {row.grant_id for row in store.issued_grants(id_prefix=prefix)}

        assert found("ab") == set(ids[:2])
        assert found("AB1") == found("ab12") == {ids[0]}
        assert found("abf") == {ids[1]}
        assert found("f") == found("ffff") == {ids[2]}
        assert found("") == set(ids)
        assert found("zz") == found("0x") == found("ab 1") == set()


@given(st.binary(min_size=1, max_size=6), st.integers(0, 12))
def test_a_hex_prefix_is_a_byte_range(value: bytes, length: int) -> None:
    prefix = value.hex()[:length]
    bounds = hex_prefix_range(prefix)
    assert bounds is not None
    low, high = bounds
    inside = low <= value and (high is None or value < high)
    assert inside == value.hex().startswith(prefix)


def test_two_processes_may_migrate_one_database_at_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            Store(pg_url).close()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(pg_url) as store:
        assert store.schema_version() == SCHEMA_VERSION and store.migrated == []


def test_amity_migrate_brings_a_postgresql_store_up_to_date(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "home"
    refused = run_amity("init", "--home", home, "--store", "mysql://db/amity", "--json")
    assert refused.returncode == 1 and "postgresql:// URL" in refused.stdout
    assert run_amity("init", "--home", home, "--store", pg_url).returncode == 0

    first = run_amity("migrate", "--home", home, "--json")
    assert first.returncode == 0, first.stderr
    done = json.loads(first.stdout)
    assert (done["engine"], done["from_version"], done["version"]) == (
        "postgresql",
        0,
        SCHEMA_VERSION,
    )
    assert done["ran"] == list(range(1, SCHEMA_VERSION + 1))
    assert "amity@" in done["where"] and pg_url not in done["where"]
    again = json.loads(run_amity("migrate", "--home", home, "--json").stdout)
    assert again["ran"] == [] and again["from_version"] == SCHEMA_VERSION

    with Store(pg_url) as store, store.transaction():
        store._engine.set_schema_version(SCHEMA_VERSION + 1)
    newer = run_amity("migrate", "--home", home, "--json")
    assert newer.returncode == 1
    assert json.loads(newer.stdout)["error"]["code"] == "store.error"
    assert "upgrade amity" in json.loads(newer.stdout)["error"]["message"]


def _answers(store: Store, key: str) -> bytes | None:
    try:
        return store.get_meta(key)
    except StoreError:
        return None


def test_a_killed_server_loses_no_commit_and_the_store_reconnects(
    postgres: PgCluster, pg_url: str
) -> None:
    with Store(pg_url) as store:
        with store.transaction():
            store.set_meta("before", b"committed")
        postgres.kill()
        postgres.start()  # while the store was idle: its session is gone, it takes a new one
        assert store.get_meta("before") == b"committed"
        postgres.kill()
        postgres.start()
        with store.transaction():  # the BEGIN finds its session gone, and runs again
            store.set_meta("after", b"too")

        postgres.kill()
        with pytest.raises(StoreError, match="cannot reach PostgreSQL"):
            store.get_meta("before")  # no server answers
        with pytest.raises(StoreError, match="cannot reach PostgreSQL"), store.transaction():
            store.set_meta("never", b"!")
        postgres.start()
        # The pool reconnects with a backoff (1 s, doubling while the server was away).
        assert wait_for(lambda: _answers(store, "after"), what="the store reconnects") == b"too"

        with pytest.raises(StoreError, match="PostgreSQL at"), store.transaction():
            store.set_meta("lost", b"?")
            postgres.kill()  # in the middle of a transaction: it fails, nothing of it stays
            postgres.start()
            store.set_meta("lost", b"!")
        assert store.get_meta("lost") is None
    with Store(pg_url) as store:
        assert (store.get_meta("before"), store.get_meta("after")) == (b"committed", b"too")
        assert (store.get_meta("never"), store.get_meta("lost")) == (None, None)
