"""Agreements: the spec vectors, third-party verification, every tampering refused."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.agreement import (
    Agreement,
    agreement_signed_bytes,
    sign_agreement,
    verify_agreement_signature,
)
from amity.protocol.errors import (
    AgreementSignatureError,
    AmityError,
    RemoteError,
    UsageError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.terms import TermsDocument
from tests.protocol.test_terms import TERMS_FILE, cases, terms_documents
from tests.strategies import each_byte_tampered, mutated, timestamps_ms
from tests.vectors import unhex

IDS = {
    name: SigningIdentity(bytes.fromhex(i["seed_hex"]))
    for name, i in TERMS_FILE["identities"].items()
}
PERSON, VENDOR, MALLORY = IDS["person"], IDS["vendor"], IDS["mallory"]
DOCUMENTS = {n: TermsDocument.decode(bytes.fromhex(h)) for n, h in TERMS_FILE["documents"].items()}
NID = bytes(range(0x10, 0x20))


@pytest.mark.parametrize("vector", **cases("agreement"))
def test_agreement_vector(vector: dict[str, Any]) -> None:
    data = unhex(vector, "agreement_hex")
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            Agreement.decode(data)
        assert info.value.code == vector["error"], info.value
        return
    terms = DOCUMENTS[vector["terms"]]
    nid = unhex(vector, "negotiation_id_hex")
    signed = agreement_signed_bytes(terms, PERSON.peer_id, VENDOR.peer_id, nid, vector["agreed_ms"])
    assert signed.hex() == vector["signed_bytes_hex"]
    assert sign_agreement(PERSON, signed).hex() == vector["person_sig_hex"]
    assert sign_agreement(VENDOR, signed).hex() == vector["vendor_sig_hex"]
    made = Agreement.create(terms, PERSON, VENDOR, nid, vector["agreed_ms"])
    assert made.encoded == data
    decoded = Agreement.decode(data)
    assert decoded == made
    assert decoded.agreement_id.hex() == vector["agreement_id_hex"]
    assert (decoded.person, decoded.vendor, decoded.terms) == (
        PERSON.peer_id,
        VENDOR.peer_id,
        terms,
    )


def test_identities_follow_from_their_seeds() -> None:
    for name, identity in IDS.items():
        assert identity.peer_id.key.hex() == TERMS_FILE["identities"][name]["peer_id_hex"]


def test_every_single_byte_change_is_refused() -> None:
    """Flip, set or clear each byte of a real agreement: each variant fails verification."""
    good = Agreement.create(DOCUMENTS["mine"], PERSON, VENDOR, NID, 1_767_225_600_000).encoded
    for index, mask, tampered in each_byte_tampered(good):
        with pytest.raises(RemoteError):
            Agreement.decode(tampered)
            pytest.fail(f"byte {index} ^ {mask:#x} went unnoticed")


def test_signatures_are_checked_per_party() -> None:
    signed = agreement_signed_bytes(DOCUMENTS["mine"], PERSON.peer_id, VENDOR.peer_id, NID, 0)
    with pytest.raises(AgreementSignatureError, match="vendor"):
        Agreement.assemble(signed, sign_agreement(PERSON, signed), sign_agreement(MALLORY, signed))
    verify_agreement_signature(PERSON.peer_id, signed, sign_agreement(PERSON, signed))
    with pytest.raises(AgreementSignatureError):
        verify_agreement_signature(VENDOR.peer_id, signed, sign_agreement(PERSON, signed))


def test_local_misuse() -> None:
    with pytest.raises(UsageError):
        agreement_signed_bytes(DOCUMENTS["mine"], PERSON.peer_id, PERSON.peer_id, NID, 0)
    with pytest.raises(UsageError):
        agreement_signed_bytes(DOCUMENTS["mine"], PERSON.peer_id, VENDOR.peer_id, NID[:8], 0)


@settings(max_examples=40)
@given(terms_documents(), st.binary(min_size=16, max_size=16), timestamps_ms())
def test_round_trip(terms: TermsDocument, nid: bytes, agreed_ms: int) -> None:
    made = Agreement.create(terms, PERSON, VENDOR, nid, agreed_ms)
    assert Agreement.decode(made.encoded) == made
    # Both parties hold byte-identical agreements: signatures are deterministic.
    assert Agreement.create(terms, PERSON, VENDOR, nid, agreed_ms).encoded == made.encoded


_GOOD = Agreement.create(DOCUMENTS["P2B1"], PERSON, VENDOR, NID, 1_767_225_600_000).encoded


@given(mutated(st.just(_GOOD)) | st.binary(max_size=300))
def test_decode_raises_only_remote_errors(data: bytes) -> None:
    with contextlib.suppress(RemoteError):
        assert Agreement.decode(data).encoded == _GOOD
