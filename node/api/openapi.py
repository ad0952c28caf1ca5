"""The OpenAPI 3.1 document of the local API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any, Final

from amity.node.api.openapi_delegation import DELEGATION_PATHS
from amity.node.api.openapi_kit import ID, PEER, TERMS_BODY, by_id, op
from amity.node.api.openapi_market import MARKET_PATHS
from amity.node.api.openapi_webhooks import WEBHOOK_PATHS

__all__ = ["OPENAPI"]


OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {
        "title": "amity local API",
        "version": "1",
        "description": (
            "Loopback-only API of one amity node; the CLI is its client. It listens on the Unix "
            "socket `<home>/api.sock` (mode 0600; the CLI's way in) and on loopback TCP (the "
            "address is in `<home>/api.address`). Authenticate with `Authorization: Bearer "
            "<token>` (the token is `<home>/api.token`), but only after `GET /api/proof` on the "
            "same connection: both files may be left over from a node that was killed, with "
            "anything listening there since. Every request must carry a Host that names this "
            "listener (127.0.0.1:PORT, [::1]:PORT, localhost:PORT; else 421 `api.bad_host`) "
            "and no Origin but the API's own (`http://127.0.0.1:PORT` and the like; else 403 "
            "`api.bad_origin`)."
        ),
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
        "/api/proof": {
            "get": {
                "summary": "prove this node holds the token, before a client sends it",
                "description": (
                    "No token needed. `proof` = hex HMAC-SHA256(key = the token, message = "
                    "`amity/api-proof/v1\\0` || nonce || channel), channel being the listening "
                    "address of this connection: `tcp:IP:PORT` (IPv6 in its RFC 5952 form, "
                    "no brackets) or `unix:PATH` (the socket's path as bound). The client "
                    "computes it from the address it is connected to (getpeername) and sends "
                    "the token on the same connection only if the proof matches."
                ),
                "security": [],
                "parameters": [
                    {
                        "name": "nonce",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                        "description": "32 fresh random bytes in hex",
                    }
                ],
                "responses": {
                    "200": {"description": '`{"proof": hex}`', "content": {"application/json": {}}},
                    "400": {"$ref": "#/components/responses/Error"},
                    "403": {"$ref": "#/components/responses/Error"},
                    "421": {"$ref": "#/components/responses/Error"},
                },
            }
        },
        "/api/status": {"get": op("this node: id, fingerprint, endpoints, peers online")},
        "/api/invite": {
            "post": op("issue a one-time invitation", body={"ttl_s": {"type": "integer"}})
        },
        "/api/ui/login": {
            "post": op(
                "a one-time login link for the dashboard (its path, under this address; valid "
                "10 minutes, spent when opened; `amity ui`)"
            )
        },
        "/api/connect": {
            "post": op(
                "accept an invitation URI: dial, handshake, hello", body={"uri": {"type": "string"}}
            )
        },
        "/api/peers": {
            "get": op("every relationship and its state (an unused invitation is not one yet)")
        },
        "/api/invitations": {
            "get": op("the invitations nobody used yet: open, expired or withdrawn")
        },
        "/api/invitations/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "the invitation's id, or its first (at least 4) hex digits",
                }
            ],
            "delete": op("withdraw an open invitation: nobody can connect with it any more"),
        },
        "/api/peers/{peer}/end": {
            "parameters": [PEER],
            "post": op(
                "end the relationship (signed rel.end)", body={"reason": {"type": "string"}}
            ),
        },
        "/api/peers/{peer}/notes": {
            "parameters": [PEER],
            "post": op(
                "queue a signed note to the peer", body={"text": {"type": "string"}}, status="202"
            ),
        },
        "/api/messages": {
            "get": {
                **op("notes received, oldest first"),
                "parameters": [
                    {"name": "after", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "peer", "in": "query", "schema": {"type": "string"}},
                ],
            }
        },
        "/api/relays": {
            "get": op("relays this node uses (and whether it serves as one)"),
            "post": op(
                "meet a relay by its invitation and list it on our card",
                body={"uri": {"type": "string"}},
            ),
        },
        "/api/nearby": {"get": op("nodes seen by LAN discovery (unverified hints)")},
        "/api/events": {"get": op("server-sent events: connected, ended, message, …")},
        "/api/terms": {
            "get": {
                **op("negotiations, newest first: state, whose turn, the terms on the table"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            }
        },
        "/api/terms/offer": {
            "post": op(
                "offer terms to a connected peer (opens a negotiation, spec/terms.md §7)",
                body={
                    "peer": {"type": "string", "description": "the peer's did:key"},
                    **TERMS_BODY,
                    "amends": {"type": "string", "description": "the agreement they replace"},
                },
                status="201",
            )
        },
        "/api/terms/change": {
            "post": op(
                "her terms changed: offer them as an amendment of every agreement in force; "
                "`changes` says, per agreement, whether an amendment was offered (its "
                "negotiation) or not and why (spec/signals.md §3)",
                body=TERMS_BODY,
            )
        },
        "/api/terms/{id}": {"parameters": [ID], "get": by_id("one negotiation")},
        "/api/terms/{id}/counter": {
            "parameters": [ID],
            "post": by_id("answer the peer's terms with other terms", body=TERMS_BODY),
        },
        "/api/terms/{id}/accept": {
            "parameters": [ID],
            "post": by_id("accept the peer's terms: the agreement is complete"),
        },
        "/api/terms/{id}/reject": {
            "parameters": [ID],
            "post": by_id("refuse the peer's terms", body={"reason": {"type": "string"}}),
        },
        "/api/terms/{id}/withdraw": {
            "parameters": [ID],
            "post": by_id("take back our own terms on the table"),
        },
        "/api/agreements": {
            "get": {
                **op("agreements this node holds, newest first"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            }
        },
        "/api/agreements/{id}": {
            "parameters": [ID],
            "get": by_id(
                "one agreement with its signed bytes (agreement_b64, agreement_hex) and, in "
                "force, `policy_check`: what the vendor's published policy says of it now"
            ),
        },
        "/api/policy": {
            "get": op("the policy file and whether it is in force (spec/terms.md §5)"),
            "put": op(
                "replace the policy file; 400 with line and field if it does not parse. "
                "`change` says how many connected customers were sent the new card and which "
                "agreements in force the new policy would not sign as they are (they still "
                "bind: spec/signals.md §4)",
                body={"toml": {"type": "string"}},
            ),
        },
        "/api/customers/export": {
            "get": op(
                "every grant this node holds, one row each (customer, fields by name, purpose, "
                "context, received, not_after, state, deleted), streamed as CSV or JSON lines "
                "(query format=csv|jsonl)"
            ),
        },
        # -- vault, grants, requests, holdings, audit log (spec/grants.md §14) --
        "/api/vault": {"get": op("names and types of the vault's fields (never values)")},
        "/api/vault/{name}": {
            "parameters": [{**PEER, "name": "name", "description": "a vault field name"}],
            "get": by_id("one field with its value"),
            "put": op(
                "store or replace a field, sealed at rest (spec/grants.md §2); a changed value "
                "goes to every peer holding it under a live grant, and `updates` lists each "
                "grant naming the field: updated (its new version) or not, and why "
                "(spec/signals.md §2)",
                body={"type": {"type": "string"}, "value": {}},
            ),
            "delete": by_id("remove a field"),
        },
        "/api/grants": {
            "get": {
                **op("grants we issued (with receipts) and grants we hold for others"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            },
            "post": op(
                "sign a grant and deliver the fields sealed to the peer (or approve a request)",
                body={
                    "peer": {"type": "string", "description": "the grantee's did:key"},
                    "fields": {"type": "array", "description": "names; age-over:N, country-of"},
                    "purpose": {"type": "string"},
                    "context": {"type": "string"},
                    "expires_s": {"type": "integer"},
                    "agreement": {"type": "string", "description": "default: the newest"},
                    "onward": {"type": "string", "description": "none or aggregate-only"},
                    "request": {"type": "integer", "description": "approve this request"},
                },
                status="201",
            ),
        },
        "/api/grants/{id}": {"parameters": [ID], "get": by_id("one grant, issued or held")},
        "/api/grants/{id}/revoke": {
            "parameters": [ID],
            "post": by_id("sign and send a revocation: the holder deletes and sends a receipt"),
        },
        "/api/grants/{id}/consent-receipt": {
            "parameters": [ID],
            "get": by_id("the grant as a Kantara CR v1.1 / ISO/IEC TS 27560 consent receipt"),
        },
        "/api/receipts": {
            "get": {
                **op("delivery and deletion receipts our grantees signed"),
                "parameters": [{"name": "grant", "in": "query", "schema": {"type": "string"}}],
            }
        },
        "/api/requests": {
            "get": {
                **op("grant requests sent and received, and the auto-approve rule"),
                "parameters": [{"name": "pending", "in": "query", "schema": {"type": "string"}}],
            },
            "post": op(
                "ask a peer for fields for a purpose (grant.request)",
                body={
                    "peer": {"type": "string"},
                    "fields": {"type": "array"},
                    "purpose": {"type": "string"},
                    "context": {"type": "string"},
                    "duration_s": {"type": "integer"},
                },
                status="201",
            ),
        },
        "/api/requests/rule": {
            "get": op("whether requests are approved automatically"),
            "put": op(
                "set her rule for requests (auto-approve within fields, purposes, days)",
                body={
                    "auto_approve": {"type": "boolean"},
                    "fields": {"type": ["array", "null"], "items": {"type": "string"}},
                    "purposes": {"type": ["array", "null"], "items": {"type": "string"}},
                    "max_days": {"type": "number"},
                },
            ),
        },
        "/api/requests/{id}/approve": {
            "parameters": [{**ID, "description": "the request number"}],
            "post": by_id(
                "grant a pending request (all fields, or a subset)",
                body={"fields": {"type": "array"}, "expires_s": {"type": "integer"}},
            ),
        },
        "/api/requests/{id}/decline": {
            "parameters": [{**ID, "description": "the request number"}],
            "post": by_id("decline a pending request (nothing is sent)"),
        },
        "/api/holdings/{peer}": {
            "parameters": [PEER],
            "get": op("what we hold about the peer, grant by grant (no values)"),
        },
        "/api/holdings/{peer}/query": {
            "parameters": [PEER],
            "post": op(
                "ask the peer what it holds about us; its signed statement",
                body={"wait_s": {"type": "number"}},
            ),
        },
        "/api/holdings/{peer}/{field}": {
            "parameters": [PEER, {**PEER, "name": "field", "description": "a field name"}],
            "get": {
                **op("read a held value; 403 grants.no_grant outside a live grant"),
                "parameters": [{"name": "purpose", "in": "query", "schema": {"type": "string"}}],
            },
        },
        "/api/audit": {
            "get": {
                **op("the audit log, its hash chain verified (422 audit.broken_chain)"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            }
        },
        **MARKET_PATHS,
        **WEBHOOK_PATHS,
        **DELEGATION_PATHS,
        "/api/openapi.json": {
            "get": {
                "summary": "this document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    },
}
