"""Vault fields and their seal at rest against spec/vectors/grants.json, and arbitrary input."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.errors import AmityError, FieldValueError, UsageError, VaultDecryptError
from amity.protocol.vault import (
    COUNTRY_CODES,
    MAX_FIELD_BYTES,
    Field,
    FieldType,
    PostalAddress,
    birth_date,
    decode_field,
    encode_field,
    field_from_value,
    open_field,
    seal_field,
    vault_key,
)
from tests.strategies import arbitrary_bytes, mutated, seeds, strs
from tests.vectors import load_vector_file, unhex

VECTORS = load_vector_file("grants")["vectors"]


def cases(kind: str, *, error: bool) -> dict[str, Any]:
    """One parametrize case per vector of ``kind`` in grants.json (positive or negative)."""
    found = [v for v in VECTORS if v["kind"] == kind and ("error" in v) == error]
    return {"argvalues": found, "ids": [v["name"] for v in found]}


def field_from_json(data: dict[str, Any]) -> Field:
    """A Field from its JSON form in the vectors (addresses as objects)."""
    value = data["value"]
    if isinstance(value, dict):
        value = [value["street"], value["city"], value["postcode"], value["country"]]
    return field_from_value([data["name"], data["type"], value])


# -- vectors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **cases("field", error=False))
def test_field_vector(vector: dict[str, Any]) -> None:
    item = field_from_json(vector["field"])
    assert encode_field(item).hex() == vector["field_hex"]
    assert decode_field(unhex(vector, "field_hex")) == item


@pytest.mark.parametrize("vector", **cases("field", error=True))
def test_field_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        decode_field(unhex(vector, "field_hex"))
    assert excinfo.value.code == vector["error"]


@pytest.mark.parametrize("vector", **cases("vault-seal", error=False))
def test_seal_vector(vector: dict[str, Any]) -> None:
    key = vault_key(unhex(vector, "seed_hex"))
    assert key.hex() == vector["key_hex"]
    item = decode_field(unhex(vector, "field_hex"))
    sealed = seal_field(key, item, unhex(vector, "nonce_hex"))
    assert sealed.hex() == vector["sealed_hex"]
    assert open_field(key, sealed, name=vector["row_name"]) == item


@pytest.mark.parametrize("vector", **cases("vault-seal", error=True))
def test_seal_refusal_vector(vector: dict[str, Any]) -> None:
    key = vault_key(unhex(vector, "seed_hex"))
    with pytest.raises(AmityError) as excinfo:
        open_field(key, unhex(vector, "sealed_hex"), name=vector["row_name"])
    assert excinfo.value.code == vector["error"]


# -- rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (FieldType.PHONE, "+" + "9" * 15, True),
        (FieldType.PHONE, "+" + "9" * 16, False),
        (FieldType.PHONE, "+1", False),
        (FieldType.BIRTH_DATE, "2000-02-29", True),
        (FieldType.BIRTH_DATE, "1900-02-29", False),
        (FieldType.BIRTH_DATE, "2000-2-28", False),
        (FieldType.EMAIL, "a.b+c@mail.example.org", True),
        (FieldType.EMAIL, "a..b@example.org", False),
        (FieldType.EMAIL, "x" * 65 + "@example.org", False),
        (FieldType.EMAIL, "a@-example.org", False),
        (FieldType.NAME, "é" * 100, True),
        (FieldType.NAME, "é" * 100 + "x", False),
        (FieldType.TEXT, "", True),
        (FieldType.TEXT, "line\r\n", False),
        (FieldType.PREFERENCES, (), True),
        (FieldType.PREFERENCES, (("a", "1"),) * 2, False),
        (FieldType.POSTAL_ADDRESS, PostalAddress("1 Main St", "Cork", "", "IE"), True),
        (FieldType.POSTAL_ADDRESS, PostalAddress("1 Main St", "Cork", "T12_X", "IE"), False),
    ],
)
def test_type_rules(kind: FieldType, value: Any, ok: bool) -> None:
    if ok:
        item = Field("f", kind, value)
        assert decode_field(encode_field(item)) == item
    else:
        with pytest.raises(UsageError):
            Field("f", kind, value)


def test_country_codes_are_the_assigned_set() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"DE", "GB", "SS", "BQ"} <= COUNTRY_CODES
    assert not {"XK", "UK", "EU", "AN"} & COUNTRY_CODES


def test_reserved_names_and_repr() -> None:
    with pytest.raises(UsageError):
        Field("age-over", FieldType.TEXT, "18")
    secret = Field("phone", FieldType.PHONE, "+4930123456")
    assert "+4930" not in repr(secret)


def test_birth_date_parses() -> None:
    assert birth_date("2004-02-29").isoformat() == "2004-02-29"
    with pytest.raises(FieldValueError):
        birth_date("2004-02-30", error=FieldValueError)


def test_sealing_needs_the_right_sizes() -> None:
    key = vault_key(bytes(32))
    item = Field("name", FieldType.NAME, "Alice")
    with pytest.raises(UsageError):
        seal_field(key, item, bytes(12))
    with pytest.raises(UsageError):
        vault_key(bytes(16))
    with pytest.raises(UsageError):
        open_field(key[:16], seal_field(key, item, bytes(24)), name="name")


_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n"), max_size=200
)


@given(seeds(), st.binary(min_size=24, max_size=24), _TEXT)
def test_seal_round_trip(seed: bytes, nonce: bytes, text: str) -> None:
    item = Field("note", FieldType.TEXT, text)
    sealed = seal_field(vault_key(seed), item, nonce)
    assert open_field(vault_key(seed), sealed, name="note") == item
    with pytest.raises(VaultDecryptError):
        open_field(vault_key(bytes(a ^ 1 for a in seed)), sealed, name="note")


@given(strs(60))
def test_text_rules_agree_with_decoding(text: str) -> None:
    """Whatever text is drawn, Field() and the decoder accept or refuse it alike."""
    try:
        item = Field("note", FieldType.TEXT, text)
    except UsageError:
        with pytest.raises(FieldValueError):
            field_from_value(["note", "text", text])
    else:
        assert decode_field(encode_field(item)) == item


# -- decoders raise nothing but AmityError ---------------------------------------------------------

_VALID_FIELDS = st.sampled_from([unhex(v, "field_hex") for v in VECTORS if v["kind"] == "field"])
_SEALED = unhex(next(v for v in VECTORS if v["name"] == "vault-seal-email"), "sealed_hex")


@given(st.one_of(arbitrary_bytes(), mutated(_VALID_FIELDS)))
def test_decode_field_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        assert len(encode_field(decode_field(data))) <= MAX_FIELD_BYTES


@given(st.one_of(arbitrary_bytes(), mutated(st.just(_SEALED))))
def test_open_field_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        open_field(vault_key(bytes.fromhex("a11ce0" + "00" * 28 + "a11c")), data, name="email")
