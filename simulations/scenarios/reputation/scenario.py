"""Scenario files of kind ``reputation``: the world of scenario 3, checked into typed values.

Tables: ``[run]`` (rounds on the virtual clock), ``[population]``, ``[network]``, ``[trust]`` (the
choice rule and compute_trust's parameters) and ``[attack]`` (the threat model and its sizes).
``[quick]`` replaces keys for ``--quick`` as in market scenarios. A sweep sets any key with an
override, a dotted key such as ``attack.malicious_fraction``, set before the checks
(:func:`~amity.simulations.scenarios.reader.read_with_overrides`); every table refuses keys it does not
know, so a misspelt key in the file or in an override fails and names itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from amity.protocol.terms import ROSTER, TermsDocument
from amity.simulations.behaviours.attackers import ThreatModel
from amity.simulations.scenarios.reader import (
    _Reader,
    _start_ms,
    load_kind,
)
from amity.simulations.world.distributions import Distribution

__all__ = [
    "KIND",
    "DELETION_CLAUSE",
    "ReputationScenario",
    "load_reputation_scenario",
]

KIND: Final = "reputation"
#: The clause every attestation of this scenario speaks about: delete on end, with a receipt.
DELETION_CLAUSE: Final = "amity.delete-on-end"

_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "": frozenset(
        {"kind", "name", "description", "run", "population", "network", "trust", "attack", "quick"}
    ),
    "run": frozenset(
        {"start", "rounds", "round_ms", "act", "grant_ms", "attestation_ttl_ms", "commit_ms"}
    ),
    "population": frozenset({"persons", "vendors", "candidates", "friends", "terms"}),
    "network": frozenset({"latency", "loss", "detect_ms", "dial_fail_ms"}),
    "trust": frozenset({"explore", "cutoff_evidence", "damping", "max_iterations", "epsilon"}),
    "attack": frozenset(
        {
            "threat_model",
            "malicious_fraction",
            "colluder_fraction",
            "breach_rate",
            "camouflage",
            "praise",
            "slander",
            "sybils",
        }
    ),
}


@dataclass(frozen=True, slots=True)
class ReputationScenario:
    """Scenario 3: grants to vendors chosen with and without local trust (see reputation.toml)."""

    name: str
    description: str
    source: Path
    quick: bool
    start_ms: int
    rounds: int
    round_ms: int
    #: When in its round a person makes her grant.
    act: Distribution
    #: A grant's life: by then the vendor deletes the data and sends a deletion receipt, or not.
    grant_ms: int
    attestation_ttl_ms: int
    persons: int
    vendors: int
    #: Vendors a person considers each round (drawn by the seed).
    candidates: int
    #: Friends each person draws (the friendship is mutual, so most have a few more).
    friends: int
    terms_label: str
    terms: TermsDocument
    latency: Distribution
    #: Per message; a lost message breaks its connection, and the outbox resends on the next.
    loss: float
    #: How long until an end notices a dead connection; how long a failing dial takes.
    detect_ms: int
    dial_fail_ms: int
    #: A node's group commit: ACKs and sends wait for it.
    commit_ms: int
    explore: float
    cutoff_evidence: float
    damping: float
    max_iterations: int
    epsilon: float
    threat_model: ThreatModel
    malicious_fraction: float
    colluder_fraction: float
    breach_rate: float
    camouflage: float
    #: Clique vendors each colluder or spy attests honoured; honest vendors each colluder slanders.
    praise: int
    slander: int
    #: Sybil customers of the clique, whose praise every honest person holds from the start.
    sybils: int


def _number(reader: _Reader, key: str, default: float, *, lo: float, hi: float) -> float:
    value = reader.table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise reader.fail(key, f"expected a number in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _threat(reader: _Reader) -> ThreatModel:
    value = reader.table.get("threat_model", "A")
    try:
        return ThreatModel(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in ThreatModel)
        raise reader.fail("threat_model", f"expected one of {choices}, got {value!r}") from None


def _terms(reader: _Reader) -> tuple[str, TermsDocument]:
    label = reader.table.get("terms", "AMITY-SHOP")
    entry = ROSTER.get(label) if isinstance(label, str) else None
    if entry is None:
        raise reader.fail("terms", f"expected a roster name ({', '.join(ROSTER)}), got {label!r}")
    if entry.document.clause(DELETION_CLAUSE) is None:
        raise reader.fail("terms", f"{label} has no {DELETION_CLAUSE} clause to attest")
    return label, entry.document


def _build(data: dict[str, Any], path: Path, quick: bool) -> ReputationScenario:
    top = _Reader(path, "scenario", data)
    top.known(_KEYS[""])
    run, pop, net = top.sub("run"), top.sub("population"), top.sub("network")
    trust, attack = top.sub("trust"), top.sub("attack")
    for reader, table in ((run, "run"), (pop, "population"), (net, "network")):
        reader.known(_KEYS[table])
    trust.known(_KEYS["trust"])
    attack.known(_KEYS["attack"])
    label, terms = _terms(pop)
    malicious = attack.probability("malicious_fraction", 0.2)
    scenario = ReputationScenario(
        name=top.text("name"),
        description=" ".join(top.text("description").split()),
        source=path,
        quick=quick,
        start_ms=_start_ms(run),
        rounds=run.integer("rounds", lo=1),
        round_ms=run.integer("round_ms", 86_400_000, lo=1),
        act=run.duration("act", 0),
        grant_ms=run.integer("grant_ms", 3_600_000, lo=1),
        attestation_ttl_ms=run.integer("attestation_ttl_ms", 31_536_000_000, lo=1),
        persons=pop.integer("persons", lo=2),
        vendors=pop.integer("vendors", lo=1),
        candidates=pop.integer("candidates", 5, lo=1),
        friends=pop.integer("friends", 4),
        terms_label=label,
        terms=terms,
        latency=net.duration("latency", 40),
        loss=net.probability("loss", 0.0),
        detect_ms=net.integer("detect_ms", 5_000, lo=1),
        dial_fail_ms=net.integer("dial_fail_ms", 3_000, lo=1),
        commit_ms=run.integer("commit_ms", 2, lo=0),
        explore=trust.probability("explore", 0.1),
        cutoff_evidence=_number(trust, "cutoff_evidence", 0.5, lo=0.0, hi=1e9),
        damping=_number(trust, "damping", 0.15, lo=1e-6, hi=1.0),
        max_iterations=trust.integer("max_iterations", 100, lo=1),
        epsilon=_number(trust, "epsilon", 1e-12, lo=1e-300, hi=1.0),
        threat_model=_threat(attack),
        malicious_fraction=malicious,
        colluder_fraction=attack.probability("colluder_fraction", malicious),
        breach_rate=attack.probability("breach_rate", 1.0),
        camouflage=attack.probability("camouflage", 0.5),
        praise=attack.integer("praise", 2),
        slander=attack.integer("slander", 3),
        sybils=attack.integer("sybils", 0),
    )
    if scenario.candidates > scenario.vendors:
        raise pop.fail("candidates", f"more than the {scenario.vendors} vendors there are")
    if scenario.friends >= scenario.persons:
        raise pop.fail("friends", f"at least the {scenario.persons} persons there are")
    if scenario.loss >= 1:
        raise net.fail("loss", "a loss of 1 would never deliver anything")
    if scenario.grant_ms >= scenario.round_ms:
        raise run.fail("grant_ms", f"a grant must end within its round ({scenario.round_ms} ms)")
    return scenario


def load_reputation_scenario(
    path: str | Path, *, quick: bool = False, overrides: Mapping[str, object] | None = None
) -> ReputationScenario:
    """Read and check a reputation scenario: ``[quick]`` replacements, then ``overrides``."""
    return load_kind(path, kind=KIND, build=_build, quick=quick, overrides=overrides)
