"""Terms documents and agreements as plain data: the files people write, the JSON the API shows.

The file names clauses of the vocabulary with their parameters, the way a policy file does::

    title = "Alice's terms"
    # text = "..."                  # optional: rendered from the clauses when left out
    [clause."amity.no-tracking"]
    [clause."amity.delete-on-end"]
    days = 30
    [clause."amity.purpose-limitation"]
    purposes = ["delivery", "payment"]

The same structure as JSON is what ``POST /api/terms/offer`` takes as ``terms``. The canonical
document (and its id) is built from it by amity.protocol.terms. See spec/terms.md §3 and §12.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from amity.protocol.agreement import Agreement
from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.errors import TermsError, UsageError, format_time_ms
from amity.protocol.terms import (
    ROSTER,
    VOCABULARY_VERSION,
    Clause,
    TermsDocument,
    clause_spec,
    roster_name,
    vocabulary,
)

__all__ = [
    "terms_from_data",
    "terms_to_data",
    "terms_to_toml",
    "read_terms_file",
    "agreement_to_data",
    "quote_rule_json",
]

_KEYS: Final = ("title", "text", "vocabulary", "clause")


def terms_from_data(data: Mapping[str, Any]) -> TermsDocument:
    """A terms document from the file structure; UsageError naming the field on any mistake."""
    if not isinstance(data, Mapping):
        raise UsageError("terms are an object with title, text, vocabulary and clause")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise UsageError(f"terms: unknown key {unknown[0]!r}; a terms file has {', '.join(_KEYS)}")
    version = data.get("vocabulary", VOCABULARY_VERSION)
    try:
        vocabulary(version)
    except TermsError as exc:
        raise UsageError(f"terms: {exc.message}") from None
    title, text = data.get("title", ""), data.get("text")
    if not isinstance(title, str) or not (text is None or isinstance(text, str)):
        raise UsageError("terms: title and text are strings")
    clauses = data.get("clause")
    if not isinstance(clauses, Mapping) or not clauses:
        raise UsageError('terms: at least one [clause."<clause id>"] table (see spec/terms.md §2)')
    made = []
    for clause_id, params in clauses.items():
        if not isinstance(params, Mapping):
            raise UsageError(f'terms: [clause."{clause_id}"] is a table of its parameters')
        made.append(Clause.of(clause_id, **params))  # UsageError names clause and parameter
    return TermsDocument.create(made, title, text)


def terms_to_data(doc: TermsDocument) -> dict[str, Any]:
    """A document for the API: ids, title, text, and each clause with its values and sentence."""
    clauses = []
    for clause in doc.clauses:
        spec = clause_spec(clause.clause_id, doc.vocab_version)
        clauses.append(
            {
                "id": clause.clause_id,
                "params": {
                    p.name: list(v) if isinstance(v, tuple) else v
                    for p, v in zip(spec.params, clause.params, strict=True)
                },
                "text": spec.render(clause.params),
            }
        )
    return {
        "terms_id": doc.terms_id.hex(),
        "roster": roster_name(doc),
        "title": doc.title,
        "text": doc.human_text,
        "vocabulary": doc.vocab_version,
        "clauses": clauses,
    }


def terms_to_toml(doc: TermsDocument) -> str:
    """The document as a terms file (edit it and counter with it)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, tuple):
            return "[" + ", ".join(json.dumps(m) for m in v) + "]"
        return json.dumps(v)  # an int, or a str as a TOML basic string

    lines = [f"title = {json.dumps(doc.title)}", f"vocabulary = {doc.vocab_version}"]
    for clause in doc.clauses:
        spec = clause_spec(clause.clause_id, doc.vocab_version)
        lines += ["", f'[clause."{clause.clause_id}"]']
        lines += [f"{p.name} = {value(v)}" for p, v in zip(spec.params, clause.params, strict=True)]
    return "\n".join(lines) + "\n"


def read_terms_file(path: Path) -> dict[str, Any]:
    """The structure of a terms file: JSON if it ends in ``.json``, TOML otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the terms file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}"
        ) from None
    except RecursionError:  # both parsers recurse once per nested array or table
        raise UsageError(f"{path} nests arrays or tables too deeply to read") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: terms are an object with title, text and clause")
    return data


def agreement_to_data(agreement: Agreement) -> dict[str, Any]:
    """A verified agreement for people: its id, both parties, when, and the terms."""
    return {
        "agreement_id": agreement.agreement_id.hex(),
        "negotiation_id": agreement.negotiation_id.hex(),
        "person": agreement.person.did,
        "vendor": agreement.vendor.did,
        "agreed": format_time_ms(agreement.agreed_ms),
        "agreed_ms": agreement.agreed_ms,
        "terms": terms_to_data(agreement.terms),
    }


def quote_rule_json(rule: QuoteRule) -> dict[str, Any]:
    """An auto-answer rule of the policy file (spec/intents.md §5.2) as the API shows it."""
    return {
        "categories": list(rule.categories),
        "price": str(rule.unit_price),
        "regions": list(rule.regions),
        "terms": sorted(e.name for e in ROSTER.values() if e.document.terms_id in rule.terms_ids),
        "lead_time_s": rule.lead_time_ms // 1000,
        "valid_s": rule.valid_for_ms // 1000,
        "terms_of_sale": rule.terms_of_sale,
    }
