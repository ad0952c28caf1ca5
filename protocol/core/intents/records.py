"""The records each intent role keeps: frozen values the driver stores and hands back.

Her :class:`Casting` holds the intent's own secret keys (the pseudonym): the driver keeps them
as carefully as the node's key, and they are never reused for another intent. See
spec/intents.md §5-§7.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import Intent
from amity.protocol.intentacts import IntentReceipt
from amity.protocol.intentoffer import Offer
from amity.protocol.linkcert import LinkKey

__all__ = [
    "CastingState",
    "KeptOffer",
    "Casting",
    "SeenState",
    "Seen",
    "HubIntent",
    "Subscriber",
]


class CastingState(enum.Enum):
    OPEN = "open"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class KeptOffer:
    """An opened offer, with her trust in its vendor when it came and whether it is hidden."""

    offer: Offer
    trust: float | None
    hidden: bool
    envelope_nonce: bytes
    #: The hub it came through.
    via: PeerId


@dataclass(frozen=True, slots=True)
class Casting:
    """Her record of one intent: its keys, where it was cast, the offers kept, the receipts."""

    intent: Intent
    key_seed: bytes = field(repr=False)
    link_private: bytes = field(repr=False)
    hubs: tuple[PeerId, ...]
    work_nonce: bytes
    state: CastingState = CastingState.OPEN
    offers: tuple[KeptOffer, ...] = ()
    accepted: bytes | None = None
    receipts: tuple[IntentReceipt, ...] = ()
    #: The accepted vendor's invitation, from its welcome (spec/intents.md §6.1).
    welcome: bytes | None = None
    #: The vendors it was cast at directly, each as a hub serving itself (spec/intents.md §7.8).
    direct: tuple[PeerId, ...] = ()

    @property
    def targets(self) -> tuple[PeerId, ...]:
        """Everywhere it was cast: the hubs, then the vendors cast at directly."""
        return (*self.hubs, *self.direct)

    @property
    def intent_id(self) -> bytes:
        return self.intent.intent_id

    @property
    def signer(self) -> SigningIdentity:
        """The intent's own key (the pseudonym); never the node's identity."""
        return SigningIdentity(self.key_seed)

    @property
    def link_key(self) -> LinkKey:
        return LinkKey(self.link_private)

    def with_offer(self, kept: KeptOffer) -> Casting:
        return replace(self, offers=(*self.offers, kept))

    def shown(self) -> list[KeptOffer]:
        """The offers she sees, best first (spec/intents.md §5.1): not hidden, higher trust (a
        vendor she knows nothing of after those she trusts), lower price, earlier availability,
        then offer id; at most ``offers_wanted``."""
        visible = [k for k in self.offers if not k.hidden]
        visible.sort(
            key=lambda k: (
                k.trust is None,
                -(k.trust or 0.0),
                k.offer.price.amount_minor,
                k.offer.available_ms,
                k.offer.offer_id,
            )
        )
        return visible[: self.intent.offers_wanted]


class SeenState(enum.Enum):
    NEW = "new"
    ANSWERED = "answered"
    WON = "won"
    #: Won, and the vendor's invitation went back to her (spec/intents.md §6.1).
    WELCOMED = "welcomed"


@dataclass(frozen=True, slots=True)
class Seen:
    """A vendor's record of an intent that reached it, and of its answer."""

    intent: Intent
    via: PeerId
    state: SeenState = SeenState.NEW
    offer: Offer | None = None
    #: Her identity, once she accepted our offer and revealed herself.
    person: PeerId | None = None
    #: Whether the vendor's auto-answer rule made the offer (not a person).
    auto: bool = False

    @property
    def intent_id(self) -> bytes:
        return self.intent.intent_id

    @property
    def direct(self) -> bool:
        """Cast at this vendor directly (spec/intents.md §7.8): it came from its own key."""
        return self.via == self.intent.intent_key


@dataclass(frozen=True, slots=True)
class HubIntent:
    """A hub's record of a live intent: where it came from, where it went, what came back."""

    intent: Intent
    work_nonce: bytes
    #: The caster's pseudonym (the intent key) or the peer hub that forwarded it.
    origin: PeerId
    hops_left: int
    sent_to: frozenset[PeerId] = frozenset()
    #: Sealed offers held, each with the neighbour it came from (a welcome too, §6.1).
    offers: tuple[tuple[PeerId, bytes], ...] = ()
    #: The neighbours her side's sealed mail (an accept) was passed to: each may send one more
    #: sealed message back, the welcome (spec/intents.md §6.1, §7.4).
    accepted: frozenset[PeerId] = frozenset()

    @property
    def intent_id(self) -> bytes:
        return self.intent.intent_id

    def answered_by(self, neighbour: PeerId) -> int:
        return sum(1 for peer, _ in self.offers if peer == neighbour)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A hub's record of a vendor: its categories and how many offers it sent this hour."""

    peer: PeerId
    categories: tuple[str, ...]
    window_start_ms: int = 0
    answers_in_window: int = 0
