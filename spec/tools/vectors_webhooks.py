"""Test vectors for spec/webhooks.md: secrets, the body of each event, the three headers of a
delivery, a receiver's refusals, and the retry schedule; one vector from the Standard Webhooks
reference itself, so that any of its libraries can check amity's signatures.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.errors import AmityError
from amity.protocol.webhooks import (
    EVENTS,
    decode_event,
    event_body,
    format_secret,
    message_id,
    parse_secret,
    retry_delay_ms,
    signature_headers,
    signed_content,
    verify,
)

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
T0_S = T0_MS // 1000
KEY = bytes(range(32))
SECRET = format_secret(KEY)
PEER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
NOTES = (
    "operation 'secret': parse_secret(secret) gives key_hex, or raises `error`. operation "
    "'deliver': the event's body is event_body(event, at_ms, data), exactly body_text (UTF-8); "
    "the headers of an attempt at timestamp_s with secret and message_id are headers; "
    "signed_text is what the HMAC covers. operation 'verify': verify(key of secret, message_id, "
    "timestamp, signature, body_text as UTF-8, now_s) returns, or raises `error`. operation "
    "'body': decode_event(body_text) gives type, or raises `error`. operation 'retry': "
    "retry_delay_ms(attempts, draw, base_ms, cap_ms) is delay_ms."
)

#: One event of each kind, with data shaped as spec/webhooks.md §3 says.
_DATA: dict[str, dict[str, Any]] = {
    "relationship.opened": {"peer": PEER, "peer_name": "Alice"},
    "relationship.ended": {"peer": PEER, "peer_name": "Alice", "reason": "moving on", "by": "peer"},
    "agreement.signed": {
        "peer": PEER, "peer_name": "Alice", "agreement": "ab" * 32, "negotiation": "cd" * 16,
        "terms": "ef" * 32, "title": "Alice's terms", "agreed_ms": T0_MS, "amends": None,
    },
    "grant.given": {
        "peer": PEER, "peer_name": "Alice", "grant": "01" * 16, "agreement": "ab" * 32,
        "fields": ["email", "postal-address"], "purpose": "delivery", "context": "order 42",
        "not_after_ms": T0_MS + 86_400_000,
    },
    "grant.updated": {
        "peer": PEER, "peer_name": "Alice", "grant": "01" * 16, "fields": ["postal-address"],
        "version": 1,
    },
    "grant.revoked": {"peer": PEER, "peer_name": "Alice", "grant": "02" * 16, "fields": ["email"]},
    "grant.expired": {
        "peer": PEER, "peer_name": "Alice", "grant": "03" * 16, "fields": ["email"],
        "not_after_ms": T0_MS,
    },
    "deletion.due": {
        "peer": PEER, "peer_name": "Alice", "grant": "04" * 16, "fields": ["email"],
        "due_ms": T0_MS + 86_400_000, "reason": "relationship-ended",
    },
    "deletion.done": {
        "peer": PEER, "peer_name": "Alice", "grant": "02" * 16, "fields": ["email"],
        "reason": "revoked", "deleted_ms": T0_MS,
    },
    "attestation.received": {
        "peer": PEER, "peer_name": "Alice", "attestation": "05" * 32,
        "attester": PEER, "subject": PEER, "verdict": "breached",
        "clause": "amity.delete-on-end", "agreement": "ab" * 32, "issued_ms": T0_MS,
    },
    "intent.received": {
        "peer": PEER, "intent": "06" * 16, "pseudonym": PEER, "category": "goods.bicycles",
        "text": "a child's bike, Grüße", "cast_ms": T0_MS, "expires_ms": T0_MS + 3 * 86_400_000,
    },
}  # fmt: skip


def _deliver(n: int, event: str) -> dict[str, Any]:
    at_ms = T0_MS + n * 1000
    body = event_body(event, at_ms, _DATA[event])
    msg_id = message_id(bytes([n]) * 16)
    headers = signature_headers(KEY, msg_id, at_ms // 1000, body)
    return {
        "name": f"deliver-{event}", "description": f"the body and headers of a {event} event",
        "operation": "deliver", "event": event, "at_ms": at_ms, "data": _DATA[event],
        "secret": SECRET, "message_id": msg_id, "timestamp_s": at_ms // 1000,
        "body_text": body.decode("utf-8"),
        "signed_text": signed_content(msg_id, at_ms // 1000, body).decode("utf-8"),
        "headers": headers,
    }  # fmt: skip


def _refused(name: str, description: str, op: str, error: str, **fields: Any) -> dict[str, Any]:
    try:
        if op == "secret":
            parse_secret(fields["secret"])
        elif op == "body":
            decode_event(fields["body_text"].encode("utf-8"))
        else:
            verify(parse_secret(fields["secret"]), fields["message_id"], fields["timestamp"],
                   fields["signature"], fields["body_text"].encode("utf-8"), fields["now_s"])  # fmt: skip
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, "operation": op, **fields, "error": error}


def _verify_cases(good: dict[str, Any]) -> list[dict[str, Any]]:
    h = good["headers"]
    base = {
        "secret": SECRET, "message_id": h["webhook-id"], "timestamp": h["webhook-timestamp"],
        "signature": h["webhook-signature"], "body_text": good["body_text"],
        "now_s": good["timestamp_s"] + 10,
    }  # fmt: skip
    verify(KEY, base["message_id"], base["timestamp"], base["signature"],
           base["body_text"].encode("utf-8"), base["now_s"])  # fmt: skip
    several = f"v1,{'A' * 43}= v1a,ignored {base['signature']}"
    verify(KEY, base["message_id"], base["timestamp"], several,
           base["body_text"].encode("utf-8"), base["now_s"])  # fmt: skip
    other = format_secret(bytes(range(1, 33)))
    return [
        {"name": "verify-ok", "description": "a delivery as sent, 10 s later",
         "operation": "verify", **base},
        {"name": "verify-several-signatures",
         "description": "a header of several entries, one of them right (rotated secrets)",
         "operation": "verify", **{**base, "signature": several}},
        _refused("verify-tampered-body", "one byte of the body changed", "verify",
                 "webhook.bad_signature", **{**base, "body_text": base["body_text"][:-2] + "x}"}),
        _refused("verify-other-secret", "signed with another subscription's secret", "verify",
                 "webhook.bad_signature", **{**base, "secret": other}),
        _refused("verify-stale", "301 s after its timestamp: a replay", "verify",
                 "webhook.stale", **{**base, "now_s": good["timestamp_s"] + 301}),
        _refused("verify-bad-timestamp", "a timestamp that is not whole seconds", "verify",
                 "webhook.malformed", **{**base, "timestamp": "1767225600.5"}),
        _refused("verify-bad-id", "an id with a dot (it would blur id.timestamp.body)",
                 "verify", "webhook.malformed", **{**base, "message_id": "msg.1"}),
    ]  # fmt: skip


def build() -> dict[str, Any]:
    delivered = [_deliver(n, event) for n, event in enumerate(EVENTS, 1)]
    standard = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    reference_body = '{"test": 2432232314}'
    reference = {
        "name": "verify-standard-webhooks-reference",
        "description": "the example of the Standard Webhooks reference libraries "
        "(github.com/standard-webhooks/standard-webhooks), checked as they check it",
        "operation": "verify", "secret": standard, "message_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "timestamp": "1614265330", "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "body_text": reference_body, "now_s": 1614265330,
    }  # fmt: skip
    verify(parse_secret(standard), reference["message_id"], reference["timestamp"],
           reference["signature"], reference_body.encode(), 1614265330)  # fmt: skip
    secrets = [
        {"name": "secret-ok", "description": "32 bytes 00..1f", "operation": "secret",
         "secret": SECRET, "key_hex": KEY.hex()},
        _refused("secret-no-prefix", "base64 without whsec_", "secret", "local.webhook_secret",
                 secret=SECRET.removeprefix("whsec_")),
        _refused("secret-not-base64", "whsec_ then not base64", "secret",
                 "local.webhook_secret", secret="whsec_not*base64"),
        _refused("secret-short", "16 bytes: too short", "secret", "local.webhook_secret",
                 secret="whsec_AAAAAAAAAAAAAAAAAAAAAA=="),
    ]  # fmt: skip
    bodies = [
        _refused("body-not-json", "not JSON", "body", "webhook.malformed", body_text="{type"),
        _refused("body-extra-key", "a key besides type, timestamp and data", "body",
                 "webhook.malformed",
                 body_text='{"data":{},"id":1,"timestamp":"2026-01-01T00:00:00.000Z",'
                 '"type":"grant.given"}'),
        _refused("body-unknown-event", "an event §3 does not name", "body", "webhook.malformed",
                 body_text='{"data":{},"timestamp":"2026-01-01T00:00:00.000Z","type":"x.y"}'),
    ]  # fmt: skip
    retries = [
        {"name": f"retry-{attempts}-{draw}", "description": "5 s doubling, capped at 1 h",
         "operation": "retry", "attempts": attempts, "draw": draw, "base_ms": 5000,
         "cap_ms": 3_600_000, "delay_ms": retry_delay_ms(attempts, draw, 5000, 3_600_000)}
        for attempts in (1, 2, 3, 10, 11, 15) for draw in (0.0, 0.5, 0.999)
    ]  # fmt: skip
    for vector in bodies:
        assert vector["error"]
    for vector in delivered:
        assert decode_event(vector["body_text"].encode("utf-8")).type == vector["event"]
    return {
        "title": "CRM webhooks: secrets, bodies, signatures, the retry schedule",
        "spec": "webhooks.md",
        "notes": NOTES,
        "vectors": [
            *secrets,
            *delivered,
            *_verify_cases(delivered[3]),
            reference,
            *bodies,
            *retries,
        ],
    }
