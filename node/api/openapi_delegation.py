"""The OpenAPI paths of fourth parties (spec/delegation.md), assembled into the document by
:mod:`amity.node.api.openapi`."""

from __future__ import annotations

from typing import Any, Final

from amity.node.api.openapi_kit import ID, by_id, op

__all__ = ["DELEGATION_PATHS"]

_SCOPES: Final = {
    "type": "object",
    "description": "one or more of grant {fields, purposes, min_standing (-1..1 or null), "
    "max_days}, intent.cast {categories}, offers.read {}, terms.negotiate {}",
}

DELEGATION_PATHS: Final[dict[str, Any]] = {
    "/api/delegations": {
        "get": op(
            "capabilities she gave and this agent holds, and the acts asked, handled or "
            "received under them"
        ),
        "post": op(
            "give a connected peer a capability to act for her (signed, sent as an offer)",
            body={
                "agent": {"type": "string", "description": "a did:key"},
                "scopes": _SCOPES,
                "not_before_ms": {"type": "integer"},
                "not_after_ms": {"type": "integer"},
                "redelegate": {"type": "boolean"},
                "note": {"type": "string"},
                "under": {
                    "type": "string",
                    "description": "an agent passes on a narrower "
                    "capability under one it holds (its id)",
                },
            },
            status="201",
        ),
    },
    "/api/delegations/{id}/revoke": {
        "parameters": [ID],
        "post": by_id(
            "revoke a capability she gave; the agent and the vendors that saw it are told"
        ),
    },
    "/api/delegations/{id}/accept": {
        "parameters": [ID],
        "post": by_id("the agent accepts a capability it was offered"),
    },
    "/api/delegations/{id}/act": {
        "parameters": [ID],
        "post": op(
            "the agent asks her node to grant fields to a vendor under an accepted capability",
            body={
                "vendor": {"type": "string", "description": "a did:key"},
                "fields": {"type": "array", "items": {"type": "string"}},
                "purpose": {"type": "string"},
                "context": {"type": "string"},
                "days": {"type": "number"},
            },
            status="201",
        ),
    },
}
