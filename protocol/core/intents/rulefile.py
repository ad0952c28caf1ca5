"""A vendor's auto-answer rules as its policy file writes them: ``[[intents.answer]]`` tables.

The same ``policy.toml`` that says which terms the vendor accepts (spec/terms.md §5.2) says
which intents it answers at once, and with what: :func:`parse_answer_rules` reads the section
into :class:`~amity.protocol.core.intents.rule.QuoteRule` values, in file order, and refuses a
mistake with a PolicyError that names its line and field. Sans-IO. See spec/intents.md §5.2.
"""

from __future__ import annotations

import re
import tomllib
from typing import Final

from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.errors import AmityError, PolicyError
from amity.protocol.intent import Constraints
from amity.protocol.intentcategory import TAXONOMY_VERSION, check_subscription
from amity.protocol.money import Money
from amity.protocol.policy import DecisionKind, Policy, evaluate
from amity.protocol.terms import ROSTER

__all__ = ["MAX_ANSWER_RULES", "parse_answer_rules", "accepted_roster"]

#: Rules one policy file may hold.
MAX_ANSWER_RULES: Final = 32
_KEYS: Final = ("categories", "price", "valid", "lead_time", "terms_of_sale", "regions", "terms")
_REQUIRED: Final = ("categories", "price")
_DEFAULTS: Final = {"valid": "2d", "lead_time": "0s", "terms_of_sale": ""}
_UNITS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_MAX_MS: Final = 30 * 86_400_000
_HEADER: Final = re.compile(r"\s*\[\[\s*intents\s*\.\s*answer\s*\]\]")


class _Invalid(Exception):
    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def accepted_roster(policy: Policy | None) -> frozenset[bytes]:
    """The ids of the roster documents ``policy`` accepts as they are (no counter, no person)."""
    if policy is None:
        return frozenset()
    return frozenset(
        entry.document.terms_id
        for entry in ROSTER.values()
        if evaluate(policy, entry.document).kind is DecisionKind.ACCEPT
    )


def parse_answer_rules(text: str, policy: Policy | None) -> tuple[QuoteRule, ...]:
    """The ``[[intents.answer]]`` rules of a policy file (none without the section).

    A rule without ``terms`` answers the roster terms ``policy`` (the same file's clauses)
    accepts as they are; PolicyError (``local.policy``, with line and field) on any mistake.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        raise PolicyError(f"not valid TOML: {exc}", line=int(found[1]) if found else None) from None
    except RecursionError:
        raise PolicyError("nested too deeply") from None
    section = data.get("intents")
    if section is None:
        return ()
    top = _top_line(text)
    if not isinstance(section, dict):
        raise PolicyError("expected [[intents.answer]] tables", field="intents", line=top)
    for key in section:
        if key != "answer":
            raise PolicyError("unknown key; [intents] has answer", field=f"intents.{key}", line=top)
    rules = section.get("answer", [])
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise PolicyError("expected [[intents.answer]] tables", field="intents.answer", line=top)
    if len(rules) > MAX_ANSWER_RULES:
        raise PolicyError(
            f"{len(rules)} rules; at most {MAX_ANSWER_RULES}", field="intents.answer", line=top
        )
    accepted = accepted_roster(policy)
    out = []
    for index, body in enumerate(rules):
        try:
            out.append(_rule(body, accepted))
        except _Invalid as exc:
            field = f"intents.answer[{index + 1}]" + (f".{exc.key}" if exc.key else "")
            raise PolicyError(str(exc), field=field, line=_line_of(text, index, exc.key)) from None
    return tuple(out)


def _rule(body: dict[str, object], accepted: frozenset[bytes]) -> QuoteRule:
    for key in body:
        if key not in _KEYS:
            raise _Invalid(f"unknown key; a rule has {', '.join(_KEYS)}", key)
    for key in _REQUIRED:
        if key not in body:
            raise _Invalid(f"missing {key!r}")
    given = {**_DEFAULTS, **body}
    categories = _strings(given["categories"], "categories", at_least=1)
    for entry in categories:
        try:
            check_subscription(TAXONOMY_VERSION, entry)
        except AmityError as exc:
            raise _Invalid(exc.message, "categories") from None
    try:
        price = Money.parse(str(given["price"]) if isinstance(given["price"], str) else "")
    except AmityError as exc:
        raise _Invalid(f"{exc.message} (the price of one unit)", "price") from None
    regions = _strings(given.get("regions", []), "regions")
    for region in regions:
        try:
            Constraints(region=region)
        except AmityError as exc:
            raise _Invalid(exc.message, "regions") from None
    sale = given["terms_of_sale"]
    if not isinstance(sale, str) or len(sale.encode()) > 2000:
        raise _Invalid("expected words, at most 2000 bytes", "terms_of_sale")
    if "terms" in given:
        names = _strings(given["terms"], "terms", at_least=1)
        unknown = [n for n in names if n not in ROSTER]
        if unknown:
            known = ", ".join(sorted(ROSTER))
            raise _Invalid(f"{unknown[0]!r} is not a roster agreement ({known})", "terms")
        terms_ids = frozenset(ROSTER[n].document.terms_id for n in names)
    else:
        terms_ids = accepted
        if not terms_ids:
            raise _Invalid(
                "your policy accepts none of the roster agreements as they are; "
                'name the terms you answer under: terms = ["P2B1"]'
            )
    return QuoteRule(
        categories=categories,
        terms_ids=terms_ids,
        unit_price=price,
        terms_of_sale=sale,
        lead_time_ms=_duration(given["lead_time"], "lead_time", zero=True),
        valid_for_ms=_duration(given["valid"], "valid", zero=False),
        regions=regions,
    )


def _strings(value: object, key: str, *, at_least: int = 0) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid("expected a list of strings", key)
    if len(value) < at_least:
        raise _Invalid("expected one at least", key)
    if len(value) > 32:
        raise _Invalid("at most 32", key)
    return tuple(value)


def _duration(value: object, key: str, *, zero: bool) -> int:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit():
        raise _Invalid(f"expected a duration like 90s, 10m, 2h or 2d, not {value!r:.20}", key)
    ms = int(text[:-1]) * _UNITS[text[-1]]
    if ms > _MAX_MS or (ms == 0 and not zero):
        raise _Invalid(f"{'0' if zero else '1s'}..30d", key)
    return ms


def _top_line(text: str) -> int | None:
    """The first line that opens or assigns the section (a header, or ``intents`` dotted)."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if _HEADER.match(line) or re.match(r"\[\s*intents\s*[\].]", stripped):
            return number
        if re.match(r"intents\s*[=.]", stripped):
            return number
    return None


def _line_of(text: str, index: int, key: str | None) -> int | None:
    """The line of ``key`` in the ``index``-th ``[[intents.answer]]`` table (0-based), or the
    table's header line; None for rules not written as such tables."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines) if _HEADER.match(line)]
    if index >= len(headers):
        return None
    start = headers[index]
    if key is None:
        return start + 1
    pattern = re.compile(r"\s*" + re.escape(key) + r"\s*=")
    for number in range(start + 1, len(lines)):
        if lines[number].lstrip().startswith("["):
            break
        if pattern.match(lines[number]):
            return number + 1
    return start + 1
