"""The daemon: a driver of the node core (amity.protocol.core) with asyncio, sockets and SQLite.

One :class:`Node` per home directory. It owns the store, the relationship book, the replay guard,
live links and the outbox; what a message means is the core's to say. Everything a peer is told
has been committed to disk first: an envelope is stored (inbox + replay window + relationship
change, one transaction) before its ACK goes out, and an outgoing envelope is in the outbox
before its first send. The parts, each a module here:

- :mod:`~amity.node.daemon.node`: the node, its lifetime, and what the owner asks of it;
- :mod:`~amity.node.daemon.receiver`: carries out the core's answer to each input;
- :mod:`~amity.node.daemon.steps`: relationship effects and services' answers in the group commit;
- :mod:`~amity.node.daemon.sender`: the outbox, sent and resent over each link in seq order;
- :mod:`~amity.node.daemon.net`: dialling, holding and reading links;
- :mod:`~amity.node.daemon.depositor`: mail for unreachable peers, left at their relays;
- :mod:`~amity.node.daemon.upkeep`: the hourly sweep;
- :mod:`~amity.node.daemon.base`: shared constants, the wall clock, the node's identity.
"""

from amity.node.daemon.base import (
    INBOX_KEEP_DAYS,
    INBOX_KEEP_MESSAGES,
    Identity,
    wall_clock_ms,
)
from amity.node.daemon.node import Node
from amity.protocol.errors import NodeError

__all__ = [
    "INBOX_KEEP_DAYS",
    "INBOX_KEEP_MESSAGES",
    "Identity",
    "Node",
    "NodeError",
    "wall_clock_ms",
]
