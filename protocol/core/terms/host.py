"""What the terms service needs from the node that runs it: its records and its owner's rules.

The daemon answers from SQLite (with the changes staged for the next commit visible at once) and
the owner's policy file, the simulator from its dicts and the owner's behaviour. Nothing here
does I/O of its own.
"""

from __future__ import annotations

from typing import Protocol

from amity.protocol.card import NodeKind
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.negotiation import Negotiation
from amity.protocol.policy import Policy
from amity.protocol.relationship import Relationship

__all__ = ["TermsHost"]


class TermsHost(Protocol):
    """The node as the terms service sees it."""

    @property
    def keyring(self) -> Keyring:
        """This node's keys (its identity signs every proposal)."""
        ...

    @property
    def kind(self) -> NodeKind:
        """A person or a vendor: which party of an agreement this node is."""
        ...

    def negotiation_by_id(self, negotiation_id: bytes) -> Negotiation | None:
        """The negotiation with this id, as last saved (staged changes included), if any."""
        ...

    def relationship(self, peer: PeerId) -> Relationship | None:
        """The live relationship with ``peer``, else the latest ended one, else None."""
        ...

    def policy_in_force(self) -> Policy | None:
        """The owner's terms policy, or None: every offer waits for a person."""
        ...

    def cut_off(self, peer: PeerId) -> str | None:
        """Why this node will not agree with ``peer`` (the reputation cut-off), or None."""
        ...

    def holds_agreement(self, agreement_id: bytes, peer: PeerId) -> bool:
        """Whether this node holds agreement ``agreement_id`` with ``peer`` (to amend it)."""
        ...

    def promised(self, peer: PeerId, terms_id: bytes, now_ms: int) -> bool:
        """Whether this node promised to agree to terms ``terms_id`` with ``peer``: it
        countersigned them in an intent offer that ``peer`` accepted and revealed herself in,
        and the offer is still valid (spec/intents.md §6.1)."""
        ...
