"""Scenario files of kind ``lifecycle``: the world of scenario 2, checked into typed values.

Tables: ``[run]`` (with ``grace_ms``: how long after a grant's end the data may still sit at the
vendor before it counts as left behind), ``[population]`` (persons, vendors, visits, the terms
offered), ``[grants]`` (when after agreeing a person grants, and for how long), ``[relays]``
(how many, and who uses them), ``[breach]`` (the share of vendors that keep data, and of those
whose owners share it onward: at what rate per grant, to how many other vendors), ``[network]``
and ``[churn.person|vendor|relay]``.
``[quick]`` replaces keys for ``--quick``; overrides work as for every kind
(:func:`~amity.simulations.scenarios.reader.read_with_overrides`). Unknown keys are refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from amity.protocol.terms import ROSTER, TermsDocument
from amity.simulations.scenarios.reader import (
    _Reader,
    _start_ms,
    load_kind,
)
from amity.simulations.world.churn import ChurnModel
from amity.simulations.world.distributions import Distribution

__all__ = ["KIND", "LifecycleScenario", "load_lifecycle_scenario"]

KIND: Final = "lifecycle"
_CHURN_GROUPS: Final = ("person", "vendor", "relay")
_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "": frozenset(
        {
            "kind",
            "name",
            "description",
            "run",
            "population",
            "grants",
            "relays",
            "breach",
            "network",
            "churn",
            "changes",
            "quick",
        }
    ),
    "run": frozenset({"start", "duration_ms", "commit_ms", "grace_ms"}),
    "population": frozenset(
        {
            "persons",
            "vendors",
            "vendors_per_person",
            "arrival",
            "invitation_ttl_ms",
            "connect_attempts",
            "connect_retry",
            "offer",
            "think",
        }
    ),
    "grants": frozenset({"delay", "duration", "purpose"}),
    "relays": frozenset({"count", "persons_use", "vendors_use"}),
    "breach": frozenset(
        {"keep_data_fraction", "share_onward_fraction", "share_onward_rate", "onward_parties"}
    ),
    "network": frozenset({"latency", "loss", "detect_ms", "dial_fail_ms"}),
    "churn": frozenset(_CHURN_GROUPS),
    "changes": frozenset({"interval"}),
    "churn.group": frozenset({"online", "offline", "start_online"}),
}


@dataclass(frozen=True, slots=True)
class LifecycleScenario:
    """Scenario 2: grants from agreement to deletion under churn, with relays (lifecycle.toml)."""

    name: str
    description: str
    source: Path
    quick: bool
    start_ms: int
    duration_ms: int
    commit_ms: int
    #: After a grant's end, how long a vendor may take before its data counts as left behind.
    grace_ms: int
    persons: int
    vendors: int
    vendors_per_person: int
    arrival: Distribution
    invitation_ttl_ms: int
    connect_attempts: int
    connect_retry: Distribution
    offer_label: str
    offer: TermsDocument
    think: Distribution
    #: From the agreement (on her node) to her grant; and the grant's life.
    grant_delay: Distribution
    grant_duration: Distribution
    purpose: str
    relays: int
    persons_use_relays: bool
    vendors_use_relays: bool
    keep_data_fraction: float
    #: The share of vendors whose owners pass held values on to third parties (outside amity),
    #: the chance they do it for each grant their node newly holds, and to how many other vendors.
    share_onward_fraction: float
    share_onward_rate: float
    onward_parties: int
    latency: Distribution
    loss: float
    detect_ms: int
    dial_fail_ms: int
    churn: Mapping[str, ChurnModel]
    #: Time between a person's changes of her email (None: she never changes it).
    change_interval: Distribution | None = None


def _flag(reader: _Reader, key: str, default: bool) -> bool:
    value = reader.table.get(key, default)
    if not isinstance(value, bool):
        raise reader.fail(key, f"expected true or false, got {value!r}")
    return value


def _build(data: dict[str, Any], path: Path, quick: bool) -> LifecycleScenario:
    top = _Reader(path, "scenario", data)
    top.known(_KEYS[""])
    run, pop, grants = top.sub("run"), top.sub("population"), top.sub("grants")
    relays, breach, net = top.sub("relays"), top.sub("breach"), top.sub("network")
    for reader, table in (
        (run, "run"), (pop, "population"), (grants, "grants"), (relays, "relays"),
        (breach, "breach"), (net, "network"), (top.sub("churn"), "churn"),
        (top.sub("changes"), "changes"),
    ):  # fmt: skip
        reader.known(_KEYS[table])
    churn = {}
    for group in _CHURN_GROUPS:
        spec = top.sub("churn").sub(group)
        spec.known(_KEYS["churn.group"])
        if spec.table:
            churn[group] = ChurnModel(
                spec.duration("online"),
                spec.duration("offline"),
                spec.probability("start_online", 1.0),
            )
    label = pop.table.get("offer", "P2B1")
    entry = ROSTER.get(label) if isinstance(label, str) else None
    if entry is None:
        raise pop.fail("offer", f"expected a roster name ({', '.join(ROSTER)}), got {label!r}")
    scenario = LifecycleScenario(
        name=top.text("name"),
        description=" ".join(top.text("description").split()),
        source=path,
        quick=quick,
        start_ms=_start_ms(run),
        duration_ms=run.integer("duration_ms", lo=1),
        commit_ms=run.integer("commit_ms", 1),
        grace_ms=run.integer("grace_ms", 3_600_000),
        persons=pop.integer("persons", lo=1),
        vendors=pop.integer("vendors", lo=1),
        vendors_per_person=pop.integer("vendors_per_person", 1, lo=1),
        arrival=pop.duration("arrival"),
        invitation_ttl_ms=pop.integer("invitation_ttl_ms", 86_400_000, lo=1),
        connect_attempts=pop.integer("connect_attempts", 5, lo=1),
        connect_retry=pop.duration("connect_retry", 60_000),
        offer_label=str(label),
        offer=entry.document,
        think=pop.duration("think", 5_000),
        grant_delay=grants.duration("delay", 60_000),
        grant_duration=grants.duration("duration"),
        purpose=grants.table.get("purpose", "service-provision"),
        relays=relays.integer("count", 0),
        persons_use_relays=_flag(relays, "persons_use", True),
        vendors_use_relays=_flag(relays, "vendors_use", False),
        keep_data_fraction=breach.probability("keep_data_fraction", 0.0),
        share_onward_fraction=breach.probability("share_onward_fraction", 0.0),
        share_onward_rate=breach.probability("share_onward_rate", 1.0),
        onward_parties=breach.integer("onward_parties", 1, lo=1),
        latency=net.duration("latency", 40),
        loss=net.probability("loss", 0.0),
        detect_ms=net.integer("detect_ms", 5_000),
        dial_fail_ms=net.integer("dial_fail_ms", 3_000),
        churn=churn,
        change_interval=(
            top.sub("changes").duration("interval")
            if "interval" in top.sub("changes").table
            else None
        ),
    )
    if scenario.vendors_per_person > scenario.vendors:
        raise pop.fail("vendors_per_person", f"more than the {scenario.vendors} vendors there are")
    others = scenario.vendors - 1
    if scenario.share_onward_fraction > 0 and scenario.onward_parties > others:
        raise breach.fail(
            "onward_parties",
            f"more than the {others} other vendors there are to share with; lower it or add "
            "vendors",
        )
    if scenario.loss >= 1:
        raise net.fail("loss", "a loss of 1 would never deliver anything")
    if not isinstance(scenario.purpose, str) or not scenario.purpose:
        raise grants.fail("purpose", "expected a purpose name such as service-provision")
    return scenario


def load_lifecycle_scenario(
    path: str | Path, *, quick: bool = False, overrides: Mapping[str, object] | None = None
) -> LifecycleScenario:
    """Read and check a lifecycle scenario: ``[quick]`` replacements, then ``overrides``."""
    return load_kind(path, kind=KIND, build=_build, quick=quick, overrides=overrides)
