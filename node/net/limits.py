"""How long a peer may take and how many connections the peer port holds (``[limits]``).

The knobs of amity.node.net.admission, read from ``config.toml`` (README lists them; the rules are
spec/link.md §7), and the process's open-file limit that every budget must fit under.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass, fields
from typing import Any, Final

from amity.node.logs import log_event

__all__ = ["ACCEPT_BACKLOG", "FD_RESERVE", "Limits", "raise_file_limit"]

_log = logging.getLogger("amity.limits")
#: File descriptors kept out of the peer budget: database, WAL, logs, the local API, dialling out.
FD_RESERVE: Final = 64
#: Connections the kernel queues before we accept them; asyncio accepts up to this many at once,
#: before the budget can close any, so the budget leaves room for one such burst.
ACCEPT_BACKLOG: Final = 128
#: Where RLIMIT_NOFILE's hard limit is "unlimited" (macOS), a soft limit the kernel accepts.
_UNLIMITED_SOFT: Final = 10_240


@dataclass(frozen=True, slots=True)
class Limits:
    """Timeouts (seconds) and connection budgets of the peer endpoint; defaults suit most nodes."""

    #: From TCP accept to the end of the first request's headers.
    header_timeout_s: float = 10.0
    #: For the body of a request (an inbox POST), once its headers are in.
    body_timeout_s: float = 60.0
    #: For the Noise handshake, once the WebSocket is open.
    handshake_timeout_s: float = 10.0
    #: After an answer on a kept-alive HTTP connection, until the next request's headers are in.
    idle_timeout_s: float = 30.0
    #: Open TCP connections on the peer port, all told (clamped below the open-file limit).
    max_connections: int = 1024
    #: Of those, connections not (yet) proven to come from a peer we have a relationship with.
    max_strangers: int = 256
    #: Stranger connections from one remote address (an IPv6 /64 counts as one). As many as
    #: the WebSocket sessions one address had before: at 32, 50 customers behind one address
    #: (a NAT, or a benchmark on loopback) reconnecting at once pushed out each other's
    #: handshakes, and acknowledged notes/s over 50 relationships fell by a fifth.
    max_strangers_per_address: int = 64

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Limits:
        """The ``[limits]`` table of config.toml; raises ValueError naming a bad key."""
        if not isinstance(table, dict):
            raise ValueError(f"limits must be a table ([limits]), not {table!r}")
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                raise ValueError(f"[limits] has no setting {key!r}; known: {', '.join(known)}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"[limits] {key} must be a number, not {value!r}")
            if value <= 0:
                raise ValueError(f"[limits] {key} must be above 0, not {value!r}")
            if key.startswith("max_"):
                if not isinstance(value, int):
                    raise ValueError(f"[limits] {key} must be a whole number, not {value!r}")
                values[key] = value
            else:
                values[key] = float(value)
        return cls(**values)

    def to_toml(self) -> str:
        lines = ["[limits]"]
        for f in fields(self):
            value = getattr(self, f.name)
            lines.append(
                f"{f.name} = {value:g}" if isinstance(value, float) else f"{f.name} = {value}"
            )
        return "\n".join(lines) + "\n"

    def fitted(self, open_files: int) -> Limits:
        """These limits with the connection budget inside ``open_files`` less the reserve and
        one accept burst."""
        room = max(open_files - FD_RESERVE - ACCEPT_BACKLOG, 8)
        total = min(self.max_connections, room)
        strangers = min(self.max_strangers, total)
        return Limits(
            header_timeout_s=self.header_timeout_s,
            body_timeout_s=self.body_timeout_s,
            handshake_timeout_s=self.handshake_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            max_connections=total,
            max_strangers=strangers,
            max_strangers_per_address=min(self.max_strangers_per_address, strangers),
        )


def raise_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; returns the soft limit now in force.

    The default soft limit (often 1 024) is far below what the kernel allows a process; a node
    that keeps it runs out of descriptors long before its budgets say it should.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _UNLIMITED_SOFT if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log_event(_log, "limits.files_raised", soft=target, was=soft)
            soft = target
        except (ValueError, OSError) as exc:
            log_event(_log, "limits.files_unchanged", logging.WARNING, soft=soft, why=str(exc))
    return _UNLIMITED_SOFT if soft == resource.RLIM_INFINITY else soft
