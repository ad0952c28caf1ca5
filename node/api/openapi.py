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
        "/api/status": {"get": _op("this node: id, fingerprint, endpoints, peers online")},
        "/api/invite": {
            "post": _op("issue a one-time invitation", body={"ttl_s": {"type": "integer"}})
        },
        "/api/ui/login": {
            "post": _op(
                "a one-time login link for the dashboard (its path, under this address; valid "
                "10 minutes, spent when opened; `amity ui`)"
            )
        },
        "/api/connect": {
            "post": _op(
                "accept an invitation URI: dial, handshake, hello", body={"uri": {"type": "string"}}
            )
        },
        "/api/peers": {
            "get": _op("every relationship and its state (an unused invitation is not one yet)")
        },
        "/api/invitations": {
            "get": _op("the invitations nobody used yet: open, expired or withdrawn")
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
            "delete": _op("withdraw an open invitation: nobody can connect with it any more"),
        },
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
        "/api/terms/change": {
            "post": _op(
                "her terms changed: offer them as an amendment of every agreement in force; "
                "`changes` says, per agreement, whether an amendment was offered (its "
                "negotiation) or not and why (spec/signals.md §3)",
                body=_TERMS_BODY,
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
        # -- vault, grants, requests, holdings, audit log (spec/grants.md §14) --
        "/api/vault": {"get": _op("names and types of the vault's fields (never values)")},
        "/api/vault/{name}": {
            "parameters": [{**_PEER, "name": "name", "description": "a vault field name"}],
            "get": _by_id("one field with its value"),
            "put": _op(
                "store or replace a field, sealed at rest (spec/grants.md §2); a changed value "
                "goes to every peer holding it under a live grant, and `updates` lists each "
                "grant naming the field: updated (its new version) or not, and why "
                "(spec/signals.md §2)",
                body={"type": {"type": "string"}, "value": {}},
            ),
            "delete": _by_id("remove a field"),
        },
        "/api/grants": {
            "get": {
                **_op("grants we issued (with receipts) and grants we hold for others"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            },
            "post": _op(
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
        "/api/grants/{id}": {"parameters": [_ID], "get": _by_id("one grant, issued or held")},
        "/api/grants/{id}/revoke": {
            "parameters": [_ID],
            "post": _by_id("sign and send a revocation: the holder deletes and sends a receipt"),
        },
        "/api/grants/{id}/consent-receipt": {
            "parameters": [_ID],
            "get": _by_id("the grant as a Kantara CR v1.1 / ISO/IEC TS 27560 consent receipt"),
        },
        "/api/receipts": {
            "get": {
                **_op("delivery and deletion receipts our grantees signed"),
                "parameters": [{"name": "grant", "in": "query", "schema": {"type": "string"}}],
            }
        },
        "/api/requests": {
            "get": {
                **_op("grant requests sent and received, and the auto-approve rule"),
                "parameters": [{"name": "pending", "in": "query", "schema": {"type": "string"}}],
            },
            "post": _op(
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
            "get": _op("whether requests are approved automatically"),
            "put": _op(
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
            "parameters": [{**_ID, "description": "the request number"}],
            "post": _by_id(
                "grant a pending request (all fields, or a subset)",
                body={"fields": {"type": "array"}, "expires_s": {"type": "integer"}},
            ),
        },
        "/api/requests/{id}/decline": {
            "parameters": [{**_ID, "description": "the request number"}],
            "post": _by_id("decline a pending request (nothing is sent)"),
        },
        "/api/holdings/{peer}": {
            "parameters": [_PEER],
            "get": _op("what we hold about the peer, grant by grant (no values)"),
        },
        "/api/holdings/{peer}/query": {
            "parameters": [_PEER],
            "post": _op(
                "ask the peer what it holds about us; its signed statement",
                body={"wait_s": {"type": "number"}},
            ),
        },
        "/api/holdings/{peer}/{field}": {
            "parameters": [_PEER, {**_PEER, "name": "field", "description": "a field name"}],
            "get": {
                **_op("read a held value; 403 grants.no_grant outside a live grant"),
                "parameters": [{"name": "purpose", "in": "query", "schema": {"type": "string"}}],
            },
        },
        "/api/audit": {
            "get": {
                **_op("the audit log, its hash chain verified (422 audit.broken_chain)"),
                "parameters": [{"name": "peer", "in": "query", "schema": {"type": "string"}}],
            }
        },
        # -- reputation (spec/reputation.md §6) --
        "/api/attestations": {
            "get": {
                **_op("attestations held: ours (with review state) and received, with rebuttals"),
                "parameters": [
                    {"name": "about", "in": "query", "schema": {"type": "string"}},
                    {"name": "pending", "in": "query", "schema": {"type": "string"}},
                    {"name": "mine", "in": "query", "schema": {"type": "string"}},
                ],
            },
            "post": _op(
                "attest how a peer kept a clause of an agreement with us (approved for sharing)",
                body={
                    "peer": {"type": "string"},
                    "clause": {"type": "string"},
                    "verdict": {"type": "string", "enum": ["honoured", "breached", "disputed"]},
                    "agreement": {"type": "string"},
                    "evidence": {"type": "array", "items": {"type": "string"}},
                    "note": {"type": "string"},
                    "days": {"type": "integer"},
                },
                status="201",
            ),
        },
        "/api/attestations/{id}": {"parameters": [_ID], "get": _by_id("one attestation")},
        "/api/attestations/{id}/approve": {
            "parameters": [_ID],
            "post": _by_id("share one of our own attestations (after review)"),
        },
        "/api/attestations/{id}/withhold": {
            "parameters": [_ID],
            "post": _by_id("keep one of our own attestations to ourselves"),
        },
        "/api/attestations/{id}/rebut": {
            "parameters": [_ID],
            "post": _by_id(
                "answer an attestation about us; sent to its attester", body={"text": {}}
            ),
        },
        "/api/reputation": {"get": _op("local trust: every peer it reaches, best first")},
        "/api/reputation/policy": {
            "get": _op("the cut-off policy"),
            "put": _op(
                "change the cut-off policy (any of its keys)",
                body={
                    "threshold": {"type": "number"},
                    "min_evidence": {"type": "number"},
                    "on_existing": {"type": "string", "enum": ["warn", "revoke"]},
                    "auto_share": {"type": "boolean"},
                    "receipt_grace_s": {"type": "integer"},
                    "attestation_days": {"type": "integer"},
                    "max_received_per_peer": {"type": "integer"},
                },
            ),
        },
        "/api/reputation/{peer}": {
            "parameters": [_PEER],
            "get": _op("one peer's score, standing, cut-off and WHY (attesters, weights, paths)"),
        },
        "/api/reputation/{peer}/ask": {
            "parameters": [_PEER],
            "post": _op(
                "ask this peer what it knows about another (as its share policy allows)",
                body={"about": {"type": "string"}, "wait_s": {"type": "number"}},
            ),
        },
        "/api/share-policies": {"get": _op("what we share with whom")},
        "/api/share-policies/{peer}": {
            "parameters": [_PEER],
            "put": _op(
                "share none | mine | all with this peer",
                body={
                    "mode": {"type": "string", "enum": ["none", "mine", "all"]},
                    "max_hops": {"type": "integer"},
                    "per_hour": {"type": "integer"},
                },
            ),
        },
        # -- support beacons (spec/beacons.md) --
        "/api/beacons": {
            "get": _op("her beacons and those raised to this node, with their threads"),
            "post": _op(
                "raise a beacon to peers she chooses",
                body={
                    "to": {"type": "array", "items": {"type": "string"}},
                    "topic": {"type": "string"},
                    "text": {"type": "string"},
                    "about": {"type": "string", "description": "a did:key, optional"},
                },
                status="201",
            ),
        },
        "/api/beacons/{id}/answer": {
            "parameters": [_ID],
            "post": _by_id(
                "a line in a beacon's thread (her answer names the peer: to)",
                body={"text": {"type": "string"}, "to": {"type": "string"}},
            ),
        },
        "/api/beacons/{id}/close": {
            "parameters": [_ID],
            "post": _by_id("close her beacon; every peer it went to is told"),
        },
        # -- loyalty (spec/loyalty.md) --
        "/api/loyalty": {
            "get": _op("her declarations of loyalty, and those her customers made to this node"),
            "post": _op(
                "declare loyalty to a vendor (signed, sent over the relationship)",
                body={
                    "vendor": {"type": "string", "description": "a did:key"},
                    "since_ms": {"type": "integer"},
                    "until_ms": {"type": "integer"},
                    "categories": {"type": "array", "items": {"type": "string"}},
                    "note": {"type": "string"},
                },
                status="201",
            ),
        },
        "/api/loyalty/{id}/revoke": {
            "parameters": [_ID],
            "post": _by_id("revoke one of her declarations; the vendor is told"),
        },
        # -- intentcasting (spec/intents.md) --
        "/api/intents": {
            "get": _op("her intents: state, offers kept and shown, receipts"),
            "post": _op(
                "cast an intent under a fresh key at hubs (waits until they stored it)",
                body={
                    "category": {"type": "string"},
                    "text": {"type": "string"},
                    "budget": {"type": "string", "description": "like 300EUR"},
                    "region": {"type": "string"},
                    "quantity": {"type": "integer"},
                    "terms": {"type": "string", "description": "a roster name (P2B1)"},
                    "offers": {"type": "integer"},
                    "expires_s": {"type": "integer"},
                    "hubs": {"type": "array", "items": {"type": "string"}},
                },
                status="201",
            ),
        },
        "/api/intents/{id}": {
            "parameters": [_ID],
            "get": _by_id("one intent with its shown offers, best first, and the hidden ones"),
        },
        "/api/intents/{id}/withdraw": {
            "parameters": [_ID],
            "post": _by_id("withdraw an intent: hubs and vendors that answered delete it"),
        },
        "/api/intents/accept": {
            "post": _op(
                "accept a shown offer: only its vendor learns who she is (reveal)",
                body={"offer": {"type": "string"}, "reveal": {"type": "boolean"}},
            )
        },
        "/api/intents/subscriptions": {
            "post": _op(
                "subscribe at a hub (a peer) to categories; [] unsubscribes",
                body={"hub": {"type": "string"}, "categories": {"type": "array"}},
            )
        },
        "/api/intents/inbox": {"get": _op("a vendor's inbox: the intents forwarded to it")},
        "/api/intents/inbox/{id}/answer": {
            "parameters": [_ID],
            "post": _by_id(
                "answer an intent with an offer that countersigns her terms",
                body={
                    "price": {"type": "string"},
                    "valid_s": {"type": "integer"},
                    "lead_s": {"type": "integer"},
                    "terms_of_sale": {"type": "string"},
                },
            ),
        },
        "/api/intents/hub": {
            "get": _op("a hub's rules, listed hubs (met, online), live intents, subscribers")
        },
        "/api/vouches": {
            "get": _op("peers whose attestations we trust as our own counterparties'")
        },
        "/api/vouches/{peer}": {
            "parameters": [_PEER],
            "put": _op("vouch for a connected peer"),
            "delete": _op("withdraw a vouch"),
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
