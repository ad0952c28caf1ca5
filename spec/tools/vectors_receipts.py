"""Test vectors for spec/grants.md §7 and §8: receipts, the holdings query, reads and holder traces.

The fixtures (keys, the typical grant and its delivery) are those of ``vectors_grants.py``, so the
two files describe one story: the person grants, the vendor holds, reads, answers and deletes.
Expected receipts are packed with msgpack and signed with PyNaCl directly, then checked against
amity; the traces are checked against the table of spec/grants.md §8.3.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from amity.protocol.claims import DerivedClaim
from amity.protocol.errors import AmityError
from amity.protocol.grants import Revocation
from amity.protocol.holder import (
    CancelTimer,
    DeleteData,
    DeliveryReceived,
    Effect,
    Event,
    Holding,
    Persist,
    RelationshipEnded,
    RevocationReceived,
    SendMessage,
    SetTimer,
    TimerFired,
    open_holding,
    step,
)
from amity.protocol.holdings import read
from amity.protocol.receipts import (
    DeletionReason,
    DeletionReceipt,
    DeliveryReceipt,
    HeldGrant,
    HoldingsStatement,
    UpdateReceipt,
    decode_holdings_query,
    encode_holdings_query,
    open_receipt,
)
from amity.protocol.vault import Field, encode_field

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectors_grants import (
    BODY,
    DAY_MS,
    GRANT,
    GRANT_FIELDS,
    GRANT_ID,
    MALLORY,
    MALLORY_SEED,
    NOT_AFTER,
    OTHER_GRANT_ID,
    PERSON,
    QUERY_ID,
    T0,
    VENDOR,
    VENDOR_LINK_SEED,
    VENDOR_SEED,
    _open,
    _pack,
    _refused,
    _signed,
)

NOTES = (
    "Fixtures as in grants.json (person = grantor, vendor = grantee, mallory = anyone else). "
    "receipt: the issuer's seed signing `fields` under amity/receipt/v1 gives receipt_hex (bin "
    'values in `fields` are written {"bytes_hex": ...}); negatives: open_receipt(receipt_hex, issuer, '
    "subject) must raise `error`. holdings-query: the grant.holdings body. read: open the "
    "delivery body_hex with the link seed at received_ms, open_holding, then read(field, "
    "purpose, now_ms) gives value_hex (an encoded field or a derived claim) or `error`. "
    "holder-trace: open_holding at received_ms, then step() for each event at its now_ms; "
    "`effects` lists each step's effects in order, the first list being open_holding's: "
    "`persist STATE`, `delete-data GRANT_ID`, `send TYPE BODY_HEX`, `set-timer TOKEN at MS`, "
    "`cancel-timer TOKEN`; `final` is the holding after the last event, or `error` the code the "
    "last event is refused with."
)


def _pack_box(body: bytes) -> bytes:
    box: bytes = msgpack.unpackb(body)[2]
    return box


def _receipt_vectors() -> list[dict[str, Any]]:
    dom = b"amity/receipt/v1\x00"
    v, p = VENDOR.peer_id.key, PERSON.peer_id.key
    held = [
        HeldGrant(OTHER_GRANT_ID, ("email",), T0 + 7 * DAY_MS),
        HeldGrant(GRANT_ID, tuple(GRANT_FIELDS), NOT_AFTER, 2),
    ]
    receipts: list[tuple[str, str, Any, list[Any]]] = [
        (
            "receipt-delivery",
            "The vendor received the typical grant's four fields.",
            DeliveryReceipt.issue(
                VENDOR,
                grantor=PERSON.peer_id,
                grant_id=GRANT_ID,
                fields=GRANT_FIELDS,
                received_ms=T0 + 5,
            ),
            [1, "delivery", v, p, GRANT_ID, GRANT_FIELDS, T0 + 5],
        ),
        (
            "receipt-deletion",
            "The vendor deleted the grant's data after revocation.",
            DeletionReceipt.issue(
                VENDOR,
                grantor=PERSON.peer_id,
                grant_id=GRANT_ID,
                reason=DeletionReason.REVOKED,
                deleted_ms=T0 + DAY_MS,
            ),
            [1, "deletion", v, p, GRANT_ID, "revoked", T0 + DAY_MS],
        ),
        (
            "receipt-holdings",
            "What the vendor holds about the person: two grants, by grant id; the first in "
            "the version of its second update (spec/signals.md §2), the other as delivered.",
            HoldingsStatement.issue(
                VENDOR, grantor=PERSON.peer_id, query_id=QUERY_ID, at_ms=T0 + 9, items=held
            ),
            [
                1,
                "holdings",
                v,
                p,
                QUERY_ID,
                T0 + 9,
                [
                    [GRANT_ID, GRANT_FIELDS, NOT_AFTER, 2],
                    [OTHER_GRANT_ID, ["email"], T0 + 7 * DAY_MS, 0],
                ],
            ],
        ),
        (
            "receipt-holdings-empty",
            "The vendor holds nothing about the person.",
            HoldingsStatement.issue(
                VENDOR, grantor=PERSON.peer_id, query_id=QUERY_ID, at_ms=T0 + 9, items=[]
            ),
            [1, "holdings", v, p, QUERY_ID, T0 + 9, []],
        ),
        (
            "receipt-update",
            "The vendor replaced the typical grant's values by those of update 1 and deleted "
            "the values before them (spec/signals.md §2.4).",
            UpdateReceipt.issue(
                VENDOR,
                grantor=PERSON.peer_id,
                grant_id=GRANT_ID,
                version=1,
                replaced_ms=T0 + DAY_MS,
            ),
            [1, "update", v, p, GRANT_ID, 1, T0 + DAY_MS],
        ),
    ]
    out: list[dict[str, Any]] = []
    for name, description, receipt, fields in receipts:
        assert receipt.encoded == _signed(fields, dom, VENDOR_SEED)
        assert (
            open_receipt(receipt.encoded, issuer=VENDOR.peer_id, subject=PERSON.peer_id) == receipt
        )
        out.append(
            {
                "kind": "receipt",
                "name": name,
                "description": description,
                "issuer_seed_hex": VENDOR_SEED.hex(),
                "subject_peer_id_hex": p.hex(),
                "fields": _jsonable(fields),
                "receipt_hex": receipt.encoded.hex(),
            }
        )
    deletion = receipts[1][3]
    for name, description, data, error in [
        (
            "receipt-forged",
            "A deletion receipt in the vendor's name, signed by mallory.",
            _signed(deletion, dom, MALLORY_SEED),
            "grants.bad_signature",
        ),
        (
            "receipt-by-mallory",
            "A valid deletion receipt, but by mallory.",
            _signed([1, "deletion", MALLORY.peer_id.key, *deletion[3:]], dom, MALLORY_SEED),
            "grants.wrong_party",
        ),
        (
            "receipt-unknown-kind",
            "A kind v1 does not know.",
            _signed([1, "access", *deletion[2:]], dom, VENDOR_SEED),
            "encoding.schema",
        ),
        (
            "receipt-unknown-reason",
            "A deletion reason v1 does not know.",
            _signed([*deletion[:5], "bored", deletion[6]], dom, VENDOR_SEED),
            "encoding.schema",
        ),
        (
            "receipt-update-version-zero",
            "An update receipt for version 0: the delivery is version 0, updates start at 1.",
            _signed([1, "update", v, p, GRANT_ID, 0, T0 + DAY_MS], dom, VENDOR_SEED),
            "encoding.schema",
        ),
        (
            "receipt-holdings-three-part-items",
            "Holdings items without the version of the values held.",
            _signed(
                [1, "holdings", v, p, QUERY_ID, T0 + 9, [[GRANT_ID, GRANT_FIELDS, NOT_AFTER]]],
                dom,
                VENDOR_SEED,
            ),
            "encoding.schema",
        ),
        (
            "receipt-holdings-unsorted",
            "Holdings items out of grant id order.",
            _signed([*receipts[2][3][:6], list(reversed(receipts[2][3][6]))], dom, VENDOR_SEED),
            "encoding.schema",
        ),
    ]:
        _refused(
            name,
            error,
            lambda d=data: open_receipt(d, issuer=VENDOR.peer_id, subject=PERSON.peer_id),
        )
        out.append(
            {
                "kind": "receipt",
                "name": name,
                "description": description,
                "issuer_peer_id_hex": v.hex(),
                "subject_peer_id_hex": p.hex(),
                "receipt_hex": data.hex(),
                "error": error,
            }
        )
    query = encode_holdings_query(QUERY_ID)
    assert query == _pack([1, QUERY_ID]) and decode_holdings_query(query) == QUERY_ID
    out.append(
        {
            "kind": "holdings-query",
            "name": "holdings-query",
            "description": 'The grant.holdings body: "what do you hold about me?"',
            "query_id_hex": QUERY_ID.hex(),
            "body_hex": query.hex(),
        }
    )
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes_hex": value.hex()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _read_vectors() -> list[dict[str, Any]]:
    holding, _ = open_holding(_open(BODY), T0, signer=VENDOR)
    out: list[dict[str, Any]] = []
    for name, description, field_name, purpose, now_ms, error in [
        (
            "read-email",
            "The email, for the grant's purpose, while it is live.",
            "email",
            "order-fulfilment",
            T0 + DAY_MS,
            None,
        ),
        (
            "read-claim",
            "The age-over claim stands in for the birth date.",
            "age-over",
            "order-fulfilment",
            T0 + DAY_MS,
            None,
        ),
        (
            "read-field-not-in-grant",
            "The postal address was never granted (only country-of).",
            "postal-address",
            "order-fulfilment",
            T0,
            "grants.no_grant",
        ),
        (
            "read-other-purpose",
            "The email, but for marketing.",
            "email",
            "marketing",
            T0,
            "grants.no_grant",
        ),
        (
            "read-after-expiry",
            "The email at not_after_ms, before the timer fired.",
            "email",
            "order-fulfilment",
            NOT_AFTER,
            "grants.no_grant",
        ),
    ]:
        vector: dict[str, Any] = {
            "kind": "read",
            "name": name,
            "description": description,
            "body_hex": BODY.hex(),
            "link_seed_hex": VENDOR_LINK_SEED.hex(),
            "grantor_peer_id_hex": PERSON.peer_id.key.hex(),
            "grantee_seed_hex": VENDOR_SEED.hex(),
            "received_ms": T0,
            "field": field_name,
            "purpose": purpose,
            "now_ms": now_ms,
        }

        def call(n: str = field_name, p: str = purpose, t: int = now_ms) -> Field | DerivedClaim:
            return read([holding], grantor=PERSON.peer_id, name=n, purpose=p, now_ms=t)

        if error is not None:
            _refused(name, error, call)
            vector["error"] = error
        else:
            item = call()
            vector["value_hex"] = (
                encode_field(item) if isinstance(item, Field) else item.encoded
            ).hex()
        out.append(vector)
    return out


def _effect(effect: Effect) -> str:
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


def _trace_vectors() -> list[dict[str, Any]]:
    revocation = Revocation.issue(PERSON, GRANT, T0 + DAY_MS)
    foreign = _signed(
        [1, MALLORY.peer_id.key, VENDOR.peer_id.key, GRANT_ID, T0],
        b"amity/grant-revoke/v1\x00",
        MALLORY_SEED,
    )
    traces: list[tuple[str, str, list[tuple[int, dict[str, Any]]], str | None]] = [
        (
            "trace-expiry",
            "Held until the timer at not_after_ms fires: deleted, reason expired.",
            [(NOT_AFTER, {"event": "timer", "token": "delete-1"})],
            None,
        ),
        (
            "trace-revocation",
            "Revoked a day in; the timer that fires later is ignored.",
            [
                (T0 + DAY_MS, {"event": "revocation", "revocation_hex": revocation.encoded.hex()}),
                (NOT_AFTER, {"event": "timer", "token": "delete-1"}),
            ],
            None,
        ),
        (
            "trace-relationship-end",
            "The relationship ends on day 2 with delete-on-end within 3 days; re-delivered meanwhile.",
            [
                (T0 + 2 * DAY_MS, {"event": "end", "delete_within_ms": 3 * DAY_MS}),
                (T0 + 3 * DAY_MS, {"event": "redeliver"}),
                (T0 + 5 * DAY_MS, {"event": "timer", "token": "delete-2"}),
                (
                    T0 + 6 * DAY_MS,
                    {"event": "revocation", "revocation_hex": revocation.encoded.hex()},
                ),
            ],
            None,
        ),
        (
            "trace-end-immediate",
            "Delete-on-end within 0 days: deleted at once.",
            [(T0 + DAY_MS, {"event": "end", "delete_within_ms": 0})],
            None,
        ),
        (
            "trace-revocation-by-mallory",
            "A revocation of the grant signed by mallory is refused.",
            [(T0 + DAY_MS, {"event": "revocation", "revocation_hex": foreign.hex()})],
            "grants.wrong_party",
        ),
    ]
    out: list[dict[str, Any]] = []
    for name, description, events, error in traces:
        holding, steps = run_trace(name, events, error, _event)
        vector: dict[str, Any] = {
            "kind": "holder-trace",
            "name": name,
            "description": description,
            "grantor_peer_id_hex": PERSON.peer_id.key.hex(),
            "grantee_seed_hex": VENDOR_SEED.hex(),
            "link_seed_hex": VENDOR_LINK_SEED.hex(),
            "body_hex": BODY.hex(),
            "received_ms": T0,
            "events": [{"now_ms": at_ms, **raw} for at_ms, raw in events],
            "effects": steps,
        }
        if error is None:
            vector["final"] = {
                "state": holding.state.value,
                "deletion_reason": holding.deletion_reason.value
                if holding.deletion_reason
                else None,
                "values_held": len(holding.fields) + len(holding.claims),
            }
        else:
            vector["error"] = error
        out.append(vector)
    return out


def run_trace(
    name: str,
    events: list[tuple[int, dict[str, Any]]],
    error: str | None,
    event_of: Callable[[dict[str, Any]], Event],
) -> tuple[Holding, list[list[str]]]:
    """Open the holding of BODY at T0, then step it through ``events`` until the first refusal,
    which must be ``error``; the holding reached and the effects of each step, named."""
    holding, effects = open_holding(_open(BODY), T0, signer=VENDOR)
    steps = [[_effect(e) for e in effects]]
    for at_ms, raw in events:
        try:
            holding, effects = step(holding, event_of(raw), at_ms, signer=VENDOR)
        except AmityError as exc:
            assert exc.code == error, f"{name}: {exc.code}"
            break
        steps.append([_effect(e) for e in effects])
    else:
        assert error is None, f"{name}: accepted"
    return holding, steps


def _event(raw: dict[str, Any]) -> Event:
    kind = raw["event"]
    if kind == "timer":
        return TimerFired(raw["token"])
    if kind == "end":
        return RelationshipEnded(raw["delete_within_ms"])
    if kind == "redeliver":
        return DeliveryReceived(_open(BODY))
    return RevocationReceived(Revocation.decode(bytes.fromhex(raw["revocation_hex"])))


def build() -> dict[str, Any]:
    vectors = [*_receipt_vectors(), *_read_vectors(), *_trace_vectors()]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity receipts, holdings statements and the grant holder",
        "spec": "spec/grants.md",
        "notes": NOTES,
        "vectors": vectors,
    }
