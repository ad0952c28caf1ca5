"""Test vectors for spec/signals.md §2: a grant's values updated under the same grant.

The fixtures (keys, the typical grant and its delivery) are those of ``vectors_grants.py``: the
vendor holds the typical grant; the person changed her email and sends version 1, 2 or 3 of the
grant's values. Update bodies are packed with msgpack and sealed with PyNaCl directly, then
checked against amity; the traces are checked against the table of spec/signals.md §2.3.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from amity.protocol.grants import Revocation
from amity.protocol.holder import (
    Event,
    RevocationReceived,
    TimerFired,
    UpdateReceived,
)
from amity.protocol.update import open_update, seal_update
from amity.protocol.vault import Field, FieldType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectors_grants import (
    CLAIMS,
    DAY_MS,
    EPHEMERAL_SEED,
    GRANT,
    GRANT_ID,
    NOT_AFTER,
    OTHER_LINK,
    PERSON,
    PHONE,
    T0,
    VENDOR_LINK,
    VENDOR_LINK_SEED,
    VENDOR_SEED,
    _box,
    _pack,
    _raw,
    _refused,
)
from vectors_receipts import run_trace

NOTES = (
    "Fixtures as in grants.json (person = grantor, vendor = grantee). update: "
    "seal_update(grant, version, fields, claims, updated_ms, link_public, ephemeral_seed) == "
    "body_hex, and open_update(body_hex, link_key(link_seed_hex)) gives grant_id_hex, version, "
    "updated_ms and the values; negatives: open_update (then Update.check_for(grant) for "
    "grants.field_mismatch) must raise `error`. update-trace: open the delivery body of grants.json "
    "(delivery-typical) and open_holding at received_ms, then step() for each event at its now_ms "
    "(`update`: open_update(body_hex); `revocation`, `timer` as in receipts.json); `effects` "
    "lists each step's effects in the notation of receipts.json's holder-trace, the first list "
    "being open_holding's; `final` is the holding after the last event, or `error` the code the "
    "last event is refused with."
)

NEW_EMAIL = Field("email", FieldType.EMAIL, "alice@new.example.org")


def _update(version: int, at_ms: int, email: Field = NEW_EMAIL) -> bytes:
    return seal_update(
        GRANT,
        version,
        [email, PHONE],
        CLAIMS,
        updated_ms=at_ms,
        link_public=VENDOR_LINK.public,
        ephemeral_private=EPHEMERAL_SEED,
    )


def _raw_update(plain: list[Any], link_public: bytes = VENDOR_LINK.public) -> bytes:
    return _pack([1, VENDOR_LINK.public, _box(_pack(plain), link_public)])


def _values(*fields: Field) -> list[Any]:
    return [[f.name, f.type.value, _raw(f)] for f in fields]


def _update_vectors() -> list[dict[str, Any]]:
    claims = [c.encoded for c in CLAIMS]
    body = _update(1, T0 + DAY_MS)
    assert body == _raw_update([1, GRANT_ID, 1, T0 + DAY_MS, _values(NEW_EMAIL, PHONE), claims])
    opened = open_update(body, link_key=VENDOR_LINK)
    opened.check_for(GRANT)
    out: list[dict[str, Any]] = [
        {
            "kind": "update",
            "name": "update-typical",
            "description": "Version 1 of the typical grant's values: a new email, the same "
            "phone and claims, sealed to the vendor.",
            "grant_hex": GRANT.encoded.hex(),
            "link_seed_hex": VENDOR_LINK_SEED.hex(),
            "link_public_hex": VENDOR_LINK.public.hex(),
            "ephemeral_seed_hex": EPHEMERAL_SEED.hex(),
            "grant_id_hex": GRANT_ID.hex(),
            "version": 1,
            "updated_ms": T0 + DAY_MS,
            "fields": [{"name": f.name, "type": f.type.value} for f in opened.fields],
            "values_hex": [_pack(v).hex() for v in _values(NEW_EMAIL, PHONE)],
            "claims_hex": [c.hex() for c in claims],
            "body_hex": body.hex(),
        }
    ]
    flipped = bytearray(body)
    flipped[-1] ^= 1
    good = [NEW_EMAIL, PHONE]
    for name, description, data, link, error in [
        (
            "update-version-zero",
            "Version 0: the delivery itself is version 0, updates start at 1.",
            _raw_update([1, GRANT_ID, 0, T0, _values(*good), claims]),
            VENDOR_LINK,
            "encoding.schema",
        ),
        (
            "update-field-missing",
            "Only the new email: an update carries every value the grant names.",
            _raw_update([1, GRANT_ID, 1, T0, _values(NEW_EMAIL), claims]),
            VENDOR_LINK,
            "grants.field_mismatch",
        ),
        (
            "update-phone-not-e164",
            "The phone value is not E.164.",
            _raw_update(
                [1, GRANT_ID, 1, T0, [_values(NEW_EMAIL)[0], ["phone", "phone", "030 1"]], claims]
            ),
            VENDOR_LINK,
            "vault.bad_value",
        ),
        (
            "update-five-parts",
            "The plaintext has no updated_ms.",
            _raw_update([1, GRANT_ID, 1, _values(*good), claims]),
            VENDOR_LINK,
            "encoding.schema",
        ),
        (
            "update-box-tampered",
            "One bit of the box flipped.",
            bytes(flipped),
            VENDOR_LINK,
            "seal.decrypt_failed",
        ),
        (
            "update-wrong-link-key",
            "Opened by a node holding another link key.",
            body,
            OTHER_LINK,
            "seal.wrong_key",
        ),
    ]:
        _refused(name, error, lambda d=data, k=link: open_update(d, link_key=k).check_for(GRANT))
        out.append(
            {
                "kind": "update",
                "name": name,
                "description": description,
                "grant_hex": GRANT.encoded.hex(),
                "link_seed_hex": link.private.hex(),
                "body_hex": data.hex(),
                "error": error,
            }
        )
    return out


def _event(raw: dict[str, Any]) -> Event:
    if raw["event"] == "update":
        return UpdateReceived(open_update(bytes.fromhex(raw["body_hex"]), link_key=VENDOR_LINK))
    if raw["event"] == "timer":
        return TimerFired(raw["token"])
    return RevocationReceived(Revocation.decode(bytes.fromhex(raw["revocation_hex"])))


def _trace_vectors() -> list[dict[str, Any]]:
    def update(version: int, at_ms: int) -> tuple[int, dict[str, Any]]:
        return at_ms, {"event": "update", "body_hex": _update(version, at_ms).hex()}

    revocation = Revocation.issue(PERSON, GRANT, T0 + 2 * DAY_MS).encoded.hex()
    traces: list[tuple[str, str, list[tuple[int, dict[str, Any]]], str | None]] = [
        (
            "update-trace-two-versions",
            "Versions 1 and 3 are taken in turn (a missing 2 is no matter: each version carries "
            "every value); each deletes the values before it and sends an update receipt.",
            [update(1, T0 + DAY_MS), update(3, T0 + 2 * DAY_MS)],
            None,
        ),
        (
            "update-trace-replayed",
            "Version 1 again, in a new envelope: grants.update_replayed.",
            [update(1, T0 + DAY_MS), update(1, T0 + 2 * DAY_MS)],
            "grants.update_replayed",
        ),
        (
            "update-trace-stale",
            "Version 1 after version 2: grants.update_stale.",
            [update(2, T0 + DAY_MS), update(1, T0 + 2 * DAY_MS)],
            "grants.update_stale",
        ),
        (
            "update-trace-after-revocation",
            "An update of a revoked grant: its data is gone, grants.no_grant.",
            [
                (T0 + 2 * DAY_MS, {"event": "revocation", "revocation_hex": revocation}),
                update(1, T0 + 3 * DAY_MS),
            ],
            "grants.no_grant",
        ),
        (
            "update-trace-after-expiry",
            "An update at not_after_ms, before the timer fired: grants.expired.",
            [update(1, NOT_AFTER)],
            "grants.expired",
        ),
        (
            "update-trace-after-expiry-deleted",
            "An update once the expiry timer deleted the data: grants.expired.",
            [(NOT_AFTER, {"event": "timer", "token": "delete-1"}), update(1, NOT_AFTER + 1)],
            "grants.expired",
        ),
    ]
    out: list[dict[str, Any]] = []
    for name, description, events, error in traces:
        holding, steps = run_trace(name, events, error, _event)
        vector: dict[str, Any] = {
            "kind": "update-trace",
            "name": name,
            "description": description,
            "grantor_peer_id_hex": PERSON.peer_id.key.hex(),
            "grantee_seed_hex": VENDOR_SEED.hex(),
            "link_seed_hex": VENDOR_LINK_SEED.hex(),
            "received_ms": T0,
            "events": [{"now_ms": at_ms, **raw} for at_ms, raw in events],
            "effects": steps,
        }
        if error is None:
            vector["final"] = {
                "state": holding.state.value,
                "version": holding.version,
                "email": next(f.value for f in holding.fields if f.name == "email"),
            }
        else:
            vector["error"] = error
        out.append(vector)
    return out


def build() -> dict[str, Any]:
    vectors = [*_update_vectors(), *_trace_vectors()]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity change signals: a grant's values updated under the same grant",
        "spec": "spec/signals.md",
        "notes": NOTES,
        "vectors": vectors,
    }
