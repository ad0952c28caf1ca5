"""The node's link-key chain on disk: made once, stepped forward hourly, the old one erased.

In-process nodes on real SQLite files, the clock set ahead to cross epochs. See
spec/identity.md §6.2.
"""

from __future__ import annotations

import os
from pathlib import Path

from amity.node.daemon import Identity, Node, wall_clock_ms
from amity.node.net.linkkeys import LINK_CHAIN_META
from amity.node.net.transport import MemoryNetwork
from amity.node.store import Store
from amity.protocol.card import NodeKind
from amity.protocol.keyring import LINK_EPOCH_MS, Keyring, LinkChain, derive_link_private
from tests.node.conftest import async_wait_for

SEED = os.urandom(32)


def _node(store: Store, ahead_ms: int = 0) -> Node:
    return Node(
        seed=SEED,
        store=store,
        identity=Identity("shop", NodeKind.VENDOR),
        dialer=MemoryNetwork(),
        clock_ms=lambda: wall_clock_ms() + ahead_ms,
    )


def _chain(store: Store) -> LinkChain:
    raw = store.get_meta(LINK_CHAIN_META)
    assert raw is not None
    return LinkChain.decode(raw)


async def test_past_link_keys_leave_the_home_with_their_mail_window(tmp_path: Path) -> None:
    db = tmp_path / "amity.db"
    with Store(db) as store:
        node = _node(store)
        first = _chain(store)
        now = wall_clock_ms()
        assert first.epoch == first.origin == Keyring.epoch_at(now)
        key = node.keyring.current(now)[0]
        assert key.private == first.link_key(first.epoch).private
        assert key.private != derive_link_private(SEED, first.epoch)  # not the seed's
        async with node:
            await node.commits.write()
        assert _chain(store) == first  # nothing to forget yet

    with Store(db) as store:
        node = _node(store, ahead_ms=3 * LINK_EPOCH_MS)
        async with node:
            await async_wait_for(lambda: _chain(store) != first, what="the sweep moves the chain")
            later = wall_clock_ms() + 3 * LINK_EPOCH_MS
            assert node.keyring.find_link_key(key.public, later) is None
            moved = _chain(store)
            assert (moved.origin, moved.epoch) == (first.origin, first.epoch + 1)
            for path in tmp_path.iterdir():
                data = path.read_bytes()
                assert first.secret not in data and key.private not in data, path.name
