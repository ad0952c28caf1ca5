"""The OpenAPI 3.1 document of the local API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["OPENAPI"]


def _op(summary: str, *, body: dict[str, Any] | None = None, status: str = "200") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            status: {"description": "success", "content": {"application/json": {}}},
            "401": {"$ref": "#/components/responses/Error"},
            "400": {"$ref": "#/components/responses/Error"},
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object", "properties": body}}},
        }
    return operation


_PEER = {
    "name": "peer",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the peer's did:key",
}

_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "a hex id, or its first (at least 4) hex digits",
}
_TERMS_BODY: Final[dict[str, Any]] = {
    "roster": {"type": "string", "description": "a roster agreement: P2B1, AMITY-SHOP, …"},
    "terms": {
        "type": "object",
        "description": "or a terms file as JSON: title, text, clause (spec/terms.md §13)",
    },
    "ttl_s": {"type": "integer", "description": "seconds the terms stay open (default 7 days)"},
}


def _by_id(summary: str, *, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operation on one negotiation or agreement: 404 when no id matches."""
    operation = _op(summary, body=body)
    operation["responses"]["404"] = {"$ref": "#/components/responses/Error"}
    return operation


OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {
        "title": "amity local API",
        "version": "1",
        "description": "Loopback-only API of one amity node; the CLI is its client. "
        "Authenticate with `Authorization: Bearer <token>` (the token is in the home directory).",
    },
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {
            "Error": {
                "description": "an error with a stable code (spec/errors.md)",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "error": {
                                    "type": "object",
                                    "properties": {
                                        "code": {"type": "string"},
                                        "message": {"type": "string"},
                                    },
                                }
                            },
                        }
                    }
                },
            }
        },
    },
    "paths": {
        "/api/status": {"get": _op("this node: id, fingerprint, endpoints, peers online")},
        "/api/invite": {
            "post": _op("issue a one-time invitation", body={"ttl_s": {"type": "integer"}})
        },
        "/api/connect": {
            "post": _op(
                "accept an invitation URI: dial, handshake, hello", body={"uri": {"type": "string"}}
            )
        },
        "/api/peers": {"get": _op("every relationship and its state")},
        "/api/peers/{peer}/end": {
            "parameters": [_PEER],
            "post": _op(
                "end the relationship (signed rel.end)", body={"reason": {"type": "string"}}
            ),
        },
        "/api/peers/{peer}/notes": {
            "parameters": [_PEER],
            "post": _op(
                "queue a signed note to the peer", body={"text": {"type": "string"}}, status="202"
            ),
        },
        "/api/messages": {
            "get": {
                **_op("notes received, oldest first"),
                "parameters": [
                    {"name": "after", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "peer", "in": "query", "schema": {"type": "string"}},
                ],
            }
        },
        "/api/relays": {
            "get": _op("relays this node uses (and whether it serves as one)"),
            "post": _op(
                "meet a relay by its invitation and list it on our card",
                body={"uri": {"type": "string"}},
            ),
        },
        "/api/nearby": {"get": _op("nodes seen by LAN discovery (unverified hints)")},
        "/api/events": {"get": _op("server-sent events: connected, ended, message, …")},
        "/api/terms": {
            "get": {
                **_op("negotiations, newest first: state, whose turn, the terms on the table"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            }
        },
        "/api/terms/offer": {
            "post": _op(
                "offer terms to a connected peer (opens a negotiation, spec/terms.md §7)",
                body={
                    "peer": {"type": "string", "description": "the peer's did:key"},
                    **_TERMS_BODY,
                    "amends": {"type": "string", "description": "the agreement they replace"},
                },
                status="201",
            )
        },
        "/api/terms/{id}": {"parameters": [_ID], "get": _by_id("one negotiation")},
        "/api/terms/{id}/counter": {
            "parameters": [_ID],
            "post": _by_id("answer the peer's terms with other terms", body=_TERMS_BODY),
        },
        "/api/terms/{id}/accept": {
            "parameters": [_ID],
            "post": _by_id("accept the peer's terms: the agreement is complete"),
        },
        "/api/terms/{id}/reject": {
            "parameters": [_ID],
            "post": _by_id("refuse the peer's terms", body={"reason": {"type": "string"}}),
        },
        "/api/terms/{id}/withdraw": {
            "parameters": [_ID],
            "post": _by_id("take back our own terms on the table"),
        },
        "/api/agreements": {
            "get": {
                **_op("agreements this node holds, newest first"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            }
        },
        "/api/agreements/{id}": {
            "parameters": [_ID],
            "get": _by_id("one agreement with its signed bytes (agreement_b64, agreement_hex)"),
        },
        "/api/policy": {
            "get": _op("the policy file and whether it is in force (spec/terms.md §5)"),
            "put": _op(
                "replace the policy file; 400 with line and field if it does not parse",
                body={"toml": {"type": "string"}},
            ),
        },
        "/api/openapi.json": {
            "get": {
                "summary": "this document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    },
}
