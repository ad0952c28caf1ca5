"""The OpenAPI paths of CRM webhooks (spec/webhooks.md)."""

from __future__ import annotations

from typing import Any, Final

from amity.node.api.openapi_kit import by_id, op
from amity.protocol.webhooks import EVENTS

__all__ = ["WEBHOOK_PATHS"]

_NUMBER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
    "description": "the webhook's number, as GET /api/webhooks lists it",
}

WEBHOOK_PATHS: Final[dict[str, Any]] = {
    "/api/webhooks": {
        "get": op("the subscriptions (never their secrets), the known events, deliveries by state"),
        "post": op(
            "subscribe a URL (http or https, reachable from this machine) to events; deliveries "
            "are signed with the secret (Standard Webhooks: webhook-id, webhook-timestamp, "
            "webhook-signature)",
            body={
                "url": {"type": "string"},
                "events": {"type": "array", "items": {"type": "string", "enum": list(EVENTS)}},
                "secret": {"type": "string", "description": "whsec_ + base64 of 24 to 64 bytes"},
            },
            status="201",
        ),
    },
    "/api/webhooks/{id}": {
        "parameters": [_NUMBER],
        "delete": by_id("unsubscribe, and drop that subscription's deliveries"),
    },
    "/api/webhooks/deliveries": {
        "get": {
            **op("the newest deliveries first, and how many are in each state"),
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["pending", "delivered", "dead"]},
                },
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
            ],
        }
    },
    "/api/webhooks/replay": {
        "post": by_id(
            "queue deliveries again, due now, their attempts counted afresh (404: none of ids)",
            body={
                "ids": {"type": "array", "items": {"type": "integer"}},
                "dead": {"type": "boolean", "description": "also every dead delivery"},
            },
        ),
    },
}
