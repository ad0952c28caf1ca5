"""Receipts and the grant holder against spec/vectors/receipts.json, and any order of events."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.claims import DerivedClaim
from amity.protocol.delivery import Delivery, deliver, open_delivery
from amity.protocol.errors import AmityError, GrantFieldsError, NoGrantError, UsageError
from amity.protocol.grants import Grant, Onward, Revocation
from amity.protocol.holder import (
    CancelTimer,
    DeleteData,
    DeliveryReceived,
    Effect,
    Event,
    Holding,
    HoldingState,
    Persist,
    RelationshipEnded,
    RevocationReceived,
    SendMessage,
    SetTimer,
    TimerFired,
    open_holding,
    step,
)
from amity.protocol.holdings import holdings_statement, read
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.receipts import (
    MSG_RECEIPT,
    DeletionReason,
    DeletionReceipt,
    DeliveryReceipt,
    HeldGrant,
    HoldingsStatement,
    UpdateReceipt,
    decode_holdings_query,
    decode_receipt,
    encode_holdings_query,
    open_receipt,
)
from amity.protocol.vault import Field, FieldType, encode_field
from tests.strategies import arbitrary_bytes, mutated
from tests.vectors import unhex, vector_cases

# -- vectors ---------------------------------------------------------------------------------------


def _hex(value: Any) -> Any:
    """Undo the vectors' {"bytes_hex": ...} notation for bin values."""
    if isinstance(value, dict):
        return bytes.fromhex(value["bytes_hex"])
    return [_hex(v) for v in value] if isinstance(value, list) else value


def _issue(identity: SigningIdentity, grantor: PeerId, fields: list[Any]) -> bytes:
    _, kind, _, _, a, b, c = _hex(fields)
    if kind == "delivery":
        receipt: Any = DeliveryReceipt.issue(
            identity, grantor=grantor, grant_id=a, fields=b, received_ms=c
        )
    elif kind == "deletion":
        reason = DeletionReason(b)
        receipt = DeletionReceipt.issue(
            identity, grantor=grantor, grant_id=a, reason=reason, deleted_ms=c
        )
    elif kind == "update":
        receipt = UpdateReceipt.issue(
            identity, grantor=grantor, grant_id=a, version=b, replaced_ms=c
        )
    else:
        items = [HeldGrant(g, tuple(names), until, v) for g, names, until, v in c]
        receipt = HoldingsStatement.issue(
            identity, grantor=grantor, query_id=a, at_ms=b, items=items
        )
    encoded: bytes = receipt.encoded
    return encoded


def _receipt_cases(error: bool) -> dict[str, Any]:
    found = vector_cases("receipts", error=error)
    keep = [v for v in found["argvalues"] if v["kind"] == "receipt"]
    return {"argvalues": keep, "ids": [v["name"] for v in keep]}


@pytest.mark.parametrize("vector", **_receipt_cases(error=False))
def test_receipt_vector(vector: dict[str, Any]) -> None:
    identity = SigningIdentity(unhex(vector, "issuer_seed_hex"))
    subject = PeerId(unhex(vector, "subject_peer_id_hex"))
    data = _issue(identity, subject, vector["fields"])
    assert data.hex() == vector["receipt_hex"]
    receipt = open_receipt(data, issuer=identity.peer_id, subject=subject)
    assert receipt.encoded == data


@pytest.mark.parametrize("vector", **_receipt_cases(error=True))
def test_receipt_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        open_receipt(
            unhex(vector, "receipt_hex"),
            issuer=PeerId(unhex(vector, "issuer_peer_id_hex")),
            subject=PeerId(unhex(vector, "subject_peer_id_hex")),
        )
    assert excinfo.value.code == vector["error"]


def _delivery(vector: dict[str, Any]) -> Delivery:
    return open_delivery(
        unhex(vector, "body_hex"),
        grantor=PeerId(unhex(vector, "grantor_peer_id_hex")),
        grantee=SigningIdentity(unhex(vector, "grantee_seed_hex")).peer_id,
        link_key=LinkKey(unhex(vector, "link_seed_hex")),
        now_ms=vector["received_ms"],
    )


def _render(effect: Effect) -> str:
    if isinstance(effect, Persist):
        return f"persist {effect.holding.state.value}"
    if isinstance(effect, DeleteData):
        return f"delete-data {effect.grant_id.hex()}"
    if isinstance(effect, SendMessage):
        return f"send {effect.type} {effect.body.hex()}"
    if isinstance(effect, SetTimer):
        return f"set-timer {effect.token} at {effect.at_ms}"
    assert isinstance(effect, CancelTimer)
    return f"cancel-timer {effect.token}"


@pytest.mark.parametrize("vector", **vector_cases("receipts"))
def test_holder_vector(vector: dict[str, Any]) -> None:
    """The read, holder-trace and holdings-query vectors (receipts run above)."""
    if vector["kind"] == "holdings-query":
        assert encode_holdings_query(unhex(vector, "query_id_hex")).hex() == vector["body_hex"]
        assert decode_holdings_query(unhex(vector, "body_hex")).hex() == vector["query_id_hex"]
        return
    if vector["kind"] == "receipt":
        return
    grantee = SigningIdentity(unhex(vector, "grantee_seed_hex"))
    holding, effects = open_holding(_delivery(vector), vector["received_ms"], signer=grantee)
    grantor = holding.grant.grantor
    if vector["kind"] == "read":
        with contextlib.ExitStack() as stack:
            if "error" in vector:
                raised = stack.enter_context(pytest.raises(AmityError))
            item = read(
                [holding],
                grantor=grantor,
                name=vector["field"],
                purpose=vector["purpose"],
                now_ms=vector["now_ms"],
            )
            data = encode_field(item) if isinstance(item, Field) else item.encoded
            assert data.hex() == vector["value_hex"]
        if "error" in vector:
            assert raised.value.code == vector["error"]
        return
    steps = [[_render(e) for e in effects]]
    for raw in vector["events"]:
        try:
            holding, effects = step(holding, _event(raw, vector), raw["now_ms"], signer=grantee)
        except AmityError as exc:
            assert exc.code == vector["error"]
            break
        steps.append([_render(e) for e in effects])
    assert steps == vector["effects"]
    if "final" in vector:
        final = vector["final"]
        assert holding.state.value == final["state"]
        assert (holding.deletion_reason and holding.deletion_reason.value) == final[
            "deletion_reason"
        ]
        assert len(holding.fields) + len(holding.claims) == final["values_held"]


def _event(raw: dict[str, Any], vector: dict[str, Any]) -> Event:
    if raw["event"] == "timer":
        return TimerFired(raw["token"])
    if raw["event"] == "end":
        return RelationshipEnded(raw["delete_within_ms"])
    if raw["event"] == "redeliver":
        return DeliveryReceived(_delivery(vector))
    return RevocationReceived(Revocation.decode(bytes.fromhex(raw["revocation_hex"])))


# -- the holder under any order of events ----------------------------------------------------------

PERSON = SigningIdentity(bytes([0xA0]) * 32)
VENDOR = SigningIdentity(bytes([0xB0]) * 32)
LINK = LinkKey(bytes([0xB1]) * 32)
T0 = 1_767_225_600_000
DAY_MS = 86_400_000


def _grant(grant_id: bytes, *, fields: tuple[str, ...] = ("email",), **changes: Any) -> Grant:
    inputs: dict[str, Any] = {
        "purpose": "support",
        "context": "",
        "onward": Onward.NONE,
        "issued_ms": T0,
        "not_after_ms": T0 + DAY_MS,
    }
    return Grant.issue(
        PERSON,
        grantee=VENDOR.peer_id,
        grant_id=grant_id,
        agreement_id=bytes(32),
        fields=fields,
        **(inputs | changes),
    )


GRANT = _grant(bytes(range(16)), not_after_ms=T0 + 10 * DAY_MS)
EMAIL = Field("email", FieldType.EMAIL, "alice@example.org")
DELIVERY = open_delivery(
    deliver(GRANT, [EMAIL], link_public=LINK.public, ephemeral_private=bytes(32)),
    grantor=PERSON.peer_id,
    grantee=VENDOR.peer_id,
    link_key=LINK,
    now_ms=T0,
)
REVOCATION = Revocation.issue(PERSON, GRANT, T0)


def _deletion_receipts(effects: list[Effect]) -> list[DeletionReceipt]:
    found = []
    for effect in effects:
        if isinstance(effect, SendMessage):
            assert effect.type == MSG_RECEIPT and effect.to == PERSON.peer_id
            receipt = decode_receipt(effect.body)
            if isinstance(receipt, DeletionReceipt):
                found.append(receipt)
    return found


@given(st.data())
def test_data_goes_exactly_once_whatever_the_order(data: st.DataObject) -> None:
    """Expiry, revocation and end in any order: nothing held after, one DeleteData, one receipt."""
    now = T0
    holding, effects = open_holding(DELIVERY, now, signer=VENDOR)
    history = list(effects)
    gone_by: int | None = None  # the time by which the data must be gone
    for _ in range(data.draw(st.integers(0, 12))):
        now += data.draw(st.sampled_from([0, 1, DAY_MS, 4 * DAY_MS]))
        action = data.draw(
            st.sampled_from(["revoke", "end", "redeliver", "due", "stale-timer", "read"])
        )
        event: Event | None = None
        if action == "revoke":
            event = RevocationReceived(REVOCATION)
            gone_by = now if gone_by is None else min(gone_by, now)
        elif action == "end":
            within = data.draw(st.sampled_from([0, DAY_MS, 3 * DAY_MS, 30 * DAY_MS]))
            event = RelationshipEnded(within)
            gone_by = min(now + within, gone_by if gone_by is not None else now + within)
        elif action == "redeliver":
            event = DeliveryReceived(DELIVERY)
        elif action == "due" and holding.timer_token is not None:
            assert holding.timer_at_ms == holding.deadline_ms
            now = max(now, holding.timer_at_ms or now)
            event = TimerFired(holding.timer_token)
        elif action == "stale-timer":
            event = TimerFired(data.draw(st.sampled_from(["delete-1", "delete-2", "bogus"])))
        if action == "read" or event is None:
            _check_read(holding, now, gone_by)
            continue
        before = holding
        holding, effects = step(holding, event, now, signer=VENDOR)
        history += effects
        if before.state is HoldingState.DELETED:
            assert effects == [] and holding == before
        if holding.state is HoldingState.DELETED:
            assert holding.fields == () and holding.claims == ()
        _check_read(holding, now, gone_by)
    if holding.timer_token is not None:  # the node fires the pending timer in the end
        assert holding.timer_at_ms is not None
        holding, effects = step(
            holding, TimerFired(holding.timer_token), holding.timer_at_ms, signer=VENDOR
        )
        history += effects
    assert holding.state is HoldingState.DELETED
    assert holding.fields == () and holding.claims == ()
    assert [e for e in history if isinstance(e, DeleteData)] == [DeleteData(GRANT.grant_id)]
    (receipt,) = _deletion_receipts(history)
    assert receipt.reason is holding.deletion_reason and receipt.deleted_ms == holding.deleted_ms


def _check_read(holding: Holding, now: int, gone_by: int | None) -> None:
    live = now < GRANT.not_after_ms and (gone_by is None or now < gone_by)
    try:
        item = read([holding], grantor=PERSON.peer_id, name="email", purpose="support", now_ms=now)
    except NoGrantError:
        assert not live or holding.state is HoldingState.DELETED
    else:
        assert live and item == EMAIL


def test_read_refuses_other_grantors_names_and_purposes() -> None:
    holding, _ = open_holding(DELIVERY, T0, signer=VENDOR)
    assert read([holding], grantor=PERSON.peer_id, name="email", purpose="support", now_ms=T0)
    for grantor, name, purpose in [
        (VENDOR.peer_id, "email", "support"),
        (PERSON.peer_id, "phone", "support"),
        (PERSON.peer_id, "email", "marketing"),
    ]:
        with pytest.raises(NoGrantError) as excinfo:
            read([holding], grantor=grantor, name=name, purpose=purpose, now_ms=T0)
        assert excinfo.value.hint == "grants.no_grant"
    with pytest.raises(NoGrantError):
        read([], grantor=PERSON.peer_id, name="email", purpose="support", now_ms=T0)


def test_holder_refuses_misuse() -> None:
    holding, _ = open_holding(DELIVERY, T0, signer=VENDOR)
    with pytest.raises(UsageError):
        step(holding, TimerFired("delete-1"), T0, signer=PERSON)
    other = _grant(bytes(16))
    with pytest.raises(UsageError):
        step(holding, RevocationReceived(Revocation.issue(PERSON, other, T0)), T0, signer=VENDOR)
    body = deliver(other, [EMAIL], link_public=LINK.public, ephemeral_private=bytes(32))
    changed = open_delivery(
        body, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, link_key=LINK, now_ms=T0
    )
    with pytest.raises(GrantFieldsError):
        step(holding, DeliveryReceived(changed), T0, signer=VENDOR)
    with pytest.raises(AmityError):
        open_holding(DELIVERY, GRANT.not_after_ms, signer=VENDOR)


def test_holdings_statement_lists_what_is_held() -> None:
    holding, _ = open_holding(DELIVERY, T0, signer=VENDOR)
    ended, _ = step(holding, RelationshipEnded(DAY_MS), T0 + 1, signer=VENDOR)
    statement = holdings_statement(
        [ended], grantor=PERSON.peer_id, query_id=bytes(16), now_ms=T0 + 2, signer=VENDOR
    )
    assert statement.items == (HeldGrant(GRANT.grant_id, ("email",), T0 + 1 + DAY_MS),)
    assert open_receipt(statement.encoded, issuer=VENDOR.peer_id, subject=PERSON.peer_id)
    deleted, _ = step(ended, RevocationReceived(REVOCATION), T0 + 3, signer=VENDOR)
    empty = holdings_statement(
        [deleted], grantor=PERSON.peer_id, query_id=bytes(16), now_ms=T0 + 4, signer=VENDOR
    )
    assert empty.items == ()


def test_claims_are_held_and_deleted_too() -> None:
    birth = Field("birth-date", FieldType.BIRTH_DATE, "2000-01-01")
    grant = _grant(bytes([7]) * 16, fields=("age-over",), purpose="age-check")
    claim = DerivedClaim.derive(
        PERSON,
        birth,
        "age-over",
        audience=VENDOR.peer_id,
        grant_id=grant.grant_id,
        at_ms=T0,
        age=18,
    )
    body = deliver(grant, [], [claim], link_public=LINK.public, ephemeral_private=bytes(32))
    delivery = open_delivery(
        body, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, link_key=LINK, now_ms=T0
    )
    holding, _ = open_holding(delivery, T0, signer=VENDOR)
    got = read([holding], grantor=PERSON.peer_id, name="age-over", purpose="age-check", now_ms=T0)
    assert got == claim
    holding, _ = step(holding, TimerFired("delete-1"), T0 + DAY_MS, signer=VENDOR)
    assert holding.claims == () and holding.deletion_reason is DeletionReason.EXPIRED


# -- decoders raise nothing but AmityError ---------------------------------------------------------

_RECEIPTS = st.sampled_from(
    [
        DeliveryReceipt.issue(
            VENDOR, grantor=PERSON.peer_id, grant_id=bytes(16), fields=["email"], received_ms=T0
        ).encoded,
        HoldingsStatement.issue(
            VENDOR,
            grantor=PERSON.peer_id,
            query_id=bytes(16),
            at_ms=T0,
            items=[HeldGrant(bytes(16), ("email", "phone"), T0)],
        ).encoded,
    ]
)


@given(st.one_of(arbitrary_bytes(), mutated(_RECEIPTS)))
def test_receipt_decoders_raise_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        decode_receipt(data)
    with contextlib.suppress(AmityError):
        decode_holdings_query(data)
