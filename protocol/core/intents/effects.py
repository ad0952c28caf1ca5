"""What the intent services ask their drivers to do: plain values, carried out in order.

Records are saved or dropped in the commit of the input that caused them, together with the
messages to send (:class:`~amity.protocol.relationship.SendMessage`, signed by the node's
identity, or :class:`SendAsIntent`, signed by one intent's own key); timers are armed once that
commit is on disk. The notices (:class:`OfferShown` …) tell the owner's software what happened.
See spec/intents.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from amity.protocol.card import Card
from amity.protocol.core.intents.records import Casting, HubIntent, KeptOffer, Seen, Subscriber
from amity.protocol.identity import PeerId
from amity.protocol.intent import TermsRef
from amity.protocol.intentacts import Accept, IntentReceipt
from amity.protocol.intentoffer import Offer
from amity.protocol.relationship import SendMessage

__all__ = [
    "Effect",
    "IntentEffect",
    "SendAsIntent",
    "SaveCasting",
    "SaveSeen",
    "SaveSubscription",
    "DropSeen",
    "SaveHubIntent",
    "DropHubIntent",
    "SaveSubscriber",
    "DropTombstone",
    "ForgetPseudonym",
    "ArmExpiry",
    "OfferShown",
    "OfferHidden",
    "AcceptSent",
    "ReceiptKept",
    "IntentArrived",
    "OfferSent",
    "Won",
    "Invite",
    "Welcomed",
    "Relayed",
]


class Effect:
    """Base class of the intent services' own effects."""

    __slots__ = ()


#: Everything the intent services return.
IntentEffect: TypeAlias = Effect | SendMessage


# -- in the commit ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendAsIntent(Effect):
    """Sign ``body`` as a message of ``type`` to ``to`` with the key of intent ``intent_id``
    (the pseudonym's own envelope, seq and link: never the node's identity) and deliver it."""

    intent_id: bytes
    to: PeerId
    type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class SaveCasting(Effect):
    """Store her record of one intent (its secret keys included: keep them like the node key)."""

    casting: Casting


@dataclass(frozen=True, slots=True)
class SaveSeen(Effect):
    """Store a vendor's record of an intent forwarded to it."""

    seen: Seen


@dataclass(frozen=True, slots=True)
class SaveSubscription(Effect):
    """Store the vendor's subscription at ``hub`` (empty: none)."""

    hub: PeerId
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DropSeen(Effect):
    """Delete a vendor's record of intent ``intent_id`` (withdrawn or expired): the intent and
    the offer made for it leave the vendor's store."""

    intent_id: bytes


@dataclass(frozen=True, slots=True)
class SaveHubIntent(Effect):
    """Store a hub's record of an intent (with the sealed offers it holds for it)."""

    record: HubIntent


@dataclass(frozen=True, slots=True)
class DropHubIntent(Effect):
    """Delete the intent and its offers; keep a tombstone (the way back) until ``until_ms``."""

    intent_id: bytes
    origin: PeerId
    until_ms: int


@dataclass(frozen=True, slots=True)
class SaveSubscriber(Effect):
    """Store a hub's record of one subscriber (its categories and its rate window)."""

    subscriber: Subscriber


@dataclass(frozen=True, slots=True)
class DropTombstone(Effect):
    """Forget the tombstone of intent ``intent_id``: its time is over (spec/intents.md §7.7)."""

    intent_id: bytes


@dataclass(frozen=True, slots=True)
class ForgetPseudonym(Effect):
    """Forget what the driver keeps for ``pseudonym``: its replay window, its sequence counter
    and every envelope queued to it that it never collected (spec/intents.md §7.7)."""

    pseudonym: PeerId


# -- once the commit is on disk --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArmExpiry(Effect):
    """Wake the service with ``timer_fired(intent_id)`` at ``at_ms``."""

    intent_id: bytes
    at_ms: int


@dataclass(frozen=True, slots=True)
class Invite(Effect):
    """She accepted our offer and revealed herself as ``person``: issue a one-time invitation
    (our card with an invite secret and no policy summary) valid until ``not_after_ms``, and hand
    it to :func:`~amity.protocol.core.intents.vendor.welcome` (spec/intents.md §6.1)."""

    intent_id: bytes
    person: PeerId
    not_after_ms: int


@dataclass(frozen=True, slots=True)
class Welcomed(Effect):
    """The vendor she accepted invited her in: dial with ``invitation``, then offer ``terms``
    (the intent's, which the vendor's offer countersigned) once connected (spec/intents.md §6.1)."""

    intent_id: bytes
    invitation: Card
    terms: TermsRef


# -- notices for the owner -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferShown(Effect):
    """An offer arrived and is shown to her (``rank`` 1 is the best of those shown)."""

    intent_id: bytes
    kept: KeptOffer
    rank: int


@dataclass(frozen=True, slots=True)
class OfferHidden(Effect):
    """An offer arrived from a vendor below her cut-off (``why``): kept, never shown."""

    intent_id: bytes
    vendor: PeerId
    why: str


@dataclass(frozen=True, slots=True)
class AcceptSent(Effect):
    """She accepted ``offer``; ``revealed`` says whether her identity went with it. The node
    may now dial the vendor and open the relationship (spec/intents.md §6)."""

    intent_id: bytes
    offer: Offer
    revealed: bool


@dataclass(frozen=True, slots=True)
class ReceiptKept(Effect):
    """A hub or vendor's deletion receipt for one of her intents."""

    receipt: IntentReceipt


@dataclass(frozen=True, slots=True)
class IntentArrived(Effect):
    """A vendor's inbox gained an intent."""

    seen: Seen


@dataclass(frozen=True, slots=True)
class OfferSent(Effect):
    """The vendor answered an intent (``auto``: by its rule)."""

    intent_id: bytes
    offer: Offer
    auto: bool


@dataclass(frozen=True, slots=True)
class Won(Effect):
    """Her accept reached the vendor; ``accept.reveal`` names her, if she chose to."""

    intent_id: bytes
    accept: Accept


@dataclass(frozen=True, slots=True)
class Relayed(Effect):
    """What a hub did with one input (``what``: stored, forwarded, relayed, dropped…), for its log
    and its counters."""

    intent_id: bytes
    what: str
    count: int
