"""The node's store, SQLite or PostgreSQL: the only package that writes SQL.

One :class:`Store` per database, assembled from the connection (:mod:`.base`, on an engine:
:mod:`.engine` for SQLite, :mod:`.postgres`) and one class of queries per group of tables,
each written once in SQL both engines accept. Numbered migrations (:mod:`.schema`, run by
:mod:`.migrations`), explicit transactions, every commit durable before it counts;
parameterised queries only.
"""

from __future__ import annotations

from amity.node.store.base import StoreBase, StoreError
from amity.node.store.beacons import BeaconsTables
from amity.node.store.core import CoreTables, InboxItem, MailItem, OutboxItem, RelationshipRow
from amity.node.store.customers import CustomersTables, FoundRow, SearchBy
from amity.node.store.delegation import DelegationTables
from amity.node.store.grants import (
    AuditRow,
    GrantReceiptRow,
    GrantRequestRow,
    GrantsTables,
    HoldingRow,
    HoldingsQueryRow,
    IssuedGrantRow,
    VaultRow,
)
from amity.node.store.intents import IntentsTables
from amity.node.store.loyalty import LoyaltyTables
from amity.node.store.reputation import AttestationRow, ReputationTables, SharePolicyRow
from amity.node.store.schema import SCHEMA_VERSION
from amity.node.store.terms import AgreementRow, NegotiationRow, TermsTables
from amity.node.store.things import ThingRow, ThingsTables
from amity.node.store.webhooks import DELIVERY_STATES, DeliveryRow, WebhookRow, WebhooksTables

__all__ = [
    "StoreError",
    "Store",
    "SCHEMA_VERSION",
    "RelationshipRow",
    "FoundRow",
    "SearchBy",
    "OutboxItem",
    "InboxItem",
    "MailItem",
    "NegotiationRow",
    "AgreementRow",
    "VaultRow",
    "IssuedGrantRow",
    "HoldingRow",
    "GrantRequestRow",
    "GrantReceiptRow",
    "HoldingsQueryRow",
    "AuditRow",
    "AttestationRow",
    "SharePolicyRow",
    "ThingRow",
    "WebhookRow",
    "DeliveryRow",
    "DELIVERY_STATES",
]


class Store(
    CoreTables,
    CustomersTables,
    TermsTables,
    GrantsTables,
    ReputationTables,
    IntentsTables,
    LoyaltyTables,
    BeaconsTables,
    ThingsTables,
    WebhooksTables,
    DelegationTables,
    StoreBase,
):
    """One database: a SQLite file's path, or a ``postgresql://`` URL. Use as a context manager;
    writes go through :meth:`transaction`."""
