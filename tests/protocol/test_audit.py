"""The audit chain and consent receipts against spec/vectors/audit.json; any mutation is caught."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.audit import (
    GENESIS,
    AuditHead,
    Controller,
    append,
    consent_receipt_json,
    decode_entry,
    read_consent_receipt,
    sign_consent_receipt,
    verify_chain,
)
from amity.protocol.errors import AmityError, AuditChainError, UsageError
from amity.protocol.grants import Grant
from amity.protocol.identity import PeerId, SigningIdentity
from tests.strategies import arbitrary_bytes, mutated
from tests.vectors import unhex, vector_cases


def _head(data: dict[str, Any]) -> AuditHead:
    return AuditHead(data["length"], bytes.fromhex(data["hash_hex"]))


@pytest.mark.parametrize("vector", **vector_cases("audit", error=False))
def test_audit_vector(vector: dict[str, Any]) -> None:
    if vector["kind"] == "signed-consent-receipt":
        signer, receipt, grant = read_consent_receipt(vector["jws"])
        assert (signer.did, receipt) == (vector["signer"], vector["receipt"])
        assert grant.grant_id.hex() == receipt["amity"]["grantId"]
        identity = SigningIdentity(unhex(vector, "seed_hex"))
        assert sign_consent_receipt(identity, vector["receipt"]) == vector["jws"]
        return
    if vector["kind"] == "consent-receipt":
        controller = vector.get("controller")
        receipt = consent_receipt_json(
            Grant.decode(unhex(vector, "grant_hex")),
            controller=None if controller is None else Controller(**controller),
            jurisdiction=vector.get("jurisdiction", ""),
            policy_url=vector.get("policy_url", ""),
            purpose_category=vector.get("purpose_category", ()),
        )
        assert json.loads(json.dumps(receipt)) == vector["receipt"]
        return
    head = _head(vector["start"])
    for item, entry_hex, head_json in zip(
        vector["entries"], vector["entries_hex"], vector["heads"], strict=True
    ):
        peer = None if item["peer_hex"] is None else PeerId(bytes.fromhex(item["peer_hex"]))
        entry, head = append(
            head,
            ts_ms=item["ts_ms"],
            kind=item["kind"],
            peer=peer,
            subject=bytes.fromhex(item["subject_hex"]),
            detail=item["detail"],
        )
        assert entry.hex() == entry_hex
        assert head == _head(head_json)
        assert decode_entry(entry).hash == head.hash
    entries = [bytes.fromhex(e) for e in vector["entries_hex"]]
    assert verify_chain(entries, head=_head(vector["head"])) == head


@pytest.mark.parametrize("vector", **vector_cases("audit", error=True))
def test_audit_refusal_vector(vector: dict[str, Any]) -> None:
    if vector["kind"] == "signed-consent-receipt":
        with pytest.raises(AmityError) as excinfo:
            read_consent_receipt(vector["jws"])
        assert excinfo.value.code == vector["error"]
        return
    if vector["kind"] == "audit-entry":
        with pytest.raises(AmityError) as excinfo:
            decode_entry(unhex(vector, "entry_hex"))
        assert excinfo.value.code == vector["error"]
        return
    head = _head(vector["head"]) if "head" in vector else None
    with pytest.raises(AmityError) as excinfo:
        verify_chain([bytes.fromhex(e) for e in vector["entries_hex"]], head=head)
    assert excinfo.value.code == vector["error"]


# -- any single-entry mutation is detected ---------------------------------------------------------

PEER = SigningIdentity(bytes([0xB0]) * 32).peer_id


def _log(count: int) -> tuple[list[bytes], AuditHead]:
    entries, head = [], GENESIS
    for index in range(count):
        entry, head = append(
            head,
            ts_ms=1_767_225_600_000 + index,
            kind="grant.read",
            peer=PEER if index % 2 else None,
            subject=bytes([index]) * 16,
            detail=f"entry {index}",
        )
        entries.append(entry)
    return entries, head


LOG, HEAD = _log(6)


@given(st.integers(0, len(LOG) - 1), st.data())
def test_any_edit_of_one_entry_is_caught(index: int, data: st.DataObject) -> None:
    changed = data.draw(mutated(st.just(LOG[index])))
    if changed == LOG[index]:
        return
    log = [*LOG[:index], changed, *LOG[index + 1 :]]
    with pytest.raises(AuditChainError):
        verify_chain(log, head=HEAD)


@given(st.integers(0, len(LOG) - 1), st.integers(0, len(LOG) - 1))
def test_removal_duplication_and_reordering_are_caught(i: int, j: int) -> None:
    removed = LOG[:i] + LOG[i + 1 :]
    duplicated = [*LOG[: i + 1], LOG[i], *LOG[i + 1 :]]
    swapped = list(LOG)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    for log in (removed, duplicated) + ((swapped,) if i != j else ()):
        with pytest.raises(AuditChainError):
            verify_chain(log, head=HEAD)


def test_a_log_continues_from_a_head() -> None:
    middle = verify_chain(LOG[:3])
    assert verify_chain(LOG[3:], start=middle, head=HEAD) == HEAD
    with pytest.raises(AuditChainError):
        verify_chain(LOG[4:], start=middle)
    assert verify_chain([]) == GENESIS


def test_append_checks_its_arguments() -> None:
    for changes in [
        {"kind": "Grant"},
        {"kind": "x" * 33},
        {"subject": bytes(65)},
        {"detail": "x" * 1025},
        {"detail": "\ud800"},
        {"ts_ms": -1},
    ]:
        arguments: dict[str, Any] = {
            "ts_ms": 0,
            "kind": "grant.read",
            "peer": None,
            "subject": b"",
            "detail": "",
        }
        with pytest.raises(UsageError):
            append(GENESIS, **(arguments | changes))


@given(st.one_of(arbitrary_bytes(), mutated(st.sampled_from(LOG))))
def test_decode_entry_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        decode_entry(data)


def test_a_signed_receipt_must_describe_the_grant_it_carries() -> None:
    """Signed by a party, but its receipt id (or any described member) changed: refused."""
    vector = vector_cases("audit", error=False)["argvalues"]
    (signed,) = [v for v in vector if v["name"] == "signed-consent-receipt-by-the-person"]
    identity = SigningIdentity(unhex(signed, "seed_hex"))
    receipt = signed["receipt"]
    other_id = "00000000-0000-0000-0000-000000000000"
    changes = (
        {**receipt, "consentReceiptID": other_id},
        {**receipt, "amity": {**receipt["amity"], "agreementId": "00" * 32}},
    )
    for changed in changes:
        with pytest.raises(AmityError) as caught:
            read_consent_receipt(sign_consent_receipt(identity, changed))
        assert caught.value.code == "audit.bad_jws"
