"""Node churn: each host alternates online and offline sessions drawn from two distributions."""

from __future__ import annotations

import random
from dataclasses import dataclass

from amity.protocol.errors import UsageError
from amity.simulations.world.distributions import Distribution
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import Network

__all__ = ["ChurnModel", "Churn"]


@dataclass(frozen=True, slots=True)
class ChurnModel:
    """How long a host stays online, then offline; ``start_online`` is the chance it starts up."""

    online: Distribution
    offline: Distribution
    start_online: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_online <= 1.0:
            raise UsageError(f"start_online is a probability, got {self.start_online}")


class Churn:
    """Drives hosts on and off the network on the engine's clock."""

    def __init__(self, engine: Engine, network: Network, rng: random.Random) -> None:
        self.engine = engine
        self.network = network
        self.rng = rng
        #: Offline periods begun, over all hosts.
        self.departures = 0

    def add(self, address: int, model: ChurnModel) -> None:
        """Start churning ``address`` now: its first state, then a toggle at each session end."""
        online = self.rng.random() < model.start_online
        if not online:
            self.departures += 1
            self.network.set_online(address, False)
        self._schedule(address, model, online)

    def _schedule(self, address: int, model: ChurnModel, online: bool) -> None:
        length = (model.online if online else model.offline).sample(self.rng)
        self.engine.call_later(max(length, 1), self._toggle, address, model)

    def _toggle(self, address: int, model: ChurnModel) -> None:
        online = not self.network.is_online(address)
        if not online:
            self.departures += 1
        self.network.set_online(address, online)
        self._schedule(address, model, online)
