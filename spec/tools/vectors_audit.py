"""Test vectors for spec/grants.md §9 and §10: the hash-chained audit log and consent receipts.

Entries are packed here with msgpack and hashed with hashlib directly, then checked against
amity's ``append`` and ``verify_chain``; every negative vector changes one thing in a valid log.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import msgpack

from amity.protocol.audit import (
    GENESIS,
    AuditHead,
    Controller,
    append,
    consent_receipt_json,
    decode_entry,
    sign_consent_receipt,
)
from amity.protocol.audit import verify_chain as verify
from amity.protocol.errors import AmityError
from amity.protocol.grants import Onward
from amity.protocol.identity import SigningIdentity
from amity.protocol.jws import canonical_json, sign_jws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectors_grants import DAY_MS, GRANT, GRANT_ID, PERSON, T0, VENDOR, _grant

NOTES = (
    "audit-chain: append() from the head given (length, hash_hex; the genesis head is 0 and 32 "
    "zero bytes) with each entry's inputs gives exactly entries_hex and the heads; "
    "verify_chain(entries_hex, head=head) returns the last head. Negatives: "
    "verify_chain(entries_hex, head=head if given) must raise `error`. consent-receipt: "
    "consent_receipt_json(Grant.decode(grant_hex), controller, jurisdiction, policy_url, "
    "purpose_category) equals `receipt`. signed-consent-receipt: read_consent_receipt(jws) "
    "returns (signer, receipt, grant), or raises `error`; sign_consent_receipt(seed, receipt) "
    "gives exactly `jws` (spec/grants.md §10.1). audit-entry: decode_entry(entry_hex) must raise `error` "
    "(one entry read on its own, spec/grants.md §9)."
)
DOMAIN = b"amity/audit/v1\x00"
#: Neither party of the grant (signs the refused receipt vector).
STRANGER = SigningIdentity(bytes.fromhex("5742" * 16))
ENTRIES: list[dict[str, Any]] = [
    {"ts_ms": T0, "kind": "agreement", "peer": VENDOR.peer_id, "subject": bytes(32), "detail": ""},
    {
        "ts_ms": T0 + 1,
        "kind": "grant.issued",
        "peer": VENDOR.peer_id,
        "subject": GRANT_ID,
        "detail": "email, phone, age-over, country-of for order-fulfilment",
    },
    {
        "ts_ms": T0 + 2,
        "kind": "grant.delivered",
        "peer": VENDOR.peer_id,
        "subject": GRANT_ID,
        "detail": "",
    },
    {
        "ts_ms": T0 + 9,
        "kind": "receipt.received",
        "peer": VENDOR.peer_id,
        "subject": GRANT_ID,
        "detail": "delivery",
    },
    {
        "ts_ms": T0 + DAY_MS,
        "kind": "grant.revoked",
        "peer": None,
        "subject": GRANT_ID,
        "detail": "revoked by the owner — «no longer a customer»",
    },
]


def _chain() -> tuple[list[bytes], list[AuditHead]]:
    entries, heads, head = [], [], GENESIS
    for index, spec in enumerate(ENTRIES):
        peer = spec["peer"]
        entry, head = append(head, **spec)
        raw = [1, index, (heads[-1].hash if heads else bytes(32)), spec["ts_ms"], spec["kind"]]
        raw += [None if peer is None else peer.key, spec["subject"], spec["detail"]]
        assert entry == msgpack.packb(raw, use_bin_type=True)
        assert head.hash == hashlib.blake2b(DOMAIN + entry, digest_size=32).digest()
        entries.append(entry)
        heads.append(head)
    return entries, heads


def _head(head: AuditHead) -> dict[str, Any]:
    return {"length": head.length, "hash_hex": head.hash.hex()}


def _chain_vectors() -> list[dict[str, Any]]:
    entries, heads = _chain()
    assert verify(entries, head=heads[-1]) == heads[-1]
    inputs = [
        {
            "ts_ms": e["ts_ms"],
            "kind": e["kind"],
            "peer_hex": None if e["peer"] is None else e["peer"].key.hex(),
            "subject_hex": e["subject"].hex(),
            "detail": e["detail"],
        }
        for e in ENTRIES
    ]
    out: list[dict[str, Any]] = [
        {
            "kind": "audit-chain",
            "name": "audit-chain-five",
            "description": "Agreement, grant, delivery, receipt, revocation: five linked entries.",
            "start": _head(GENESIS),
            "entries": inputs,
            "entries_hex": [e.hex() for e in entries],
            "heads": [_head(h) for h in heads],
            "head": _head(heads[-1]),
        }
    ]
    edited = msgpack.unpackb(entries[1])
    edited[7] = "email only"
    edited_last = msgpack.unpackb(entries[4])
    edited_last[3] += 1
    cut = AuditHead(4, heads[3].hash)
    pack = lambda value: msgpack.packb(value, use_bin_type=True)  # noqa: E731
    bad_version = msgpack.unpackb(entries[0])
    bad_version[0] = 2
    negatives: list[tuple[str, str, list[bytes], AuditHead | None]] = [
        (
            "audit-edited-entry",
            "Entry 1's detail rewritten.",
            [entries[0], pack(edited), *entries[2:]],
            None,
        ),
        ("audit-removed-entry", "Entry 2 removed.", [*entries[:2], *entries[3:]], None),
        (
            "audit-reordered",
            "Entries 2 and 3 swapped.",
            [*entries[:2], entries[3], entries[2], entries[4]],
            None,
        ),
        (
            "audit-duplicated",
            "Entry 2 stored twice.",
            [*entries[:3], entries[2], *entries[3:]],
            None,
        ),
        (
            "audit-last-edited",
            "The last entry's time changed: only the head shows it.",
            [*entries[:4], pack(edited_last)],
            heads[-1],
        ),
        (
            "audit-truncated",
            "The last entry cut off: only the head shows it.",
            entries[:4],
            heads[-1],
        ),
        (
            "audit-head-behind",
            "An intact log of 5 entries, but the head kept beside it says 4: "
            "an entry was added behind the head's back.",
            entries,
            cut,
        ),
        (
            "audit-entry-not-canonical",
            "Entry 0's array header as array16 (dc 00 08), not fixarray.",
            [b"\xdc\x00\x08" + entries[0][1:], *entries[1:]],
            None,
        ),
        ("audit-version-2", "Entry 0 claims version 2.", [pack(bad_version), *entries[1:]], None),
    ]
    for name, description, log, head in negatives:
        try:
            verify(log, head=head)
        except AmityError as exc:
            assert exc.code == "audit.broken_chain", f"{name}: {exc.code}"
        else:
            raise AssertionError(f"{name}: accepted")
        vector: dict[str, Any] = {
            "kind": "audit-chain",
            "name": name,
            "description": description,
            "entries_hex": [e.hex() for e in log],
        }
        if head is not None:
            vector["head"] = _head(head)
        out.append(vector | {"error": "audit.broken_chain"})
    return out


def _entry_vectors() -> list[dict[str, Any]]:
    """One entry read alone: the version rule of spec/encoding.md §5.4 and the size limit."""
    entry = msgpack.unpackb(_chain()[0][0])
    pack = lambda value: msgpack.packb(value, use_bin_type=True)  # noqa: E731
    cases = [
        ("audit-entry-version-2", "Version 2.", pack([2, *entry[1:]]), "version.unsupported"),
        (
            "audit-entry-version-2-short",
            "Version 2 with two fields: the version is read before the arity.",
            pack([2, 0]),
            "version.unsupported",
        ),
        (
            "audit-entry-version-true",
            "Version true is not the int 1.",
            pack([True, *entry[1:]]),
            "version.unsupported",
        ),
        ("audit-entry-empty", "An empty array: no version.", pack([]), "version.unsupported"),
        (
            "audit-entry-too-large",
            "1281 bytes (limit 1280): refused for its size before it is decoded.",
            pack([*entry[:7], "d" * (1281 - len(pack([*entry[:7], ""])) - 2)]),
            "encoding.too_large",
        ),
    ]
    out = []
    for name, description, data, error in cases:
        if name == "audit-entry-too-large":
            assert len(data) == 1281, len(data)
        try:
            decode_entry(data)
        except AmityError as exc:
            assert exc.code == error, f"{name}: {exc.code}"
        else:
            raise AssertionError(f"{name}: accepted")
        out.append(
            {
                "kind": "audit-entry",
                "name": name,
                "description": description,
                "entry_hex": data.hex(),
                "error": error,
            }
        )
    return out


AGGREGATE = _grant(fields=["email"], context="", onward=Onward.AGGREGATE_ONLY)


def _consent_vectors() -> list[dict[str, Any]]:
    controller = Controller(
        name="Corner Bookshop GmbH",
        contact="Data protection officer",
        address="Marktplatz 1, 10178 Berlin, DE",
        email="privacy@bookshop.example",
        phone="+4930987654",
        url="https://bookshop.example",
    )
    options: dict[str, Any] = {
        "jurisdiction": "DE",
        "policy_url": "https://bookshop.example/privacy",
        "purpose_category": ["dpv:ServiceProvision"],
    }
    receipt = consent_receipt_json(GRANT, controller=controller, **options)
    bare = consent_receipt_json(GRANT)
    assert bare["piiControllers"][0]["piiController"] == VENDOR.peer_id.did
    assert receipt["piiPrincipalId"] == PERSON.peer_id.did
    return [
        {
            "kind": "consent-receipt",
            "name": "consent-receipt-typical",
            "description": "The typical grant as a Kantara CR v1.1-shaped consent receipt.",
            "grant_hex": GRANT.encoded.hex(),
            "controller": {
                "name": controller.name,
                "contact": controller.contact,
                "address": controller.address,
                "email": controller.email,
                "phone": controller.phone,
                "url": controller.url,
            },
            **options,
            "receipt": receipt,
        },
        {
            "kind": "consent-receipt",
            "name": "consent-receipt-aggregate-only",
            "description": (
                "A grant with onward = aggregate-only and no context: the service is the purpose, "
                "and onwardText says aggregates only."
            ),
            "grant_hex": AGGREGATE.encoded.hex(),
            "receipt": consent_receipt_json(AGGREGATE),
        },
        {
            "kind": "signed-consent-receipt",
            "name": "signed-consent-receipt-by-the-person",
            "description": (
                "consent-receipt-typical signed by the person (the grantor) as a compact JWS, "
                "EdDSA: header {alg, kid, typ} and the receipt as canonical JSON (sorted keys, "
                "no spaces, UTF-8), unpadded base64url. Ed25519 is deterministic: the token is "
                "exactly this; read_consent_receipt(jws) returns the signer, the receipt, the grant."
            ),
            "seed_hex": PERSON.seed.hex(),
            "receipt": receipt,
            "jws": sign_consent_receipt(PERSON, receipt),
            "signer": PERSON.peer_id.did,
        },
        {
            "kind": "signed-consent-receipt",
            "name": "signed-consent-receipt-by-a-stranger",
            "description": (
                "The same receipt signed by someone who is neither party: a valid JWS, refused."
            ),
            "receipt": receipt,
            "jws": sign_jws(STRANGER, canonical_json(receipt), typ="JWT"),
            "error": "audit.bad_jws",
        },
        {
            "kind": "consent-receipt",
            "name": "consent-receipt-defaults",
            "description": "No controller details known: the grantee's did:key names it.",
            "grant_hex": GRANT.encoded.hex(),
            "receipt": bare,
        },
    ]


def build() -> dict[str, Any]:
    vectors = [*_chain_vectors(), *_entry_vectors(), *_consent_vectors()]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity audit log (hash chain) and consent receipts",
        "spec": "spec/grants.md",
        "notes": NOTES,
        "vectors": vectors,
    }
