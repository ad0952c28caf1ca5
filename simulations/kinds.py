"""Scenario kinds: what ``amity-sim run`` and ``amity-sim sweep`` need to run one kind of world.

A scenario file names its ``kind``; each kind is one :class:`ScenarioKind` in :data:`KINDS`: how to
load its file (with ``--quick`` and dotted overrides), build a world for a seed and crypto mode,
write the run's result files, and reduce a finished world to the figures a sweep averages. A new
kind adds one entry at the bottom of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from amity.simulations.crypto import CryptoMode
from amity.simulations.scenarios.intents import results as intents_results
from amity.simulations.scenarios.intents import world as intents
from amity.simulations.scenarios.intents.scenario import IntentsScenario, load_intents_scenario
from amity.simulations.scenarios.intents.world import IntentsWorld
from amity.simulations.scenarios.lifecycle import results as lifecycle_results
from amity.simulations.scenarios.lifecycle import world as lifecycle
from amity.simulations.scenarios.lifecycle.scenario import (
    LifecycleScenario,
    load_lifecycle_scenario,
)
from amity.simulations.scenarios.lifecycle.world import LifecycleWorld
from amity.simulations.scenarios.market import results
from amity.simulations.scenarios.market.scenario import MarketScenario, load_scenario
from amity.simulations.scenarios.market.world import MarketWorld
from amity.simulations.scenarios.reader import ScenarioError, read_toml, resolve_scenario_path
from amity.simulations.scenarios.reputation import metrics as reputation
from amity.simulations.scenarios.reputation import results as reputation_results
from amity.simulations.scenarios.reputation.scenario import (
    ReputationScenario,
    load_reputation_scenario,
)
from amity.simulations.scenarios.reputation.world import ReputationWorld
from amity.simulations.world.engine import Engine

__all__ = ["Scenario", "World", "ScenarioKind", "KINDS", "kind_of", "kind_for"]


class Scenario(Protocol):
    """What every kind's scenario says about itself (for reports and folder names)."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def source(self) -> Path: ...
    @property
    def quick(self) -> bool: ...


class World(Protocol):
    """A world of one scenario, seed and crypto mode, run once on its virtual clock.

    ``run`` calls ``on_progress`` between chunks of events and, on Ctrl-C, marks the world
    interrupted and lets the KeyboardInterrupt through.
    """

    @property
    def scenario(self) -> Scenario: ...
    @property
    def engine(self) -> Engine: ...
    def run(self, on_progress: Callable[[Any], None] | None = None) -> None: ...


S = TypeVar("S", bound=Scenario)
W = TypeVar("W", bound=World)
S_co = TypeVar("S_co", bound=Scenario, covariant=True)
S_contra = TypeVar("S_contra", bound=Scenario, contravariant=True)
W_co = TypeVar("W_co", bound=World, covariant=True)
W_contra = TypeVar("W_contra", bound=World, contravariant=True)


class Loader(Protocol[S_co]):
    def __call__(
        self, path: str | Path, *, quick: bool, overrides: Mapping[str, object] | None
    ) -> S_co: ...


class WorldMaker(Protocol[S_contra, W_co]):
    def __call__(self, scenario: S_contra, *, seed: int, crypto: CryptoMode) -> W_co: ...


class Writer(Protocol[W_contra]):
    def __call__(self, world: W_contra, out_dir: Path, *, command: str) -> Path: ...


@dataclass(frozen=True, slots=True)
class ScenarioKind(Generic[S, W]):
    """One kind of scenario: the functions the CLI and the sweep call, in the order they do."""

    name: str
    #: ``load(path, quick=, overrides=)``: the checked scenario; ScenarioError names a wrong key.
    load: Loader[S]
    #: ``make_world(scenario, seed=, crypto=)``: the world, built and ready to run.
    make_world: WorldMaker[S, W]
    #: ``write_results(world, out_dir, command=)``: writes ``out_dir/<run folder>/``, returns it.
    write_results: Writer[W]
    #: The figures a sweep averages over seeds; a figure without data is left out.
    metrics: Callable[[W], dict[str, float]]
    #: One line on where the run is (progress) or ended (the closing line on stderr).
    headline: Callable[[W], str]
    #: The figures a run writes besides its tables when matplotlib is installed.
    figures: tuple[str, ...] = ()


def kind_of(path: str | Path) -> str:
    """The ``kind`` a scenario file names (``market`` when it names none)."""
    found = resolve_scenario_path(path)
    kind = read_toml(found).get("kind", "market")
    if kind not in KINDS:
        raise ScenarioError(
            f"{found.name}: kind {kind!r}; this version runs: {', '.join(sorted(KINDS))}"
        )
    return str(kind)


def kind_for(path: str | Path) -> ScenarioKind[Any, Any]:
    """The registry entry of the kind that a scenario file names."""
    return KINDS[kind_of(path)]


# -- the market (scenario 1) -------------------------------------------------------------------


def _market_headline(world: MarketWorld) -> str:
    agreed = sum(v.outcome == "agreed" for v in world.visits)
    return f"{world.settled}/{len(world.visits)} visits settled, {agreed} agreed"


MARKET: ScenarioKind[MarketScenario, MarketWorld] = ScenarioKind(
    "market",
    load_scenario,
    MarketWorld,
    results.write_results,
    results.metrics,
    _market_headline,
)


# -- reputation (scenario 3) -------------------------------------------------------------------


REPUTATION: ScenarioKind[ReputationScenario, ReputationWorld] = ScenarioKind(
    "reputation",
    load_reputation_scenario,
    ReputationWorld,
    reputation_results.write_results,
    reputation.metrics,
    reputation.headline,
    (reputation_results.FIGURE,),
)


# -- the grants lifecycle under churn with relays (scenario 2) ----------------------------------


LIFECYCLE: ScenarioKind[LifecycleScenario, LifecycleWorld] = ScenarioKind(
    "lifecycle",
    load_lifecycle_scenario,
    LifecycleWorld,
    lifecycle_results.write_results,
    lifecycle.metrics,
    lifecycle.headline,
    (lifecycle_results.FIGURE,),
)


# -- the intent market (scenario 5) -------------------------------------------------------------


INTENTS: ScenarioKind[IntentsScenario, IntentsWorld] = ScenarioKind(
    "intents",
    load_intents_scenario,
    IntentsWorld,
    intents_results.write_results,
    intents_results.figures,
    intents.headline,
)

#: Every kind this version runs, by the name a scenario file gives in ``kind``.
KINDS: dict[str, ScenarioKind[Any, Any]] = {
    kind.name: kind for kind in (MARKET, REPUTATION, LIFECYCLE, INTENTS)
}
