"""The owner's reputation policy: when a peer is cut off, what happens then, how attesting goes.

A plain value both drivers hold: the daemon keeps it in its store's meta table as JSON
(``amity reputation --threshold …``, ``PUT /api/reputation/policy``), the simulator in memory.
See spec/reputation.md §6.5.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Final

from amity.protocol.errors import UsageError
from amity.protocol.trust import Standing

__all__ = ["ReputationPolicy", "ON_EXISTING", "DAY_MS"]

#: What to do about live grants to a peer once it is cut off.
ON_EXISTING: Final = ("warn", "revoke")
_DAY_S: Final = 86_400
DAY_MS: Final = _DAY_S * 1000


@dataclass(frozen=True, slots=True)
class ReputationPolicy:
    """The cut-off rule and the attesting settings of one node."""

    #: A peer whose standing is below this (with enough evidence) is cut off: -1 .. 1.
    threshold: float = 0.0
    #: How much trusted evidence (sum of attester weights) a cut-off needs.
    min_evidence: float = 0.5
    #: Live grants to a peer that is cut off: "warn" (an event) or "revoke" them.
    on_existing: str = "warn"
    #: Share automatic attestations at once (True), or hold them for the owner's review.
    auto_share: bool = False
    #: How long after a grant ends the deletion receipt may take before it counts as a breach.
    receipt_grace_s: int = 3600
    #: How long an attestation this node signs stays valid.
    attestation_days: int = 365
    #: How many attestations this node keeps from any one peer.
    max_received_per_peer: int = 20_000

    def cuts_off(self, standing: Standing) -> bool:
        """Whether ``standing`` falls under this policy's threshold, on enough evidence."""
        return standing.below(self.threshold, self.min_evidence)

    def reason(self, standing: Standing) -> str:
        """Why ``standing`` cuts a peer off, in words the owner reads (the grant's refusal)."""
        value = standing.value
        shown = "unknown" if value is None else f"{value:+.2f}"
        return (
            f"standing {shown} on evidence {standing.evidence:.2f} (trusted breached "
            f"{standing.breached:.2f}, honoured {standing.honoured:.2f}) is below your threshold "
            f"{self.threshold:+.2f}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, base: ReputationPolicy | None = None) -> ReputationPolicy:
        """Read (a part of) a policy: keys not given keep their values from ``base``."""
        if not isinstance(data, dict):
            raise UsageError("a reputation policy is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(
                f"unknown reputation policy key(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(known))}"
            )
        policy = replace(base or cls(), **data)
        policy.check()
        return policy

    def check(self) -> None:
        def number(name: str, lo: float, hi: float) -> None:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (lo <= value <= hi)
            ):
                raise UsageError(f"{name} is a number in {lo:g} .. {hi:g}")

        number("threshold", -1.0, 1.0)
        number("min_evidence", 0.0, 1_000_000.0)
        if self.on_existing not in ON_EXISTING:
            raise UsageError(f"on_existing is one of {', '.join(ON_EXISTING)}")
        if not isinstance(self.auto_share, bool):
            raise UsageError("auto_share is true or false")
        for name, hi in (
            ("receipt_grace_s", 365 * _DAY_S),
            ("attestation_days", 10 * 365),
            ("max_received_per_peer", 10_000_000),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= hi:
                raise UsageError(f"{name} is a whole number in 1 .. {hi}")

    @property
    def grace_ms(self) -> int:
        """How long after a grant ends its deletion receipt is in time (§6.2)."""
        return self.receipt_grace_s * 1000

    @property
    def attestation_ttl_ms(self) -> int:
        """How long an attestation this node signs stays valid."""
        return self.attestation_days * DAY_MS

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes | None) -> ReputationPolicy:
        if data is None:
            return cls()
        return cls.from_json(json.loads(data))
