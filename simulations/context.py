"""What a simulated node shares with its run, and what its services and owner hand it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation
from amity.protocol.policy import Policy
from amity.protocol.relationship import SendMessage
from amity.simulations.crypto import CryptoMode
from amity.simulations.engine import Engine
from amity.simulations.network import Network

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["Observer", "NodeBehaviour", "SimEnv", "Staged"]


class Observer(Protocol):
    """Whoever records the run: notifications, and every negotiation record a node persists."""

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None: ...

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None: ...


class NodeBehaviour(Protocol):
    """The owner's side of a node: its policy, and what it does when asked."""

    @property
    def policy(self) -> Policy | None: ...

    def on_connected(self, node: SimNode, peer: PeerId) -> None: ...

    def on_waiting(self, node: SimNode, negotiation: Negotiation) -> None:
        """The peer's terms are on the table and the policy leaves them to a person."""
        ...


@dataclass(slots=True)
class SimEnv:
    """What every node of one run shares."""

    engine: Engine
    network: Network
    observer: Observer
    crypto: CryptoMode
    #: The wall-clock time (ms since the epoch) that virtual time 0 stands for.
    start_ms: int
    #: How long a group commit takes: ACKs, timers and sends wait for it.
    commit_ms: int = 1


@dataclass(slots=True)
class Staged:
    """A service's answer: sends queued with the commit, actions run once it is done.

    The simulator's form of node/services.py's ``Staged``: records live in memory, so there are
    no separate writes.
    """

    sends: list[SendMessage] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
