"""What each intent service needs from the node that runs it: records, rules, trust, randomness.

The daemon answers from SQLite (staged changes visible at once) and its config and policy
files, the simulator from memory and its seeded generator. Nothing here does I/O of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from amity.protocol.core.intents.records import Casting, HubIntent, Seen, Subscriber
from amity.protocol.core.intents.rule import Quote
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentmessages import DirectRules, HubRules
from amity.protocol.keyring import Keyring

__all__ = ["CasterHost", "VendorHost", "HubHost", "DirectHost"]


class CasterHost(Protocol):
    """Her node, as the caster sees it."""

    @property
    def keyring(self) -> Keyring:
        """Her identity: it signs the reveal, and nothing else of an intent."""
        ...

    def random_bytes(self, count: int) -> bytes:
        """Fresh random bytes (the intent keys, nonces, ephemeral keys): from the OS in the
        daemon, from the run's seed in the simulator."""
        ...

    def casting(self, intent_id: bytes) -> Casting | None:
        """Her record of intent ``intent_id``, as last saved, if any."""
        ...

    def trust(self, vendor: PeerId) -> float | None:
        """Her own trust in ``vendor`` (0..1, reputation.md), or None if she knows nothing."""
        ...

    def cut_off(self, vendor: PeerId) -> str | None:
        """Why her reputation policy cuts ``vendor`` off (its offers are hidden), or None."""
        ...


class VendorHost(Protocol):
    """A vendor's node, as the vendor service sees it."""

    @property
    def keyring(self) -> Keyring:
        """The vendor's identity (it signs offers and receipts) and its link keys (accepts)."""
        ...

    def random_bytes(self, count: int) -> bytes: ...

    def seen(self, intent_id: bytes) -> Seen | None:
        """The vendor's record of intent ``intent_id``, if any."""
        ...

    def subscribed(self, hub: PeerId) -> Sequence[str] | None:
        """The categories this vendor subscribed to at ``hub``, or None if it did not."""
        ...

    def quote(self, intent: Intent, now_ms: int) -> Quote | None:
        """The auto-answer rule of the vendor's policy for ``intent`` (see
        :class:`~amity.protocol.core.intents.rule.QuoteRule`), or None: a person decides."""
        ...


class HubHost(Protocol):
    """A hub, as the hub service sees it."""

    @property
    def keyring(self) -> Keyring:
        """The hub's identity (it signs receipts)."""
        ...

    @property
    def rules(self) -> HubRules:
        """What this hub asks and enforces, and the hubs it lists (spec/intents.md §7.1)."""
        ...

    def hub_intent(self, intent_id: bytes) -> HubIntent | None:
        """The live intent ``intent_id`` this hub holds, if any."""
        ...

    def tombstone(self, intent_id: bytes) -> PeerId | None:
        """The way back for an intent deleted less than 24 h ago, if any."""
        ...

    def kept_tombstones(self) -> Sequence[tuple[bytes, PeerId, int]]:
        """Every tombstone kept: intent id, the way back, and until when (ms)."""
        ...

    def live_intents_from(self, origin: PeerId) -> int:
        """How many live intents this hub holds that ``origin`` cast here (its quota)."""
        ...

    def subscriber(self, peer: PeerId) -> Subscriber | None: ...

    def subscribers_for(self, category: str) -> Sequence[PeerId]:
        """The subscribers whose categories match ``category``, in a stable order."""
        ...

    def live_intents(self) -> Sequence[HubIntent]:
        """Every live intent held, in a stable order (for a new subscription)."""
        ...


class DirectHost(VendorHost, Protocol):
    """A vendor whose node takes intents directly at its own endpoint (spec/intents.md §7.8)."""

    @property
    def direct_rules(self) -> DirectRules | None:
        """What its direct endpoint asks and the categories it serves; None: it takes none."""
        ...

    def live_direct_from(self, pseudonym: PeerId) -> int:
        """How many intents in the inbox ``pseudonym`` cast here directly."""
        ...
