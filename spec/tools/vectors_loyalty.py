"""Test vectors for spec/loyalty.md: a declaration and a revocation with their ids, and a
negative vector for each refusal a reader makes.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.encoding import Value
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity
from amity.protocol.loyalty import (
    LOYALTY_DOMAIN,
    LOYALTY_REVOKE_DOMAIN,
    Declaration,
    LoyaltyRevocation,
)
from amity.protocol.signed import sign_structure

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
YEAR = 365 * 24 * 3600 * 1000
PERSON = SigningIdentity(bytes.fromhex("a11ce0" + "00" * 27 + "a11c"))
VENDOR = SigningIdentity(bytes.fromhex("5e11e2" + "00" * 27 + "5e11"))
OTHER = SigningIdentity(bytes.fromhex("0e0e0e" + "00" * 27 + "0e0e"))
NOTES = (
    "operation 'declaration': Declaration.decode(declaration_hex) verifies and gives the fields "
    "shown and declaration_id_hex = SHA-256(domain || signed_bytes). operation 'revocation': "
    "LoyaltyRevocation.decode(revocation_hex). Negative vectors: decoding raises `error`."
)


def _fields(**changes: Value) -> list[Value]:
    f: dict[str, Value] = {
        "version": 1, "person": PERSON.peer_id.key, "vendor": VENDOR.peer_id.key,
        "since": T0, "until": T0 + 3 * YEAR, "cats": ["goods.bicycles", "services.repair"],
        "note": "since my first bike", "issued": T0 + YEAR,
    }  # fmt: skip
    f.update(changes)
    return list(f.values())


def _refused(name: str, description: str, op: str, data: bytes, error: str) -> dict[str, Any]:
    read = Declaration.decode if op == "declaration" else LoyaltyRevocation.decode
    try:
        read(data)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, "operation": op,
            f"{op}_hex": data.hex(), "error": error}  # fmt: skip


def build() -> dict[str, Any]:
    declaration = Declaration.create(
        PERSON, VENDOR.peer_id, since_ms=T0, until_ms=T0 + 3 * YEAR,
        categories=("services.repair", "goods.bicycles"), note="since my first bike",
        issued_ms=T0 + YEAR,
    )  # fmt: skip
    revocation = LoyaltyRevocation.create(PERSON, declaration, T0 + 2 * YEAR)
    sign = lambda f: sign_structure(f, LOYALTY_DOMAIN, PERSON)  # noqa: E731
    vectors = [
        {
            "name": "declaration",
            "description": "Loyal to the vendor from 2024 for three years, for two categories.",
            "operation": "declaration",
            "declaration_hex": declaration.encoded.hex(),
            "declaration_id_hex": declaration.declaration_id.hex(),
            "person_hex": PERSON.peer_id.key.hex(),
            "vendor_hex": VENDOR.peer_id.key.hex(),
            "since_ms": declaration.since_ms,
            "until_ms": declaration.until_ms,
            "categories": list(declaration.categories),
            "note": declaration.note,
            "issued_ms": declaration.issued_ms,
        },
        {
            "name": "revocation",
            "description": "She takes it back a year later.",
            "operation": "revocation",
            "revocation_hex": revocation.encoded.hex(),
            "declaration_id_hex": declaration.declaration_id.hex(),
            "person_hex": PERSON.peer_id.key.hex(),
            "revoked_ms": revocation.revoked_ms,
        },
        _refused("declaration-forged", "Signed by another key than the person it names.",
                 "declaration", sign_structure(_fields(), LOYALTY_DOMAIN, OTHER),
                 "loyalty.bad_signature"),
        _refused("declaration-backwards", "until_ms before since_ms.", "declaration",
                 sign(_fields(until=T0 - 1)), "encoding.schema"),
        _refused("declaration-to-herself", "The person and the vendor are one key.",
                 "declaration", sign(_fields(vendor=PERSON.peer_id.key)), "encoding.schema"),
        _refused("declaration-unsorted", "Categories out of order.", "declaration",
                 sign(_fields(cats=["services.repair", "goods.bicycles"])), "encoding.schema"),
        _refused("declaration-bad-category", "A category with capitals.", "declaration",
                 sign(_fields(cats=["Goods"])), "encoding.schema"),
        _refused("declaration-long-note", "A note past 200 bytes.", "declaration",
                 sign(_fields(note="x" * 201)), "encoding.too_large"),
        _refused("declaration-version-2", "A version this reader does not speak.",
                 "declaration", sign(_fields(version=2)), "version.unsupported"),
        _refused("declaration-oversized", "Larger than 2 048 bytes.", "declaration",
                 sign(_fields(cats=["a" * 64] * 40)), "encoding.too_large"),
        _refused("revocation-forged", "Signed by another key than the person it names.",
                 "revocation",
                 sign_structure([1, declaration.declaration_id, PERSON.peer_id.key, T0],
                                LOYALTY_REVOKE_DOMAIN, OTHER), "loyalty.bad_signature"),
        _refused("revocation-short-id", "A declaration id of 31 bytes.", "revocation",
                 sign_structure([1, bytes(31), PERSON.peer_id.key, T0], LOYALTY_REVOKE_DOMAIN,
                                PERSON), "encoding.schema"),
    ]  # fmt: skip
    return {"title": "Loyalty", "spec": "spec/loyalty.md", "notes": NOTES, "vectors": vectors}
