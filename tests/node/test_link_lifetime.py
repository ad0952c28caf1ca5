"""A session never outlives a link certificate (spec/session.md §6): the node closes it."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from amity.node.daemon import Identity, Node
from amity.node.net.transport import MemoryNetwork
from amity.node.store import Store
from amity.protocol.card import NodeKind
from amity.protocol.keyring import LINK_EPOCH_MS


async def test_link_closes_once_a_certificate_expires(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [LINK_EPOCH_MS * 700 + 1234]  # a clock the test moves

    def clock() -> int:
        return now[0]

    net = MemoryNetwork()
    alice = Node(
        seed=os.urandom(32),
        store=Store(tmp_path / "a.db"),
        identity=Identity("alice", NodeKind.PERSON),
        dialer=net,
        clock_ms=clock,
    )
    shop = Node(
        seed=os.urandom(32),
        store=Store(tmp_path / "s.db"),
        identity=Identity("shop", NodeKind.VENDOR),
        dialer=net,
        clock_ms=clock,
        endpoints=["mem://shop"],
    )
    net.listen("mem://shop", shop.accept)
    caplog.set_level(logging.INFO, logger="amity")
    async with alice, shop:
        await alice.connect((await shop.invite()).to_uri())
        (link,) = alice.links[shop.peer_id]
        assert link.not_after_ms is not None and link.not_after_ms > now[0] + LINK_EPOCH_MS
        now[0] = link.not_after_ms + 1  # two epochs later: both certificates have expired
        await shop.send_note(alice.peer_id, "the last word on this session")
        async with asyncio.timeout(5):
            await link.closed.wait()
        assert "link.cert_expired" in caplog.text
        assert alice.store.list_inbox()  # the note that arrived was still taken
    await net.aclose()
