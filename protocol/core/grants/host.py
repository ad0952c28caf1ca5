"""What the grants service needs from the node that runs it: its records, by plain calls.

The daemon answers from SQLite (with the changes staged for the next commit visible at once),
the simulator from its dicts. Nothing here does I/O of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from amity.protocol.agreement import Agreement
from amity.protocol.core.grants.rule import SharingRule
from amity.protocol.holder import Holding
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship
from amity.protocol.vault import Field, FieldType

__all__ = ["AgreementRecord", "AskedQuery", "GrantsHost", "Vault"]


@dataclass(frozen=True, slots=True)
class AgreementRecord:
    """An agreement the node holds, with whom, and the amendment that replaced it, if one."""

    agreement: Agreement
    peer: PeerId
    superseded_by: bytes | None = None
    #: When it ended with the relationship it was signed in (spec/terms.md §10); None: not.
    ended_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AskedQuery:
    """A holdings query we sent: to whom, and whether an answer is kept already."""

    peer: PeerId
    answered: bool


class Vault(Protocol):
    """The person's own fields, by name or by type (the source of a derived claim)."""

    def get(self, name: str) -> Field | None: ...

    def of_type(self, kind: FieldType) -> Field | None: ...


class GrantsHost(Protocol):
    """The node as the grants service sees it."""

    @property
    def keyring(self) -> Keyring: ...

    @property
    def keeps_data(self) -> bool:
        """A test mode (``--misbehave keep-data``): deletion timers never delete."""
        ...

    @property
    def vault(self) -> Vault:
        """The person's own fields (what her grants deliver)."""
        ...

    @property
    def rule(self) -> SharingRule:
        """Her rule for grant requests."""
        ...

    def relationship(self, peer: PeerId) -> Relationship | None:
        """The live relationship with ``peer``, else the latest ended one, else None."""
        ...

    def check_grantee(self, peer: PeerId) -> None:
        """Raise to refuse any new grant to ``peer`` (e.g. the owner's trust cuts it off)."""
        ...

    # -- agreements (the terms service keeps them) -------------------------------------------------

    def agreement(self, agreement_id: bytes) -> AgreementRecord | None: ...

    def agreed_peers(self) -> Iterable[PeerId]:
        """The peers this node holds an agreement with that has not ended."""
        ...

    def agreements_with(self, peer: PeerId) -> Sequence[AgreementRecord]:
        """Every agreement with ``peer``, newest first."""
        ...

    # -- the grantee's holdings --------------------------------------------------------------------

    def holding(self, grant_id: bytes) -> Holding | None:
        """The holding of ``grant_id``, with its values while HELD (staged changes included)."""
        ...

    def held_from(self, grantor: PeerId | None = None) -> Sequence[Holding]:
        """HELD holdings (from ``grantor``, or all), newest first; values need not be loaded."""
        ...

    # -- the grantor's records ---------------------------------------------------------------------

    def issued_to(self, grant_id: bytes) -> PeerId | None:
        """The grantee of a grant we issued, or None if we issued no such grant."""
        ...

    def asked(self, query_id: bytes) -> AskedQuery | None:
        """A holdings query we sent, or None."""
        ...
