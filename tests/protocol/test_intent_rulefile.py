"""A vendor's auto-answer rules in its policy file (spec/intents.md §5.2): what they read to,
which intents they answer and with what, and each mistake named with its line and field."""

from __future__ import annotations

import pytest

from amity.protocol.core.intents.rulefile import accepted_roster, parse_answer_rules
from amity.protocol.errors import PolicyError
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import Constraints, Intent, TermsRef
from amity.protocol.linkcert import LinkKey
from amity.protocol.money import Money
from amity.protocol.policy import parse_policy
from amity.protocol.terms import ROSTER
from tests.fuzzing.intents import ACCEPT_ALL
from tests.protocol.intents_world import DAY, T0, seed

P2B1 = ROSTER["P2B1"].document.terms_id
#: Leaves every clause to a person: accepts no roster agreement as it is.
PICKY = """version = 1
vocabulary = 1
default = "ask-human"
"""

RULES = """
[[intents.answer]]
categories = ["goods.bicycles"]
price = "120EUR"
lead_time = "2d"
valid = "1d"
regions = ["FR"]
terms = ["P2B1"]
terms_of_sale = "by post"

[[intents.answer]]
categories = ["goods"]
price = "90EUR"
"""


def _intent(
    category: str = "goods.bicycles",
    budget: str | None = "300EUR",
    region: str | None = "FR-69",
    quantity: int = 1,
    terms: TermsRef | None = None,
    deadline_ms: int | None = None,
) -> Intent:
    constraints = Constraints(
        None if budget is None else Money.parse(budget), region, deadline_ms, quantity
    )
    return Intent.create(
        SigningIdentity(seed("intent")),
        link_public=LinkKey(seed("link")).public,
        category=category,
        text="",
        constraints=constraints,
        terms=terms or TermsRef.roster("P2B1"),
        offers_wanted=3,
        cast_ms=T0,
        expires_ms=T0 + 3 * DAY,
    )


def test_the_rules_in_file_order_and_the_first_that_fits_answers() -> None:
    rules = parse_answer_rules(ACCEPT_ALL + RULES, parse_policy(ACCEPT_ALL))
    first, second = rules
    assert first.terms_ids == {P2B1} and first.regions == ("FR",)
    assert (first.lead_time_ms, first.valid_for_ms) == (2 * DAY, DAY)
    assert second.terms_ids == accepted_roster(parse_policy(ACCEPT_ALL)) and len(second.terms_ids)
    quote = first.quote(_intent(quantity=2), T0)
    assert quote is not None and quote.price == Money(24000, "EUR")
    assert quote.available_ms == T0 + 2 * DAY and quote.terms_of_sale == "by post"
    # Over her budget, outside the region, past her deadline: the first rule does not fit.
    assert first.quote(_intent(quantity=3), T0) is None
    assert first.quote(_intent(region="BE"), T0) is None
    assert first.quote(_intent(region=None), T0) is None
    assert first.quote(_intent(deadline_ms=T0 + DAY), T0) is None
    assert first.quote(_intent(budget="300USD"), T0) is None
    assert second.quote(_intent(category="goods.books", budget=None, region=None), T0) is not None
    assert second.quote(_intent(category="services.repair"), T0) is None


def test_without_terms_a_rule_answers_what_the_clauses_accept_as_they_are() -> None:
    assert accepted_roster(None) == frozenset()
    assert accepted_roster(parse_policy(PICKY)) == frozenset()
    text = PICKY + '[[intents.answer]]\ncategories = ["goods"]\nprice = "9EUR"\n'
    with pytest.raises(PolicyError) as refused:
        parse_answer_rules(text, parse_policy(PICKY))
    assert refused.value.line == 4 and refused.value.field == "intents.answer[1]"
    assert 'terms = ["P2B1"]' in refused.value.message
    explicit = text + 'terms = ["P2B1"]\n'
    (rule,) = parse_answer_rules(explicit, parse_policy(PICKY))
    assert rule.terms_ids == {P2B1}


def test_no_section_no_rules() -> None:
    assert parse_answer_rules(ACCEPT_ALL, parse_policy(ACCEPT_ALL)) == ()


_HEAD = '[[intents.answer]]\ncategories = ["goods"]\nprice = "9EUR"\n'


@pytest.mark.parametrize(
    ("body", "line", "field", "words"),
    [
        ('[[intents.answer]]\ncategories = ["goods"]\n', 1, "intents.answer[1]", "'price'"),
        (_HEAD + 'colour = "red"\n', 4, "intents.answer[1].colour", "unknown key"),
        (_HEAD.replace('"9EUR"', '"nine"'), 3, "intents.answer[1].price", "not an amount"),
        (_HEAD.replace('"9EUR"', "9"), 3, "intents.answer[1].price", "not an amount"),
        (_HEAD.replace('"9EUR"', '"9XYZ"'), 3, "intents.answer[1].price", "XYZ"),
        (_HEAD.replace('["goods"]', "[]"), 2, "intents.answer[1].categories", "one at least"),
        (_HEAD.replace('"goods"', '"good"'), 2, "intents.answer[1].categories", "good"),
        (_HEAD + 'valid = "0s"\n', 4, "intents.answer[1].valid", "1s..30d"),
        (_HEAD + 'valid = "forever"\n', 4, "intents.answer[1].valid", "like 90s"),
        (_HEAD + 'lead_time = "31d"\n', 4, "intents.answer[1].lead_time", "0..30d"),
        (_HEAD + 'regions = ["France"]\n', 4, "intents.answer[1].regions", "ISO 3166"),
        (_HEAD + 'terms = ["P2B9"]\n', 4, "intents.answer[1].terms", "roster"),
        (_HEAD + "terms_of_sale = 5\n", 4, "intents.answer[1].terms_of_sale", "2000 bytes"),
        (_HEAD + "\n" + _HEAD + 'price = "1EUR"\n', None, None, "not valid TOML"),
        (_HEAD + "\n" + _HEAD.replace("9EUR", "x"), 7, "intents.answer[2].price", "not an"),
        ("[intents]\nanswers = []\n", 1, "intents.answers", "[intents] has answer"),
        ("[intents]\nanswer = 3\n", 1, "intents.answer", "[[intents.answer]]"),
        ('[intents]\nanswer = [{categories = ["goods"]}]\n', None, "intents.answer[1]", "price"),
    ],
)
def test_each_mistake_is_named_with_its_line_and_field(
    body: str, line: int | None, field: str | None, words: str
) -> None:
    policy = parse_policy(ACCEPT_ALL)
    head = ACCEPT_ALL.count("\n")
    with pytest.raises(PolicyError) as refused:
        parse_answer_rules(ACCEPT_ALL + body, policy)
    error = refused.value
    assert error.code == "local.policy" and words in error.message, error.message
    assert error.field == field
    if line is None:
        assert error.line is None or field is None
    else:
        assert error.line == head + line, (error.line, head + line)


def test_the_terms_policy_takes_the_intents_table() -> None:
    assert parse_policy(ACCEPT_ALL + RULES).default.value == "reject"
