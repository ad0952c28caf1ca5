"""The linkability adversary: it holds every hub's and every vendor's logs (everything they
received, with times) and tries to link intents to each other and to persons.

It reads only :class:`~.nodes.Received` lines and the vendors' own records of accepts (the
reveal a vendor opened, and the address she dialled it from afterwards). From each cast a hub
received it takes what a hub sees (spec/intents.md §8): the intent (category, region, terms),
its key and link key, the pseudonymous link and the network address it came from, the hub, and
when. Each *attack* ranks candidates by some of those features, in order (a candidate matching
the first feature beats any that does not; among equals the next feature decides; ``timing``
last picks the nearest cast in time) and guesses the best; ties are broken at random, so an
attack's success for one intent is the share of true answers among its tied best guesses (an
exact expectation, no sampling noise), and *chance* is the share of true answers among all
candidates. Ground truth (who cast what) is used only to score the guesses.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.envelope import open_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentmessages import MSG_CAST, Cast, decode_intent_body
from amity.simulations.scenarios.intents.nodes import Received

__all__ = ["ATTACKS", "Observed", "AttackResult", "observe", "link_intents", "link_persons"]

#: Each attack: its name, the features it compares in order, and whether time breaks ties.
ATTACKS: Final[tuple[tuple[str, tuple[str, ...], bool], ...]] = (
    ("intent key", ("key",), False),
    ("link key (pseudonymous link)", ("link", "session"), False),
    ("network address (cast directly)", ("address",), False),
    ("network address (shared network)", ("exit",), False),
    ("timing", (), True),
    ("content (region, hub, terms, category)", ("region", "hub", "terms", "category"), False),
    ("content and timing", ("region", "hub", "terms", "category"), True),
    (
        "everything, address hidden",
        ("key", "link", "session", "region", "hub", "terms", "category"),
        True,
    ),
    (
        "everything, address direct",
        ("key", "link", "session", "address", "region", "hub", "terms", "category"),
        True,
    ),
)


@dataclass(frozen=True, slots=True)
class Observed:
    """What the logs hold about one intent: its first cast as a hub received it."""

    intent_id: bytes
    at_ms: int
    features: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class AttackResult:
    attack: str
    task: str
    evaluated: int
    success: float
    chance: float

    @property
    def lift(self) -> float | None:
        return None if self.chance == 0 else self.success / self.chance


def observe(log: Iterable[Received], hubs: Mapping[str, PeerId]) -> dict[bytes, Observed]:
    """Every intent a hub received as a cast, with what the hub saw of it (the first cast)."""
    seen: dict[bytes, Observed] = {}
    for line in log:
        if line.link is None:
            continue  # a relationship's message: nothing of the caster in it
        try:
            envelope = open_envelope(line.data, recipient=hubs[line.receiver])
            if envelope.type != MSG_CAST:
                continue
            body = decode_intent_body(envelope.type, envelope.body)
            assert isinstance(body, Cast)
            intent = Intent.decode(body.intent)
        except AmityError:
            continue
        if intent.intent_id in seen:
            continue
        c = intent.constraints
        features = {
            "key": intent.intent_key.key,
            "link": intent.link_public,
            "session": line.link,
            "address": line.address,
            "exit": line.exit,
            "hub": line.receiver,
            "region": c.region,
            "terms": intent.terms_id,
            "category": intent.category,
        }
        seen[intent.intent_id] = Observed(intent.intent_id, line.at_ms, features)
    return seen


class _Index:
    """The candidates, grouped by each feature's value and sorted by time."""

    def __init__(self, candidates: Sequence[Observed]) -> None:
        self.all = candidates
        groups: dict[str, dict[object, set[int]]] = defaultdict(lambda: defaultdict(set))
        for n, obs in enumerate(candidates):
            for name, value in obs.features.items():
                groups[name][value].add(n)
        self.groups = groups
        self.order = sorted(range(len(candidates)), key=lambda n: (candidates[n].at_ms, n))
        self.times = [candidates[n].at_ms for n in self.order]

    def best(self, target: Observed, me: int, features: Sequence[str], timing: bool) -> list[int]:
        """The candidates (indexes) the attack ranks first for ``target`` (candidate ``me``, or
        -1 if it is none), itself excluded."""
        pool: set[int] | None = None  # None: every candidate
        for name in features:
            group = self.groups[name].get(target.features[name])
            if not group:
                continue
            narrowed = group - {me} if pool is None else pool & group
            narrowed.discard(me)
            if narrowed:
                pool = narrowed
        if pool is None:
            if timing:
                return self._nearest(target, me)
            return [n for n in range(len(self.all)) if n != me]
        if not timing:
            return sorted(pool)
        gaps = [(abs(self.all[n].at_ms - target.at_ms), n) for n in pool]
        nearest = min(g for g, _ in gaps)
        return sorted(n for g, n in gaps if g == nearest)

    def _nearest(self, target: Observed, me: int) -> list[int]:
        at = bisect.bisect_left(self.times, target.at_ms)
        found: list[tuple[int, int]] = []
        for pos in range(max(at - 3, 0), min(at + 3, len(self.order))):
            n = self.order[pos]
            if n != me:
                found.append((abs(self.all[n].at_ms - target.at_ms), n))
        nearest = min(g for g, _ in found)
        return sorted(n for g, n in found if g == nearest)


def link_intents(
    observed: Mapping[bytes, Observed], owner: Mapping[bytes, int]
) -> list[AttackResult]:
    """Intent to intent: for each intent whose person cast another, guess one of her others."""
    cands = [observed[i] for i in sorted(observed) if i in owner]
    index = _Index(cands)
    by_person: dict[int, int] = defaultdict(int)
    for obs in cands:
        by_person[owner[obs.intent_id]] += 1
    targets = [o for o in cands if by_person[owner[o.intent_id]] > 1]
    results = []
    position = {obs.intent_id: n for n, obs in enumerate(cands)}
    for name, features, timing in ATTACKS:
        success = chance = 0.0
        for target in targets:
            mine = owner[target.intent_id]
            best = index.best(target, position[target.intent_id], features, timing)
            success += sum(owner[cands[n].intent_id] == mine for n in best) / len(best)
            chance += (by_person[mine] - 1) / (len(cands) - 1)
        n = len(targets)
        results.append(AttackResult(name, "intent-intent", n, _mean(success, n), _mean(chance, n)))
    return results


def link_persons(
    observed: Mapping[bytes, Observed],
    owner: Mapping[bytes, int],
    revealed: Mapping[bytes, int],
) -> list[AttackResult]:
    """Intent to person: the vendors she accepted know her for those intents (she revealed
    herself); for each of her other intents, guess whose it is by the best-linked revealed one."""
    known = [observed[i] for i in sorted(revealed) if i in observed]
    index = _Index(known)
    count: dict[int, int] = defaultdict(int)
    for obs in known:
        count[revealed[obs.intent_id]] += 1
    targets = [
        observed[i]
        for i in sorted(observed)
        if i in owner and i not in revealed and count.get(owner[i], 0) > 0
    ]
    results = []
    for name, features, timing in ATTACKS:
        success = chance = 0.0
        for target in targets:
            mine = owner[target.intent_id]
            best = index.best(target, -1, features, timing)
            success += sum(revealed[known[n].intent_id] == mine for n in best) / len(best)
            chance += count[mine] / len(known)
        n = len(targets)
        results.append(AttackResult(name, "intent-person", n, _mean(success, n), _mean(chance, n)))
    return results


def _mean(total: float, n: int) -> float:
    return round(total / n, 4) if n else 0.0
