"""Change signals (spec/signals.md §2): a grant's values updated under the same grant.

The vectors of spec/vectors/signals.json (the update body, its refusals, the holder's traces),
and properties of the holder's version rule: whatever order updates arrive in, the grantee ends
holding the newest version it was sent, took each version at most once, and sent one update
receipt per version it took.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.delivery import deliver, open_delivery
from amity.protocol.errors import AmityError, UpdateReplayedError, UpdateStaleError
from amity.protocol.grants import Grant, Onward, Revocation
from amity.protocol.holder import (
    DeleteData,
    Event,
    Persist,
    RevocationReceived,
    SendMessage,
    TimerFired,
    UpdateReceived,
    open_holding,
    step,
)
from amity.protocol.holdings import holdings_statement
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.receipts import UpdateReceipt, open_receipt
from amity.protocol.update import open_update, seal_update
from amity.protocol.vault import Field, FieldType
from tests.protocol.test_receipts import _render
from tests.vectors import unhex, vector_cases

_UPDATES = vector_cases("signals")["argvalues"]


def _cases(kind: str, error: bool | None = None) -> dict[str, Any]:
    keep = [v for v in _UPDATES if v["kind"] == kind and (error is None or ("error" in v) == error)]
    return {"argvalues": keep, "ids": [v["name"] for v in keep]}


@pytest.mark.parametrize("vector", **_cases("update", error=False))
def test_update_vector(vector: dict[str, Any]) -> None:
    grant = Grant.decode(unhex(vector, "grant_hex"))
    link = LinkKey(unhex(vector, "link_seed_hex"))
    update = open_update(unhex(vector, "body_hex"), link_key=link)
    update.check_for(grant)
    assert update.grant_id.hex() == vector["grant_id_hex"]
    assert (update.version, update.updated_ms) == (vector["version"], vector["updated_ms"])
    assert [c.encoded.hex() for c in update.claims] == vector["claims_hex"]
    body = seal_update(
        grant,
        update.version,
        update.fields,
        update.claims,
        updated_ms=update.updated_ms,
        link_public=link.public,
        ephemeral_private=unhex(vector, "ephemeral_seed_hex"),
    )
    assert body.hex() == vector["body_hex"]


@pytest.mark.parametrize("vector", **_cases("update", error=True))
def test_update_refusal_vector(vector: dict[str, Any]) -> None:
    grant = Grant.decode(unhex(vector, "grant_hex"))
    with pytest.raises(AmityError) as excinfo:
        open_update(
            unhex(vector, "body_hex"), link_key=LinkKey(unhex(vector, "link_seed_hex"))
        ).check_for(grant)
    assert excinfo.value.code == vector["error"]


def _delivery_vector() -> dict[str, Any]:
    (found,) = [v for v in vector_cases("grants")["argvalues"] if v["name"] == "delivery-typical"]
    return found


@pytest.mark.parametrize("vector", **_cases("update-trace"))
def test_update_trace_vector(vector: dict[str, Any]) -> None:
    delivered = _delivery_vector()
    link = LinkKey(unhex(vector, "link_seed_hex"))
    grantee = SigningIdentity(unhex(vector, "grantee_seed_hex"))
    delivery = open_delivery(
        unhex(delivered, "body_hex"),
        grantor=PeerId(unhex(vector, "grantor_peer_id_hex")),
        grantee=grantee.peer_id,
        link_key=link,
        now_ms=vector["received_ms"],
    )
    holding, effects = open_holding(delivery, vector["received_ms"], signer=grantee)
    steps = [[_render(e) for e in effects]]
    for raw in vector["events"]:
        event: Event
        if raw["event"] == "update":
            event = UpdateReceived(open_update(bytes.fromhex(raw["body_hex"]), link_key=link))
        elif raw["event"] == "timer":
            event = TimerFired(raw["token"])
        else:
            event = RevocationReceived(Revocation.decode(bytes.fromhex(raw["revocation_hex"])))
        try:
            holding, effects = step(holding, event, raw["now_ms"], signer=grantee)
        except AmityError as exc:
            assert exc.code == vector["error"]
            break
        steps.append([_render(e) for e in effects])
    else:
        assert "error" not in vector
    assert steps == vector["effects"]
    if "final" in vector:
        email = next(f.value for f in holding.fields if f.name == "email")
        assert (holding.state.value, holding.version, email) == (
            vector["final"]["state"],
            vector["final"]["version"],
            vector["final"]["email"],
        )


# -- the version rule under any order --------------------------------------------------------------

PERSON = SigningIdentity(bytes([0xA0]) * 32)
VENDOR = SigningIdentity(bytes([0xB0]) * 32)
LINK = LinkKey(bytes([0xB1]) * 32)
T0 = 1_767_225_600_000


def _grant(grant_id: bytes) -> Grant:
    return Grant.issue(
        PERSON,
        grantee=VENDOR.peer_id,
        grant_id=grant_id,
        agreement_id=bytes(32),
        fields=["email"],
        purpose="support",
        context="",
        onward=Onward.NONE,
        issued_ms=T0,
        not_after_ms=T0 + 10**9,
    )


GRANT = _grant(bytes(range(16)))


def _email(version: int) -> Field:
    return Field("email", FieldType.EMAIL, f"v{version}@example.org")


def _body(version: int) -> bytes:
    return seal_update(
        GRANT,
        version,
        [_email(version)],
        updated_ms=T0 + version,
        link_public=LINK.public,
        ephemeral_private=bytes([version % 256 or 1]) * 32,
    )


@settings(max_examples=60, deadline=None)
@given(order=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12))
def test_newest_version_wins_whatever_the_order(order: list[int]) -> None:
    body = deliver(GRANT, [_email(0)], link_public=LINK.public, ephemeral_private=bytes([9]) * 32)
    delivery = open_delivery(
        body, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, link_key=LINK, now_ms=T0
    )
    holding, _ = open_holding(delivery, T0, signer=VENDOR)
    taken: list[int] = []
    for i, version in enumerate(order):
        update = open_update(_body(version), link_key=LINK)
        try:
            holding, effects = step(holding, UpdateReceived(update), T0 + i, signer=VENDOR)
        except (UpdateReplayedError, UpdateStaleError) as exc:
            assert version <= holding.version, exc
            continue
        assert version > (taken[-1] if taken else 0)
        taken.append(version)
        assert isinstance(effects[0], DeleteData) and isinstance(effects[1], Persist)
        sent = effects[-1]
        assert isinstance(sent, SendMessage)
        receipt = open_receipt(sent.body, issuer=VENDOR.peer_id, subject=PERSON.peer_id)
        assert isinstance(receipt, UpdateReceipt) and receipt.version == version
    assert holding.version == max(order)
    assert holding.fields == (_email(max(order)),)
    statement = holdings_statement(
        [holding], grantor=PERSON.peer_id, query_id=bytes(16), now_ms=T0, signer=VENDOR
    )
    assert [item.version for item in statement.items] == [max(order)]


def test_update_for_another_grant_is_a_usage_error() -> None:
    with pytest.raises(AmityError) as excinfo:
        open_update(_body(1), link_key=LINK).check_for(_grant(bytes(16)))
    assert excinfo.value.code == "local.usage"
