"""Scenario files of kind ``market``: the world of scenario 1, checked into typed values.

Tables: ``[run]``, ``[population]``, ``[network]`` (with ``[[network.partition]]``),
``[churn.person]`` / ``[churn.vendor]``, ``[[vendor_policy]]`` (a policy TOML as in spec/terms.md
§5.2) and ``[[person_profile]]`` (an ``offer``: a roster name or ``{ title, clauses = [...] }``,
and ``limits`` in the policy format). A file without ``kind`` is a market. What every kind's
loader shares (``[quick]``, overrides, typed tables) is in
:mod:`~amity.simulations.scenarios.reader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amity.protocol.errors import PolicyError, ScenarioError, TermsError, UsageError
from amity.protocol.policy import Policy, parse_policy
from amity.protocol.terms import ROSTER, Clause, ParamValue, TermsDocument
from amity.simulations.scenarios.reader import _Reader, _start_ms, load_kind
from amity.simulations.world.churn import ChurnModel
from amity.simulations.world.distributions import Distribution

__all__ = [
    "PartitionSpec",
    "NetworkSpec",
    "VendorPolicySpec",
    "PersonProfileSpec",
    "MarketScenario",
    "load_scenario",
]


@dataclass(frozen=True, slots=True)
class PartitionSpec:
    start_ms: int
    end_ms: int
    #: The share of all nodes cut off from the rest (drawn by the seed).
    fraction: float


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    latency: Distribution
    loss: float
    detect_ms: int
    dial_fail_ms: int
    partitions: tuple[PartitionSpec, ...]


@dataclass(frozen=True, slots=True)
class VendorPolicySpec:
    name: str
    weight: float
    policy: Policy
    human_delay: Distribution
    human_accepts: float


@dataclass(frozen=True, slots=True)
class PersonProfileSpec:
    name: str
    weight: float
    #: The roster name offered, or "custom".
    offer_label: str
    terms: TermsDocument
    limits: Policy
    ttl_ms: int
    think: Distribution


@dataclass(frozen=True, slots=True)
class MarketScenario:
    """Scenario 1: persons proffer terms to vendors (see market.toml)."""

    name: str
    description: str
    source: Path
    quick: bool
    start_ms: int
    duration_ms: int
    commit_ms: int
    persons: int
    vendors: int
    vendors_per_person: int
    arrival: Distribution
    invitation_ttl_ms: int
    connect_attempts: int
    connect_retry: Distribution
    network: NetworkSpec
    churn: Mapping[str, ChurnModel]
    vendor_policies: tuple[VendorPolicySpec, ...]
    person_profiles: tuple[PersonProfileSpec, ...]


def _policy(reader: _Reader, key: str) -> Policy:
    try:
        return parse_policy(reader.text(key))
    except PolicyError as exc:
        raise reader.fail(key, exc.message) from None


def _terms(reader: _Reader) -> tuple[str, TermsDocument]:
    offer = reader.table.get("offer")
    if isinstance(offer, str):
        if offer not in ROSTER:
            raise reader.fail(
                "offer", f"no roster document {offer!r}; the roster has {list(ROSTER)}"
            )
        return offer, ROSTER[offer].document
    if not isinstance(offer, Mapping) or not isinstance(offer.get("clauses"), list):
        raise reader.fail("offer", "expected a roster name or { title, clauses = [...] }")
    clauses = []
    try:
        for item in offer["clauses"]:
            params = {k: _param(v) for k, v in item.items() if k != "id"}
            clauses.append(Clause.of(item["id"], **params))
        return "custom", TermsDocument.create(clauses, str(offer.get("title", "")))
    except (UsageError, TermsError, KeyError, AttributeError, TypeError) as exc:
        raise reader.fail("offer", f"not a valid terms document: {exc}") from None


def _param(value: object) -> ParamValue:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, bool | int | str):
        return value
    raise TypeError(f"a clause parameter is an int, bool, string or array, got {value!r}")


def _market(data: dict[str, Any], path: Path, quick: bool) -> MarketScenario:
    top = _Reader(path, "scenario", data)
    run, pop, net = top.sub("run"), top.sub("population"), top.sub("network")
    partitions = tuple(
        PartitionSpec(
            p.integer("start_ms"), p.integer("end_ms", lo=1), p.probability("fraction", 0.1)
        )
        for p in net.tables("partition")
    )
    for index, part in enumerate(partitions):
        if part.end_ms <= part.start_ms:
            raise ScenarioError(f"{path.name}: network.partition[{index}] ends before it starts")
    churn = {}
    for group in ("person", "vendor"):
        spec = top.sub("churn").sub(group)
        if spec.table:
            churn[group] = ChurnModel(
                spec.duration("online"),
                spec.duration("offline"),
                spec.probability("start_online", 1.0),
            )
    vendors = tuple(
        VendorPolicySpec(
            v.text("name"),
            float(v.integer("weight", 1, lo=1)),
            _policy(v, "policy"),
            v.duration("human_delay", 300_000),
            v.probability("human_accepts", 0.5),
        )
        for v in top.tables("vendor_policy")
    )
    profiles = []
    for p in top.tables("person_profile"):
        label, terms = _terms(p)
        profiles.append(
            PersonProfileSpec(
                p.text("name"),
                float(p.integer("weight", 1, lo=1)),
                label,
                terms,
                _policy(p, "limits"),
                p.integer("ttl_ms", 900_000, lo=1),
                p.duration("think", 5_000),
            )
        )
    if not vendors or not profiles:
        raise ScenarioError(f"{path.name}: a market needs [[vendor_policy]] and [[person_profile]]")
    scenario = MarketScenario(
        name=top.text("name"),
        description=" ".join(top.text("description").split()),
        source=path,
        quick=quick,
        start_ms=_start_ms(run),
        duration_ms=run.integer("duration_ms", lo=1),
        commit_ms=run.integer("commit_ms", 1),
        persons=pop.integer("persons", lo=1),
        vendors=pop.integer("vendors", lo=1),
        vendors_per_person=pop.integer("vendors_per_person", 1, lo=1),
        arrival=pop.duration("arrival"),
        invitation_ttl_ms=pop.integer("invitation_ttl_ms", 86_400_000, lo=1),
        connect_attempts=pop.integer("connect_attempts", 3, lo=1),
        connect_retry=pop.duration("connect_retry", 60_000),
        network=NetworkSpec(
            latency=net.duration("latency", 40),
            loss=net.probability("loss", 0.0),
            detect_ms=net.integer("detect_ms", 5_000),
            dial_fail_ms=net.integer("dial_fail_ms", 3_000),
            partitions=partitions,
        ),
        churn=churn,
        vendor_policies=vendors,
        person_profiles=tuple(profiles),
    )
    if scenario.vendors_per_person > scenario.vendors:
        raise pop.fail("vendors_per_person", f"more than the {scenario.vendors} vendors there are")
    if scenario.network.loss >= 1:
        raise net.fail("loss", "a loss of 1 would never deliver anything")
    return scenario


def load_scenario(
    path: str | Path, *, quick: bool = False, overrides: Mapping[str, object] | None = None
) -> MarketScenario:
    """Read and check a market scenario file (``quick``: with its ``[quick]`` replacements).

    ``overrides`` maps dotted keys to values set after ``[quick]`` and before the checks
    (see :func:`read_with_overrides`). A file without ``kind`` is a market.
    """
    return load_kind(
        path,
        kind="market",
        build=_market,
        quick=quick,
        overrides=overrides,
        default_kind="market",
    )
