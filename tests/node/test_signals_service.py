"""Updates of a grant's values in-process (spec/signals.md §2): Nodes over the in-memory
transport, real SQLite stores. The version rule as the grantee's node applies it to envelopes
the grantor really signed: a repeated version, an older one, an update of a revoked grant are
refused with their own codes and change nothing; a newer one, gaps included, is taken.
tests/node/test_signals.py runs the story on real daemons.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amity.node.grants.fields import field_from_text
from amity.node.services import Outgoing, Staged
from amity.protocol.grants import Grant
from amity.protocol.update import MSG_UPDATE, seal_update
from amity.protocol.vault import Field
from tests.node.conftest import async_wait_for
from tests.node.test_grants_service import Lab, Party, agreed_pair, held


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    made = Lab(tmp_path, {})
    yield made
    await made.network.aclose()


async def _send_update(alice: Party, shop: Party, grant: Grant, version: int, email: str) -> None:
    """Alice's node signs and sends version ``version`` of ``grant`` itself, bypassing her
    vault (as a buggy or replaying grantor would)."""
    body = seal_update(
        grant,
        version,
        [field_from_text("email", "email", email)],
        updated_ms=alice.node.clock_ms(),
        link_public=shop.node.card().link_cert.link_public,
        ephemeral_private=os.urandom(32),
    )
    await alice.node.commit(Staged(sends=[Outgoing(shop.peer_id, MSG_UPDATE, body)]))


async def _email(shop: Party, alice: Party) -> object:
    value, _ = await shop.grants.grantee.read(alice.peer_id, "email", "delivery")
    assert isinstance(value, Field)
    return value.value


async def test_versions_are_taken_once_and_in_order(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amity")
    async with agreed_pair(lab) as (alice, shop):
        grant = await alice.grants.grantor.grant(
            shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=600_000
        )
        await held(shop, grant)

        outcomes = await alice.grants.vault_set(field_from_text("email", "email", "a@new.org"))

        assert [(o.grant.grant_id, o.version) for o in outcomes] == [(grant.grant_id, 1)]
        await async_wait_for(
            lambda: "update" in [r.kind for r in alice.node.store.grant_receipts(grant.grant_id)],
            what="the update receipt",
        )
        assert await _email(shop, alice) == "a@new.org"
        assert shop.held_rows(grant) == 1

        def refused(code: str) -> bool:
            """The vendor's node rejected an envelope with ``code`` (its REFUSE to alice)."""
            return any(
                r.getMessage() == "message.rejected"
                and getattr(r, "amity_fields", {}).get("code") == code
                for r in caplog.records
            )

        await _send_update(alice, shop, grant, 1, "replayed@example.org")
        await async_wait_for(lambda: refused("grants.update_replayed"), what="a replay refused")
        await _send_update(alice, shop, grant, 3, "three@example.org")
        await async_wait_for(
            lambda: (h := shop.grants.holdings.get(grant.grant_id)) is not None and h.version == 3,
            what="version 3 taken over a gap",
        )
        await _send_update(alice, shop, grant, 2, "two@example.org")
        await async_wait_for(lambda: refused("grants.update_stale"), what="a stale one refused")
        assert await _email(shop, alice) == "three@example.org"

        await alice.grants.grantor.revoke(grant.grant_id.hex())
        await async_wait_for(
            lambda: "deletion" in [r.kind for r in alice.node.store.grant_receipts(grant.grant_id)],
            what="the deletion receipt",
        )
        await _send_update(alice, shop, grant, 4, "four@example.org")
        await async_wait_for(lambda: refused("grants.no_grant"), what="an update after revocation")
        assert shop.held_rows(grant) == 0
        kinds = [r.kind for r in alice.node.store.grant_receipts(grant.grant_id)]
        assert kinds == ["delivery", "update", "update", "deletion"]
        # Her node knows the grant is revoked: a change of the field now reaches nobody.
        after = await alice.grants.vault_set(field_from_text("email", "email", "b@new.org"))
        assert [(o.version, o.why) for o in after] == [(None, "revoked")]


async def test_two_changes_at_once_get_two_versions(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        grant = await alice.grants.grantor.grant(
            shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=600_000
        )
        await held(shop, grant)

        first, second = await asyncio.gather(
            alice.grants.vault_set(field_from_text("email", "email", "one@example.org")),
            alice.grants.vault_set(field_from_text("email", "email", "two@example.org")),
        )

        assert [o.version for o in first + second] == [1, 2]
        await async_wait_for(
            lambda: (h := shop.grants.holdings.get(grant.grant_id)) is not None and h.version == 2,
            what="both versions taken",
        )
        assert await _email(shop, alice) == "two@example.org"
        await async_wait_for(
            lambda: (
                [r.kind for r in alice.node.store.grant_receipts(grant.grant_id)]
                == ["delivery", "update", "update"]
            ),
            what="two update receipts",
        )
