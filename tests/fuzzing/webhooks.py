"""Fuzz targets of CRM webhooks (spec/webhooks.md): what a receiver reads (the secret it was
given, the body, the three headers). See registry.py."""

from __future__ import annotations

from amity.protocol import webhooks
from tests.fuzzing.context import vectors
from tests.fuzzing.registry import Decoder, Targets


def webhook_targets() -> list[Decoder]:
    targets = Targets()
    secrets = tuple(v["secret"] for v in vectors("webhooks", operation="secret"))
    targets.text("webhooks.parse_secret", secrets)(webhooks.parse_secret)
    delivered = vectors("webhooks", operation="deliver")
    bodies = tuple(v["body_text"].encode("utf-8") for v in delivered)
    targets.add("webhooks.decode_event", bodies)(webhooks.decode_event)
    one = delivered[0]
    key = webhooks.parse_secret(one["secret"])
    h = one["headers"]
    now = one["timestamp_s"]

    def body(data: bytes) -> object:
        msg_id, stamp, sig = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
        return webhooks.verify(key, msg_id, stamp, sig, data, now)

    targets.add("webhooks.verify[body]", bodies[:1])(body)
    signed = one["body_text"].encode("utf-8")
    headers = tuple(
        f"{h['webhook-id']}\n{h['webhook-timestamp']}\n{h['webhook-signature']}"
        for h in (v["headers"] for v in delivered)
    )

    def three(text: str) -> object:
        msg_id, _, rest = text.partition("\n")
        stamp, _, sig = rest.partition("\n")
        return webhooks.verify(key, msg_id, stamp, sig, signed, now)

    targets.text("webhooks.verify[headers]", headers)(three)
    return targets.found
