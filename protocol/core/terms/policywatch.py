"""A vendor's published policy changed: what changed, in words, and what it means for each
agreement in force with it.

An agreement is the terms both parties signed; a policy is what a vendor says it welcomes *from
now on*. So a changed policy never changes an agreement: every agreement in force still holds,
and a vendor that wants other terms must offer an amendment (spec/terms.md §10), which the
person may refuse. What the change does decide is whether the vendor would still sign the same
terms today. Both sides run :func:`review_policy`: the person's node when the vendor's new card
arrives (she is told, in plain words, what changed and whether her agreement still holds), the
vendor's node when its own policy changes (it is told which agreements its new policy would no
longer accept, and that they stand until amended). Nothing is silent on either side.
See spec/signals.md §4.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from amity.protocol.errors import AmityError
from amity.protocol.policy import (
    ClauseRule,
    Constraint,
    DecisionKind,
    Includes,
    IntRange,
    OneOf,
    Policy,
    RuleAction,
    decode_policy_summary,
    evaluate,
)
from amity.protocol.terms import TermsDocument, vocabulary

__all__ = ["AgreementCheck", "PolicyReview", "RuleChange", "review_policy", "rule_words"]


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One clause whose rule differs between the two policies, each side in words."""

    clause_id: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class AgreementCheck:
    """One agreement in force and what the new policy says of its terms.

    ``verdict`` is the new policy's decision on the agreed terms (None: no policy to judge by);
    ``clauses`` the clauses it would not accept as they are; ``words`` says it all in a line.
    """

    agreement_id: bytes
    terms_id: bytes
    verdict: DecisionKind | None
    clauses: tuple[str, ...]
    words: str

    @property
    def still_welcome(self) -> bool:
        return self.verdict is DecisionKind.ACCEPT


@dataclass(frozen=True, slots=True)
class PolicyReview:
    """What changed between two published policies, and each agreement in force under the new."""

    changes: tuple[RuleChange, ...]
    agreements: tuple[AgreementCheck, ...]
    #: Why the new policy could not be read (a newer vocabulary): then nothing is judged.
    unreadable: str = ""

    @property
    def worse_for(self) -> tuple[AgreementCheck, ...]:
        """The agreements whose terms the new policy would not sign as they are."""
        return tuple(a for a in self.agreements if a.verdict not in (None, DecisionKind.ACCEPT))


def _read(summary: bytes | None) -> tuple[Policy | None, str]:
    if summary is None:
        return None, ""
    try:
        return decode_policy_summary(summary), ""
    except AmityError as exc:
        return None, f"its policy cannot be read by this node ({exc.code}: {exc.message})"


def _constraint_words(name: str, bound: Constraint | None) -> str:
    if bound is None:
        return f"{name} any"
    if isinstance(bound, IntRange):
        return f"{name} {bound.lo}..{bound.hi}"
    if isinstance(bound, OneOf):
        return f"{name} one of {', '.join(str(v).lower() for v in bound.values)}"
    assert isinstance(bound, Includes)
    return f"{name} including {', '.join(bound.values)}"


def rule_words(rule: ClauseRule | None, default: RuleAction | None) -> str:
    """A policy's rule for one clause, in words (``default`` when it names none)."""
    if rule is None:
        if default is None:
            return "no policy"
        return f"not named (default: {_action_words(default)})"
    words = _action_words(rule.action)
    if rule.action is RuleAction.WITHIN:
        spec = vocabulary().get(rule.clause_id)
        names = [p.name for p in spec.params] if spec is not None else []
        names += [f"#{i}" for i in range(len(names), len(rule.constraints))]
        bounds = [_constraint_words(n, b) for n, b in zip(names, rule.constraints, strict=False)]
        words = f"accepts {'; '.join(bounds)}, otherwise {_action_words(rule.otherwise)}"
    if rule.reason:
        words += f" ({rule.reason})"
    return words


def _action_words(action: RuleAction) -> str:
    return {
        RuleAction.ACCEPT: "accepts",
        RuleAction.WITHIN: "accepts within limits",
        RuleAction.COUNTER: "counters",
        RuleAction.REJECT: "refuses",
        RuleAction.ASK_HUMAN: "asks a person",
    }[action]


def _changes(before: Policy | None, after: Policy | None) -> tuple[RuleChange, ...]:
    ids = sorted({r.clause_id for p in (before, after) if p is not None for r in p.rules})
    out = []
    for clause_id in ids:
        old = rule_words(
            before.rule(clause_id) if before else None, before.default if before else None
        )
        new = rule_words(after.rule(clause_id) if after else None, after.default if after else None)
        if old != new:
            out.append(RuleChange(clause_id, old, new))
    if before is not None and after is not None and before.default is not after.default:
        old, new = _action_words(before.default), _action_words(after.default)
        out.append(RuleChange("(any other clause)", old, new))
    return tuple(out)


def _check(agreement_id: bytes, terms: TermsDocument, policy: Policy | None) -> AgreementCheck:
    holds = "the agreement still holds: both signed it, and it binds until both agree to a change"
    if policy is None:
        return AgreementCheck(agreement_id, terms.terms_id, None, (), holds)
    decision = evaluate(policy, terms)
    kind = decision.kind
    if kind is DecisionKind.ACCEPT:
        return AgreementCheck(
            agreement_id, terms.terms_id, kind, (), f"{holds}; the new policy accepts it as it is"
        )
    if kind is DecisionKind.REJECT:
        clauses = tuple(r.clause_id for r in decision.reasons)
        why = "; ".join(f"{r.clause_id} ({r.reason})" for r in decision.reasons)
        words = f"{holds}; the new policy would refuse {why}"
    elif kind is DecisionKind.COUNTER:
        clauses = decision.countered
        words = f"{holds}; the new policy would counter {', '.join(clauses)}"
    else:
        clauses = decision.open_clauses
        words = f"{holds}; the new policy leaves {', '.join(clauses)} to a person"
    return AgreementCheck(agreement_id, terms.terms_id, kind, clauses, words)


def review_policy(
    before: bytes | None,
    after: bytes | None,
    agreements: Iterable[tuple[bytes, TermsDocument]],
) -> PolicyReview:
    """Compare two published policy summaries (None: none published) and judge each agreement
    in force (``(agreement_id, terms)``) by the new one. Pure; never raises for a summary it
    cannot read (a newer vocabulary): it says so in ``unreadable``, and each agreement is only
    said to hold."""
    old, _ = _read(before)
    new, unreadable = _read(after)
    judged: dict[bytes, AgreementCheck] = {}  # by terms id: a vendor's agreements share few
    checks = []
    for agreement_id, terms in agreements:
        check = judged.get(terms.terms_id)
        if check is None:
            check = judged[terms.terms_id] = _check(agreement_id, terms, new)
        checks.append(replace(check, agreement_id=agreement_id))
    if unreadable:
        return PolicyReview((), tuple(checks), unreadable)
    return PolicyReview(_changes(old, new), tuple(checks))
