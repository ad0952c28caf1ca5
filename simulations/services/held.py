"""What a simulated node's reputation service keeps: each attestation with where it came from,
and each peer's share policy with how far its sending has got (spec/reputation.md §5)."""

from __future__ import annotations

from dataclasses import dataclass

from amity.protocol.attestation import Attestation
from amity.protocol.sharing import SharePolicy

__all__ = ["HeldAttestation", "PeerSharing"]


@dataclass(slots=True)
class HeldAttestation:
    """One attestation a node holds (what :mod:`amity.protocol.core.reputation.selection`
    reads), with the rebuttals kept beside it."""

    attestation: Attestation
    #: The peer it came from (its key); None for the owner's own.
    origin: bytes | None
    hops: int
    review: str
    #: Rebuttals kept beside it, oldest first (None: none).
    kept_rebuttals: list[bytes] | None = None

    @property
    def attester(self) -> bytes:
        return self.attestation.attester.key

    @property
    def expires_ms(self) -> int:
        return self.attestation.expires_ms

    @property
    def attestation_id(self) -> bytes:
        return self.attestation.attestation_id

    @property
    def encoded(self) -> bytes:
        return self.attestation.encoded


@dataclass(slots=True)
class PeerSharing:
    """What one peer may be sent, and how far through the held list its sending has got."""

    policy: SharePolicy
    #: Held items before this index were shared, or not allowed when last looked at.
    cursor: int = 0
    #: (sent at, how many) in the last hour, oldest first: the hourly rate.
    recent: list[tuple[int, int]] | None = None
