"""Group commit over a real store of each engine: after a failed commit nothing more is committed
(spec/node.md §1: memory would be ahead of the disk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from amity.node.commits import GroupCommit
from amity.node.store import Store, StoreError


async def test_after_a_failed_commit_nothing_more_is_committed(store_target: Path | str) -> None:
    failures: list[str] = []
    ran: list[str] = []
    with Store(store_target) as store:
        commits = GroupCommit(store, on_failure=lambda: failures.append("failed"))

        await commits.write(lambda: store.set_meta("first", b"1"))

        def breaks() -> None:
            store.set_meta("second", b"2")
            raise RuntimeError("the disk is full")

        with pytest.raises(RuntimeError, match="the disk is full"):
            await commits.write(breaks)
        assert failures == ["failed"] and commits.failure is not None

        with pytest.raises(StoreError, match="nothing more is committed"):
            await commits.write(lambda: ran.append("third"))
        assert ran == []
        assert failures == ["failed"]  # a refusal is no new failure
    with Store(store_target) as store:
        assert [store.get_meta(key) for key in ("first", "second")] == [b"1", None]
