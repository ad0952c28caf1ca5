"""AuditLog.recent, on a real SQLite store: what the overview shows as "what changed lately".

It verifies the whole chain once, then only what was appended; it still refuses a log that was
cut, or whose newest entries were edited; an edit deep in the log, made after its first check,
is what the full check (AuditLog.verified: the audit page, ``amity log``) is for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amity.node.auditlog import AuditLog
from amity.node.store import Store
from amity.protocol.errors import AuditChainError
from amity.protocol.identity import SigningIdentity

_PEER = SigningIdentity(bytes(range(32))).peer_id


def _append(store: Store, log: AuditLog, first: int, count: int) -> None:
    with store.transaction():
        for i in range(first, first + count):
            log.append(1_796_000_000_000 + i, "grant.received", _PEER, detail=f"entry {i}")


def _edit(store: Store, index: int) -> None:
    """Rewrite entry ``index`` with another's bytes, as someone with the database file could."""
    other = store.audit_entries(index + 1 if index == 0 else 0)[0].entry
    with store.transaction():
        store._db.execute("UPDATE audit_log SET entry = ? WHERE idx = ?", (other, index))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "amity.db")


def test_the_newest_entries_newest_last_after_the_chain_checks_out(store: Store) -> None:
    log = AuditLog(store)
    _append(store, log, 0, 30)

    head, entries = log.recent(12)

    assert head.length == 30
    assert [e.detail for e in entries] == [f"entry {i}" for i in range(18, 30)]
    _append(store, log, 30, 3)  # then only these three are checked
    head, entries = log.recent(12)
    assert head.length == 33
    assert entries[-1].detail == "entry 32"


def test_a_short_log_gives_what_it_has(store: Store) -> None:
    log = AuditLog(store)
    assert log.recent(12) == (log.head(), [])
    _append(store, log, 0, 2)
    log.recent(12)
    _append(store, log, 2, 1)

    _, entries = log.recent(12)

    assert [e.detail for e in entries] == ["entry 0", "entry 1", "entry 2"]


@pytest.mark.parametrize("edited", [29, 31])  # the entry the last check ended at; one after it
def test_an_edit_of_the_newest_entries_is_refused(store: Store, edited: int) -> None:
    log = AuditLog(store)
    _append(store, log, 0, 30)
    log.recent(12)
    _append(store, log, 30, 3)

    _edit(store, edited)

    with pytest.raises(AuditChainError):
        log.recent(12)


def test_a_cut_log_is_refused(store: Store) -> None:
    log = AuditLog(store)
    _append(store, log, 0, 30)
    log.recent(12)

    with store.transaction():
        store._db.execute("DELETE FROM audit_log WHERE idx >= 28")

    with pytest.raises(AuditChainError):
        log.recent(12)


def test_an_old_edit_after_the_first_check_is_for_the_full_check(store: Store) -> None:
    log = AuditLog(store)
    _append(store, log, 0, 30)
    log.recent(12)

    _edit(store, 3)

    log.recent(12)  # the incremental check does not read entry 3 again
    with pytest.raises(AuditChainError):
        log.verified()
    with pytest.raises(AuditChainError):
        AuditLog(store).recent(12)  # a node that starts again checks it all
