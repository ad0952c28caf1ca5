"""Who breaches and who lies in the reputation scenario: EigenTrust's threat models as behaviours.

Kamvar, Schlosser and Garcia-Molina (WWW 2003) test EigenTrust against malicious peers that act
alone (A), as a collective that vouches for itself (B), as a collective camouflaged by honest
service to some (C), and as a collective helped by spies who serve honestly but vouch for it (D).
In amity the service is a vendor keeping an agreement (deleting data when a grant ends, with a
deletion receipt) and the vouching is done with signed attestations, so the roles split: vendors
honour or breach, persons attest.

- A: malicious vendors breach an honest person's grant with the scenario's ``breach_rate``.
- B: as A, plus colluding persons, outside every honest person's circle of friends. Each holds
  agreements with a few clique vendors and a few honest ones, attests the first honoured and the
  second breached; each clique vendor attests its colluders honoured and hands the lot to every
  customer it deals with (it has a relationship with her, so it can share with her).
- C: B, camouflaged: each clique vendor keeps its agreements with a fixed share of honest persons.
- D: the clique is helped by spies instead: persons among the friends, who deal and attest
  honestly, and also attest a few clique vendors honoured (which the clique never breaches).

Each behaviour is a small strategy object; the random draws it needs are handed in. A vendor's
node is run by a :class:`VendorOwner`: its policy signs the terms persons proffer, and a breaching
vendor's owner keeps the data of the grants it chose to breach, so its node sends no deletion
receipt for them (as a node run with ``--misbehave keep-data`` does, one grant at a time).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from amity.protocol.errors import AmityError
from amity.protocol.holder import Holding
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Accept, Negotiation
from amity.protocol.policy import Policy

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = [
    "ThreatModel",
    "VendorConduct",
    "PersonConduct",
    "HonestVendor",
    "BreachingVendor",
    "CollectiveVendor",
    "HonestPerson",
    "Colluder",
    "Spy",
    "Cast",
    "cast",
    "VendorOwner",
]


class ThreatModel(enum.Enum):
    """EigenTrust's threat models, as this scenario plays them (see the module docstring)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def description(self) -> str:
        return _THREATS[self]


_THREATS = {
    ThreatModel.A: "independent breaching vendors",
    ThreatModel.B: "a malicious collective (colluders praise the clique, slander the honest)",
    ThreatModel.C: "a camouflaged collective (each clique vendor honest with some persons)",
    ThreatModel.D: "a clique helped by spies (honest persons among the friends who praise it)",
}


class VendorConduct(Protocol):
    """How a vendor keeps its agreements, and whose attestations it passes on."""

    @property
    def label(self) -> str: ...

    @property
    def malicious(self) -> bool: ...

    @property
    def circle(self) -> tuple[int, ...]:
        """Colluders it attests honoured, and whose attestations it gives its customers."""
        ...

    def honours(self, person: int, rng: random.Random) -> bool:
        """Whether it deletes this grant's data in time (and sends the deletion receipt)."""
        ...


class PersonConduct(Protocol):
    """Whether a person is measured, has friends and grants, and what she says falsely."""

    @property
    def label(self) -> str: ...

    @property
    def honest(self) -> bool:
        """Her grants are the ones measured."""
        ...

    @property
    def sociable(self) -> bool:
        """She is in the friendship graph: she shares with her friends and they vouch for her."""
        ...

    @property
    def deals(self) -> bool:
        """She grants data each round (and attests the outcome truthfully)."""
        ...

    @property
    def praises(self) -> tuple[int, ...]:
        """Clique vendors she attests honoured from the start, whatever happened."""
        ...

    @property
    def slanders(self) -> tuple[int, ...]:
        """Honest vendors she attests breached from the start, whatever happened."""
        ...


@dataclass(frozen=True, slots=True)
class HonestVendor:
    """Keeps every agreement."""

    label: str = "honest"
    malicious: bool = False
    circle: tuple[int, ...] = ()

    def honours(self, person: int, rng: random.Random) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class BreachingVendor:
    """Threat model A: keeps data after expiry with probability ``breach_rate``, alone."""

    breach_rate: float
    label: str = "breaching"
    malicious: bool = True
    circle: tuple[int, ...] = ()

    def honours(self, person: int, rng: random.Random) -> bool:
        return rng.random() >= self.breach_rate


@dataclass(frozen=True, slots=True)
class CollectiveVendor:
    """Threat models B-D: breaches honest persons, spares its accomplices (and, in C, some)."""

    breach_rate: float
    #: Colluders and spies: never breached.
    accomplices: frozenset[int]
    circle: tuple[int, ...] = ()
    #: Honest persons it serves honestly as camouflage (model C; empty otherwise).
    spared: frozenset[int] = frozenset()
    malicious: bool = True

    @property
    def label(self) -> str:
        return "camouflaged" if self.spared else "collective"

    def honours(self, person: int, rng: random.Random) -> bool:
        if person in self.accomplices or person in self.spared:
            return True
        return rng.random() >= self.breach_rate


@dataclass(frozen=True, slots=True)
class HonestPerson:
    """Grants, attests what happened, shares with her friends."""

    label: str = "honest"
    honest: bool = True
    sociable: bool = True
    deals: bool = True
    praises: tuple[int, ...] = ()
    slanders: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Colluder:
    """Threat models B and C: praises clique vendors and slanders honest ones; nobody's friend."""

    praises: tuple[int, ...]
    slanders: tuple[int, ...]
    label: str = "colluder"
    honest: bool = False
    sociable: bool = False
    deals: bool = False


@dataclass(frozen=True, slots=True)
class Spy:
    """Threat model D: deals and attests honestly among friends, and praises clique vendors."""

    praises: tuple[int, ...]
    slanders: tuple[int, ...] = ()
    label: str = "spy"
    honest: bool = False
    sociable: bool = True
    deals: bool = True


@dataclass(frozen=True, slots=True)
class Cast:
    """Who plays what in one run: a conduct per vendor and per person, by index."""

    vendors: tuple[VendorConduct, ...]
    persons: tuple[PersonConduct, ...]
    #: The malicious vendors, ascending.
    clique: tuple[int, ...]


def _pick(rng: random.Random, population: Sequence[int], size: int) -> tuple[int, ...]:
    return tuple(sorted(rng.sample(population, min(size, len(population)))))


def cast(
    threat: ThreatModel,
    *,
    persons: int,
    vendors: int,
    malicious_fraction: float,
    colluder_fraction: float,
    breach_rate: float,
    camouflage: float,
    praise: int,
    slander: int,
    rng: random.Random,
) -> Cast:
    """Draw the malicious vendors, the colluders or spies and their targets from ``rng``."""
    clique = _pick(rng, range(vendors), round(malicious_fraction * vendors))
    honest_vendors = sorted(set(range(vendors)) - set(clique))
    helpers: tuple[int, ...] = ()
    if threat is not ThreatModel.A and clique:
        helpers = _pick(rng, range(persons), round(colluder_fraction * persons))
    person_roles: list[PersonConduct] = [HonestPerson()] * persons
    for p in helpers:
        praised = _pick(rng, clique, praise)
        if threat is ThreatModel.D:
            person_roles[p] = Spy(praised)
        else:
            person_roles[p] = Colluder(praised, _pick(rng, honest_vendors, slander))
    accomplices = frozenset(helpers)
    honest_persons = [p for p in range(persons) if p not in accomplices]
    vendor_roles: list[VendorConduct] = [HonestVendor()] * vendors
    for v in clique:
        circle = tuple(p for p in helpers if v in person_roles[p].praises)
        if threat is ThreatModel.A:
            vendor_roles[v] = BreachingVendor(breach_rate)
        elif threat is ThreatModel.D:
            vendor_roles[v] = CollectiveVendor(breach_rate, accomplices)
        else:
            spared = (
                frozenset(_pick(rng, honest_persons, round(camouflage * len(honest_persons))))
                if threat is ThreatModel.C
                else frozenset()
            )
            vendor_roles[v] = CollectiveVendor(breach_rate, accomplices, circle, spared)
    return Cast(tuple(vendor_roles), tuple(person_roles), clique)


class VendorOwner:
    """The owner of a vendor's node: what its policy signs, and which grants' data it keeps.

    The policy answers every offer at once (it accepts what the scenario's persons proffer). Data
    is kept per grant: the run tells the owner, when a person picks this vendor, whether it will
    breach her grant (its :class:`VendorConduct` decides), and :meth:`keeps` is the node's
    ``grants.keeps``, asked when the grant's deletion comes due. A kept grant stays held and no
    deletion receipt goes back; her node finds the breach on its own when the deadline passes.
    """

    __slots__ = ("_keep", "_policy")

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._keep: set[bytes] = set()

    @property
    def policy(self) -> Policy | None:
        return self._policy

    def on_connected(self, node: SimNode, peer: PeerId) -> None:
        return None  # vendors wait for offers

    def on_waiting(self, node: SimNode, negotiation: Negotiation) -> None:
        """Not reached while the policy covers every clause; a person there would accept."""
        try:
            node.terms.move(negotiation.negotiation_id, Accept())
        except AmityError as exc:
            node.env.observer.record(node, "terms.answer_failed", negotiation.peer, exc.code)

    def keep(self, grant_id: bytes) -> None:
        """Breach this grant: keep its data after it ends, and send no deletion receipt."""
        self._keep.add(grant_id)

    def keeps(self, holding: Holding) -> bool:
        """Whether the node keeps this grant's data now that its deletion is due."""
        grant_id = holding.grant.grant_id
        if grant_id in self._keep:
            self._keep.discard(grant_id)
            return True
        return False
