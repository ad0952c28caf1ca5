"""Vendor policies: the spec vectors, decisions, the published summary, random policies."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.encoding import encode
from amity.protocol.errors import AmityError, PolicyError, RemoteError, UsageError
from amity.protocol.policy import (
    DecisionKind,
    Policy,
    RuleAction,
    decode_policy_summary,
    evaluate,
    parse_policy,
    policy_summary,
)
from amity.protocol.terms import VOCABULARIES, ClauseSpec, ParamKind, TermsDocument
from tests.protocol.test_terms import TERMS_FILE, cases, terms_documents
from tests.strategies import arbitrary_bytes, mutated, values
from tests.vectors import unhex

DOCUMENTS = {n: TermsDocument.decode(bytes.fromhex(h)) for n, h in TERMS_FILE["documents"].items()}
POLICIES: dict[str, str] = TERMS_FILE["policies"]
ROOT = Path(__file__).resolve().parents[2]


# -- a strategy for policies: TOML text a vendor could have written --------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)  # ints and strs print as TOML reads them


@st.composite
def _rule(draw: st.DrawFn, spec: ClauseSpec) -> list[str]:
    actions = ["accept", "accept", "reject", "ask-human"]
    if spec.params:
        actions += ["within", "within", "within", "counter", "counter"]
    action = draw(st.sampled_from(actions))
    lines = [f'[clause."{spec.clause_id}"]', f'action = "{action}"']
    counter: dict[str, Any] = {}
    if action == "within":
        chosen = draw(st.sets(st.sampled_from(spec.params), min_size=1).map(list))
        for param in sorted(chosen, key=lambda p: p.name):
            if param.kind is ParamKind.INT:
                lo = draw(st.integers(param.lo, param.hi))
                hi = draw(st.integers(lo, param.hi))
                lines.append(f"{param.name} = {{ min = {lo}, max = {hi} }}")
                if draw(st.booleans()):
                    counter[param.name] = draw(st.integers(lo, hi))
            elif param.kind is ParamKind.SET:
                need = draw(st.sets(st.sampled_from(param.choices), min_size=1, max_size=3))
                lines.append(f"{param.name} = {{ include = {_toml(sorted(need))} }}")
            else:
                pool = [False, True] if param.kind is ParamKind.BOOL else list(param.choices)
                allowed = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
                lines.append(f"{param.name} = {{ one_of = {_toml(allowed)} }}")
                if draw(st.booleans()):
                    counter[param.name] = draw(st.sampled_from(allowed))
        otherwise = draw(st.sampled_from(["counter", "counter", "reject", "ask-human"]))
        lines.append(f'otherwise = "{otherwise}"')
    elif action == "counter":
        for param in draw(st.sets(st.sampled_from(spec.params), min_size=1)):
            if param.kind is ParamKind.INT:
                counter[param.name] = draw(st.integers(param.lo, param.hi))
            elif param.kind is ParamKind.BOOL:
                counter[param.name] = draw(st.booleans())
            elif param.kind is ParamKind.ENUM:
                counter[param.name] = draw(st.sampled_from(param.choices))
            else:
                counter[param.name] = sorted(
                    draw(st.sets(st.sampled_from(param.choices), min_size=1, max_size=4))
                )
    if counter:
        pairs = ", ".join(f"{k} = {_toml(v)}" for k, v in counter.items())
        lines.append(f"counter = {{ {pairs} }}")
    if draw(st.booleans()):
        lines.append('reason = "house rules"')
    return lines


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    """A valid policy TOML over any subset of vocabulary v1, with any default."""
    default = draw(st.sampled_from(["reject", "ask-human"]))
    lines = ["version = 1", "vocabulary = 1", f'default = "{default}"']
    every = list(VOCABULARIES[1].values())
    some = st.lists(st.sampled_from(every), max_size=9, unique_by=lambda s: s.clause_id)
    specs = draw(st.permutations(every) | some)  # half the time a rule for every clause
    for spec in specs:
        lines += ["", *draw(_rule(spec))]
    return "\n".join(lines) + "\n"


def policies() -> st.SearchStrategy[Policy]:
    return policy_texts().map(parse_policy)


# -- vectors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **cases("policy"))
def test_policy_vector(vector: dict[str, Any]) -> None:
    if "error" in vector:
        with pytest.raises(PolicyError) as info:
            parse_policy(vector["policy_toml"])
        assert info.value.code == vector["error"]
        assert info.value.field == vector["field"], info.value
        assert info.value.line == vector["line"], info.value  # null: no line (spec §5.2)
        return
    assert vector["policy_toml"] == POLICIES[vector["policy"]]
    decision = evaluate(parse_policy(vector["policy_toml"]), DOCUMENTS[vector["terms"]])
    assert decision.kind.value == vector["decision"]
    assert [[r.clause_id, r.reason] for r in decision.reasons] == vector["reasons"]
    assert list(decision.open_clauses) == vector["open_clauses"]
    if vector["counter_terms"] is None:
        assert decision.counter is None
    else:
        assert decision.counter == DOCUMENTS[vector["counter_terms"]]
        assert decision.counter.terms_id.hex() == vector["counter_terms_id_hex"]


@pytest.mark.parametrize("vector", **cases("policy-summary"))
def test_policy_summary_vector(vector: dict[str, Any]) -> None:
    data = unhex(vector, "summary_hex")
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            decode_policy_summary(data)
        assert info.value.code == vector["error"], info.value
        return
    policy = parse_policy(vector["policy_toml"])
    assert policy_summary(policy) == data
    assert decode_policy_summary(data) == policy


def test_spec_example_is_the_bookshop_policy() -> None:
    spec = (ROOT / "spec" / "terms.md").read_text(encoding="utf-8")
    example = spec.split("```toml\n", 1)[1].split("```", 1)[0]
    assert example == POLICIES["bookshop"]


def test_policy_error_carries_line_and_field() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy('version = 1\nvocabulary = 1\ndefault = "reject"\nextra = 1\n')
    assert (info.value.line, info.value.field) == (4, "extra")
    assert "line 4" in str(info.value) and "extra" in str(info.value)
    with pytest.raises(UsageError):
        parse_policy(b"version = 1")  # type: ignore[arg-type]


_HEAD = 'version = 1\nvocabulary = 1\ndefault = "reject"\n'


@pytest.mark.parametrize(
    ("nested", "field"),
    [
        ("[" * 9 + "]" * 9, "x"),
        ("{ a = " * 9 + "1" + " }" * 9, "x.a.a.a.a.a.a.a.a"),
        ("[" * 300 + "]" * 300, "x"),
        # Too deep for tomllib, which recursed into a RecursionError here (issue 14).
        ("[" * 500, None),
        ("{ a = " * 500, None),
        ("{ a = " * 500 + "1" + " }" * 500, None),
    ],
    ids=["9-arrays", "9-tables", "300-arrays", "500-arrays", "500-tables", "500-tables-closed"],
)
def test_deep_nesting_is_a_policy_error(nested: str, field: str | None) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(_HEAD + "x = " + nested + "\n")
    assert "nest more than 8 levels" in info.value.message
    assert info.value.field == field


def test_nesting_at_the_limit_is_read() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(_HEAD + "x = " + "[" * 8 + "]" * 8 + "\n")
    assert info.value.field == "x" and "unknown key" in info.value.message


def test_rules_are_sorted_and_looked_up() -> None:
    policy = parse_policy(POLICIES["bookshop"])
    ids = [rule.clause_id for rule in policy.rules]
    assert ids == sorted(ids)
    rule = policy.rule("amity.breach-notice")
    assert rule is not None and rule.otherwise is RuleAction.REJECT
    assert policy.rule("amity.max-retention") is None


# -- properties ------------------------------------------------------------------------------------


@given(policies(), terms_documents())
def test_decisions_are_consistent(policy: Policy, terms: TermsDocument) -> None:
    """A counter keeps the clauses and is accepted by the policy that made it; reasons name
    rejected clauses only; reject beats ask-human beats counter."""
    decision = evaluate(policy, terms)
    if decision.kind is DecisionKind.COUNTER:
        assert decision.counter is not None
        assert decision.counter.clause_ids == terms.clause_ids
        assert decision.counter.terms_id != terms.terms_id
        assert evaluate(policy, decision.counter).kind is DecisionKind.ACCEPT
        assert set(decision.countered) <= set(terms.clause_ids)
    if decision.kind is DecisionKind.REJECT:
        assert decision.reasons
        assert {r.clause_id for r in decision.reasons} <= set(terms.clause_ids)
    if decision.kind is DecisionKind.ASK_HUMAN:
        assert decision.open_clauses
    for clause in terms.clauses:
        rule = policy.rule(clause.clause_id)
        action = rule.action if rule else policy.default
        if action is RuleAction.REJECT:
            assert decision.kind is DecisionKind.REJECT


@given(policies())
def test_summary_round_trip(policy: Policy) -> None:
    assert decode_policy_summary(policy_summary(policy)) == policy


@given(mutated(policies().map(policy_summary)))
def test_summary_decoder_on_mutated_bytes(data: bytes) -> None:
    with contextlib.suppress(RemoteError):
        assert policy_summary(decode_policy_summary(data)) == data


@given(arbitrary_bytes(128) | st.lists(values(max_depth=3), max_size=5).map(encode))
def test_summary_decoder_on_arbitrary_input(data: bytes) -> None:
    with contextlib.suppress(RemoteError):
        decode_policy_summary(data)


@given(st.text(max_size=200))
def test_parse_policy_raises_only_policy_errors(text: str) -> None:
    with contextlib.suppress(PolicyError):
        parse_policy(text)
