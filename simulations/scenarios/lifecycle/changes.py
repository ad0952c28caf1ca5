"""Change once, everywhere, under churn: persons change the field they granted (issue 17 §1).

Each person changes her email at times drawn from ``[changes] interval`` (from the start of the
run to its end). Her node runs the node core's rule (``update_field``, spec/signals.md §2): a
``grant.update`` with the next version goes to every vendor that holds the field under a grant
that is still live (not expired, revoked, deleted, nor under an ended relationship), sealed to its
link key, through the outbox like any message, so a vendor offline now gets it when the two next
meet (or from its relay). The vendor's node replaces the values and answers with an update
receipt; an update that reaches it after the grant's end is refused by its core (it holds nothing
to update), so no vendor ever takes a value past its grant.

Figures (``metrics``): changes made; updates sent and the grants not updated, by reason; updates
the vendors applied, and how long each took from her change (p50, p90); updates applied after
their grant's end (0 by the protocol); update receipts back; and, at the end of the run, grants
still live whose vendor holds an older version than she sent (updates still travelling, because
the vendor or she was offline).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

from amity.protocol.holder import HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.vault import Field, FieldType
from amity.simulations.runs.results import nearest_rank, quantiles

if TYPE_CHECKING:
    from amity.simulations.node import SimNode
    from amity.simulations.scenarios.lifecycle.world import LifecycleWorld

__all__ = ["AddressChanges"]

#: Why a grant naming the field got no update, by the first words of the core's reason.
_REASONS: Final = (
    ("revoked", "revoked"),
    ("expired", "expired"),
    ("deleted", "deleted"),
    ("its agreement ended", "ended"),
    ("no relationship", "ended"),
    ("the relationship is", "ended"),
)


_ALL_REASONS: Final = ("expired", "revoked", "deleted", "ended", "other")


class AddressChanges:
    """Schedules each person's changes, and keeps what became of the updates they caused."""

    def __init__(self, world: LifecycleWorld) -> None:
        self.world = world
        self.made = 0
        self.sent = 0
        self.not_sent: dict[str, int] = {}
        self.applied = 0
        self.applied_after_end = 0
        self.latencies: list[int] = []
        #: Per grant (its id's first 16 hex digits): when each update not yet applied was sent.
        self._sent: dict[str, deque[int]] = {}
        self._rng = world.streams.stream("changes")
        interval = world.scenario.change_interval
        if interval is None:
            return
        for person in world.persons:
            world.engine.call_at(interval.sample(self._rng), self._change, person)

    def _change(self, person: SimNode) -> None:
        world = self.world
        self.made += 1
        value = f"{person.name}+{self.made}@example.org"
        changed = Field("email", FieldType.EMAIL, value)
        world.current_email[person.peer_id] = changed
        now = world.engine.now_ms
        for outcome in person.grants.vault_set(changed):
            if outcome.version is not None:
                self.sent += 1
                key = outcome.grant.grant_id.hex()[:16]
                self._sent.setdefault(key, deque()).append(now)
            else:
                reason = next((r for p, r in _REASONS if outcome.why.startswith(p)), "other")
                self.not_sent[reason] = self.not_sent.get(reason, 0) + 1
        interval = world.scenario.change_interval
        assert interval is not None
        later = now + interval.sample(self._rng)
        if later < world.scenario.duration_ms:
            world.engine.call_at(later, self._change, person)

    def applied_at(self, vendor: SimNode, grantor: PeerId | None, gid_prefix: str) -> None:
        """A vendor's node replaced a grant's values (its core's ``grant.updated``)."""
        row = self.world.grant_row(gid_prefix)
        sent = self._sent.get(gid_prefix)
        if row is None or not sent or row.vendor is not vendor:
            return
        now = self.world.engine.now_ms
        self.applied += 1
        self.latencies.append(now - sent.popleft())
        if now >= row.ends_ms:
            self.applied_after_end += 1

    def behind_at_end(self) -> tuple[int, int]:
        """Grants live at the end whose vendor holds an older version than her node sent, and
        the updates still travelling to them (in an outbox or at a relay)."""
        now = self.world.engine.now_ms
        behind = travelling = 0
        for row in self.world.grants:
            issued = row.person.grants.issued[row.grant_id]
            held = row.vendor.grants.held.get(row.grant_id)
            live = now < row.ends_ms and held is not None and held.state is HoldingState.HELD
            if live and held is not None and held.version < issued.version:
                behind += 1
                travelling += issued.version - held.version
        return behind, travelling

    def summary(self) -> dict[str, Any]:
        """The figures as the run's summary.json and report.md give them."""
        behind, travelling = self.behind_at_end()
        return {
            "interval": "see the scenario's [changes] interval",
            "changes_made": self.made,
            "updates_sent": self.sent,
            "not_updated": {r: self.not_sent.get(r, 0) for r in _ALL_REASONS},
            "updates_applied": self.applied,
            "update_receipts": self.world.counts.get("grant.receipt.update", 0),
            "change_to_vendor_ms": quantiles(self.latencies),
            "updates_applied_after_grant_end": self.applied_after_end,
            "live_grants_behind_at_end": behind,
            "updates_travelling_at_end": travelling,
            # Sent, then the grant ended before the vendor's node took it (refused there, or
            # still queued for a vendor that has not been back).
            "updates_not_taken_grant_ended": self.sent - self.applied - travelling,
        }

    def figures(self) -> dict[str, float]:
        if self.world.scenario.change_interval is None:
            return {}
        out = {
            "changes_made": float(self.made),
            "updates_sent": float(self.sent),
            "updates_applied": float(self.applied),
            "updates_applied_after_grant_end": float(self.applied_after_end),
            "update_receipts": float(self.world.counts.get("grant.receipt.update", 0)),
            "live_grants_behind_at_end": float(self.behind_at_end()[0]),
        }
        for reason in _ALL_REASONS:
            out[f"not_updated_{reason}"] = float(self.not_sent.get(reason, 0))
        if self.latencies:
            ordered = sorted(self.latencies)
            out["p50_change_to_vendor_ms"] = float(nearest_rank(ordered, 50))
            out["p90_change_to_vendor_ms"] = float(nearest_rank(ordered, 90))
        return out
