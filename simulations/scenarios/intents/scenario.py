"""Scenario files of kind ``intents``: the intent market, checked into typed values.

Tables: ``[run]`` (start, how long, the cast window), ``[network]`` (latency), ``[hubs]`` (how
many and the rules each announces, spec/intents.md §7.1), ``[persons]`` (how many, how many
intents each, her habits, her trust view and what she does with offers), ``[vendors]`` (honest
and spamming), ``[sybils]`` (the flood and its strategies) and ``[control]`` (the deliberately
leaky variant the linkability test compares against). What every kind's loader shares is in
:mod:`~amity.simulations.scenarios.reader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amity.protocol.core.intents.timing import MAX_CAST_DELAY_MS
from amity.protocol.errors import ScenarioError, UsageError
from amity.protocol.intentcategory import TAXONOMIES, TAXONOMY_VERSION
from amity.protocol.intentmessages import HubRules
from amity.simulations.scenarios.reader import _Reader, _start_ms, load_kind
from amity.simulations.world.distributions import Distribution

__all__ = [
    "CATEGORIES",
    "HubSpec",
    "PersonSpec",
    "VendorSpec",
    "SybilSpec",
    "IntentsScenario",
    "load_intents_scenario",
]

#: The categories of the taxonomy the persons cast in and the vendors serve.
CATEGORIES: tuple[str, ...] = tuple(sorted(TAXONOMIES[TAXONOMY_VERSION]))
#: What a Sybil does (spec/intents.md §7.4): one key for many intents (the quota stops it),
#: fresh keys without work (bad_work), replays of one cast (replayed), or fresh keys with the work.
SYBIL_STRATEGIES: tuple[str, ...] = ("one_key", "no_work", "replay", "paying")


@dataclass(frozen=True, slots=True)
class HubSpec:
    count: int
    work_bits: int
    offer_cap: int
    max_ttl_ms: int
    rate_per_hour: int
    max_hops: int

    def rules(self, peers: tuple[bytes, ...]) -> HubRules:
        return HubRules(
            self.work_bits,
            self.offer_cap,
            self.max_ttl_ms,
            self.rate_per_hour,
            self.max_hops,
            peers,
        )


@dataclass(frozen=True, slots=True)
class PersonSpec:
    count: int
    intents_lo: int
    intents_hi: int
    #: Her habits: one home region, hub and terms, a few interests (False: each intent draws
    #: them afresh, the control in which content links nothing).
    habits: bool
    regions: tuple[str, ...]
    #: The share of persons who cast their intents in one sitting, ``gap`` apart.
    burst_share: float
    gap: Distribution
    ttl_ms: int
    offers_wanted_lo: int
    offers_wanted_hi: int
    budget_lo_minor: int
    budget_hi_minor: int
    cut_spammers: float
    cut_honest: float
    knows_vendor: float
    think: Distribution
    accept: float
    reveal: float
    withdraw: float
    #: The most her node holds each cast back, at random (spec/intents.md §7.10); 0: none.
    cast_delay_max_ms: int = 0


@dataclass(frozen=True, slots=True)
class VendorSpec:
    honest: int
    spammers: int
    categories_lo: int
    categories_hi: int
    unit_lo_minor: int
    unit_hi_minor: int
    lead: Distribution
    valid_for_ms: int
    #: Extra offers a spammer tries per intent after its first (the hub refuses them).
    spam_extra: int


@dataclass(frozen=True, slots=True)
class SybilSpec:
    count: int
    intents_each: int
    strategies: tuple[str, ...]
    gap: Distribution


@dataclass(frozen=True, slots=True)
class IntentsScenario:
    """Scenario 5: the intent market (see intents.toml)."""

    name: str
    description: str
    source: Path
    quick: bool
    start_ms: int
    duration_ms: int
    cast_window_ms: int
    latency: Distribution
    hubs: HubSpec
    persons: PersonSpec
    vendors: VendorSpec
    sybils: SybilSpec
    #: The leaky control: her node reuses one intent key (and link key) for all her intents.
    reuse_key: bool


def _strategies(reader: _Reader) -> tuple[str, ...]:
    value = reader.table.get("strategies", list(SYBIL_STRATEGIES))
    if not isinstance(value, list) or not value or any(v not in SYBIL_STRATEGIES for v in value):
        raise reader.fail("strategies", f"expected a non-empty list of {list(SYBIL_STRATEGIES)}")
    return tuple(str(v) for v in value)


def _regions(reader: _Reader) -> tuple[str, ...]:
    value = reader.table.get("regions")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise reader.fail("regions", "expected a non-empty list of ISO 3166 codes (FR, FR-69)")
    return tuple(value)


def _range(reader: _Reader, lo: str, hi: str, *, least: int = 0) -> tuple[int, int]:
    low, high = reader.integer(lo, lo=least), reader.integer(hi, lo=least)
    if low > high:
        raise reader.fail(lo, f"{low} is above {hi} ({high})")
    return low, high


def _intents(data: dict[str, Any], path: Path, quick: bool) -> IntentsScenario:
    top = _Reader(path, "scenario", data)
    run, net, hubs = top.sub("run"), top.sub("network"), top.sub("hubs")
    per, ven, syb, ctl = (
        top.sub("persons"),
        top.sub("vendors"),
        top.sub("sybils"),
        top.sub("control"),
    )
    hub_spec = HubSpec(
        hubs.integer("count", lo=1),
        hubs.integer("work_bits", 8),
        hubs.integer("offer_cap", 64, lo=1),
        hubs.integer("max_ttl_ms", 7 * 86_400_000, lo=1),
        hubs.integer("rate_per_hour", 600, lo=1),
        hubs.integer("max_hops", 1),
    )
    try:
        hub_spec.rules(())
    except UsageError as exc:  # HubRules says which value is out of range
        raise ScenarioError(f"{path.name}: [hubs]: {exc.message}") from None
    intents_lo, intents_hi = _range(per, "intents_lo", "intents_hi", least=1)
    wanted_lo, wanted_hi = _range(per, "offers_wanted_lo", "offers_wanted_hi", least=1)
    budget_lo, budget_hi = _range(per, "budget_lo_minor", "budget_hi_minor", least=1)
    persons = PersonSpec(
        count=per.integer("count", lo=2),
        intents_lo=intents_lo,
        intents_hi=intents_hi,
        habits=bool(per.table.get("habits", True)),
        regions=_regions(per),
        burst_share=per.probability("burst_share", 0.0),
        gap=per.duration("gap", 30_000),
        ttl_ms=per.integer("ttl_ms", 21_600_000, lo=1),
        offers_wanted_lo=wanted_lo,
        offers_wanted_hi=min(wanted_hi, 32),
        budget_lo_minor=budget_lo,
        budget_hi_minor=budget_hi,
        cut_spammers=per.probability("cut_spammers", 0.9),
        cut_honest=per.probability("cut_honest", 0.05),
        knows_vendor=per.probability("knows_vendor", 0.5),
        think=per.duration("think", 600_000),
        accept=per.probability("accept", 0.5),
        reveal=per.probability("reveal", 0.8),
        withdraw=per.probability("withdraw", 0.2),
        cast_delay_max_ms=_cast_delay(per),
    )
    cats_lo, cats_hi = _range(ven, "categories_lo", "categories_hi", least=1)
    unit_lo, unit_hi = _range(ven, "unit_lo_minor", "unit_hi_minor", least=1)
    vendors = VendorSpec(
        honest=ven.integer("honest", lo=1),
        spammers=ven.integer("spammers", 0),
        categories_lo=cats_lo,
        categories_hi=min(cats_hi, len(CATEGORIES)),
        unit_lo_minor=unit_lo,
        unit_hi_minor=unit_hi,
        lead=ven.duration("lead", 86_400_000),
        valid_for_ms=ven.integer("valid_for_ms", 86_400_000, lo=1),
        spam_extra=ven.integer("spam_extra", 2),
    )
    sybils = SybilSpec(
        syb.integer("count", 0),
        syb.integer("intents_each", 20),
        _strategies(syb),
        syb.duration("gap", 1_000),
    )
    scenario = IntentsScenario(
        name=top.text("name"),
        description=" ".join(top.text("description").split()),
        source=path,
        quick=quick,
        start_ms=_start_ms(run),
        duration_ms=run.integer("duration_ms", lo=1),
        cast_window_ms=run.integer("cast_window_ms", lo=1),
        latency=net.duration("latency", 40),
        hubs=hub_spec,
        persons=persons,
        vendors=vendors,
        sybils=sybils,
        reuse_key=bool(ctl.table.get("reuse_key", False)),
    )
    if persons.ttl_ms > hub_spec.max_ttl_ms:
        raise per.fail("ttl_ms", f"longer than the hubs keep intents ({hub_spec.max_ttl_ms} ms)")
    for region in persons.regions:
        if not 2 <= len(region) <= 6:
            raise per.fail("regions", f"{region!r} is not an ISO 3166 code")
    return scenario


def load_intents_scenario(
    path: str | Path, *, quick: bool = False, overrides: Mapping[str, object] | None = None
) -> IntentsScenario:
    """Read and check an intents scenario file (``quick``: with its ``[quick]`` replacements)."""
    return load_kind(path, kind="intents", build=_intents, quick=quick, overrides=overrides)


def _cast_delay(per: _Reader) -> int:
    value = per.integer("cast_delay_max_ms", 0)
    if value > MAX_CAST_DELAY_MS:
        raise per.fail("cast_delay_max_ms", f"expected at most {MAX_CAST_DELAY_MS} (a day)")
    return value
