"""The simulated network: hosts, ordered connections, latency, loss, partitions, offline hosts.

A :class:`Connection` stands for one transport connection (a WebSocket over TCP in the reference
node): whole messages of at most one Noise message (``MAX_FRAME_BYTES``), in order, in both
directions. Each message takes a latency drawn from the
link profile of the two hosts' groups, never overtaking an earlier one. Loss is drawn per message
and breaks the connection from that message on, as a stream transport would: the messages sent
before it in that direction still arrive, it and everything its sender sends after it on that
connection are lost (a real session could not decrypt past the gap), and the other direction keeps
working until each end notices, ``detect_ms`` after the loss (its peer silent for too long); then
the connection is gone and each end redials. A host that goes offline loses its connections at
once (its peers notice after ``detect_ms``), and a partition breaks every connection across it and
refuses dials until it heals.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from amity.protocol.errors import UsageError
from amity.protocol.session import MAX_FRAME_BYTES
from amity.simulations.world.distributions import Distribution
from amity.simulations.world.engine import Engine

__all__ = [
    "BOTH",
    "Host",
    "ConnectionHandler",
    "LinkProfile",
    "Partition",
    "NetworkStats",
    "Connection",
    "Network",
]

#: ``at_once`` of :meth:`Network.break_connection` for both ends.
BOTH: Final = -2


class Host(Protocol):
    """What the network tells a host about: inbound connections and its own reachability."""

    def accept(self, connection: Connection) -> None:
        """A peer connected; attach a handler with :meth:`Connection.attach` before returning."""
        ...

    def went_offline(self) -> None: ...

    def came_online(self) -> None: ...


class ConnectionHandler(Protocol):
    """One end of a connection: messages in, and the news that the connection is gone."""

    def on_data(self, data: bytes) -> None: ...

    def on_closed(self, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LinkProfile:
    """Latency per message and the probability that a message is lost (breaking its connection)."""

    latency: Distribution
    loss: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss < 1.0:
            raise UsageError(f"a loss probability is in [0, 1), got {self.loss}")


@dataclass(frozen=True, slots=True)
class Partition:
    """From ``start_ms`` to ``end_ms`` the hosts in ``side`` cannot reach the others."""

    start_ms: int
    end_ms: int
    side: tuple[int, ...]
    _members: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.start_ms < self.end_ms:
            raise UsageError("a partition needs 0 <= start_ms < end_ms")
        object.__setattr__(self, "side", tuple(sorted(set(self.side))))
        object.__setattr__(self, "_members", frozenset(self.side))

    def separates(self, a: int, b: int) -> bool:
        return (a in self._members) != (b in self._members)


@dataclass(slots=True)
class NetworkStats:
    """Counts of what the network carried and lost (deterministic: they go into results)."""

    messages_sent: int = 0
    bytes_sent: int = 0
    messages_delivered: int = 0
    #: Lost on the way (and the connection broke from it on).
    lost_in_transit: int = 0
    #: Sent after a loss in the same direction, or on, or in flight over, a broken connection.
    lost_on_dead_connection: int = 0
    dials: int = 0
    dials_failed: int = 0
    connections_opened: int = 0
    connections_closed: int = 0
    #: Connections broken, by reason: loss, offline, partition, too_big (a message over the limit).
    broken: dict[str, int] = field(default_factory=dict)


class Connection:
    """An ordered, message-oriented connection between hosts ``a`` (the dialler) and ``b``."""

    __slots__ = (
        "_handler_a",
        "_handler_b",
        "_last_a_ms",
        "_last_b_ms",
        "_lost_from",
        "a",
        "alive",
        "b",
        "conn_id",
        "network",
        "opened_ms",
    )

    def __init__(self, network: Network, conn_id: int, a: int, b: int) -> None:
        self.network = network
        self.conn_id = conn_id
        self.a = a
        self.b = b
        self.alive = True
        self.opened_ms = network.engine.now_ms
        self._handler_a: ConnectionHandler | None = None
        self._handler_b: ConnectionHandler | None = None
        #: Arrival time of the latest message from each end, so none overtakes another.
        self._last_a_ms = 0
        self._last_b_ms = 0
        #: The ends whose direction lost a message: nothing they send arrives any more.
        self._lost_from: tuple[int, ...] = ()

    def other(self, address: int) -> int:
        return self.b if address == self.a else self.a

    def attach(self, address: int, handler: ConnectionHandler) -> None:
        if address == self.a:
            self._handler_a = handler
        elif address == self.b:
            self._handler_b = handler
        else:
            raise UsageError(f"host {address} is not an end of connection {self.conn_id}")

    def _handler(self, address: int) -> ConnectionHandler | None:
        if address == self.a:
            return self._handler_a
        return self._handler_b if address == self.b else None

    def send(self, sender: int, data: bytes) -> None:
        """Send one message to the other end; it may arrive, or be lost and break the connection.

        A loss breaks it from this message on: what was sent before still arrives, and the ends
        notice ``detect_ms`` later (see the module docstring).
        """
        net = self.network
        stats = net.stats
        stats.messages_sent += 1
        stats.bytes_sent += len(data)
        if not self.alive or sender in self._lost_from:
            stats.lost_on_dead_connection += 1
            return
        if len(data) > MAX_FRAME_BYTES:
            # As the WebSocket: the receiver refuses a message over one Noise message (close
            # code 1009), so a framing bug breaks the connection here as on the wire.
            net.break_connection(self, "too_big")
            return
        receiver = self.other(sender)
        delay = net.transmit(sender, receiver)
        if delay is None:
            stats.lost_in_transit += 1
            if not self._lost_from:  # the first loss: both ends notice detect_ms from now
                net.engine.call_later(net.detect_ms, net.break_connection, self, "loss", BOTH)
            self._lost_from = (*self._lost_from, sender)
            return
        if sender == self.a:
            at_ms = self._last_a_ms = max(net.engine.now_ms + delay, self._last_a_ms)
        else:
            at_ms = self._last_b_ms = max(net.engine.now_ms + delay, self._last_b_ms)
        net.engine.call_at(at_ms, self._arrive, receiver, data)

    def _arrive(self, receiver: int, data: bytes) -> None:
        stats = self.network.stats
        handler = self._handler(receiver)
        if not self.alive or handler is None:
            stats.lost_on_dead_connection += 1
            return
        stats.messages_delivered += 1
        handler.on_data(data)

    def close(self, closer: int) -> None:
        """Close deliberately: the other end hears of it one latency later (a FIN)."""
        if not self.alive:
            return
        net = self.network
        net.forget(self)
        net.stats.connections_closed += 1
        other = self.other(closer)
        handler = self._handler(other)
        if handler is not None:
            delay = net.profile(closer, other).latency.sample(net.rng)
            net.engine.call_later(delay, handler.on_closed, "closed by peer")

    def _notify_closed(self, address: int, reason: str, delay_ms: int) -> None:
        handler = self._handler(address)
        if handler is None:
            return
        if delay_ms == 0:
            handler.on_closed(reason)
        else:
            self.network.engine.call_later(delay_ms, handler.on_closed, reason)


class Network:
    """Hosts by address (0, 1, …), their groups, and the connections between them."""

    def __init__(
        self,
        engine: Engine,
        rng: random.Random,
        *,
        default: LinkProfile,
        detect_ms: int = 2_000,
        dial_fail_ms: int = 3_000,
    ) -> None:
        self.engine = engine
        self.rng = rng
        self.default = default
        self.detect_ms = detect_ms
        self.dial_fail_ms = dial_fail_ms
        self.stats = NetworkStats()
        self._hosts: list[Host] = []
        self._groups: list[str] = []
        self._online: list[bool] = []
        self._connections: list[dict[int, Connection]] = []
        self._profiles: dict[tuple[str, str], LinkProfile] = {}
        self._partitions: list[Partition] = []
        self._next_conn = 0

    # -- hosts and profiles ------------------------------------------------------------------------

    def add_host(self, host: Host, group: str) -> int:
        """Register ``host`` (online) in ``group``; returns its address."""
        self._hosts.append(host)
        self._groups.append(group)
        self._online.append(True)
        self._connections.append({})
        return len(self._hosts) - 1

    def group(self, address: int) -> str:
        return self._groups[address]

    def set_group(self, address: int, group: str) -> None:
        """Move host ``address`` to ``group``: its links take that group's profiles from now on."""
        self._groups[address] = group

    def set_profile(self, group_a: str, group_b: str, profile: LinkProfile) -> None:
        """Use ``profile`` between hosts of these two groups (either way round)."""
        self._profiles[(group_a, group_b)] = self._profiles[(group_b, group_a)] = profile

    def profile(self, a: int, b: int) -> LinkProfile:
        return self._profiles.get((self._groups[a], self._groups[b]), self.default)

    # -- reachability ------------------------------------------------------------------------------

    def is_online(self, address: int) -> bool:
        return self._online[address]

    def set_online(self, address: int, online: bool) -> None:
        """Take a host off the network (its connections break) or bring it back."""
        if self._online[address] == online:
            return
        self._online[address] = online
        if online:
            self._hosts[address].came_online()
            return
        for connection in list(self._connections[address].values()):
            self.break_connection(connection, "offline", at_once=address)
        self._hosts[address].went_offline()

    def schedule_partition(self, partition: Partition) -> None:
        self.engine.call_at(partition.start_ms, self._partition_starts, partition)
        self.engine.call_at(partition.end_ms, self._partitions.remove, partition)

    def _partition_starts(self, partition: Partition) -> None:
        self._partitions.append(partition)
        for address in partition.side:
            for connection in list(self._connections[address].values()):
                if partition.separates(connection.a, connection.b):
                    self.break_connection(connection, "partition")

    def separated(self, a: int, b: int) -> bool:
        partitions = self._partitions
        return bool(partitions) and any(p.separates(a, b) for p in partitions)

    def reachable(self, a: int, b: int) -> bool:
        return self._online[a] and self._online[b] and not self.separated(a, b)

    def transmit(self, a: int, b: int) -> int | None:
        """One message's fate from ``a`` to ``b``: its latency in ms, or None if it is lost."""
        if not self.reachable(a, b):
            return None
        profile = self.profile(a, b)
        if profile.loss and self.rng.random() < profile.loss:
            return None
        return profile.latency.sample(self.rng)

    # -- connections -------------------------------------------------------------------------------

    def connect(
        self,
        src: int,
        dst: int,
        on_open: Callable[[Connection], None],
        on_fail: Callable[[str], None],
    ) -> None:
        """Dial ``dst``: ``on_open`` after one round trip, or ``on_fail`` after ``dial_fail_ms``."""
        self.stats.dials += 1
        if not self.reachable(src, dst):
            self.stats.dials_failed += 1
            self.engine.call_later(self.dial_fail_ms, on_fail, "unreachable")
            return
        latency = self.profile(src, dst).latency
        round_trip = latency.sample(self.rng) + latency.sample(self.rng)
        self.engine.call_later(round_trip, self._open, src, dst, on_open, on_fail)

    def _open(
        self,
        src: int,
        dst: int,
        on_open: Callable[[Connection], None],
        on_fail: Callable[[str], None],
    ) -> None:
        if not self.reachable(src, dst):
            self.stats.dials_failed += 1
            on_fail("unreachable")
            return
        self._next_conn += 1
        connection = Connection(self, self._next_conn, src, dst)
        self._connections[src][connection.conn_id] = connection
        self._connections[dst][connection.conn_id] = connection
        self.stats.connections_opened += 1
        self._hosts[dst].accept(connection)
        on_open(connection)

    def forget(self, connection: Connection) -> None:
        connection.alive = False
        for address in (connection.a, connection.b):
            connections = self._connections[address]
            connections.pop(connection.conn_id, None)
            if not connections:
                connections.clear()  # an emptied dict keeps its table until cleared

    def break_connection(self, connection: Connection, reason: str, at_once: int = -1) -> None:
        """The connection is gone; each end hears after ``detect_ms`` (the end ``at_once``, or
        both with :data:`BOTH`, at once)."""
        if not connection.alive:
            return
        self.forget(connection)
        self.stats.broken[reason] = self.stats.broken.get(reason, 0) + 1
        for address in (connection.a, connection.b):
            now = at_once in (address, BOTH)
            connection._notify_closed(address, reason, 0 if now else self.detect_ms)

    def connections_of(self, address: int) -> list[Connection]:
        return list(self._connections[address].values())
