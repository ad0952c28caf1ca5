"""Simulated grants: the real grant, delivery, holder machine and receipts on the virtual clock."""

from __future__ import annotations

from amity.protocol.vault import Field, FieldType
from amity.simulations.crypto import CryptoMode, crypto_mode
from tests.simulations.test_node import Pair, meet, pair

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
