"""A vendor's changed policy, reviewed (spec/signals.md §4.2): what changed in words, and what
the new policy says of each agreement in force, which always still holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.core.terms.policywatch import review_policy, rule_words
from amity.protocol.encoding import encode
from amity.protocol.policy import DecisionKind, RuleAction, parse_policy, policy_summary
from amity.protocol.terms import ROSTER

P2B1 = ROSTER["P2B1"].document  # no-third-party-sharing, no-tracking, purpose-limitation
SHOP = ROSTER["AMITY-SHOP"].document  # ... delete-on-end 30 days, among others
HEAD = 'version = 1\nvocabulary = 1\ndefault = "ask-human"\n'
WELCOMING = (
    HEAD
    + """
[clause."amity.no-tracking"]
action = "accept"
[clause."amity.no-third-party-sharing"]
action = "accept"
[clause."amity.purpose-limitation"]
action = "accept"
"""
)
SHARING = WELCOMING.replace(
    '[clause."amity.no-third-party-sharing"]\naction = "accept"',
    '[clause."amity.no-third-party-sharing"]\naction = "reject"\nreason = "we sell lists"',
)


def _summary(text: str) -> bytes:
    return policy_summary(parse_policy(text))


def test_unchanged_terms_still_welcome_and_no_change_listed() -> None:
    review = review_policy(_summary(WELCOMING), _summary(WELCOMING), [(b"a" * 16, P2B1)])
    assert review.changes == () and review.worse_for == ()
    (check,) = review.agreements
    assert check.verdict is DecisionKind.ACCEPT and check.still_welcome
    assert check.words.startswith("the agreement still holds")


def test_a_tightened_rule_is_named_in_words_and_the_agreement_still_holds() -> None:
    review = review_policy(_summary(WELCOMING), _summary(SHARING), [(b"a" * 16, P2B1)])
    (change,) = review.changes
    assert (change.clause_id, change.before, change.after) == (
        "amity.no-third-party-sharing",
        "accepts",
        "refuses (we sell lists)",
    )
    (check,) = review.worse_for
    assert check.verdict is DecisionKind.REJECT
    assert check.clauses == ("amity.no-third-party-sharing",)
    assert "still holds" in check.words
    assert "would refuse amity.no-third-party-sharing (we sell lists)" in check.words


def test_within_rules_and_defaults_in_words() -> None:
    within = (
        WELCOMING
        + """
[clause."amity.delete-on-end"]
action = "within"
days = { min = 30, max = 90 }
otherwise = "counter"
"""
    )
    stricter = within.replace('default = "ask-human"', 'default = "reject"')
    review = review_policy(_summary(within), _summary(stricter), [(b"s" * 16, SHOP)])
    assert [c.clause_id for c in review.changes] == ["(any other clause)"]
    assert (review.changes[0].before, review.changes[0].after) == ("asks a person", "refuses")
    rule = parse_policy(within).rule("amity.delete-on-end")
    assert rule_words(rule, RuleAction.ASK_HUMAN) == "accepts days 30..90, otherwise counters"
    assert rule_words(None, RuleAction.REJECT) == "not named (default: refuses)"
    # SHOP names clauses the policy does not: the new default refuses them.
    assert review.agreements[0].verdict is DecisionKind.REJECT


def test_agreements_with_the_same_terms_are_judged_once_but_each_is_listed() -> None:
    ids = [bytes([i]) * 16 for i in range(5)]
    review = review_policy(None, _summary(SHARING), [(i, P2B1) for i in ids] + [(b"z" * 16, SHOP)])
    assert [a.agreement_id for a in review.agreements] == [*ids, b"z" * 16]
    assert {a.verdict for a in review.agreements[:5]} == {DecisionKind.REJECT}
    assert review.agreements[5].verdict is DecisionKind.REJECT  # sharing refused, and more


def test_no_policy_after_judges_nothing_and_every_agreement_holds() -> None:
    review = review_policy(_summary(WELCOMING), None, [(b"a" * 16, P2B1)])
    (check,) = review.agreements
    assert check.verdict is None and check.words.startswith("the agreement still holds")
    assert review.worse_for == ()
    assert {c.after for c in review.changes} == {"no policy"}


def test_a_policy_this_node_cannot_read_is_said_so_not_raised() -> None:
    newer = encode([2, 1, "reject", []])  # a summary format from the future
    review = review_policy(_summary(WELCOMING), newer, [(b"a" * 16, P2B1)])
    assert review.unreadable.startswith("its policy cannot be read by this node (version.")
    assert review.changes == () and review.agreements[0].verdict is None


@given(st.binary(max_size=200))
def test_any_bytes_as_a_summary_never_raise(data: bytes) -> None:
    review = review_policy(data, data[::-1], [(b"a" * 16, P2B1)])
    assert review.agreements[0].agreement_id == b"a" * 16
