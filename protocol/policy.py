"""Vendor policies: per clause accept, accept within ranges, counter, reject or ask a human. Sans-IO.

A vendor writes its policy as TOML (:func:`parse_policy`), the node answers offers with
:func:`evaluate`, and :func:`policy_summary` gives the canonical bytes a vendor publishes so that a
person can see in advance what it welcomes. See spec/terms.md §5 and §6.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_int,
    expect_str,
    expect_version,
)
from amity.protocol.errors import (
    BadParameterError,
    PolicyError,
    SchemaError,
    TermsError,
    UsageError,
)
from amity.protocol.relmessages import MAX_REASON_BYTES, REASON_PATTERN
from amity.protocol.terms import (
    MAX_TITLE_BYTES,
    VOCABULARY_VERSION,
    Clause,
    ClauseSpec,
    ParamKind,
    ParamSpec,
    ParamValue,
    TermsDocument,
    clause_spec,
    vocabulary,
)
from amity.protocol.termsmessages import RejectReason

__all__ = [
    "POLICY_VERSION",
    "MAX_POLICY_DEPTH",
    "MAX_POLICY_SUMMARY_BYTES",
    "COUNTER_TITLE_PREFIX",
    "RuleAction",
    "IntRange",
    "OneOf",
    "Includes",
    "Constraint",
    "ClauseRule",
    "Policy",
    "DecisionKind",
    "Decision",
    "parse_policy",
    "evaluate",
    "policy_summary",
    "decode_policy_summary",
]

POLICY_VERSION: Final = 1
#: Tables and arrays nest at most this deep below the top of a policy file (a policy needs 4).
MAX_POLICY_DEPTH: Final = 8
_TOO_DEEP: Final = (
    f"tables and arrays nest more than {MAX_POLICY_DEPTH} levels deep; a policy needs at most 4"
)
MAX_POLICY_SUMMARY_BYTES: Final = 16 * 1024
COUNTER_TITLE_PREFIX: Final = "Counter-offer: "


class RuleAction(enum.Enum):
    """What a policy does with one clause. See spec/terms.md §5.1."""

    ACCEPT = "accept"
    WITHIN = "within"
    COUNTER = "counter"
    REJECT = "reject"
    ASK_HUMAN = "ask-human"


@dataclass(frozen=True, slots=True)
class IntRange:
    """An int parameter is acceptable in ``lo..hi`` (inclusive)."""

    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class OneOf:
    """A bool or enum parameter is acceptable if it is one of ``values`` (sorted)."""

    values: tuple[bool, ...] | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Includes:
    """A set parameter is acceptable if it includes every one of ``values`` (sorted)."""

    values: tuple[str, ...]


Constraint: TypeAlias = IntRange | OneOf | Includes


@dataclass(frozen=True, slots=True)
class ClauseRule:
    """The policy for one clause; ``constraints`` and ``counter`` hold one entry per parameter."""

    clause_id: str
    action: RuleAction
    #: WITHIN: per parameter the acceptable values (None: any). Empty for other actions.
    constraints: tuple[Constraint | None, ...] = ()
    #: COUNTER, WITHIN: per parameter the value to propose instead (None: keep or nearest).
    counter: tuple[ParamValue | None, ...] = ()
    #: WITHIN: what to do when a parameter is outside its constraint.
    otherwise: RuleAction = RuleAction.COUNTER
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """A vendor's policy: rules in clause-id order and a default for clauses it does not name."""

    default: RuleAction
    rules: tuple[ClauseRule, ...]
    vocab_version: int = VOCABULARY_VERSION

    def rule(self, clause_id: str) -> ClauseRule | None:
        return next((r for r in self.rules if r.clause_id == clause_id), None)


class DecisionKind(enum.Enum):
    ACCEPT = "accept"
    COUNTER = "counter"
    REJECT = "reject"
    ASK_HUMAN = "ask-human"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy says about a terms document. See spec/terms.md §6."""

    kind: DecisionKind
    #: COUNTER: the terms to propose instead.
    counter: TermsDocument | None = None
    #: REJECT: why, per clause.
    reasons: tuple[RejectReason, ...] = ()
    #: ASK_HUMAN: the clauses the policy leaves to a person.
    open_clauses: tuple[str, ...] = ()
    #: COUNTER: the clauses whose parameters the counter changes.
    countered: tuple[str, ...] = ()


class _Invalid(Exception):
    """A rule breaks §5; ``key`` is the offending key under the clause, if any."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


# -- building rules: one set of checks for TOML and for published summaries -----------------------

_CONSTRAINT_KEYS: Final = {
    ParamKind.INT: ("max", "min"),
    ParamKind.BOOL: ("one_of",),
    ParamKind.ENUM: ("one_of",),
    ParamKind.SET: ("include",),
}
_DEFAULTS: Final = (RuleAction.REJECT, RuleAction.ASK_HUMAN)
_OTHERWISE: Final = (RuleAction.COUNTER, RuleAction.REJECT, RuleAction.ASK_HUMAN)


def _action(value: object, allowed: tuple[RuleAction, ...], key: str) -> RuleAction:
    names = [a.value for a in allowed]
    if not isinstance(value, str) or value not in names:
        raise _Invalid(f"expected one of {', '.join(names)}", key)
    return RuleAction(value)


def _param_value(param: ParamSpec, value: object, key: str) -> ParamValue:
    if param.kind is ParamKind.SET and isinstance(value, list):
        value = sorted(value, key=str)
    if not isinstance(value, bool | int | str | list):
        raise _Invalid(f"{param.name} takes a {param.kind.value}", key)
    try:
        return param.read(value, param.name)
    except BadParameterError as exc:
        raise _Invalid(exc.message, key) from None


def _members(param: ParamSpec, value: object, key: str) -> tuple[str, ...] | tuple[bool, ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid("expected a non-empty array", key)
    if param.kind is ParamKind.BOOL:
        if not all(isinstance(v, bool) for v in value):
            raise _Invalid("expected an array of true/false", key)
        return tuple(sorted(set(value)))
    if not all(isinstance(v, str) and v in param.choices for v in value):
        raise _Invalid(f"expected values from: {', '.join(param.choices)}", key)
    return tuple(sorted(set(value)))


def _constraint(param: ParamSpec, raw: object, key: str) -> Constraint:
    if not isinstance(raw, Mapping) or not raw or set(raw) - set(_CONSTRAINT_KEYS[param.kind]):
        wanted = " and/or ".join(_CONSTRAINT_KEYS[param.kind])
        raise _Invalid(f"a {param.kind.value} parameter is constrained by {{{wanted}}}", key)
    if param.kind is ParamKind.INT:
        lo, hi = raw.get("min", param.lo), raw.get("max", param.hi)
        for bound in (lo, hi):
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise _Invalid("min and max are integers", key)
        if not param.lo <= lo <= hi <= param.hi:
            raise _Invalid(f"need {param.lo} <= min <= max <= {param.hi}, got {lo}..{hi}", key)
        return IntRange(lo, hi)
    if param.kind is ParamKind.SET:
        return Includes(_members(param, raw["include"], key))  # type: ignore[arg-type]
    return OneOf(_members(param, raw["one_of"], key))


def _make_rule(
    spec: ClauseSpec,
    action: RuleAction,
    constraints: Mapping[str, object],
    counter: Mapping[str, object],
    otherwise: RuleAction,
    reason: object,
) -> ClauseRule:
    names = [p.name for p in spec.params]
    for key in [*constraints, *counter]:
        if key not in names:
            raise _Invalid(f"{spec.clause_id} has no parameter {key!r}; it has {names}", key)
    if constraints and action is not RuleAction.WITHIN:
        raise _Invalid("parameter ranges belong to action = 'within'", next(iter(constraints)))
    if action is RuleAction.WITHIN and not constraints:
        raise _Invalid("action 'within' needs at least one parameter range; or use 'accept'")
    if counter and action not in (RuleAction.COUNTER, RuleAction.WITHIN):
        raise _Invalid("a counter belongs to action 'counter' or 'within'", "counter")
    if action is RuleAction.COUNTER and not counter:
        raise _Invalid("action 'counter' needs a counter table of parameters", "counter")
    if otherwise is not RuleAction.COUNTER and action is not RuleAction.WITHIN:
        raise _Invalid("'otherwise' belongs to action 'within'", "otherwise")
    if not isinstance(reason, str) or not REASON_PATTERN.fullmatch(reason):
        raise _Invalid("a reason is one line of text", "reason")
    if len(reason.encode("utf-8", "replace")) > MAX_REASON_BYTES:
        raise _Invalid(f"a reason is at most {MAX_REASON_BYTES} bytes", "reason")
    bounds = tuple(
        _constraint(p, constraints[p.name], p.name) if p.name in constraints else None
        for p in spec.params
    )
    values = tuple(
        _param_value(p, counter[p.name], f"counter.{p.name}") if p.name in counter else None
        for p in spec.params
    )
    for param, bound, value in zip(spec.params, bounds, values, strict=True):
        if bound is not None and value is not None and not _satisfies(bound, value):
            raise _Invalid("the counter value is outside the range above", f"counter.{param.name}")
    if action is not RuleAction.WITHIN:
        bounds = ()
    if action not in (RuleAction.COUNTER, RuleAction.WITHIN):
        values = ()
    return ClauseRule(spec.clause_id, action, bounds, values, otherwise, reason)


# -- the TOML form (spec/terms.md §5.2) ------------------------------------------------------------

_TOP_KEYS: Final = ("version", "vocabulary", "default", "clause", "intents")
_RULE_KEYS: Final = ("action", "counter", "otherwise", "reason")
_TOML_LINE: Final = re.compile(r"at line (\d+)")


def parse_policy(text: str) -> Policy:
    """Parse a vendor's policy TOML; PolicyError (with line and field) on any mistake."""
    if not isinstance(text, str):
        raise UsageError("parse_policy() takes the TOML text as str")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        raise PolicyError(f"not valid TOML: {exc}", line=int(found[1]) if found else None) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise PolicyError(_TOO_DEEP) from None
    deep = _too_deep(data)
    if deep is not None:
        if len(deep) > 1 and deep[0] == "clause":
            line = _line_of(text, deep[1], deep[2] if len(deep) > 2 else None)
        else:
            line = _line_of(text, None, deep[0])
        raise PolicyError(_TOO_DEEP, field=".".join(deep), line=line)
    for key in data:
        if key not in _TOP_KEYS:
            raise PolicyError(
                f"unknown key; a policy has {', '.join(_TOP_KEYS)}",
                field=key,
                line=_line_of(text, None, key),
            )
    for key in ("version", "vocabulary", "default"):
        if key not in data:
            raise PolicyError("missing (see spec/terms.md §5.2)", field=key)
    if data["version"] != POLICY_VERSION or isinstance(data["version"], bool):
        raise PolicyError(
            f"policy format {data['version']!r}; this node reads {POLICY_VERSION}",
            field="version",
            line=_line_of(text, None, "version"),
        )
    vocab_version = data["vocabulary"]
    try:
        if isinstance(vocab_version, bool) or not isinstance(vocab_version, int):
            raise _Invalid("expected the vocabulary version, an integer", "vocabulary")
        vocab = vocabulary(vocab_version)
        default = _action(data["default"], _DEFAULTS, "default")
    except (_Invalid, TermsError) as exc:
        field = (exc.key if isinstance(exc, _Invalid) else None) or "vocabulary"
        message = str(exc) if isinstance(exc, _Invalid) else exc.message
        raise PolicyError(message, field=field, line=_line_of(text, None, field)) from None
    clauses = data.get("clause", {})
    if not isinstance(clauses, dict):
        raise PolicyError('expected [clause."<clause id>"] tables', field="clause")
    rules = []
    for clause_id, body in sorted(clauses.items()):
        try:
            spec = vocab.get(clause_id) or clause_spec(clause_id, vocab_version)
            rules.append(_rule_from_toml(spec, body))
        except (_Invalid, TermsError) as exc:
            sub = exc.key if isinstance(exc, _Invalid) else None
            message = str(exc) if isinstance(exc, _Invalid) else exc.message
            if "." not in clause_id:
                message += '; quote clause ids in table names: [clause."amity.no-tracking"]'
            raise PolicyError(
                message,
                field=".".join(p for p in ("clause", clause_id, sub) if p),
                line=_line_of(text, clause_id, sub),
            ) from None
    return Policy(default, tuple(rules), vocab_version)


def _too_deep(data: dict[str, object]) -> tuple[str, ...] | None:
    """The keys down to a value whose tables or arrays nest past MAX_POLICY_DEPTH, if any."""
    stack: list[tuple[object, int, tuple[str, ...]]] = [(data, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_POLICY_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend((child, depth + 1, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, depth + 1, path) for child in value)
    return None


def _rule_from_toml(spec: ClauseSpec, body: object) -> ClauseRule:
    if not isinstance(body, dict):
        raise _Invalid("expected a table with at least 'action'")
    names = [p.name for p in spec.params]
    for key in body:
        if key not in _RULE_KEYS and key not in names:
            raise _Invalid(f"unknown key; allowed: {', '.join([*_RULE_KEYS, *names])}", key)
    if "action" not in body:
        raise _Invalid("missing 'action'", "action")
    counter = body.get("counter", {})
    if not isinstance(counter, dict):
        raise _Invalid("expected a table of parameter values", "counter")
    return _make_rule(
        spec,
        _action(body["action"], tuple(RuleAction), "action"),
        {k: v for k, v in body.items() if k in names},
        counter,
        _action(body.get("otherwise", "counter"), _OTHERWISE, "otherwise"),
        body.get("reason", ""),
    )


def _line_of(text: str, clause_id: str | None, key: str | None) -> int | None:
    """Best effort: the line of ``key`` in the clause's table (or at the top level)."""
    lines = text.splitlines()
    start = 0
    if clause_id is not None:
        header = re.compile(r'\s*\[\s*clause\s*\.\s*"?' + re.escape(clause_id) + r'"?\s*\]')
        start = next((i for i, line in enumerate(lines) if header.match(line)), -1)
        if start < 0:
            return None
        if key is None:
            return start + 1
        start += 1
    pattern = re.compile(r"\s*" + re.escape((key or "").split(".")[0]) + r"\s*[=.]")
    for index in range(start, len(lines)):
        if lines[index].lstrip().startswith("["):
            break
        if pattern.match(lines[index]):
            return index + 1
    return start if clause_id is not None else None


# -- deciding (spec/terms.md §6) -------------------------------------------------------------------


def _satisfies(bound: Constraint, value: ParamValue) -> bool:
    if isinstance(bound, IntRange):
        return not isinstance(value, bool | str | tuple) and bound.lo <= value <= bound.hi
    if isinstance(bound, Includes):
        return isinstance(value, tuple) and set(bound.values) <= set(value)
    return value in bound.values


def _nearest(bound: Constraint, value: ParamValue) -> ParamValue:
    if isinstance(bound, IntRange):
        assert isinstance(value, int)
        return min(max(value, bound.lo), bound.hi)
    if isinstance(bound, Includes):
        assert isinstance(value, tuple)
        return tuple(sorted(set(value) | set(bound.values)))
    return bound.values[0]


def _judge(rule: ClauseRule, clause: Clause) -> tuple[RuleAction, tuple[ParamValue, ...]]:
    """One clause: ACCEPT (keep), COUNTER (with new params), REJECT or ASK_HUMAN."""
    params = clause.params
    if rule.action is RuleAction.COUNTER:
        new = tuple(p if c is None else c for p, c in zip(params, rule.counter, strict=True))
        return (RuleAction.ACCEPT if new == params else RuleAction.COUNTER), new
    if rule.action is not RuleAction.WITHIN:
        return rule.action, params
    pairs = list(zip(rule.constraints, params, strict=True))
    if all(b is None or _satisfies(b, p) for b, p in pairs):
        return RuleAction.ACCEPT, params
    if rule.otherwise is not RuleAction.COUNTER:
        return rule.otherwise, params
    new = tuple(
        p if b is None or _satisfies(b, p) else (c if c is not None else _nearest(b, p))
        for (b, p), c in zip(pairs, rule.counter or (None,) * len(params), strict=True)
    )
    return RuleAction.COUNTER, new


def evaluate(policy: Policy, terms: TermsDocument) -> Decision:
    """Decide on ``terms``: reject beats ask-human beats counter beats accept. See §6."""
    if terms.vocab_version != policy.vocab_version:
        return Decision(DecisionKind.ASK_HUMAN, open_clauses=terms.clause_ids)
    rejected: list[RejectReason] = []
    open_clauses: list[str] = []
    countered: list[str] = []
    clauses: list[Clause] = []
    for clause in terms.clauses:
        rule = policy.rule(clause.clause_id)
        if rule is None:
            outcome, params = policy.default, clause.params
            rule = ClauseRule(clause.clause_id, policy.default, reason="not covered by the policy")
        else:
            outcome, params = _judge(rule, clause)
        if outcome is RuleAction.REJECT:
            why = rule.reason or (
                "outside the range the policy accepts"
                if rule.action is RuleAction.WITHIN
                else "refused by the policy"
            )
            rejected.append(RejectReason(clause.clause_id, why))
        elif outcome is RuleAction.ASK_HUMAN:
            open_clauses.append(clause.clause_id)
        elif outcome is RuleAction.COUNTER:
            countered.append(clause.clause_id)
        clauses.append(Clause(clause.clause_id, params))
    if rejected:
        return Decision(DecisionKind.REJECT, reasons=tuple(rejected))
    if open_clauses:
        return Decision(DecisionKind.ASK_HUMAN, open_clauses=tuple(open_clauses))
    if countered:
        counter = TermsDocument.create(clauses, _counter_title(terms.title))
        return Decision(DecisionKind.COUNTER, counter=counter, countered=tuple(countered))
    return Decision(DecisionKind.ACCEPT)


def _counter_title(title: str) -> str:
    text = COUNTER_TITLE_PREFIX + title.removeprefix(COUNTER_TITLE_PREFIX)
    while len(text.encode("utf-8")) > MAX_TITLE_BYTES:
        text = text[:-1]
    return text


# -- the published summary (spec/terms.md §5.3) ----------------------------------------------------


def _constraint_wire(bound: Constraint | None) -> Value:
    if bound is None:
        return None
    if isinstance(bound, IntRange):
        return [bound.lo, bound.hi]
    return list(bound.values)


def policy_summary(policy: Policy) -> bytes:
    """``enc([1, vocabulary, default, [[clause_id, action, ranges, counter, otherwise, reason]…]])``."""
    rules: list[Value] = []
    for rule in sorted(policy.rules, key=lambda r: r.clause_id):
        spec = clause_spec(rule.clause_id, policy.vocab_version)
        counter: list[Value] = [
            None if v is None else p.to_wire(v)
            for p, v in zip(spec.params, rule.counter, strict=False)
        ]
        ranges: list[Value] = [_constraint_wire(b) for b in rule.constraints]
        rules.append(
            [rule.clause_id, rule.action.value, ranges, counter, rule.otherwise.value, rule.reason]
        )
    return encode([POLICY_VERSION, policy.vocab_version, policy.default.value, rules])


def decode_policy_summary(data: bytes) -> Policy:
    """Read a vendor's published policy summary; AmityError (remote) on any defect."""
    fields = expect_array(decode(data, max_bytes=MAX_POLICY_SUMMARY_BYTES), "policy summary")
    expect_version(fields, POLICY_VERSION, "policy summary")
    expect_array(fields, "policy summary", arity=4)
    vocab_version = expect_int(fields[1], "policy summary vocabulary")
    vocabulary(vocab_version)
    items = expect_array(fields[3], "policy summary rules", max_len=64)
    try:
        default = _action(fields[2], _DEFAULTS, "default")
        rules = tuple(_rule_from_wire(item, vocab_version) for item in items)
    except _Invalid as exc:
        raise SchemaError(f"policy summary: {exc}") from None
    ids = [rule.clause_id for rule in rules]
    if ids != sorted(set(ids)):
        raise SchemaError("policy summary: rules are in ascending clause order, one per clause")
    policy = Policy(default, rules, vocab_version)
    if policy_summary(policy) != data:
        raise SchemaError("policy summary: not in its canonical form (rule order, empty fields)")
    return policy


def _rule_from_wire(item: Value, vocab_version: int) -> ClauseRule:
    rule = expect_array(item, "policy rule", arity=6)
    spec = clause_spec(expect_str(rule[0], "policy rule clause", max_bytes=64), vocab_version)
    ranges = expect_array(rule[2], "policy rule ranges")
    counter = expect_array(rule[3], "policy rule counter")
    reason = expect_str(rule[5], "policy rule reason", max_bytes=MAX_REASON_BYTES)
    if (ranges and len(ranges) != len(spec.params)) or len(counter) not in (0, len(spec.params)):
        raise SchemaError(f"policy rule {spec.clause_id}: one entry per parameter")
    constraints: dict[str, object] = {}
    for param, bound in zip(spec.params, ranges, strict=False):
        if bound is None:
            continue
        values = expect_array(bound, f"policy rule {spec.clause_id} range")
        if param.kind is ParamKind.INT:
            if len(values) != 2:
                raise SchemaError(f"policy rule {spec.clause_id}: an int range is [min, max]")
            constraints[param.name] = {"min": values[0], "max": values[1]}
        else:
            constraints[param.name] = {_CONSTRAINT_KEYS[param.kind][0]: values}
    values_by_name = {
        p.name: v for p, v in zip(spec.params, counter, strict=False) if v is not None
    }
    return _make_rule(
        spec,
        _action(rule[1], tuple(RuleAction), "action"),
        constraints,
        values_by_name,
        _action(rule[4], _OTHERWISE, "otherwise"),
        reason,
    )
