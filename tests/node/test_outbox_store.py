"""The outbox in a real SQLite file and a real PostgreSQL database: settled envelopes are
forgotten after a while, never pending ones."""

from __future__ import annotations

import contextlib
from pathlib import Path

from amity.node.store import Store
from amity.node.store.core import OutboxItem, RelationshipRow

PEER = b"P" * 32
DAY = 86_400_000


def test_prune_forgets_only_envelopes_settled_before_the_cutoff(store_target: Path | str) -> None:
    with Store(store_target) as store:
        with store.transaction():
            for _ in range(4):
                seq = store.next_seq(PEER)
                store.add_outbox(OutboxItem(PEER, seq, "note", b"envelope %d" % seq, 0))
            store.ack_outbox(PEER, [1, 2], 1 * DAY)  # settled long ago
            store.ack_outbox(PEER, [3], 9 * DAY)  # settled recently; 4 is still pending
        with store.transaction():
            assert store.prune_outbox(10 * DAY - 7 * DAY) == 2
        assert [item.seq for item in store.pending_outbox(PEER)] == [4]
        with store.transaction():
            assert store.prune_outbox(100 * DAY) == 1  # the pending one is never pruned
            assert store.next_seq(PEER) == 5  # sequence numbers are never reused
        assert [item.seq for item in store.pending_outbox(PEER)] == [4]


def test_an_unsettled_hello_is_found_staged_or_written_and_not_once_settled(
    tmp_path: Path,
) -> None:
    """What a new link asks before it queues another hello (spec/node.md §5)."""
    with Store(tmp_path / "amity.db") as store:
        with store.transaction():
            assert store.newest_pending(PEER, "rel.hello") is None
            for type_, envelope in (("rel.hello", b"old"), ("rel.hello", b"new"), ("note", b"n")):
                store.add_outbox(OutboxItem(PEER, store.next_seq(PEER), type_, envelope, 0))
            assert store.newest_pending(PEER, "rel.hello") == b"new"  # staged in this commit
        assert store.newest_pending(PEER, "rel.hello") == b"new"
        assert store.newest_pending(b"Q" * 32, "rel.hello") is None
        with store.transaction():
            store.ack_outbox(PEER, [2], DAY)
        assert store.newest_pending(PEER, "rel.hello") == b"old"
        with store.transaction():
            store.ack_outbox(PEER, [1], DAY)
        assert store.newest_pending(PEER, "rel.hello") is None
        assert store.newest_pending(PEER, "note") == b"n"


def test_counters_windows_and_inbox_rows_are_written_once_per_commit_and_survive(
    store_target: Path | str,
) -> None:
    path = store_target
    with Store(path) as store:
        with store.transaction():
            assert [store.next_seq(PEER) for _ in range(3)] == [1, 2, 3]
            store.save_replay(PEER, 7, b"\x01")
            store.save_replay(PEER, 9, b"\x07")  # the last window of the commit is kept
            store.stage_inbox(PEER, 9, "msg.note", b"body", b"envelope", 0)
            store.stage_inbox(PEER, 9, "msg.note", b"body", b"envelope", 0)  # stored once
        with contextlib.suppress(RuntimeError), store.transaction():
            assert store.next_seq(PEER) == 4
            store.save_replay(PEER, 10, b"\x0f")
            store.stage_inbox(PEER, 10, "msg.note", b"lost", b"lost", 0)
            raise RuntimeError("rolled back: neither the counter nor the window moves")
        with store.transaction():
            assert store.next_seq(PEER) == 4
    with Store(path) as store:
        assert store.load_replay() == [(PEER, 9, b"\x07")]
        assert [(item.seq, item.body) for item in store.list_inbox()] == [(9, b"body")]
        with store.transaction():
            assert store.next_seq(PEER) == 5


def test_a_stranger_is_forgotten_whole_and_a_peer_never_listed(store_target: Path | str) -> None:
    """At a hub, a pseudonym's window, counter and uncollected envelopes go at once
    (spec/intents.md §7.7); a peer with a relationship, even an ended one, is no stranger."""
    stranger, peer = b"S" * 32, PEER
    with Store(store_target) as store:
        with store.transaction():
            store.save_relationship(RelationshipRow(b"secret", peer, "ended", "{}", 0))
            for who in (stranger, peer):
                store.save_replay(who, 3, b"\x07")
                for _ in range(3):
                    seq = store.next_seq(who)
                    store.add_outbox(OutboxItem(who, seq, "intent.sealed", b"offer", 0))
            store.ack_outbox(stranger, [1], DAY)
        assert store.strangers_with_state() == [stranger]
        with store.transaction():
            assert store.forget_stranger(stranger) == 2  # two it never collected
        assert store.strangers_with_state() == []
        assert store.pending_outbox(stranger) == [] and len(store.pending_outbox(peer)) == 3
        assert [row[0] for row in store.load_replay()] == [peer]
        with store.transaction():
            assert store.next_seq(stranger) == 1 and store.next_seq(peer) == 4
