"""Test vectors for spec/reputation.md §6.2 and §7: automatic verdicts and the reputation.* bodies.

The attestations and rebuttals are those of ``vectors_reputation.py`` (same seeds and terms); the
grant and its receipts are those of ``vectors_grants.py``. Bodies are packed with msgpack here and
checked against amity; expected verdicts and evidence hashes follow the rules of §6.2 directly
(hashlib), then amity must agree.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectors_grants import (
    DAY_MS,
    GRANT,
    GRANT_FIELDS,
    GRANT_ID,
    NOT_AFTER,
    PERSON,
    VENDOR,
    VENDOR_SEED,
    _refused,
    _signed,
)
from vectors_reputation import (
    DAY,
    PEER,
    SEEDS,
    T0,
    _attestation_vectors,
    _rebuttal_vectors,
    agreement,
    attest,
    attestation_id,
    pack,
)

from amity.protocol.attestation import Attestation, Rebuttal
from amity.protocol.errors import (
    AttestationExpiredError,
    RebuttalMismatchError,
    SchemaError,
    TooLargeError,
    UnsupportedVersionError,
)
from amity.protocol.identity import PeerId
from amity.protocol.receipts import DeletionReason, DeletionReceipt, DeliveryReceipt
from amity.protocol.reputationmessages import (
    RawItem,
    decode_query,
    decode_rebut,
    decode_share,
    encode_query,
    encode_rebut,
    encode_share,
    read_item,
)
from amity.protocol.verdicts import ReceiptRecord, grant_verdict

NAMES = ["person", "vendor", "bob"]
QUERY_ID = bytes.fromhex("7e000000000000000000000000000071")
NOW = T0 + 13 * DAY
GRACE_MS = 3_600_000

NOTES = (
    "Identities, terms and attestations as in reputation.json (`identities` gives the seeds of "
    "the names used here). operation 'share': decode_share(body_hex) reads the structure "
    "enc([1, query_id, [[attestation, hops, [rebuttal...]]...]]): version 1 first, then 3 "
    "fields, query_id b'' (unasked, query_id_hex null) or 16 bytes, at most 64 items, hops "
    "0..8, at most 4 rebuttals per item; then each item is verified at now_ms (the attestation "
    "as in §2.2, then each rebuttal against it as in §3). A valid vector lists every item "
    "(attestation_hex, hops, rebuttals_hex) with what it verifies to (attestation_id_hex, "
    "attester, subject, rebutters), and encoding those items with that query id gives body_hex "
    "again; a negative one names the `error` of the first failure. 'query': enc([1, query_id "
    "bin16, subject bin32]). 'rebut': enc([1, attestation, rebuttal]), the rebuttal checked "
    "against the attestation. 'verdict' (§6.2): grant_verdict over the grant grant_hex with "
    "not_after_ms, revoked_ms (null: never revoked), grace_ms, now_ms and `receipts` (what the "
    "grantor received: kind, received_ms, receipt_hex) gives `verdict` (null: no verdict) and "
    "evidence_hex = [SHA-256(grant), SHA-256(the receipt it rests on)]. The grant and receipts "
    "are those of grants.json (grantor person, grantee vendor, not_after_ms = T0 + 30 days)."
)


def _find(vectors: list[dict[str, Any]], name: str) -> bytes:
    vector = next(v for v in vectors if v["name"] == name)
    return bytes.fromhex(vector.get("attestation_hex") or vector["rebuttal_hex"])


ATTESTATION = _find(_attestation_vectors(), "attestation-valid")
EXPIRED_AT = _attestation_vectors()[0]["expires_ms"]
REBUTTAL = _find(_rebuttal_vectors(), "rebuttal-valid")
OTHER_REBUTTAL = _find(_rebuttal_vectors(), "rebuttal-other-attestation")
#: Bob, who holds an agreement with the vendor too, says it breached.
BOB_ATTESTATION, BOB_SIGNED, _ = attest(
    "bob",
    "bob",
    "vendor",
    agreement("bob", "vendor"),
    verdict="breached",
    issued_ms=T0 + 11 * DAY,
    note="Kept my data after the grant ended.",
)


def _name(peer: PeerId) -> str:
    return next(n for n, key in PEER.items() if key == peer.key)


def _share_body(query_id: bytes | None, items: list[tuple[bytes, int, list[bytes]]]) -> bytes:
    return pack([1, query_id or b"", [[a, hops, rebuttals] for a, hops, rebuttals in items]])


def _read_share(body: bytes, now_ms: int) -> list[Any]:
    return [read_item(item, now_ms) for item in decode_share(body).items]


def _share_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    valid: list[tuple[str, str, bytes | None, list[tuple[bytes, int, list[bytes]]]]] = [
        (
            "share-unasked-with-rebuttal",
            "An unasked share of the person's attestation, relayed once, with the vendor's "
            "rebuttal beside it.",
            None,
            [(ATTESTATION, 1, [REBUTTAL])],
        ),
        (
            "share-answer",
            "The answer to a query about the vendor: two attestations about it, no rebuttals.",
            QUERY_ID,
            [(ATTESTATION, 0, []), (BOB_ATTESTATION, 2, [])],
        ),
        (
            "share-answer-empty",
            "The answer of a peer whose share policy allows nothing: the query id, no items.",
            QUERY_ID,
            [],
        ),
    ]
    for name, description, query_id, items in valid:
        body = _share_body(query_id, items)
        raw = [RawItem(a, hops, tuple(r)) for a, hops, r in items]
        assert encode_share(raw, query_id) == body, name
        share = decode_share(body)
        assert (share.query_id, list(share.items)) == (query_id, raw), name
        read = _read_share(body, NOW)
        out.append(
            {
                "name": name,
                "description": description,
                "operation": "share",
                "body_hex": body.hex(),
                "now_ms": NOW,
                "query_id_hex": None if query_id is None else query_id.hex(),
                "items": [
                    {
                        "attestation_hex": a.hex(),
                        "hops": hops,
                        "rebuttals_hex": [r.hex() for r in rebuttals],
                        "attestation_id_hex": item.attestation.attestation_id.hex(),
                        "attester": _name(item.attestation.attester),
                        "subject": _name(item.attestation.subject),
                        "rebutters": [_name(r.rebutter) for r in item.rebuttals],
                    }
                    for (a, hops, rebuttals), item in zip(items, read, strict=True)
                ],
            }
        )
    bob_id = attestation_id(BOB_SIGNED).hex()
    assert bob_id == out[1]["items"][1]["attestation_id_hex"]
    refused: list[tuple[str, str, bytes, int, str]] = [
        (
            "share-hops-9",
            "An item that has travelled 9 hops; at most 8 are allowed.",
            _share_body(None, [(ATTESTATION, 9, [])]),
            NOW,
            SchemaError.code,
        ),
        (
            "share-65-items",
            "65 items; at most 64 fit one share (the count is checked before any item is read; "
            "the items here are empty bins).",
            _share_body(None, [(b"", 0, [])] * 65),
            NOW,
            TooLargeError.code,
        ),
        (
            "share-5-rebuttals",
            "An item carrying 5 rebuttals; at most 4 are allowed.",
            _share_body(None, [(ATTESTATION, 0, [REBUTTAL] * 5)]),
            NOW,
            TooLargeError.code,
        ),
        (
            "share-query-id-3-bytes",
            "A query id of 3 bytes: neither empty (unasked) nor 16 bytes.",
            _share_body(QUERY_ID[:3], [(ATTESTATION, 0, [])]),
            NOW,
            SchemaError.code,
        ),
        (
            "share-version-2",
            "A version 2 body (with a fourth field v1 does not know): refused as a version.",
            pack([2, b"", [[ATTESTATION, 0, []]], "later"]),
            NOW,
            UnsupportedVersionError.code,
        ),
        (
            "share-rebuttal-mismatch",
            "A well-formed share whose item carries a rebuttal of another attestation.",
            _share_body(None, [(ATTESTATION, 0, [OTHER_REBUTTAL])]),
            NOW,
            RebuttalMismatchError.code,
        ),
        (
            "share-item-expired",
            "A well-formed share read at the attestation's expires_ms.",
            _share_body(None, [(ATTESTATION, 0, [])]),
            EXPIRED_AT,
            AttestationExpiredError.code,
        ),
    ]
    for name, description, body, now_ms, error in refused:
        _refused(name, error, lambda b=body, t=now_ms: _read_share(b, t))
        out.append(
            {
                "name": name,
                "description": description,
                "operation": "share",
                "body_hex": body.hex(),
                "now_ms": now_ms,
                "error": error,
            }
        )
    return out


def _sized(make: Any, size: int) -> bytes:
    """``make(n)`` for the ``n`` that gives exactly ``size`` bytes."""
    n = max(0, size - len(make(0)))
    while len(make(n)) > size:
        n -= 1
    data = make(n)
    assert len(data) == size, (len(data), size)
    return data


def _query_vectors() -> list[dict[str, Any]]:
    body = pack([1, QUERY_ID, PEER["vendor"]])
    assert encode_query(QUERY_ID, PeerId(PEER["vendor"])) == body
    assert decode_query(body) == (QUERY_ID, PeerId(PEER["vendor"]))
    out: list[dict[str, Any]] = [
        {
            "name": "query",
            "description": "What do you know about the vendor?",
            "operation": "query",
            "body_hex": body.hex(),
            "query_id_hex": QUERY_ID.hex(),
            "subject": "vendor",
        }
    ]
    for name, description, bad, error in [
        (
            "query-id-3-bytes",
            "A query id of 3 bytes; it is 16.",
            pack([1, QUERY_ID[:3], PEER["vendor"]]),
            SchemaError.code,
        ),
        (
            "query-too-large",
            "A query body of 65 bytes (limit 64; a query is 54): refused before it is decoded.",
            _sized(lambda n: pack([1, QUERY_ID, bytes(n)]), 65),
            TooLargeError.code,
        ),
        (
            "query-empty-array",
            "An empty body: a missing version is an unsupported one (spec/encoding.md §5.4).",
            pack([]),
            UnsupportedVersionError.code,
        ),
        (
            "query-version-true",
            "Version true is not the int 1.",
            pack([True, QUERY_ID, PEER["vendor"]]),
            UnsupportedVersionError.code,
        ),
        (
            "query-version-2",
            "A version 2 query.",
            pack([2, QUERY_ID, PEER["vendor"]]),
            UnsupportedVersionError.code,
        ),
    ]:
        _refused(name, error, lambda b=bad: decode_query(b))
        out.append(
            {
                "name": name,
                "description": description,
                "operation": "query",
                "body_hex": bad.hex(),
                "error": error,
            }
        )
    return out


def _rebut_vectors() -> list[dict[str, Any]]:
    body = pack([1, ATTESTATION, REBUTTAL])
    assert encode_rebut(ATTESTATION, REBUTTAL) == body
    found, answer = decode_rebut(body, NOW)
    assert (found, answer) == (Attestation.decode(ATTESTATION), Rebuttal.decode(REBUTTAL, found))
    mismatch = pack([1, ATTESTATION, OTHER_REBUTTAL])
    _refused("rebut-mismatch", RebuttalMismatchError.code, lambda: decode_rebut(mismatch, NOW))
    # 18752 (largest attestation) + 1256 (largest rebuttal) + 32 for the body around them.
    too_large = _sized(lambda n: pack([1, ATTESTATION, bytes(n)]), 20041)
    _refused("rebut-too-large", TooLargeError.code, lambda: decode_rebut(too_large, NOW))
    return [
        {
            "name": "rebut",
            "description": "The vendor rebuts the person's attestation.",
            "operation": "rebut",
            "body_hex": body.hex(),
            "now_ms": NOW,
            "attestation_hex": ATTESTATION.hex(),
            "rebuttal_hex": REBUTTAL.hex(),
            "attestation_id_hex": found.attestation_id.hex(),
            "rebutter": _name(answer.rebutter),
            "text": answer.text,
        },
        {
            "name": "rebut-too-large",
            "description": (
                "A rebut body of 20041 bytes (limit 20040: the largest attestation, the largest "
                "rebuttal and 32 bytes around them): refused before it is decoded."
            ),
            "operation": "rebut",
            "body_hex": too_large.hex(),
            "now_ms": NOW,
            "error": TooLargeError.code,
        },
        {
            "name": "rebut-mismatch",
            "description": "The rebuttal sent with the attestation answers another one.",
            "operation": "rebut",
            "body_hex": mismatch.hex(),
            "now_ms": NOW,
            "error": RebuttalMismatchError.code,
        },
    ]


# -- automatic verdicts (§6.2) ---------------------------------------------------------------------

DOMAIN = b"amity/receipt/v1\x00"
V, P = VENDOR.peer_id.key, PERSON.peer_id.key
DELIVERY = _signed([1, "delivery", V, P, GRANT_ID, GRANT_FIELDS, T0 + 5], DOMAIN, VENDOR_SEED)
DELETION = _signed([1, "deletion", V, P, GRANT_ID, "expired", NOT_AFTER], DOMAIN, VENDOR_SEED)
REVOKED_MS = T0 + DAY_MS
DELETION_REVOKED = _signed(
    [1, "deletion", V, P, GRANT_ID, "revoked", REVOKED_MS + 10], DOMAIN, VENDOR_SEED
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verdict_vectors() -> list[dict[str, Any]]:
    assert (
        DeliveryReceipt.issue(
            VENDOR,
            grantor=PERSON.peer_id,
            grant_id=GRANT_ID,
            fields=GRANT_FIELDS,
            received_ms=T0 + 5,
        ).encoded
        == DELIVERY
    )
    assert (
        DeletionReceipt.issue(
            VENDOR,
            grantor=PERSON.peer_id,
            grant_id=GRANT_ID,
            reason=DeletionReason.EXPIRED,
            deleted_ms=NOT_AFTER,
        ).encoded
        == DELETION
    )
    deadline = NOT_AFTER + GRACE_MS
    delivered = ("delivery", T0 + 6, DELIVERY)
    # name, description, revoked_ms, receipts, now_ms, verdict, the receipt the evidence cites
    cases: list[tuple[str, str, int | None, list[tuple[str, int, bytes]], int, Any, Any]] = [
        (
            "verdict-honoured",
            "Deletion receipt a minute after the grant expired: honoured.",
            None,
            [delivered, ("deletion", NOT_AFTER + 60_000, DELETION)],
            NOT_AFTER + 60_000,
            "honoured",
            DELETION,
        ),
        (
            "verdict-honoured-at-deadline",
            "Deletion receipt received exactly at the deadline (not_after + grace): in time.",
            None,
            [delivered, ("deletion", deadline, DELETION)],
            deadline + 1,
            "honoured",
            DELETION,
        ),
        (
            "verdict-breached-late-receipt",
            "Deletion receipt 1 ms after the deadline: breached, the late receipt is the evidence.",
            None,
            [delivered, ("deletion", deadline + 1, DELETION)],
            deadline + 1,
            "breached",
            DELETION,
        ),
        (
            "verdict-open-before-deadline",
            "Delivered, the grant expired, no deletion receipt yet, the deadline not reached.",
            None,
            [delivered],
            deadline - 1,
            None,
            None,
        ),
        (
            "verdict-open-at-deadline",
            "Delivered, no deletion receipt, now exactly the deadline: a receipt could still "
            "arrive in time, so no verdict yet.",
            None,
            [delivered],
            deadline,
            None,
            None,
        ),
        (
            "verdict-breached-no-receipt",
            "Delivered, no deletion receipt, the deadline passed: breached, on the delivery "
            "receipt.",
            None,
            [delivered],
            deadline + 1,
            "breached",
            DELIVERY,
        ),
        (
            "verdict-never-delivered",
            "No receipt at all, long after the deadline: no verdict (the data may never have "
            "arrived).",
            None,
            [],
            deadline + 30 * DAY_MS,
            None,
            None,
        ),
        (
            "verdict-revoked-breached",
            "Revoked on day 1: the deadline is revoked_ms + grace, long before not_after; no "
            "deletion receipt by then.",
            REVOKED_MS,
            [delivered],
            REVOKED_MS + GRACE_MS + 1,
            "breached",
            DELIVERY,
        ),
        (
            "verdict-revoked-honoured",
            "Revoked on day 1, the deletion receipt 10 ms later.",
            REVOKED_MS,
            [delivered, ("deletion", REVOKED_MS + 10, DELETION_REVOKED)],
            REVOKED_MS + 10,
            "honoured",
            DELETION_REVOKED,
        ),
        (
            "verdict-revoked-late-receipt",
            "Revoked on day 1, the deletion receipt only on day 2: breached, although the "
            "grant's not_after is weeks away.",
            REVOKED_MS,
            [delivered, ("deletion", REVOKED_MS + DAY_MS, DELETION_REVOKED)],
            REVOKED_MS + DAY_MS,
            "breached",
            DELETION_REVOKED,
        ),
    ]
    out: list[dict[str, Any]] = []
    for name, description, revoked_ms, receipts, now_ms, verdict, cited in cases:
        finding = grant_verdict(
            grant_encoded=GRANT.encoded,
            not_after_ms=NOT_AFTER,
            revoked_ms=revoked_ms,
            receipts=[ReceiptRecord(k, at, data) for k, at, data in receipts],
            grace_ms=GRACE_MS,
            now_ms=now_ms,
        )
        evidence = [] if cited is None else [_sha(GRANT.encoded), _sha(cited)]
        assert (None if finding is None else finding.verdict.value) == verdict, name
        assert ([] if finding is None else [h.hex() for h in finding.evidence]) == evidence, name
        out.append(
            {
                "name": name,
                "description": description,
                "operation": "verdict",
                "grant_hex": GRANT.encoded.hex(),
                "not_after_ms": NOT_AFTER,
                "revoked_ms": revoked_ms,
                "grace_ms": GRACE_MS,
                "now_ms": now_ms,
                "receipts": [
                    {"kind": k, "received_ms": at, "receipt_hex": data.hex()}
                    for k, at, data in receipts
                ],
                "verdict": verdict,
                "evidence_hex": evidence,
            }
        )
    return out


def build() -> dict[str, Any]:
    vectors = [*_share_vectors(), *_query_vectors(), *_rebut_vectors(), *_verdict_vectors()]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "Reputation messages (reputation.share, .query, .rebut) and automatic verdicts",
        "spec": "spec/reputation.md",
        "notes": NOTES,
        "identities": {name: {"seed_hex": SEEDS[name].hex()} for name in NAMES},
        "vectors": vectors,
    }
