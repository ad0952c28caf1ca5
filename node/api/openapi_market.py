"""The OpenAPI paths of reputation, support beacons, loyalty, things and intentcasting (the features of
her market), assembled into the document by :mod:`amity.node.api.openapi`."""

from __future__ import annotations

from typing import Any, Final

from amity.node.api.openapi_kit import ID, PEER, by_id, op

__all__ = ["MARKET_PATHS"]

MARKET_PATHS: Final[dict[str, Any]] = {
    # -- reputation (spec/reputation.md §6) --
    "/api/attestations": {
        "get": {
            **op("attestations held: ours (with review state) and received, with rebuttals"),
            "parameters": [
                {"name": "about", "in": "query", "schema": {"type": "string"}},
                {"name": "pending", "in": "query", "schema": {"type": "string"}},
                {"name": "mine", "in": "query", "schema": {"type": "string"}},
            ],
        },
        "post": op(
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
    "/api/attestations/{id}": {"parameters": [ID], "get": by_id("one attestation")},
    "/api/attestations/{id}/approve": {
        "parameters": [ID],
        "post": by_id("share one of our own attestations (after review)"),
    },
    "/api/attestations/{id}/withhold": {
        "parameters": [ID],
        "post": by_id("keep one of our own attestations to ourselves"),
    },
    "/api/attestations/{id}/rebut": {
        "parameters": [ID],
        "post": by_id("answer an attestation about us; sent to its attester", body={"text": {}}),
    },
    "/api/reputation": {"get": op("local trust: every peer it reaches, best first")},
    "/api/reputation/policy": {
        "get": op("the cut-off policy"),
        "put": op(
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
        "parameters": [PEER],
        "get": op("one peer's score, standing, cut-off and WHY (attesters, weights, paths)"),
    },
    "/api/reputation/{peer}/ask": {
        "parameters": [PEER],
        "post": op(
            "ask this peer what it knows about another (as its share policy allows)",
            body={"about": {"type": "string"}, "wait_s": {"type": "number"}},
        ),
    },
    "/api/share-policies": {"get": op("what we share with whom")},
    "/api/share-policies/{peer}": {
        "parameters": [PEER],
        "put": op(
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
        "get": op("her beacons and those raised to this node, with their threads"),
        "post": op(
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
        "parameters": [ID],
        "post": by_id(
            "a line in a beacon's thread (her answer names the peer: to)",
            body={"text": {"type": "string"}, "to": {"type": "string"}},
        ),
    },
    "/api/beacons/{id}/close": {
        "parameters": [ID],
        "post": by_id("close her beacon; every peer it went to is told"),
    },
    # -- loyalty (spec/loyalty.md) --
    "/api/loyalty": {
        "get": op("her declarations of loyalty, and those her customers made to this node"),
        "post": op(
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
        "parameters": [ID],
        "post": by_id("revoke one of her declarations; the vendor is told"),
    },
    # -- things she owns (spec/things.md) --
    "/api/things": {
        "get": op("her things: each one's card (signed by the thing's own key) and link"),
        "post": op(
            "record a thing: a key of its own and a card it signs (names no owner)",
            body={
                "maker": {"type": "string"},
                "model": {"type": "string"},
                "serial": {"type": "string"},
                "agreement": {"type": "string", "description": "the purchase's agreement id"},
                "warranty_until_ms": {"type": "integer"},
                "manuals": {"type": "array", "items": {"type": "string"}},
                "contacts": {"type": "array", "items": {"type": "string"}},
            },
            status="201",
        ),
    },
    "/api/things/read": {
        "post": op(
            "check the card behind an amity:thing: link, whoever owns the thing",
            body={"uri": {"type": "string"}},
        ),
    },
    "/api/things/{id}": {
        "parameters": [ID],
        "get": by_id("one thing's card, link, state and sales (each signed by both owners)"),
    },
    "/api/things/{id}/offer": {
        "parameters": [ID],
        "post": op(
            "sell or give a thing to a connected peer; it stays hers until they accept",
            body={"peer": {"type": "string", "description": "a did:key"}},
        ),
    },
    "/api/things/{id}/accept": {
        "parameters": [ID],
        "post": by_id("take a thing offered to her: she signs the transfer; the seller is told"),
    },
    # -- intentcasting (spec/intents.md) --
    "/api/intents": {
        "get": op("her intents: state, offers kept and shown, receipts"),
        "post": op(
            "cast an intent under a fresh key at hubs and, with direct, at the vendors she "
            "knows that take it directly (waits until they stored it)",
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
                "direct": {
                    "type": "boolean",
                    "description": "also at every vendor she knows that serves the category",
                },
                "nearby": {
                    "type": "boolean",
                    "description": "also at the vendors on the LAN that announce the category",
                },
                "delay_s": {
                    "type": "integer",
                    "description": "cast after a random wait of up to this many seconds "
                    "(default 600 with direct or nearby, else 0); with a wait: 202, scheduled",
                },
            },
            status="201",
        ),
    },
    "/api/intents/{id}": {
        "parameters": [ID],
        "get": by_id("one intent with its shown offers, best first, and the hidden ones"),
    },
    "/api/intents/{id}/withdraw": {
        "parameters": [ID],
        "post": by_id("withdraw an intent: hubs and vendors that answered delete it"),
    },
    "/api/intents/accept": {
        "post": op(
            "accept a shown offer: only its vendor learns who she is (reveal)",
            body={"offer": {"type": "string"}, "reveal": {"type": "boolean"}},
        )
    },
    "/api/intents/subscriptions": {
        "post": op(
            "subscribe at a hub (a peer) to categories; [] unsubscribes",
            body={"hub": {"type": "string"}, "categories": {"type": "array"}},
        )
    },
    "/api/intents/inbox": {"get": op("a vendor's inbox: the intents forwarded to it")},
    "/api/intents/inbox/{id}/answer": {
        "parameters": [ID],
        "post": by_id(
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
        "get": op("a hub's rules, listed hubs (met, online), live intents, subscribers")
    },
    "/api/intents/hub/peers/{peer}": {
        "parameters": [PEER],
        "put": op("list a hub: in force at once, kept in config.toml [hub] peers"),
        "delete": op("stop listing a hub: in force at once, kept in config.toml"),
    },
    "/api/vouches": {"get": op("peers whose attestations we trust as our own counterparties'")},
    "/api/vouches/{peer}": {
        "parameters": [PEER],
        "put": op("vouch for a connected peer"),
        "delete": op("withdraw a vouch"),
    },
}
