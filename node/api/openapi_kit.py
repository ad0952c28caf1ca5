"""The pieces the local API's OpenAPI document is built from: an operation, one by id, and the
path parameters."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["op", "by_id", "PEER", "ID", "TERMS_BODY"]


def op(summary: str, *, body: dict[str, Any] | None = None, status: str = "200") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            status: {"description": "success", "content": {"application/json": {}}},
            "401": {"$ref": "#/components/responses/Error"},
            "400": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "421": {"$ref": "#/components/responses/Error"},
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object", "properties": body}}},
        }
    return operation


PEER = {
    "name": "peer",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the peer's did:key",
}

ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "a hex id, or its first (at least 4) hex digits",
}
TERMS_BODY: Final[dict[str, Any]] = {
    "roster": {"type": "string", "description": "a roster agreement: P2B1, AMITY-SHOP, …"},
    "terms": {
        "type": "object",
        "description": "or a terms file as JSON: title, text, clause (spec/terms.md §13)",
    },
    "ttl_s": {"type": "integer", "description": "seconds the terms stay open (default 7 days)"},
}


def by_id(summary: str, *, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operation on one negotiation or agreement: 404 when no id matches."""
    operation = op(summary, body=body)
    operation["responses"]["404"] = {"$ref": "#/components/responses/Error"}
    return operation
