"""Test vectors for spec/terms.md: documents, policies, decisions, negotiations and agreements.

Every key comes from a fixed seed and every time is fixed, so the output is identical on every
run. Documents, message bodies and agreements are packed here with msgpack itself and signed with
PyNaCl directly, not with amity's encoder; decisions and traces are written out by hand from the
rules of spec/terms.md §6 and §7. Only the human text of rendered documents and the vocabulary
listing are taken from amity (they are data, not rules).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgpack
import nacl.signing

from amity.protocol.errors import (
    AgreementHashError,
    AgreementSignatureError,
    BadKeyError,
    BadParameterError,
    ClauseOrderError,
    DeadlineError,
    DuplicateClauseError,
    MalformedError,
    NegotiationTransitionError,
    NonCanonicalError,
    PolicyError,
    RoundLimitError,
    SchemaError,
    StateError,
    TermsMismatchError,
    TooLargeError,
    UnknownClauseError,
    UnknownVocabularyError,
    UnsupportedVersionError,
)
from amity.protocol.terms import VOCABULARIES, Clause, render_text

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
SEEDS = {"person": bytes([0xA0]) * 32, "vendor": bytes([0xB0]) * 32, "mallory": bytes([0xC0]) * 32}
KEYS = {name: nacl.signing.SigningKey(seed) for name, seed in SEEDS.items()}
PEER = {name: bytes(key.verify_key) for name, key in KEYS.items()}
NID = bytes(range(0x10, 0x20))
NID2 = bytes(range(0x20, 0x30))
SCHEMA, LOCAL = SchemaError.code, PolicyError.code

NOTES = (
    "Identities: `identities` gives Ed25519 seeds. `documents` maps a name to canonical terms "
    "hex, `policies` a name to policy TOML, `vocabulary` lists vocabulary v1. A terms id is "
    "SHA-256 over 'amity/terms/v1\\0' || bytes; clauses are given in wire form [id, [params]]. "
    "operation 'terms': encoding the clauses, title and text must give "
    "terms_hex and terms_id_hex; with 'error', decoding terms_hex must fail with that code. "
    "'roster': the named roster entry must be exactly that document. 'policy': parse policy_toml, "
    "evaluate the document `terms` (a name in `documents`): decision, reasons [[clause, reason]], "
    "open_clauses, counter_terms (a document name); with 'error', parsing fails with that code "
    "and `field` (and `line` when given). 'policy-summary': the summary of policy_toml is "
    "summary_hex; with 'error', decoding summary_hex fails. 'body': decoding body_hex as a "
    "`type` message gives back the same bytes on re-encoding; with 'error' it fails. 'agreement': "
    "signed_bytes = enc([1, terms_id, terms, person, vendor, negotiation_id, agreed_ms]), both "
    "parties sign 'amity/agreement/v1\\0' || signed_bytes; with 'error', Agreement.decode of "
    "agreement_hex fails. 'negotiation': two nodes, person and vendor. Each step names the node "
    "and an event: a local event (Offer, Counter, Accept, Reject, Withdraw, TimerFired), 'deliver' "
    "(the oldest message the other node sent this one, decoded and fed as the remote event), "
    "'receive' (a given body of a given type), or 'auto' (auto_answer with the named policy; "
    "`answer` is the event it returns, or null and nothing happens; `reasons`, if given, are a "
    "Reject's [clause_id, reason] pairs, exactly). The first event at a node "
    "opens its negotiation. `effects` lists, per step, 'persist', 'cancel-timer TOKEN', 'send "
    "TYPE', 'set-timer TOKEN at MS', 'notify KIND'. `final` gives each node's record; with "
    "'error' the last step fails with that code."
)


def pack(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


# -- documents -------------------------------------------------------------------------------------


def _doc(clauses: list[list[Any]], title: str, text: str | None = None) -> dict[str, Any]:
    if text is None:  # the templates' sentences (spec/terms.md §3.1), taken from the vocabulary
        text = render_text(
            Clause(c, tuple(tuple(v) if isinstance(v, list) else v for v in p)) for c, p in clauses
        )
    data = pack([1, 1, clauses, title, text])
    return {
        "clauses": clauses,
        "title": title,
        "human_text": text,
        "terms_hex": data.hex(),
        "terms_id_hex": hashlib.sha256(b"amity/terms/v1\x00" + data).hexdigest(),
    }


ALL_PURPOSES = sorted(
    [
        "account-management",
        "customer-support",
        "delivery",
        "fraud-prevention",
        "identity-verification",
        "legal-compliance",
        "marketing",
        "order-fulfilment",
        "payment",
        "personalisation",
        "personalised-advertising",
        "product-recommendations",
        "research",
        "security",
        "service-improvement",
        "service-provision",
        "warranty-and-recalls",
    ]
)
NT = ["amity.no-tracking", []]
DOCUMENTS: dict[str, dict[str, Any]] = {
    "mine": _doc([["amity.delete-on-end", [30]], NT], "Mine", ""),
    "P2B1": _doc(
        [
            ["amity.no-third-party-sharing", [False]],
            NT,
            ["amity.purpose-limitation", [["service-provision"]]],
        ],
        "P2B1: #NoStalking",
    ),
    "AMITY-SHOP": _doc(
        [
            ["amity.access-to-my-data", [30, "any"]],
            ["amity.delete-on-end", [30]],
            ["amity.no-profiling", [False]],
            ["amity.no-third-party-sharing", [True]],
            NT,
            [
                "amity.purpose-limitation",
                [["customer-support", "delivery", "order-fulfilment", "payment"]],
            ],
        ],
        "AMITY-SHOP: buying and receiving goods",
    ),
    "AMITY-STRICT": _doc(
        [
            ["amity.access-to-my-data", [7, "json"]],
            ["amity.breach-notice", [24]],
            ["amity.delete-on-end", [0]],
            ["amity.max-retention", [90]],
            ["amity.no-profiling", [False]],
            ["amity.no-third-party-sharing", [False]],
            NT,
            ["amity.notify-policy-change", [30]],
            ["amity.purpose-limitation", [["service-provision"]]],
        ],
        "AMITY-STRICT: every v1 clause, tightly",
    ),
    "lowest": _doc(
        [
            ["amity.access-to-my-data", [1, "csv"]],
            ["amity.breach-notice", [1]],
            ["amity.delete-on-end", [0]],
            ["amity.max-retention", [1]],
            ["amity.notify-policy-change", [0]],
        ],
        "",
    ),
    "highest": _doc(
        [
            ["amity.access-to-my-data", [90, "json"]],
            ["amity.breach-notice", [720]],
            ["amity.delete-on-end", [365]],
            ["amity.max-retention", [3650]],
            ["amity.notify-policy-change", [365]],
        ],
        "é" * 100,
    ),
    "all-purposes": _doc([["amity.purpose-limitation", [ALL_PURPOSES]]], "Anything goes"),
    "retention-only": _doc([["amity.max-retention", [365]]], "Keep it a year"),
    "access-slow": _doc([["amity.access-to-my-data", [60, "any"]]], "Slow access"),
    "P2B1-countered": _doc(
        [
            ["amity.no-third-party-sharing", [True]],
            NT,
            ["amity.purpose-limitation", [["delivery", "payment", "service-provision"]]],
        ],
        "Counter-offer: P2B1: #NoStalking",
    ),
    "access-countered": _doc(
        [["amity.access-to-my-data", [30, "csv"]]], "Counter-offer: Slow access"
    ),
    **{
        f"d{days}": _doc([["amity.delete-on-end", [days]], NT], f"delete within {days} days")
        for days in (7, 14, 21, 28, 35, 42)
    },
}
DOCUMENTS["d7-countered"] = _doc(
    [["amity.delete-on-end", [30]], NT], "Counter-offer: delete within 7 days"
)


def _terms(name: str) -> bytes:
    return bytes.fromhex(DOCUMENTS[name]["terms_hex"])


def _terms_id(name: str) -> bytes:
    return bytes.fromhex(DOCUMENTS[name]["terms_id_hex"])


def _ok_terms(name: str, description: str) -> dict[str, Any]:
    return {
        "name": f"terms-{name}",
        "description": description,
        "operation": "terms",
        "document": name,
        **DOCUMENTS[name],
    }


def _bad_terms(name: str, description: str, value: Any, error: str) -> dict[str, Any]:
    data = value if isinstance(value, bytes) else pack(value)
    return {
        "name": name,
        "description": description,
        "operation": "terms",
        "terms_hex": data.hex(),
        "error": error,
    }


def _terms_vectors() -> list[dict[str, Any]]:
    ok = [
        _ok_terms("mine", "The spec/terms.md §3.1 example: two clauses, a title, no text."),
        _ok_terms("lowest", "Every int parameter at its lowest bound."),
        _ok_terms("highest", "Every int parameter at its highest; a 200-byte title."),
        _ok_terms("all-purposes", "Every purpose of vocabulary v1, in ascending order."),
    ]
    roster = [
        {
            "name": f"roster-{name.lower()}",
            "description": f"The roster entry {name}.",
            "operation": "roster",
            "roster": name,
            "document": name,
            **DOCUMENTS[name],
        }
        for name in ("P2B1", "AMITY-SHOP", "AMITY-STRICT")
    ]
    unk, bad = UnknownClauseError.code, BadParameterError.code

    def doc(
        *clauses: Any, version: Any = 1, vocab: int = 1, title: Any = "", text: Any = ""
    ) -> Any:
        return [version, vocab, list(clauses), title, text]

    dl = ["amity.delete-on-end", [30]]
    negative = [
        _bad_terms(
            "terms-version-2",
            "Document version 2.",
            doc(NT, version=2),
            UnsupportedVersionError.code,
        ),
        _bad_terms(
            "terms-version-2-short",
            "The version is read before the arity.",
            [2, 1],
            UnsupportedVersionError.code,
        ),
        _bad_terms(
            "terms-empty-array",
            "An empty document ([]): its version is missing, so it is unsupported.",
            [],
            UnsupportedVersionError.code,
        ),
        _bad_terms(
            "terms-version-true",
            "Version true: msgpack true is not the int 1 (an unsupported version, not a schema "
            "error).",
            doc(NT, version=True),
            UnsupportedVersionError.code,
        ),
        _bad_terms(
            "terms-vocabulary-2",
            "An unknown vocabulary version.",
            doc(NT, vocab=2),
            UnknownVocabularyError.code,
        ),
        _bad_terms(
            "terms-vocabulary-0",
            "Vocabulary 0 does not exist.",
            doc(NT, vocab=0),
            UnknownVocabularyError.code,
        ),
        _bad_terms(
            "terms-unknown-clause", "A clause v1 does not define.", doc(["amity.no-spam", []]), unk
        ),
        _bad_terms(
            "terms-clause-id-case",
            "Clause ids are case-sensitive.",
            doc(["Amity.no-tracking", []]),
            unk,
        ),
        _bad_terms(
            "terms-delete-366",
            "delete-on-end days is 0..365.",
            doc(["amity.delete-on-end", [366]]),
            bad,
        ),
        _bad_terms(
            "terms-retention-0",
            "max-retention days is 1..3650.",
            doc(["amity.max-retention", [0]]),
            bad,
        ),
        _bad_terms(
            "terms-breach-721",
            "breach-notice hours is 1..720.",
            doc(["amity.breach-notice", [721]]),
            bad,
        ),
        _bad_terms(
            "terms-breach-negative",
            "A negative hour count.",
            doc(["amity.breach-notice", [-1]]),
            bad,
        ),
        _bad_terms(
            "terms-bool-as-int",
            "A bool parameter given as 1.",
            doc(["amity.no-profiling", [1]]),
            bad,
        ),
        _bad_terms(
            "terms-int-as-bool",
            "An int parameter given as true.",
            doc(["amity.delete-on-end", [True]]),
            bad,
        ),
        _bad_terms(
            "terms-enum-unknown",
            "access format 'xml' is not in the enum.",
            doc(["amity.access-to-my-data", [30, "xml"]]),
            bad,
        ),
        _bad_terms(
            "terms-purposes-empty",
            "A purpose set has at least one member.",
            doc(["amity.purpose-limitation", [[]]]),
            bad,
        ),
        _bad_terms(
            "terms-purposes-unsorted",
            "Set members in ascending order.",
            doc(["amity.purpose-limitation", [["payment", "delivery"]]]),
            bad,
        ),
        _bad_terms(
            "terms-purposes-repeated",
            "No member twice.",
            doc(["amity.purpose-limitation", [["payment", "payment"]]]),
            bad,
        ),
        _bad_terms(
            "terms-purpose-unknown",
            "'spying' is not a purpose.",
            doc(["amity.purpose-limitation", [["spying"]]]),
            bad,
        ),
        _bad_terms(
            "terms-purposes-as-str",
            "A set is an array, not a str.",
            doc(["amity.purpose-limitation", ["payment"]]),
            bad,
        ),
        _bad_terms(
            "terms-params-extra",
            "no-tracking takes no parameters.",
            doc(["amity.no-tracking", [False]]),
            bad,
        ),
        _bad_terms(
            "terms-params-missing",
            "delete-on-end takes one.",
            doc(["amity.delete-on-end", []]),
            bad,
        ),
        _bad_terms(
            "terms-params-not-array",
            "Parameters are an array.",
            doc(["amity.delete-on-end", 30]),
            bad,
        ),
        _bad_terms(
            "terms-duplicate", "The same clause twice.", doc(dl, dl), DuplicateClauseError.code
        ),
        _bad_terms(
            "terms-duplicate-apart",
            "Duplicates are found before order: [b, a, b].",
            doc(NT, dl, NT),
            DuplicateClauseError.code,
        ),
        _bad_terms(
            "terms-unsorted", "Clauses in descending order.", doc(NT, dl), ClauseOrderError.code
        ),
        _bad_terms("terms-no-clauses", "A document has at least one clause.", doc(), SCHEMA),
        _bad_terms(
            "terms-clause-three",
            "A clause is a pair.",
            doc(["amity.no-tracking", [], None]),
            SCHEMA,
        ),
        _bad_terms("terms-title-newline", "A title is one line.", doc(NT, title="a\nb"), SCHEMA),
        _bad_terms(
            "terms-title-201", "A title of 201 bytes.", doc(NT, title="x" * 201), TooLargeError.code
        ),
        _bad_terms(
            "terms-text-escape",
            "No terminal escapes in the text.",
            doc(NT, text="hi\x1b[2J"),
            SCHEMA,
        ),
        _bad_terms("terms-four-fields", "Version 1 has five fields.", [1, 1, [NT], ""], SCHEMA),
        _bad_terms(
            "terms-as-map",
            "A map is outside the canonical subset.",
            {"v": 1},
            NonCanonicalError.code,
        ),
        _bad_terms(
            "terms-uint8-days",
            "30 written as uint8 (cc 1e).",
            bytes.fromhex(DOCUMENTS["mine"]["terms_hex"].replace("911e", "91cc1e", 1)),
            NonCanonicalError.code,
        ),
        _bad_terms(
            "terms-trailing-byte",
            "A byte after the document.",
            _terms("mine") + b"\x00",
            MalformedError.code,
        ),
    ]
    return ok + roster + negative


# -- policies --------------------------------------------------------------------------------------

BOOKSHOP = """\
# Corner Bookshop: the terms we welcome.
version = 1             # the policy format
vocabulary = 1          # the clause vocabulary the rules speak of
default = "ask-human"   # clauses not named below: "reject" or "ask-human"

[clause."amity.no-tracking"]
action = "accept"

[clause."amity.purpose-limitation"]
action = "within"
purposes = { include = ["delivery", "payment"] }   # we cannot sell without these

[clause."amity.no-third-party-sharing"]
action = "counter"
counter = { allow_aggregate = true }

[clause."amity.delete-on-end"]
action = "within"
days = { min = 30 }          # bookkeeping needs a month
counter = { days = 30 }

[clause."amity.no-profiling"]
action = "accept"

[clause."amity.breach-notice"]
action = "within"
hours = { min = 72 }
otherwise = "reject"
reason = "we notify breaches within 72 hours, as the law asks"

[clause."amity.access-to-my-data"]
action = "within"
within_days = { max = 30 }
format = { one_of = ["any", "json"] }
"""
STRICT_DEFAULT = """\
version = 1
vocabulary = 1
default = "reject"

[clause."amity.no-tracking"]
action = "accept"
"""
NEAREST = """\
version = 1
vocabulary = 1
default = "reject"

[clause."amity.access-to-my-data"]
action = "within"
within_days = { min = 1, max = 30 }
format = { one_of = ["json", "csv"] }

[clause."amity.max-retention"]
action = "within"
days = { max = 180 }
otherwise = "ask-human"
"""
ACCEPT_ALL = """\
version = 1
vocabulary = 1
default = "ask-human"

[clause."amity.no-tracking"]
action = "accept"

[clause."amity.delete-on-end"]
action = "accept"
"""
#: A bool range listed true-first: the summary sorts it (false before true), spec §5.3.
BOOL_RANGE = """\
version = 1
vocabulary = 1
default = "reject"

[clause."amity.no-third-party-sharing"]
action = "within"
allow_aggregate = { one_of = [true, false] }
"""
POLICIES = {
    "bookshop": BOOKSHOP,
    "strict-default": STRICT_DEFAULT,
    "nearest": NEAREST,
    "accept-all": ACCEPT_ALL,
    "bool-range": BOOL_RANGE,
}


def _decision(
    name: str, description: str, policy: str, terms: str, decision: str, **expected: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "operation": "policy",
        "policy": policy,
        "policy_toml": POLICIES[policy],
        "terms": terms,
        "decision": decision,
        "reasons": expected.get("reasons", []),
        "open_clauses": expected.get("open", []),
        "counter_terms": expected.get("counter"),
        "counter_terms_id_hex": DOCUMENTS[expected["counter"]]["terms_id_hex"]
        if "counter" in expected
        else None,
    }


def _policy_error(
    name: str, description: str, text: str, field: str | None, line: int | None = None
) -> dict[str, Any]:
    vector = {
        "name": name,
        "description": description,
        "operation": "policy",
        "policy_toml": text,
        "error": LOCAL,
        "field": field,
        "line": line,
    }
    return vector


HEAD = 'version = 1\nvocabulary = 1\ndefault = "reject"\n'


def _policy_vectors() -> list[dict[str, Any]]:
    return [
        _decision(
            "policy-p2b1-countered",
            "The bookshop counters #NoStalking: aggregates "
            "allowed, and delivery and payment added to the purposes.",
            "bookshop",
            "P2B1",
            "counter",
            counter="P2B1-countered",
        ),
        _decision(
            "policy-shop-accepted",
            "AMITY-SHOP is inside every range; a counter rule whose "
            "value the terms already have accepts.",
            "bookshop",
            "AMITY-SHOP",
            "accept",
        ),
        _decision(
            "policy-strict-rejected",
            "A breach notice under 72 hours is rejected (otherwise "
            "= reject) with the rule's reason; reject beats the open clauses.",
            "bookshop",
            "AMITY-STRICT",
            "reject",
            reasons=[
                ["amity.breach-notice", "we notify breaches within 72 hours, as the law asks"]
            ],
        ),
        _decision(
            "policy-unnamed-asks",
            "A clause the policy does not name, default ask-human.",
            "bookshop",
            "retention-only",
            "ask-human",
            open=["amity.max-retention"],
        ),
        _decision(
            "policy-within-accepts",
            "delete-on-end 30 is inside min 30.",
            "bookshop",
            "mine",
            "accept",
        ),
        _decision(
            "policy-within-counter-value",
            "delete-on-end 7 is under min 30: the counter value 30 is proposed.",
            "bookshop",
            "d7",
            "counter",
            counter="d7-countered",
        ),
        _decision(
            "policy-default-reject",
            "default = reject refuses a clause it does not name.",
            "strict-default",
            "mine",
            "reject",
            reasons=[["amity.delete-on-end", "not covered by the policy"]],
        ),
        _decision(
            "policy-nearest",
            "No counter values: 60 days clamps to 30, and 'any' becomes 'csv', the first "
            "allowed format in ascending order (the TOML lists 'json' first).",
            "nearest",
            "access-slow",
            "counter",
            counter="access-countered",
        ),
        _decision(
            "policy-otherwise-ask",
            "Outside the range with otherwise = ask-human.",
            "nearest",
            "retention-only",
            "ask-human",
            open=["amity.max-retention"],
        ),
        _policy_error(
            "policy-not-toml",
            "A syntax error names its line.",
            HEAD + '[clause."amity.no-tracking"]\naction = \n',
            None,
            5,
        ),
        _policy_error(
            "policy-nested-too-deep",
            "Arrays six deep under clause, id, days and min nest past MAX_POLICY_DEPTH = 8; "
            "the field names the keys down to them.",
            HEAD + '[clause."amity.delete-on-end"]\naction = "within"\n'
            "days = { min = " + "[" * 6 + "]" * 6 + " }\n",
            "clause.amity.delete-on-end.days.min",
            6,
        ),
        _policy_error(
            "policy-nested-arrays-unclosed",
            "500 unclosed arrays: a syntax error, however deep the parser gets before it.",
            HEAD + "x = " + "[" * 500 + "\n",
            None,
        ),
        _policy_error(
            "policy-unknown-top-key",
            "A misspelt top-level key.",
            HEAD + "verison = 1\n",
            "verison",
            4,
        ),
        _policy_error(
            "policy-missing-default",
            "default is required.",
            "version = 1\nvocabulary = 1\n",
            "default",
        ),
        _policy_error(
            "policy-version-2",
            "Policy format 2.",
            'version = 2\nvocabulary = 1\ndefault = "reject"\n',
            "version",
            1,
        ),
        _policy_error(
            "policy-vocabulary-2",
            "An unknown vocabulary.",
            'version = 1\nvocabulary = 2\ndefault = "reject"\n',
            "vocabulary",
            2,
        ),
        _policy_error(
            "policy-default-accept",
            "The default is reject or ask-human.",
            'version = 1\nvocabulary = 1\ndefault = "accept"\n',
            "default",
            3,
        ),
        _policy_error(
            "policy-unknown-clause",
            "A clause v1 does not define.",
            HEAD + '\n[clause."amity.no-spam"]\naction = "reject"\n',
            "clause.amity.no-spam",
            5,
        ),
        _policy_error(
            "policy-unquoted-clause",
            "Clause ids must be quoted in table names.",
            HEAD + '[clause.amity.no-tracking]\naction = "accept"\n',
            "clause.amity",
        ),
        _policy_error(
            "policy-unknown-action",
            "'maybe' is not an action.",
            HEAD + '[clause."amity.no-tracking"]\naction = "maybe"\n',
            "clause.amity.no-tracking.action",
            5,
        ),
        _policy_error(
            "policy-range-with-accept",
            "Ranges belong to action = within.",
            HEAD + '[clause."amity.delete-on-end"]\naction = "accept"\ndays = { min = 1 }\n',
            "clause.amity.delete-on-end.days",
            6,
        ),
        _policy_error(
            "policy-range-outside-vocabulary",
            "delete-on-end days stop at 365.",
            HEAD + '[clause."amity.delete-on-end"]\naction = "within"\ndays = { max = 400 }\n',
            "clause.amity.delete-on-end.days",
            6,
        ),
        _policy_error(
            "policy-min-over-max",
            "min > max.",
            HEAD + '[clause."amity.delete-on-end"]\naction = "within"\n'
            "days = { min = 60, max = 30 }\n",
            "clause.amity.delete-on-end.days",
            6,
        ),
        _policy_error(
            "policy-counter-outside-range",
            "A counter must satisfy its own range.",
            HEAD + '[clause."amity.delete-on-end"]\naction = "within"\n'
            "days = { min = 30 }\ncounter = { days = 7 }\n",
            "clause.amity.delete-on-end.counter.days",
            7,
        ),
        _policy_error(
            "policy-counter-missing",
            "action = counter needs a counter table.",
            HEAD + '[clause."amity.no-profiling"]\naction = "counter"\n',
            "clause.amity.no-profiling.counter",
            4,
        ),
        _policy_error(
            "policy-include-unknown",
            "An unknown purpose in include.",
            HEAD + '[clause."amity.purpose-limitation"]\naction = "within"\n'
            'purposes = { include = ["spying"] }\n',
            "clause.amity.purpose-limitation.purposes",
            6,
        ),
        _policy_error(
            "policy-otherwise-with-accept",
            "otherwise belongs to within.",
            HEAD + '[clause."amity.no-tracking"]\naction = "accept"\notherwise = "reject"\n',
            "clause.amity.no-tracking.otherwise",
            6,
        ),
        _policy_error(
            "policy-reason-newline",
            "A reason is one line.",
            HEAD + '[clause."amity.no-tracking"]\naction = "reject"\nreason = "no\\nway"\n',
            "clause.amity.no-tracking.reason",
            6,
        ),
        _policy_error(
            "policy-unknown-parameter",
            "A misspelt parameter name.",
            HEAD + '[clause."amity.delete-on-end"]\naction = "within"\ndayz = { min = 1 }\n',
            "clause.amity.delete-on-end.dayz",
            6,
        ),
        _policy_error(
            "policy-within-without-range",
            "action = within with no range: the error names no key, so the table header's line.",
            HEAD + '\n[clause."amity.delete-on-end"]\naction = "within"\n',
            "clause.amity.delete-on-end",
            5,
        ),
        _policy_error(
            "policy-dotted-keys-no-line",
            'A rule written as dotted keys, without a [clause."…"] header: the field is '
            "named, the line is not (null).",
            HEAD + 'clause."amity.no-tracking".action = "maybe"\n',
            "clause.amity.no-tracking.action",
        ),
        _policy_error(
            "policy-first-clause-in-id-order",
            "Two broken rules: the one first in clause-id order is reported, though the file "
            "lists it second.",
            HEAD + '[clause."amity.no-tracking"]\naction = "maybe"\n\n'
            '[clause."amity.delete-on-end"]\naction = "sometimes"\n',
            "clause.amity.delete-on-end.action",
            8,
        ),
    ]


def _summary_vectors() -> list[dict[str, Any]]:
    bookshop = [
        1,
        1,
        "ask-human",
        [
            [
                "amity.access-to-my-data",
                "within",
                [[1, 30], ["any", "json"]],
                [None, None],
                "counter",
                "",
            ],
            [
                "amity.breach-notice",
                "within",
                [[72, 720]],
                [None],
                "reject",
                "we notify breaches within 72 hours, as the law asks",
            ],
            ["amity.delete-on-end", "within", [[30, 365]], [30], "counter", ""],
            ["amity.no-profiling", "accept", [], [], "counter", ""],
            ["amity.no-third-party-sharing", "counter", [], [True], "counter", ""],
            ["amity.no-tracking", "accept", [], [], "counter", ""],
            [
                "amity.purpose-limitation",
                "within",
                [["delivery", "payment"]],
                [None],
                "counter",
                "",
            ],
        ],
    ]
    good = pack(bookshop)

    def bad(name: str, description: str, value: Any, error: str) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "operation": "policy-summary",
            "summary_hex": pack(value).hex(),
            "error": error,
        }

    rules = bookshop[3]
    sharing: list[Any] = [
        "amity.no-third-party-sharing",
        "within",
        [[False]],
        [None],
        "counter",
        "",
    ]
    return [
        {
            "name": "summary-bookshop",
            "description": "The spec example policy, published.",
            "operation": "policy-summary",
            "policy": "bookshop",
            "policy_toml": BOOKSHOP,
            "summary_hex": good.hex(),
        },
        {
            "name": "summary-strict-default",
            "description": "One rule, default reject.",
            "operation": "policy-summary",
            "policy": "strict-default",
            "policy_toml": STRICT_DEFAULT,
            "summary_hex": pack(
                [1, 1, "reject", [["amity.no-tracking", "accept", [], [], "counter", ""]]]
            ).hex(),
        },
        {
            "name": "summary-bool-range",
            "description": (
                "A bool range written [true, false] in the TOML is published sorted: [false, true]."
            ),
            "operation": "policy-summary",
            "policy": "bool-range",
            "policy_toml": BOOL_RANGE,
            "summary_hex": pack(
                [
                    1,
                    1,
                    "reject",
                    [
                        [
                            "amity.no-third-party-sharing",
                            "within",
                            [[False, True]],
                            [None],
                            "counter",
                            "",
                        ]
                    ],
                ]
            ).hex(),
        },
        bad(
            "summary-version-2",
            "Summary version 2.",
            [2, 1, "reject", []],
            UnsupportedVersionError.code,
        ),
        bad(
            "summary-empty-array",
            "An empty summary: a missing version is an unsupported one.",
            [],
            UnsupportedVersionError.code,
        ),
        bad(
            "summary-version-str",
            "Version '1', a str: an unsupported version.",
            ["1", 1, "reject", []],
            UnsupportedVersionError.code,
        ),
        bad(
            "summary-vocabulary-9",
            "An unknown vocabulary.",
            [1, 9, "reject", []],
            UnknownVocabularyError.code,
        ),
        bad(
            "summary-unknown-clause",
            "A rule for a clause v1 lacks.",
            [1, 1, "reject", [["amity.no-spam", "accept", [], [], "counter", ""]]],
            UnknownClauseError.code,
        ),
        bad(
            "summary-rules-unsorted",
            "Rules in descending clause order are not canonical.",
            [1, 1, "ask-human", [rules[5], rules[4]]],
            SCHEMA,
        ),
        bad(
            "summary-within-no-ranges",
            "within without its ranges.",
            [1, 1, "reject", [["amity.delete-on-end", "within", [], [None], "counter", ""]]],
            SCHEMA,
        ),
        bad(
            "summary-default-accept",
            "The default is reject or ask-human.",
            [1, 1, "accept", []],
            SCHEMA,
        ),
        bad(
            "summary-bool-range-unsorted",
            "The bool range [true, false]: allowed values are published sorted, so this is not "
            "the canonical summary.",
            [1, 1, "reject", [[*sharing[:2], [[True, False]], *sharing[3:]]]],
            SCHEMA,
        ),
        bad(
            "summary-bool-range-repeated",
            "The bool range [false, false]: a value twice is not canonical.",
            [1, 1, "reject", [[*sharing[:2], [[False, False]], *sharing[3:]]]],
            SCHEMA,
        ),
        bad(
            "summary-one-of-empty",
            "An empty allowed-values list ([] for one_of) constrains nothing: refused.",
            [1, 1, "reject", [[*sharing[:2], [[]], *sharing[3:]]]],
            SCHEMA,
        ),
        bad(
            "summary-include-empty",
            "An empty include list for a set parameter: refused like an empty one_of.",
            [
                1,
                1,
                "reject",
                [["amity.purpose-limitation", "within", [[]], [None], "counter", ""]],
            ],
            SCHEMA,
        ),
        bad(
            "summary-unknown-clause-before-order",
            "Rules out of order, one of them for an unknown clause: each rule is read (its "
            "clause first) before the order is checked, so the clause's code.",
            [
                1,
                1,
                "reject",
                [rules[5], ["amity.no-spam", "accept", [], [], "counter", ""]],
            ],
            UnknownClauseError.code,
        ),
        bad(
            "summary-too-large",
            "16385 bytes (limit 16384): refused for its size before it is decoded.",
            [
                1,
                1,
                "reject",
                [["amity.no-tracking", "reject", [], [], "counter", ""]],
                bytes(16385 - 51),
            ],
            "encoding.too_large",
        ),
        bad(
            "summary-range-outside",
            "A range past the vocabulary's bound.",
            [
                1,
                1,
                "reject",
                [["amity.delete-on-end", "within", [[0, 400]], [None], "counter", ""]],
            ],
            SCHEMA,
        ),
    ]


# -- signatures, bodies and agreements -------------------------------------------------------------


def _signed_bytes(
    terms: str,
    negotiation_id: bytes,
    agreed_ms: int,
    *,
    person: str = "person",
    vendor: str = "vendor",
    terms_id: bytes | None = None,
) -> bytes:
    return pack(
        [
            1,
            terms_id or _terms_id(terms),
            _terms(terms),
            PEER[person],
            PEER[vendor],
            negotiation_id,
            agreed_ms,
        ]
    )


def _sign(who: str, signed: bytes) -> bytes:
    return KEYS[who].sign(b"amity/agreement/v1\x00" + signed).signature


def _agreement(terms: str, negotiation_id: bytes, agreed_ms: int) -> bytes:
    signed = _signed_bytes(terms, negotiation_id, agreed_ms)
    return pack([signed, _sign("person", signed), _sign("vendor", signed)])


def offer_body(
    terms: str,
    offered_ms: int,
    expires_ms: int,
    *,
    signer: str = "person",
    negotiation_id: bytes = NID,
    previous: bytes | None = None,
) -> bytes:
    signed = _signed_bytes(terms, negotiation_id, offered_ms)
    return pack(
        [1, negotiation_id, _terms(terms), offered_ms, expires_ms, previous, _sign(signer, signed)]
    )


def counter_body(
    terms: str, round_: int, offered_ms: int, expires_ms: int, *, signer: str
) -> bytes:
    signed = _signed_bytes(terms, NID, offered_ms)
    return pack([1, NID, round_, _terms(terms), offered_ms, expires_ms, _sign(signer, signed)])


def accept_body(terms: str, agreed_ms: int, *, signer: str, named: str | None = None) -> bytes:
    signed = _signed_bytes(terms, NID, agreed_ms)
    return pack([1, NID, _terms_id(named or terms), _sign(signer, signed)])


def _body_vectors() -> list[dict[str, Any]]:
    def ok(name: str, description: str, type_: str, body: bytes) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "operation": "body",
            "type": type_,
            "body_hex": body.hex(),
        }

    def bad(name: str, description: str, type_: str, value: Any, error: str) -> dict[str, Any]:
        body = value if isinstance(value, bytes) else pack(value)
        return {**ok(name, description, type_, body), "error": error}

    tid, sig = _terms_id("P2B1"), bytes(64)
    return [
        ok(
            "body-offer",
            "An offer of P2B1 from the person, open one day.",
            "terms.offer",
            offer_body("P2B1", T0, T0 + DAY),
        ),
        ok(
            "body-offer-amending",
            "An offer that amends an earlier agreement.",
            "terms.offer",
            offer_body("P2B1", T0, T0 + DAY, previous=bytes(range(32))),
        ),
        ok(
            "body-counter",
            "The vendor's first counter (round 2).",
            "terms.counter",
            counter_body("P2B1-countered", 2, T0 + 5_000, T0 + 5_000 + DAY, signer="vendor"),
        ),
        ok(
            "body-accept",
            "The person accepts the counter.",
            "terms.accept",
            accept_body("P2B1-countered", T0 + 5_000, signer="person"),
        ),
        ok(
            "body-reject",
            "A reject with one reason per clause.",
            "terms.reject",
            pack([1, NID, tid, [["amity.breach-notice", "too fast for us"], ["", "and no"]]]),
        ),
        ok(
            "body-reject-no-reasons",
            "A reject may give no reasons.",
            "terms.reject",
            pack([1, NID, tid, []]),
        ),
        ok(
            "body-withdraw",
            "The proposer takes its terms back.",
            "terms.withdraw",
            pack([1, NID, tid]),
        ),
        bad(
            "body-accept-version-2",
            "Body version 2.",
            "terms.accept",
            [2, NID, tid, sig],
            UnsupportedVersionError.code,
        ),
        bad(
            "body-withdraw-version-2-short",
            "The version before the arity.",
            "terms.withdraw",
            [2],
            UnsupportedVersionError.code,
        ),
        bad(
            "body-withdraw-empty-array",
            "An empty body: a missing version is an unsupported one.",
            "terms.withdraw",
            [],
            UnsupportedVersionError.code,
        ),
        bad(
            "body-accept-version-true",
            "Version true is not the int 1.",
            "terms.accept",
            [True, NID, tid, sig],
            UnsupportedVersionError.code,
        ),
        bad(
            "body-withdraw-short-id",
            "A negotiation id is 16 bytes.",
            "terms.withdraw",
            [1, NID[:15], tid],
            SCHEMA,
        ),
        bad(
            "body-accept-short-signature",
            "A signature is 64 bytes.",
            "terms.accept",
            [1, NID, tid, sig[:63]],
            SCHEMA,
        ),
        bad(
            "body-counter-round-1",
            "A counter's round is at least 2.",
            "terms.counter",
            [1, NID, 1, _terms("P2B1"), T0, T0 + DAY, sig],
            SCHEMA,
        ),
        bad(
            "body-offer-bad-terms",
            "The terms inside are checked.",
            "terms.offer",
            [1, NID, pack([1, 1, [["amity.no-spam", []]], "", ""]), T0, T0 + DAY, None, sig],
            UnknownClauseError.code,
        ),
        bad(
            "body-offer-previous-short",
            "An agreement id is 32 bytes.",
            "terms.offer",
            [1, NID, _terms("P2B1"), T0, T0 + DAY, bytes(31), sig],
            SCHEMA,
        ),
        bad(
            "body-offer-time-over-int63",
            "Times fit a signed 64-bit integer: 2**63 is refused.",
            "terms.offer",
            [1, NID, _terms("P2B1"), 2**63, 2**63 + DAY, None, sig],
            SCHEMA,
        ),
        bad(
            "body-reject-newline",
            "A reason is one line.",
            "terms.reject",
            [1, NID, tid, [["", "no\nway"]]],
            SCHEMA,
        ),
        bad(
            "body-reject-33-reasons",
            "At most 32 reasons.",
            "terms.reject",
            [1, NID, tid, [["", "no"]] * 33],
            TooLargeError.code,
        ),
        bad(
            "body-reject-clause-upper",
            "A reason's clause id is lower case.",
            "terms.reject",
            [1, NID, tid, [["Amity.x", "no"]]],
            SCHEMA,
        ),
        bad(
            "body-accept-too-large",
            "An accept is at most 128 bytes.",
            "terms.accept",
            [1, NID, tid, bytes(120)],
            TooLargeError.code,
        ),
    ]


def _agreement_vectors() -> list[dict[str, Any]]:
    signed = _signed_bytes("P2B1", NID, T0)
    good = _agreement("P2B1", NID, T0)
    p_sig, v_sig = _sign("person", signed), _sign("vendor", signed)

    def bad(name: str, description: str, data: bytes, error: str) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "operation": "agreement",
            "agreement_hex": data.hex(),
            "error": error,
        }

    def resigned(**kwargs: Any) -> bytes:
        inner = _signed_bytes("P2B1", NID, T0, **kwargs)
        return pack(
            [
                inner,
                _sign(kwargs.get("person", "person"), inner),
                _sign(kwargs.get("vendor", "vendor"), inner),
            ]
        )

    flipped_title = bytearray(signed)
    at = flipped_title.index(b"#NoStalking")
    flipped_title[at + 1] ^= 0x20  # 'N' -> 'n' inside the embedded terms: still canonical
    tampered_terms = pack([bytes(flipped_title), p_sig, v_sig])
    v2 = pack([2, b"a later layout"])
    v_true = pack([True, *msgpack.unpackb(_signed_bytes("P2B1", NID, T0))[1:]])
    small_order = bytes(32)
    over_time = _signed_bytes("P2B1", NID, 2**63)
    return [
        {
            "name": "agreement-p2b1",
            "description": "Person and vendor agree on P2B1.",
            "operation": "agreement",
            "terms": "P2B1",
            "negotiation_id_hex": NID.hex(),
            "agreed_ms": T0,
            "signed_bytes_hex": signed.hex(),
            "person_sig_hex": p_sig.hex(),
            "vendor_sig_hex": v_sig.hex(),
            "agreement_hex": good.hex(),
            "agreement_id_hex": hashlib.sha256(b"amity/agreement-id/v1\x00" + signed).hexdigest(),
        },
        bad(
            "agreement-person-sig-flipped",
            "One bit of the person's signature.",
            pack([signed, bytes([p_sig[0] ^ 1]) + p_sig[1:], v_sig]),
            AgreementSignatureError.code,
        ),
        bad(
            "agreement-vendor-sig-flipped",
            "One bit of the vendor's signature.",
            pack([signed, p_sig, v_sig[:-1] + bytes([v_sig[-1] ^ 0x80])]),
            AgreementSignatureError.code,
        ),
        bad(
            "agreement-signatures-swapped",
            "Each signature in the other's place.",
            pack([signed, v_sig, p_sig]),
            AgreementSignatureError.code,
        ),
        bad(
            "agreement-terms-tampered",
            "A letter of the embedded title changed: the terms no longer hash to terms_id.",
            tampered_terms,
            AgreementHashError.code,
        ),
        bad(
            "agreement-terms-id-wrong",
            "Both signed bytes whose terms_id is another document's.",
            resigned(terms_id=_terms_id("mine")),
            AgreementHashError.code,
        ),
        bad(
            "agreement-signed-by-mallory",
            "The vendor's place signed by someone else.",
            pack([signed, p_sig, _sign("mallory", signed)]),
            AgreementSignatureError.code,
        ),
        bad(
            "agreement-same-party",
            "Person and vendor are the same key.",
            resigned(vendor="person"),
            SCHEMA,
        ),
        bad(
            "agreement-version-2",
            "Agreement version 2 (read before the arity).",
            pack([v2, p_sig, v_sig]),
            UnsupportedVersionError.code,
        ),
        bad(
            "agreement-version-true",
            "Signed bytes whose version is true (validly signed by both): an unsupported version.",
            pack([v_true, _sign("person", v_true), _sign("vendor", v_true)]),
            UnsupportedVersionError.code,
        ),
        bad("agreement-two-parts", "An agreement has three parts.", pack([signed, p_sig]), SCHEMA),
        bad(
            "agreement-bad-key",
            "A person key of small order.",
            pack(
                [
                    pack(
                        [1, _terms_id("P2B1"), _terms("P2B1"), small_order, PEER["vendor"], NID, T0]
                    ),
                    p_sig,
                    v_sig,
                ]
            ),
            BadKeyError.code,
        ),
        bad(
            "agreement-time-over-int63",
            "agreed_ms fits a signed 64-bit integer.",
            pack(
                [
                    over_time,
                    _sign("person", over_time),
                    _sign("vendor", over_time),
                ]
            ),
            SCHEMA,
        ),
        bad("agreement-truncated", "The bytes stop early.", good[:-5], MalformedError.code),
    ]


# -- negotiation traces ----------------------------------------------------------------------------


def local(node: str, event: str, now: int, effects: list[str], **fields: Any) -> dict[str, Any]:
    return {"node": node, "event": event, "now_ms": now, **fields, "effects": effects}


def deliver(node: str, now: int, effects: list[str]) -> dict[str, Any]:
    return {"node": node, "event": "deliver", "now_ms": now, "effects": effects}


def receive(node: str, type_: str, body: bytes, now: int) -> dict[str, Any]:
    return {
        "node": node,
        "event": "receive",
        "type": type_,
        "body_hex": body.hex(),
        "now_ms": now,
        "effects": [],
    }


def offer(now: int, terms: str = "P2B1", ttl: int = DAY, **fields: Any) -> dict[str, Any]:
    return local(
        "person",
        "Offer",
        now,
        ["persist", "send terms.offer", f"set-timer deadline-1 at {now + ttl}"],
        terms=terms,
        negotiation_id_hex=NID.hex(),
        ttl_ms=ttl,
        **fields,
    )


def arrives(now: int, expires: int) -> dict[str, Any]:
    return deliver(
        "vendor", now, ["persist", f"set-timer deadline-1 at {expires}", "notify offered"]
    )


def record(
    state: str,
    terms: str,
    proposed_by: str,
    rounds: int,
    expires: int,
    timer: str | None = None,
    agreement: bytes | None = None,
) -> dict[str, Any]:
    return {
        "state": state,
        "terms": terms,
        "proposed_by": proposed_by,
        "rounds": rounds,
        "expires_ms": expires,
        "timer_token": timer,
        "agreement_hex": agreement.hex() if agreement else None,
    }


def trace(
    name: str,
    description: str,
    steps: list[dict[str, Any]],
    final: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "operation": "negotiation",
        "steps": steps,
    }
    if final is not None:
        vector["final"] = final
    if error is not None:
        vector["error"] = error
    return vector


E = T0 + DAY  # the deadline of an offer made at T0 with the default ttl in these traces
OPENED = [offer(T0), arrives(T0 + 1_000, E)]


def _rounds() -> list[dict[str, Any]]:
    """Six proposals, alternating: person d7, vendor d42, person d14, vendor d35, person d21,
    vendor d28 (each open one day from its own time)."""
    steps = [offer(T0, "d7"), arrives(T0 + 1_000, E)]
    names = ["d42", "d14", "d35", "d21", "d28"]
    for index, terms in enumerate(names):
        node, other = ("vendor", "person") if index % 2 == 0 else ("person", "vendor")
        now = T0 + 10_000 * (index + 1)
        steps.append(
            local(
                node,
                "Counter",
                now,
                [
                    "persist",
                    f"cancel-timer deadline-{index + 1}",
                    "send terms.counter",
                    f"set-timer deadline-{index + 2} at {now + DAY}",
                ],
                terms=terms,
                ttl_ms=DAY,
            )
        )
        steps.append(
            deliver(
                other,
                now + 500,
                [
                    "persist",
                    f"cancel-timer deadline-{index + 1}",
                    f"set-timer deadline-{index + 2} at {now + DAY}",
                    "notify countered",
                ],
            )
        )
    return steps


def _trace_vectors() -> list[dict[str, Any]]:
    agreed = _agreement("P2B1", NID, T0)
    countered = _agreement("P2B1-countered", NID, T0 + 5_000)
    rounds = _rounds()
    r6_now = T0 + 50_000
    return [
        trace(
            "offer-accepted",
            "The person proffers P2B1; the vendor accepts; both hold the "
            "same agreement, dated at the offer.",
            [
                *OPENED,
                local(
                    "vendor",
                    "Accept",
                    T0 + 2_000,
                    ["persist", "cancel-timer deadline-1", "send terms.accept", "notify agreed"],
                ),
                deliver(
                    "person", T0 + 2_500, ["persist", "cancel-timer deadline-1", "notify agreed"]
                ),
            ],
            {
                "person": record("agreed", "P2B1", "local", 1, E, agreement=agreed),
                "vendor": record("agreed", "P2B1", "peer", 1, E, agreement=agreed),
            },
        ),
        trace(
            "auto-counter-then-accept",
            "The bookshop's policy counters P2B1; the person accepts the counter.",
            [
                *OPENED,
                {
                    **local(
                        "vendor",
                        "auto",
                        T0 + 5_000,
                        [
                            "persist",
                            "cancel-timer deadline-1",
                            "send terms.counter",
                            f"set-timer deadline-2 at {T0 + 5_000 + 7 * DAY}",
                        ],
                    ),
                    "policy": "bookshop",
                    "answer": "Counter",
                },
                deliver(
                    "person",
                    T0 + 6_000,
                    [
                        "persist",
                        "cancel-timer deadline-1",
                        f"set-timer deadline-2 at {T0 + 5_000 + 7 * DAY}",
                        "notify countered",
                    ],
                ),
                local(
                    "person",
                    "Accept",
                    T0 + 7_000,
                    ["persist", "cancel-timer deadline-2", "send terms.accept", "notify agreed"],
                ),
                deliver(
                    "vendor", T0 + 8_000, ["persist", "cancel-timer deadline-2", "notify agreed"]
                ),
            ],
            {
                "person": record(
                    "agreed", "P2B1-countered", "peer", 2, T0 + 5_000 + 7 * DAY, agreement=countered
                ),
                "vendor": record(
                    "agreed",
                    "P2B1-countered",
                    "local",
                    2,
                    T0 + 5_000 + 7 * DAY,
                    agreement=countered,
                ),
            },
        ),
        trace(
            "auto-reject",
            "The bookshop rejects AMITY-STRICT for its breach-notice clause.",
            [
                offer(T0, "AMITY-STRICT"),
                arrives(T0 + 1_000, E),
                {
                    **local(
                        "vendor",
                        "auto",
                        T0 + 2_000,
                        ["persist", "cancel-timer deadline-1", "send terms.reject"],
                    ),
                    "policy": "bookshop",
                    "answer": "Reject",
                },
                deliver(
                    "person", T0 + 3_000, ["persist", "cancel-timer deadline-1", "notify rejected"]
                ),
            ],
            {
                "person": record("rejected", "AMITY-STRICT", "local", 1, E),
                "vendor": record("rejected", "AMITY-STRICT", "peer", 1, E),
            },
        ),
        trace(
            "ask-human-then-expire",
            "The policy leaves max-retention to a person, who never answers: both deadlines fire.",
            [
                offer(T0, "retention-only"),
                arrives(T0 + 1_000, E),
                {**local("vendor", "auto", T0 + 2_000, []), "policy": "bookshop", "answer": None},
                local("vendor", "TimerFired", E, ["persist", "notify expired"], token="deadline-1"),
                local("person", "TimerFired", E, ["persist", "notify expired"], token="deadline-1"),
            ],
            {
                "person": record("expired", "retention-only", "local", 1, E),
                "vendor": record("expired", "retention-only", "peer", 1, E),
            },
        ),
        trace(
            "withdrawn",
            "The person takes her offer back before any answer.",
            [
                *OPENED,
                local(
                    "person",
                    "Withdraw",
                    T0 + 2_000,
                    ["persist", "cancel-timer deadline-1", "send terms.withdraw"],
                ),
                deliver(
                    "vendor", T0 + 3_000, ["persist", "cancel-timer deadline-1", "notify withdrawn"]
                ),
            ],
            {
                "person": record("withdrawn", "P2B1", "local", 1, E),
                "vendor": record("withdrawn", "P2B1", "peer", 1, E),
            },
        ),
        trace(
            "accept-crosses-withdraw",
            "The vendor accepts while the person withdraws: the "
            "accept wins on both sides (an offer signed is an offer made).",
            [
                *OPENED,
                local(
                    "person",
                    "Withdraw",
                    T0 + 2_000,
                    ["persist", "cancel-timer deadline-1", "send terms.withdraw"],
                ),
                local(
                    "vendor",
                    "Accept",
                    T0 + 2_001,
                    ["persist", "cancel-timer deadline-1", "send terms.accept", "notify agreed"],
                ),
                deliver("person", T0 + 2_500, ["persist", "notify agreed-late"]),
                deliver("vendor", T0 + 2_600, []),
            ],
            {
                "person": record("agreed", "P2B1", "local", 1, E, agreement=agreed),
                "vendor": record("agreed", "P2B1", "peer", 1, E, agreement=agreed),
            },
        ),
        trace(
            "counter-crosses-withdraw",
            "The vendor counters while the person withdraws: both end withdrawn.",
            [
                *OPENED,
                local(
                    "person",
                    "Withdraw",
                    T0 + 2_000,
                    ["persist", "cancel-timer deadline-1", "send terms.withdraw"],
                ),
                local(
                    "vendor",
                    "Counter",
                    T0 + 2_001,
                    [
                        "persist",
                        "cancel-timer deadline-1",
                        "send terms.counter",
                        f"set-timer deadline-2 at {T0 + 2_001 + DAY}",
                    ],
                    terms="d7",
                    ttl_ms=DAY,
                ),
                deliver("person", T0 + 2_500, []),
                deliver(
                    "vendor", T0 + 2_600, ["persist", "cancel-timer deadline-2", "notify withdrawn"]
                ),
            ],
            {
                "person": record("withdrawn", "P2B1", "local", 1, E),
                "vendor": record("withdrawn", "d7", "local", 2, T0 + 2_001 + DAY),
            },
        ),
        trace(
            "accept-after-expiry",
            "The vendor accepts just before the deadline; the person's "
            "timer fires before the accept arrives, which then still agrees.",
            [
                *OPENED,
                local(
                    "vendor",
                    "Accept",
                    E - 1_000,
                    ["persist", "cancel-timer deadline-1", "send terms.accept", "notify agreed"],
                ),
                local("person", "TimerFired", E, ["persist", "notify expired"], token="deadline-1"),
                deliver("person", E + 5_000, ["persist", "notify agreed-late"]),
            ],
            {
                "person": record("agreed", "P2B1", "local", 1, E, agreement=agreed),
                "vendor": record("agreed", "P2B1", "peer", 1, E, agreement=agreed),
            },
        ),
        trace(
            "stale-timer-ignored",
            "A deadline cancelled by a counter fires anyway: nothing.",
            [
                *OPENED,
                local(
                    "vendor",
                    "Counter",
                    T0 + 2_000,
                    [
                        "persist",
                        "cancel-timer deadline-1",
                        "send terms.counter",
                        f"set-timer deadline-2 at {T0 + 2_000 + DAY}",
                    ],
                    terms="d7",
                    ttl_ms=DAY,
                ),
                local("vendor", "TimerFired", E, [], token="deadline-1"),
            ],
            {"vendor": record("countered", "d7", "local", 2, T0 + 2_000 + DAY, timer="deadline-2")},
        ),
        trace(
            "six-rounds",
            "Six proposals alternate; the last is on the table.",
            rounds,
            {
                "person": record("countered", "d28", "peer", 6, r6_now + DAY, timer="deadline-6"),
                "vendor": record("countered", "d28", "local", 6, r6_now + DAY, timer="deadline-6"),
            },
        ),
        trace(
            "auto-reject-at-round-limit",
            "After six rounds the person's node, with the bookshop policy, would counter d28 "
            "(delete-on-end 28 < 30) but cannot: it rejects, with the fixed reason text for each "
            "clause it would have countered.",
            [
                *rounds,
                {
                    **local(
                        "person",
                        "auto",
                        r6_now + 1_000,
                        ["persist", "cancel-timer deadline-6", "send terms.reject"],
                    ),
                    "policy": "bookshop",
                    "answer": "Reject",
                    "reasons": [
                        ["amity.delete-on-end", "outside the policy, and all 6 rounds are used"]
                    ],
                },
            ],
            {
                "person": record("rejected", "d28", "peer", 6, r6_now + DAY),
                "vendor": record("countered", "d28", "local", 6, r6_now + DAY, timer="deadline-6"),
            },
        ),
        trace(
            "round-limit-local",
            "A seventh proposal is refused locally.",
            [*rounds, local("person", "Counter", r6_now + 1_000, [], terms="d7")],
            error=StateError.code,
        ),
        trace(
            "round-limit-remote",
            "A seventh proposal from the peer is refused.",
            [
                *rounds,
                receive(
                    "vendor",
                    "terms.counter",
                    counter_body("d7", 7, r6_now + 1_000, r6_now + DAY, signer="person"),
                    r6_now + 1_000,
                ),
            ],
            error=RoundLimitError.code,
        ),
        trace(
            "accept-own-offer",
            "The proposer cannot accept its own terms.",
            [offer(T0), local("person", "Accept", T0 + 1, [])],
            error=StateError.code,
        ),
        trace(
            "reject-own-offer",
            "Nor reject them.",
            [offer(T0), local("person", "Reject", T0 + 1, [], reasons=[])],
            error=StateError.code,
        ),
        trace(
            "vendor-withdraws-person-offer",
            "Only the proposer withdraws.",
            [*OPENED, local("vendor", "Withdraw", T0 + 2_000, [])],
            error=StateError.code,
        ),
        trace(
            "peer-accepts-own-offer",
            "An accept from the party whose terms are on the table.",
            [
                *OPENED,
                receive(
                    "vendor", "terms.accept", accept_body("P2B1", T0, signer="person"), T0 + 2_000
                ),
            ],
            error=NegotiationTransitionError.code,
        ),
        trace(
            "accept-other-terms",
            "An accept naming terms that are not on the table.",
            [
                *OPENED,
                receive(
                    "person",
                    "terms.accept",
                    accept_body("P2B1", T0, signer="vendor", named="mine"),
                    T0 + 2_000,
                ),
            ],
            error=TermsMismatchError.code,
        ),
        trace(
            "accept-forged",
            "An accept signed by someone other than the vendor.",
            [
                *OPENED,
                receive(
                    "person", "terms.accept", accept_body("P2B1", T0, signer="mallory"), T0 + 2_000
                ),
            ],
            error=AgreementSignatureError.code,
        ),
        trace(
            "offer-forged",
            "An offer whose agreement signature is not the person's.",
            [
                receive(
                    "vendor", "terms.offer", offer_body("P2B1", T0, E, signer="mallory"), T0 + 1_000
                )
            ],
            error=AgreementSignatureError.code,
        ),
        trace(
            "offer-arrives-expired",
            "The offer's deadline passed before it arrived.",
            [offer(T0), deliver("vendor", E, [])],
            error=DeadlineError.code,
        ),
        trace(
            "offer-from-the-future",
            "An offer dated ten minutes ahead of our clock.",
            [receive("vendor", "terms.offer", offer_body("P2B1", T0 + 600_000, E), T0)],
            error=DeadlineError.code,
        ),
        trace(
            "offer-open-too-long",
            "An offer open for 31 days.",
            [receive("vendor", "terms.offer", offer_body("P2B1", T0, T0 + 31 * DAY), T0)],
            error=DeadlineError.code,
        ),
        trace(
            "counter-wrong-round",
            "A counter that skips a round.",
            [
                *OPENED,
                receive(
                    "person",
                    "terms.counter",
                    counter_body("d7", 3, T0 + 2_000, E, signer="vendor"),
                    T0 + 2_000,
                ),
            ],
            error=NegotiationTransitionError.code,
        ),
        trace(
            "counter-after-agreement",
            "Nothing but repeats and crossings after the end.",
            [
                *OPENED,
                local(
                    "vendor",
                    "Accept",
                    T0 + 2_000,
                    ["persist", "cancel-timer deadline-1", "send terms.accept", "notify agreed"],
                ),
                deliver(
                    "person", T0 + 2_500, ["persist", "cancel-timer deadline-1", "notify agreed"]
                ),
                receive(
                    "person",
                    "terms.counter",
                    counter_body("d7", 2, T0 + 3_000, E, signer="vendor"),
                    T0 + 3_000,
                ),
            ],
            error=NegotiationTransitionError.code,
        ),
        trace(
            "amendment-offer",
            "An offer that amends an agreement carries its id.",
            [
                offer(T0, "AMITY-SHOP", previous_agreement_id_hex=bytes(range(32)).hex()),
                arrives(T0 + 1_000, E),
            ],
            {
                "vendor": {
                    **record("offered", "AMITY-SHOP", "peer", 1, E, timer="deadline-1"),
                    "previous_agreement_id_hex": bytes(range(32)).hex(),
                }
            },
        ),
    ]


def _identities() -> dict[str, Any]:
    return {
        name: {"seed_hex": seed.hex(), "peer_id_hex": PEER[name].hex()}
        for name, seed in SEEDS.items()
    }


def _vocabulary() -> list[dict[str, Any]]:
    return [
        {
            "clause_id": spec.clause_id,
            "template": spec.template,
            "note": spec.note,
            "params": [
                {
                    "name": p.name,
                    "kind": p.kind.value,
                    "lo": p.lo,
                    "hi": p.hi,
                    "choices": list(p.choices),
                }
                for p in spec.params
            ],
        }
        for spec in VOCABULARIES[1].values()
    ]


def build() -> dict[str, Any]:
    return {
        "title": "Terms, policies, negotiation and agreements",
        "spec": "spec/terms.md",
        "notes": NOTES,
        "identities": _identities(),
        "vocabulary": _vocabulary(),
        "documents": {name: doc["terms_hex"] for name, doc in DOCUMENTS.items()},
        "policies": POLICIES,
        "vectors": [
            *_terms_vectors(),
            *_policy_vectors(),
            *_summary_vectors(),
            *_body_vectors(),
            *_agreement_vectors(),
            *_trace_vectors(),
        ],
    }
