"""The database schema as numbered migrations: a database at version N has run the first N."""

from __future__ import annotations

from typing import Final

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: relationships, invitations, outbox/inbox, replay windows, relay mailbox.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    CREATE TABLE relationships (
        id INTEGER PRIMARY KEY,
        invite_secret BLOB NOT NULL UNIQUE,
        peer_id BLOB,
        state TEXT NOT NULL,
        record TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        timer_at_ms INTEGER
    );
    CREATE INDEX relationships_peer ON relationships (peer_id);
    CREATE INDEX relationships_timer ON relationships (timer_at_ms) WHERE timer_at_ms IS NOT NULL;
    CREATE TABLE seq_counters (peer_id BLOB PRIMARY KEY, last_seq INTEGER NOT NULL);
    CREATE TABLE outbox (
        peer_id BLOB NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        envelope BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        acked_ms INTEGER,
        PRIMARY KEY (peer_id, seq)
    );
    CREATE INDEX outbox_pending ON outbox (peer_id, seq) WHERE acked_ms IS NULL;
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        peer_id BLOB NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        body BLOB NOT NULL,
        envelope BLOB NOT NULL,
        received_ms INTEGER NOT NULL,
        UNIQUE (peer_id, seq)
    );
    CREATE TABLE replay (peer_id BLOB PRIMARY KEY, highest INTEGER NOT NULL, bitmap BLOB NOT NULL);
    CREATE TABLE mailbox (
        id INTEGER PRIMARY KEY,
        recipient BLOB NOT NULL,
        sender BLOB NOT NULL,
        sealed BLOB NOT NULL,
        received_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    CREATE INDEX mailbox_recipient ON mailbox (recipient, id);
    """,
    # 2: terms negotiations (the protocol record as JSON) and the agreements they reached.
    """
    CREATE TABLE negotiations (
        negotiation_id BLOB PRIMARY KEY,
        peer_id BLOB NOT NULL,
        state TEXT NOT NULL,
        record TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        timer_at_ms INTEGER
    );
    CREATE INDEX negotiations_peer ON negotiations (peer_id);
    CREATE INDEX negotiations_timer ON negotiations (timer_at_ms) WHERE timer_at_ms IS NOT NULL;
    CREATE TABLE agreements (
        agreement_id BLOB PRIMARY KEY,
        negotiation_id BLOB NOT NULL UNIQUE REFERENCES negotiations (negotiation_id),
        peer_id BLOB NOT NULL,
        terms_id BLOB NOT NULL,
        agreed_ms INTEGER NOT NULL,
        encoded BLOB NOT NULL,
        superseded_by BLOB
    );
    CREATE INDEX agreements_peer ON agreements (peer_id);
    """,
    # 3: the vault, grants issued and held (values sealed, one row each so deletion is a DELETE),
    # grant requests, receipts, holdings queries and the hash-chained audit log (spec/grants.md).
    """
    CREATE TABLE vault (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        sealed BLOB NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE grants_issued (
        grant_id BLOB PRIMARY KEY,
        peer_id BLOB NOT NULL,
        agreement_id BLOB NOT NULL,
        encoded BLOB NOT NULL,
        issued_ms INTEGER NOT NULL,
        not_after_ms INTEGER NOT NULL,
        revocation BLOB,
        revoked_ms INTEGER
    );
    CREATE INDEX grants_issued_peer ON grants_issued (peer_id);
    CREATE TABLE holdings (
        grant_id BLOB PRIMARY KEY,
        grantor BLOB NOT NULL,
        state TEXT NOT NULL,
        record TEXT NOT NULL,
        timer_at_ms INTEGER,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX holdings_grantor ON holdings (grantor, state);
    CREATE TABLE held_values (
        grant_id BLOB NOT NULL,
        name TEXT NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (grant_id, name)
    );
    CREATE TABLE grant_requests (
        id INTEGER PRIMARY KEY,
        peer_id BLOB NOT NULL,
        outgoing INTEGER NOT NULL,
        body BLOB NOT NULL,
        at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        grant_id BLOB,
        decided_ms INTEGER
    );
    CREATE TABLE grant_receipts (
        id INTEGER PRIMARY KEY,
        peer_id BLOB NOT NULL,
        grant_id BLOB NOT NULL,
        kind TEXT NOT NULL,
        encoded BLOB NOT NULL UNIQUE,
        received_ms INTEGER NOT NULL
    );
    CREATE INDEX grant_receipts_grant ON grant_receipts (grant_id);
    CREATE TABLE holdings_queries (
        query_id BLOB PRIMARY KEY,
        peer_id BLOB NOT NULL,
        asked_ms INTEGER NOT NULL,
        statement BLOB,
        answered_ms INTEGER
    );
    CREATE TABLE audit_log (
        idx INTEGER PRIMARY KEY,
        peer_id BLOB,
        kind TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        entry BLOB NOT NULL
    );
    CREATE INDEX audit_log_peer ON audit_log (peer_id);
    """,
    # 4: reputation (spec/reputation.md §6): attestations we made or received, the rebuttals
    # that travel with them, what we shared with whom, per-peer share policies, vouched peers.
    """
    CREATE TABLE attestations (
        attestation_id BLOB PRIMARY KEY,
        attester BLOB NOT NULL,
        subject BLOB NOT NULL,
        verdict TEXT NOT NULL,
        encoded BLOB NOT NULL,
        issued_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        origin BLOB,
        hops INTEGER NOT NULL,
        review TEXT NOT NULL,
        cause BLOB,
        received_ms INTEGER NOT NULL
    );
    CREATE INDEX attestations_subject ON attestations (subject);
    CREATE INDEX attestations_origin ON attestations (origin);
    CREATE UNIQUE INDEX attestations_cause ON attestations (cause) WHERE cause IS NOT NULL;
    CREATE TABLE rebuttals (
        attestation_id BLOB NOT NULL,
        encoded BLOB NOT NULL UNIQUE,
        received_ms INTEGER NOT NULL
    );
    CREATE INDEX rebuttals_attestation ON rebuttals (attestation_id);
    CREATE TABLE shared (
        peer_id BLOB NOT NULL,
        attestation_id BLOB NOT NULL,
        shared_ms INTEGER NOT NULL,
        PRIMARY KEY (peer_id, attestation_id)
    );
    CREATE INDEX shared_when ON shared (peer_id, shared_ms);
    CREATE TABLE share_policies (
        peer_id BLOB PRIMARY KEY,
        mode TEXT NOT NULL,
        max_hops INTEGER NOT NULL,
        per_hour INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE vouches (peer_id BLOB PRIMARY KEY, at_ms INTEGER NOT NULL);
    """,
    # 5 (h14-deletion): the inbox keeps no grant.deliver body (the values live in held_values,
    # where deletion reaches them: spec/grants.md §8.7), and is pruned by age (link.md §2.1).
    """
    UPDATE inbox SET body = x'', envelope = x'' WHERE type = 'grant.deliver';
    CREATE INDEX inbox_received ON inbox (received_ms);
    """,
    # 6 (h14-relayabuse): deposit tickets (spec/relay.md §6). A relay marks the mail it holds
    # without a ticket, which shares the strangers' small budget per recipient; a sender keeps the
    # latest ticket each peer gave it in a hello, to show with its deposits.
    """
    ALTER TABLE mailbox ADD COLUMN ticketed INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX mailbox_strangers ON mailbox (recipient) WHERE ticketed = 0;
    CREATE TABLE deposit_tickets (
        peer_id BLOB PRIMARY KEY,
        ticket BLOB NOT NULL,
        not_after_ms INTEGER NOT NULL
    );
    """,
    # 7 (issue 16): intentcasting. Each role's records as JSON, one row each (a withdraw or an
    # expiry is a DELETE): her castings (with the intent's own keys), the envelopes she signs
    # as an intent key for each hub and the highest seq she took from each; a vendor's inbox and
    # subscriptions; a hub's live intents, tombstones and subscribers (spec/intents.md §7.5).
    """
    CREATE TABLE intent_castings (intent_id BLOB PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE intent_links (
        intent_id BLOB NOT NULL,
        hub BLOB NOT NULL,
        last_out INTEGER NOT NULL,
        last_in INTEGER NOT NULL,
        PRIMARY KEY (intent_id, hub)
    );
    CREATE TABLE intent_outbox (
        intent_id BLOB NOT NULL,
        hub BLOB NOT NULL,
        seq INTEGER NOT NULL,
        envelope BLOB NOT NULL,
        acked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (intent_id, hub, seq)
    );
    CREATE TABLE intent_seen (intent_id BLOB PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE intent_subscriptions (hub BLOB PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE intent_hub (intent_id BLOB PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE intent_tombstones (intent_id BLOB PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE intent_subscribers (peer_id BLOB PRIMARY KEY, record TEXT NOT NULL);
    """,
    # 8 (issue 19): an agreement ends with the relationship it was signed in (terms.md §10).
    """
    ALTER TABLE agreements ADD COLUMN ended_ms INTEGER;
    """,
    # 9 (issue 17): change once, everywhere. The newest version of a grant's values we sent in
    # a grant.update (0: only the delivery; spec/signals.md §2).
    """
    ALTER TABLE grants_issued ADD COLUMN update_version INTEGER NOT NULL DEFAULT 0;
    """,
    # 10 (issue 17): loyalty declarations, hers and received (spec/loyalty.md).
    """
    CREATE TABLE loyalty (
        declaration_id BLOB PRIMARY KEY,
        mine INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        declaration BLOB NOT NULL,
        revocation BLOB
    );
    """,
    # 11 (issue 17): support beacons, hers and those raised to this node (spec/beacons.md).
    """
    CREATE TABLE beacons (
        raiser BLOB NOT NULL,
        beacon_id BLOB NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (raiser, beacon_id)
    );
    """,
    # 12 (issue 18): the vendor's console searches its customers by name, fingerprint and did
    # prefix, a page at a time, at 100 000 relationships: the three as columns, each indexed
    # (with the rowid, the order of a page). Rows from before are filled in by the book once.
    """
    ALTER TABLE relationships ADD COLUMN peer_name TEXT;
    ALTER TABLE relationships ADD COLUMN peer_fingerprint TEXT;
    ALTER TABLE relationships ADD COLUMN peer_did TEXT;
    CREATE INDEX relationships_name ON relationships (peer_name) WHERE peer_name IS NOT NULL;
    CREATE INDEX relationships_fingerprint ON relationships (peer_fingerprint)
        WHERE peer_fingerprint IS NOT NULL;
    CREATE INDEX relationships_did ON relationships (peer_did) WHERE peer_did IS NOT NULL;
    """,
    # 13 (issue 17): things she owns: each thing's card and its key's seed, sealed with the
    # vault key (spec/things.md §3).
    """
    CREATE TABLE things (
        thing_id BLOB PRIMARY KEY,
        added_ms INTEGER NOT NULL,
        card BLOB NOT NULL,
        sealed_seed BLOB NOT NULL
    );
    """,
    # 14 (issue 17): selling a thing (spec/things.md §4): where each stands (owned, offered,
    # incoming, sold), the transfer in flight, the sales before. A sold thing's seed is b"".
    """
    ALTER TABLE things ADD COLUMN state TEXT NOT NULL DEFAULT 'owned';
    ALTER TABLE things ADD COLUMN transfer BLOB;
    ALTER TABLE things ADD COLUMN history BLOB;
    """,
    # 15 (issue 17 §5): fourth parties (spec/delegation.md): capabilities issued and held, acts,
    # and the revocations a vendor keeps, each as JSON keyed by its id.
    """
    CREATE TABLE delegations (
        record_id BLOB PRIMARY KEY,
        kind TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    """,
    # 16 (issue 21): CRM webhooks (spec/webhooks.md): the subscriptions, the events each wants
    # (one row per event, so the commit that causes an event queues its deliveries with one
    # INSERT ... SELECT), and the persistent delivery queue with its dead letters.
    """
    CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE webhook_events (
        event TEXT NOT NULL,
        webhook INTEGER NOT NULL,
        PRIMARY KEY (event, webhook)
    );
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        webhook INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        event TEXT NOT NULL,
        body BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_ms INTEGER,
        last_ms INTEGER,
        last_error TEXT,
        delivered_ms INTEGER,
        queued_ms INTEGER NOT NULL
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_ms) WHERE state = 'pending';
    CREATE INDEX webhook_deliveries_state ON webhook_deliveries (state, id);
    CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook);
    """,
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
