"""Simulated grants: the real grant, delivery, holder machine and receipts on the virtual clock."""

from __future__ import annotations

import random

from amity.protocol.card import NodeKind
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.vault import Field, FieldType
from amity.simulations.behaviours.owners import OnwardCopy, OnwardSharer
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.world.streams import RandomStreams
from tests.simulations.test_node import START_MS, Pair, meet, pair

EMAIL = Field("email", FieldType.EMAIL, "alice@example.org")


def agreed_pair(*, keep_data: bool = False) -> Pair:
    """A person and a vendor that met and agreed (the honest behaviours of test_node)."""
    p = pair()
    p.vendor.grants.keep_data = keep_data
    meet(p)
    p.engine.run(until_ms=10_000)
    return p


def test_a_grant_is_delivered_expires_and_is_deleted_with_a_receipt() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=5_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        issued = p.person.grants.issued[grant.grant_id]
        assert issued.delivered_ms is not None and issued.deleted_ms is None
        assert p.vendor.grants.holds_values(grant.grant_id)
        p.engine.run(until_ms=p.engine.now_ms + 10_000)
    assert issued.deleted_ms is not None and issued.deletion_reason == "expired"
    assert not p.vendor.grants.holds_values(grant.grant_id)
    assert len(issued.receipts) == 2


def test_a_revoked_grant_is_deleted_at_once() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=3_600_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        p.person.grants.revoke(grant.grant_id)
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    issued = p.person.grants.issued[grant.grant_id]
    assert issued.deletion_reason == "revoked"
    assert not p.vendor.grants.holds_values(grant.grant_id)


def test_a_vendor_that_keeps_data_sends_no_deletion_receipt() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair(keep_data=True)
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=2_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
    issued = p.person.grants.issued[grant.grant_id]
    assert issued.delivered_ms is not None and issued.deleted_ms is None
    assert p.vendor.grants.holds_values(grant.grant_id), "the breaching vendor kept the data"


def test_the_owner_hears_of_a_new_holding_once_after_its_commit() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        heard: list[tuple[int, Holding]] = []
        p.vendor.grants.on_held = lambda h: heard.append((p.vendor.now_ms(), h))
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=5_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 10_000)
    assert [h.grant.grant_id for _, h in heard] == [grant.grant_id]
    at_ms, holding = heard[0]
    assert holding.state is HoldingState.HELD and holding.fields == (EMAIL,)
    assert at_ms > holding.received_ms, "after the commit, not when the delivery arrived"


def test_an_owner_who_shares_onward_is_invisible_to_her_node() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        streams = RandomStreams(5)
        broker = SimNode(
            p.vendor.env,
            name="broker",
            kind=NodeKind.VENDOR,
            seed=streams.key("broker"),
            random=streams.bytes_source("broker"),
            reachable=True,
            behaviour=None,
        )
        copies: list[OnwardCopy] = []
        sharer = OnwardSharer(
            p.vendor, rate=1.0, parties=1, others=[broker], rng=random.Random(1), ledger=copies
        )
        p.vendor.grants.on_held = sharer.on_held
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=5_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
    issued = p.person.grants.issued[grant.grant_id]
    assert issued.deletion_reason == "expired" and len(issued.receipts) == 2
    assert not p.vendor.grants.holds_values(grant.grant_id)
    assert [(c.party, c.fields, c.person) for c in copies] == [
        (broker, (EMAIL,), p.person.peer_id)
    ], "the copy outlives the grant and its deletion receipt"
    assert broker.grants.held == {}, "the third party holds it under no grant"


def test_ending_the_relationship_makes_the_vendor_delete_as_the_daemon_does() -> None:
    """Delete-on-end (spec/grants.md §14), the core's rule in both drivers: the receipt comes
    after the end, and her node still takes it."""
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=90 * 86_400_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        p.person.end(p.vendor.peer_id, "moving on")
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        held = p.vendor.grants.held[grant.grant_id]
        assert held.end_deadline_ms is not None, "the end set the delete-on-end deadline"
        p.engine.run(until_ms=held.end_deadline_ms - START_MS + 1_000)
    issued = p.person.grants.issued[grant.grant_id]
    assert issued.deletion_reason == "relationship-ended"
    assert not p.vendor.grants.holds_values(grant.grant_id)
    assert len(issued.receipts) == 2
