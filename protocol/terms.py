"""Terms: the clause vocabulary, terms documents named by their hash, and the roster. Sans-IO.

A terms document is what a person proffers to a vendor: clauses from a published, versioned
vocabulary, each with typed parameters, plus a title and human-readable text. Its canonical bytes
have exactly one form, and its id is their SHA-256 under a domain string. The roster names a few
standard documents (IEEE 7012 "MyTerms" style, Customer Commons' #NoStalking among them).
See spec/terms.md.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias, TypeVar
from typing import ParamSpec as _ParamSpec

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
    ClauseOrderError,
    DuplicateClauseError,
    EncodingError,
    SchemaError,
    TermsError,
    UnknownClauseError,
    UnknownVocabularyError,
    UnsupportedVersionError,
    UsageError,
)

__all__ = [
    "TERMS_VERSION",
    "VOCABULARY_VERSION",
    "TERMS_ID_DOMAIN",
    "TERMS_ID_BYTES",
    "MAX_TERMS_BYTES",
    "MAX_TITLE_BYTES",
    "MAX_HUMAN_TEXT_BYTES",
    "MAX_CLAUSES",
    "TITLE_PATTERN",
    "TEXT_PATTERN",
    "DPV_NAMESPACE",
    "PURPOSES",
    "ParamValue",
    "ParamKind",
    "ParamSpec",
    "ClauseSpec",
    "VOCABULARIES",
    "vocabulary",
    "clause_spec",
    "purpose_iri",
    "Clause",
    "TermsDocument",
    "terms_id_of",
    "render_text",
    "RosterEntry",
    "ROSTER",
    "roster_entry",
    "roster_name",
]

TERMS_VERSION: Final = 1
VOCABULARY_VERSION: Final = 1
TERMS_ID_DOMAIN: Final = b"amity/terms/v1\x00"
TERMS_ID_BYTES: Final = 32
MAX_TERMS_BYTES: Final = 16 * 1024
MAX_TITLE_BYTES: Final = 200
MAX_HUMAN_TEXT_BYTES: Final = 8 * 1024
MAX_CLAUSES: Final = 64
_MAX_CLAUSE_ID_BYTES: Final = 64
#: One line, no control characters (a title is shown to people in terminals).
TITLE_PATTERN: Final = re.compile(r"[^\x00-\x1f\x7f-\x9f]*")
#: Like a title, but line feeds are allowed.
TEXT_PATTERN: Final = re.compile(r"[^\x00-\x09\x0b-\x1f\x7f-\x9f]*")
DPV_NAMESPACE: Final = "https://w3id.org/dpv#"

#: A parameter's value: int, bool, an enum member (str) or a set of enum members (sorted tuple).
ParamValue: TypeAlias = "int | bool | str | tuple[str, ...]"

#: Purposes of vocabulary v1 -> the W3C DPV purpose they map to (``dpv:`` prefix), or None.
PURPOSES: Final[Mapping[str, str | None]] = {
    "account-management": "dpv:AccountManagement",
    "customer-support": "dpv:CustomerCare",
    "delivery": "dpv:DeliveryOfGoods",
    "fraud-prevention": "dpv:FraudPreventionAndDetection",
    "identity-verification": "dpv:IdentityVerification",
    "legal-compliance": "dpv:LegalCompliance",
    "marketing": "dpv:DirectMarketing",
    "order-fulfilment": "dpv:CustomerOrderManagement",
    "payment": "dpv:PaymentManagement",
    "personalisation": "dpv:ServicePersonalisation",
    "personalised-advertising": "dpv:PersonalisedAdvertising",
    "product-recommendations": "dpv:ProvideProductRecommendations",
    "research": "dpv:ResearchAndDevelopment",
    "security": "dpv:EnforceSecurity",
    "service-improvement": "dpv:ImproveExistingProductsAndServices",
    "service-provision": "dpv:ServiceProvision",
    "warranty-and-recalls": None,
}


class ParamKind(enum.Enum):
    """The type of a clause parameter. See spec/terms.md §2."""

    INT = "int"
    BOOL = "bool"
    ENUM = "enum"
    SET = "set"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One typed parameter of a clause: an int in ``lo..hi``, a bool, or enum/set of ``choices``."""

    name: str
    kind: ParamKind
    lo: int = 0
    hi: int = 0
    choices: tuple[str, ...] = ()

    def read(self, value: Value, what: str) -> ParamValue:
        """``value`` from the wire as this parameter's value; BadParameterError if it is not one."""
        if self.kind is ParamKind.BOOL:
            if not isinstance(value, bool):
                raise BadParameterError(f"{what}: expected a bool")
            return value
        if self.kind is ParamKind.INT:
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadParameterError(f"{what}: expected an int")
            if not self.lo <= value <= self.hi:
                raise BadParameterError(f"{what}: {value} is outside {self.lo}..{self.hi}")
            return value
        if self.kind is ParamKind.ENUM:
            if not isinstance(value, str) or value not in self.choices:
                raise BadParameterError(f"{what}: expected one of {', '.join(self.choices)}")
            return value
        if not isinstance(value, list) or not value:
            raise BadParameterError(f"{what}: expected a non-empty array of {self.name}")
        members: list[str] = []
        for item in value:
            if not isinstance(item, str) or item not in self.choices:
                raise BadParameterError(f"{what}: {item!r:.40} is not one of the known {self.name}")
            members.append(item)
        if members != sorted(set(members)):
            raise BadParameterError(f"{what}: members must be unique and in ascending order")
        return tuple(members)

    def to_wire(self, value: ParamValue) -> Value:
        return list(value) if isinstance(value, tuple) else value

    def render(self, value: ParamValue) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return ", ".join(value) if isinstance(value, tuple) else str(value)


@dataclass(frozen=True, slots=True)
class ClauseSpec:
    """A vocabulary entry: id, parameters (in wire order), text template and provenance note."""

    clause_id: str
    params: tuple[ParamSpec, ...]
    template: str
    note: str = ""

    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise UsageError(f"{self.clause_id} has no parameter {name!r}")

    def render(self, params: tuple[ParamValue, ...]) -> str:
        """The clause as one sentence for people, from the template."""
        values = {spec.name: spec.render(v) for spec, v in zip(self.params, params, strict=True)}
        return self.template.format(**values)


def _int(name: str, lo: int, hi: int) -> ParamSpec:
    return ParamSpec(name, ParamKind.INT, lo, hi)


def _bool(name: str) -> ParamSpec:
    return ParamSpec(name, ParamKind.BOOL)


_V1: Final = (
    ClauseSpec(
        "amity.access-to-my-data",
        (
            _int("within_days", 1, 90),
            ParamSpec("format", ParamKind.ENUM, choices=("any", "csv", "json")),
        ),
        "On request you give me all data you hold about me within {within_days} days "
        "(format: {format}).",
        "GDPR Art. 15 and 20 (access, portability)",
    ),
    ClauseSpec(
        "amity.breach-notice",
        (_int("hours", 1, 720),),
        "If data about me is breached, you tell me within {hours} hours.",
        "compare GDPR Art. 33-34 (72 hours to the authority)",
    ),
    ClauseSpec(
        "amity.delete-on-end",
        (_int("days", 0, 365),),
        "When our relationship ends you delete all data about me within {days} days "
        "and send me a signed deletion receipt.",
        "carried out by grants and deletion receipts (spec/grants.md)",
    ),
    ClauseSpec(
        "amity.max-retention",
        (_int("days", 1, 3650),),
        "You keep no data about me longer than {days} days after you received it.",
        "GDPR Art. 5(1)(e) (storage limitation)",
    ),
    ClauseSpec(
        "amity.no-profiling",
        (_bool("ads_opt_in"),),
        "You do not profile me or show me targeted ads (I opted in to ads: {ads_opt_in}).",
        "GDPR Art. 21-22",
    ),
    ClauseSpec(
        "amity.no-third-party-sharing",
        (_bool("allow_aggregate"),),
        "You share no data about me with third parties "
        "(aggregate statistics without personal data allowed: {allow_aggregate}).",
        "Customer Commons #NoStalking (P2B1)",
    ),
    ClauseSpec(
        "amity.no-tracking",
        (),
        "You do not track me beyond our relationship.",
        "Customer Commons #NoStalking (P2B1); IEEE 7012 first-party terms",
    ),
    ClauseSpec(
        "amity.notify-policy-change",
        (_int("days_notice", 0, 365),),
        "You tell me at least {days_notice} days before you change how you handle my data.",
    ),
    ClauseSpec(
        "amity.purpose-limitation",
        (ParamSpec("purposes", ParamKind.SET, choices=tuple(sorted(PURPOSES))),),
        "You use data about me only for: {purposes}.",
        "purposes map to W3C DPV (spec/terms.md §2.2); GDPR Art. 5(1)(b)",
    ),
)

#: vocabulary version -> clause id -> entry. A new version is a new key here, never an edit.
VOCABULARIES: Final[Mapping[int, Mapping[str, ClauseSpec]]] = {
    VOCABULARY_VERSION: {spec.clause_id: spec for spec in _V1},
}


def vocabulary(version: int = VOCABULARY_VERSION) -> Mapping[str, ClauseSpec]:
    """The clauses of vocabulary ``version``; UnknownVocabularyError for any other version."""
    found = VOCABULARIES.get(version)
    if found is None or isinstance(version, bool):
        known = ", ".join(str(v) for v in VOCABULARIES)
        raise UnknownVocabularyError(
            f"vocabulary version {version}; this node knows {known}: offer terms in one of those",
            hint=UnknownVocabularyError.code,
        )
    return found


def clause_spec(clause_id: str, version: int = VOCABULARY_VERSION) -> ClauseSpec:
    """The vocabulary entry for ``clause_id``; UnknownClauseError if the vocabulary lacks it."""
    found = vocabulary(version).get(clause_id)
    if found is None:
        raise UnknownClauseError(
            f"clause {clause_id!r:.80} is not in vocabulary v{version}; "
            "leave it out or use a clause the vocabulary defines",
            hint=UnknownClauseError.code,
        )
    return found


def purpose_iri(purpose: str) -> str | None:
    """The full W3C DPV IRI of a v1 purpose, or None where DPV has no matching purpose."""
    compact = PURPOSES[purpose]
    return None if compact is None else DPV_NAMESPACE + compact.removeprefix("dpv:")


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of a terms document: an id and its parameter values in vocabulary order."""

    clause_id: str
    params: tuple[ParamValue, ...] = ()

    @classmethod
    def of(cls, clause_id: str, /, **params: ParamValue) -> Clause:
        """Build a v1 clause from named parameters, checked against the vocabulary."""
        spec = _local(clause_spec, clause_id)
        unknown = set(params) - {p.name for p in spec.params}
        missing = [p.name for p in spec.params if p.name not in params]
        if unknown or missing:
            raise UsageError(f"{clause_id}: unknown {sorted(unknown)}, missing {missing}")
        wire = [_normalise(p, params[p.name]) for p in spec.params]
        return cls(clause_id, _local(_read_params, spec, wire, clause_id))

    def param(self, name: str, version: int = VOCABULARY_VERSION) -> ParamValue:
        spec = clause_spec(self.clause_id, version)
        return self.params[spec.params.index(spec.param(name))]

    def to_wire(self, version: int = VOCABULARY_VERSION) -> Value:
        spec = clause_spec(self.clause_id, version)
        return [
            self.clause_id,
            [p.to_wire(v) for p, v in zip(spec.params, self.params, strict=True)],
        ]


@dataclass(frozen=True, slots=True)
class TermsDocument:
    """A terms document; ``encoded`` is its canonical form and ``terms_id`` names it. See §3."""

    clauses: tuple[Clause, ...]
    title: str = ""
    human_text: str = ""
    vocab_version: int = VOCABULARY_VERSION
    encoded: bytes = field(init=False, repr=False, compare=False)
    terms_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.clauses, tuple) or not all(
            isinstance(c, Clause) for c in self.clauses
        ):
            raise UsageError("clauses is a tuple of Clause")
        fields = self._fields()
        encoded = _local(encode, fields)
        _local(self._read, encoded)  # one set of rules for what we make and what we receive
        object.__setattr__(self, "encoded", encoded)
        object.__setattr__(self, "terms_id", terms_id_of(encoded))

    @classmethod
    def create(
        cls, clauses: Iterable[Clause], title: str = "", human_text: str | None = None
    ) -> TermsDocument:
        """A v1 document with the clauses sorted; the text is rendered from them when not given."""
        ordered = tuple(sorted(clauses, key=lambda c: c.clause_id))
        text = render_text(ordered) if human_text is None else human_text
        return cls(ordered, title, text)

    @classmethod
    def decode(cls, data: bytes) -> TermsDocument:
        """Read and check a document against its vocabulary: nothing but AmityError on any input.

        A node reads the same few documents over and over (every agreement and attestation
        carries one), so the last ones read are remembered: the result is a pure function of
        the bytes, frozen and compared by value. A defect is raised again each time.
        """
        if cls is not TermsDocument or type(data) is not bytes:
            return cls._decode(data)
        return _decode_terms(data)

    @classmethod
    def _decode(cls, data: bytes) -> TermsDocument:
        clauses, title, text, version = cls._read(data)
        return cls(clauses, title, text, version)

    @staticmethod
    def _read(data: bytes) -> tuple[tuple[Clause, ...], str, str, int]:
        fields = expect_array(decode(data, max_bytes=MAX_TERMS_BYTES), "terms document")
        expect_version(fields, TERMS_VERSION, "terms document")
        expect_array(fields, "terms document", arity=5)
        vocab_version = expect_int(fields[1], "terms vocabulary version")
        clauses = _read_clauses(vocab_version, fields[2])
        title = expect_str(
            fields[3], "terms title", max_bytes=MAX_TITLE_BYTES, pattern=TITLE_PATTERN
        )
        text = expect_str(
            fields[4], "terms human text", max_bytes=MAX_HUMAN_TEXT_BYTES, pattern=TEXT_PATTERN
        )
        return clauses, title, text, vocab_version

    def _fields(self) -> list[Value]:
        wire: list[Value] = []
        for clause in self.clauses:
            spec = _local(clause_spec, clause.clause_id, self.vocab_version)
            if len(clause.params) != len(spec.params):
                raise UsageError(f"{clause.clause_id} takes {len(spec.params)} parameters")
            wire.append(clause.to_wire(self.vocab_version))
        return [TERMS_VERSION, self.vocab_version, wire, self.title, self.human_text]

    def clause(self, clause_id: str) -> Clause | None:
        """The clause with ``clause_id``, if the document has it."""
        return next((c for c in self.clauses if c.clause_id == clause_id), None)

    @property
    def clause_ids(self) -> tuple[str, ...]:
        return tuple(c.clause_id for c in self.clauses)


def terms_id_of(encoded: bytes) -> bytes:
    """SHA-256 over the domain and a document's canonical bytes. See spec/terms.md §3.2."""
    return hashlib.sha256(TERMS_ID_DOMAIN + encoded).digest()


def render_text(clauses: Iterable[Clause], version: int = VOCABULARY_VERSION) -> str:
    """The clauses as people read them: one line each, from the vocabulary's templates."""
    return "\n".join(f"- {clause_spec(c.clause_id, version).render(c.params)}" for c in clauses)


def _normalise(spec: ParamSpec, value: object) -> Value:
    # A convenience for local callers: a set parameter may be given in any order.
    if spec.kind is ParamKind.SET and isinstance(value, tuple | list | set | frozenset):
        return sorted(value)
    return value  # type: ignore[return-value]  # checked by ParamSpec.read next


def _read_params(spec: ClauseSpec, value: Value, what: str) -> tuple[ParamValue, ...]:
    if not isinstance(value, list) or len(value) != len(spec.params):
        raise BadParameterError(f"{what}: expected an array of {len(spec.params)} parameters")
    return tuple(p.read(v, f"{what}.{p.name}") for p, v in zip(spec.params, value, strict=True))


def _read_clauses(version: int, value: Value) -> tuple[Clause, ...]:
    vocab = vocabulary(version)
    items = expect_array(value, "terms clauses", max_len=MAX_CLAUSES)
    if not items:
        raise SchemaError("terms clauses: a document has at least one clause")
    clauses: list[Clause] = []
    for index, item in enumerate(items):
        pair = expect_array(item, f"clause {index}", arity=2)
        clause_id = expect_str(pair[0], f"clause {index} id", max_bytes=_MAX_CLAUSE_ID_BYTES)
        spec = vocab.get(clause_id) or clause_spec(clause_id, version)
        clauses.append(Clause(clause_id, _read_params(spec, pair[1], clause_id)))
    ids = [c.clause_id for c in clauses]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise DuplicateClauseError(f"terms document lists {', '.join(twice)} more than once")
    if ids != sorted(ids):
        raise ClauseOrderError("terms clauses must be in ascending order of clause id")
    return tuple(clauses)


_P = _ParamSpec("_P")
_R = TypeVar("_R")


def _local(function: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Run a check on our own caller's input: what would be a remote error becomes UsageError."""
    try:
        return function(*args, **kwargs)
    except (TermsError, EncodingError, UnsupportedVersionError) as exc:
        raise UsageError(exc.message) from None


# -- the roster: named standard documents (spec/terms.md §4) ---------------------------------------


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A named standard terms document a person can proffer by name (IEEE 7012 roster style)."""

    name: str
    summary: str
    note: str
    document: TermsDocument


def _entry(name: str, summary: str, note: str, clauses: list[Clause]) -> RosterEntry:
    return RosterEntry(name, summary, note, TermsDocument.create(clauses, f"{name}: {summary}"))


_SHOP_PURPOSES: Final = ("customer-support", "delivery", "order-fulfilment", "payment")

#: Roster name -> entry. Names are upper-case tokens; the documents are vocabulary v1.
ROSTER: Final[Mapping[str, RosterEntry]] = {
    entry.name: entry
    for entry in (
        _entry(
            "P2B1",
            "#NoStalking",
            "Customer Commons #NoStalking (P2B1): service without tracking or onward sharing",
            [
                Clause.of("amity.no-tracking"),
                Clause.of("amity.purpose-limitation", purposes=("service-provision",)),
                Clause.of("amity.no-third-party-sharing", allow_aggregate=False),
            ],
        ),
        _entry(
            "AMITY-SHOP",
            "buying and receiving goods",
            "amity roster: P2B1 widened to ordering, paying, delivery and support",
            [
                Clause.of("amity.no-tracking"),
                Clause.of("amity.purpose-limitation", purposes=_SHOP_PURPOSES),
                Clause.of("amity.no-third-party-sharing", allow_aggregate=True),
                Clause.of("amity.delete-on-end", days=30),
                Clause.of("amity.no-profiling", ads_opt_in=False),
                Clause.of("amity.access-to-my-data", within_days=30, format="any"),
            ],
        ),
        _entry(
            "AMITY-STRICT",
            "every v1 clause, tightly",
            "amity roster: every clause of vocabulary v1 at its strict end",
            [
                Clause.of("amity.no-tracking"),
                Clause.of("amity.purpose-limitation", purposes=("service-provision",)),
                Clause.of("amity.no-third-party-sharing", allow_aggregate=False),
                Clause.of("amity.delete-on-end", days=0),
                Clause.of("amity.max-retention", days=90),
                Clause.of("amity.no-profiling", ads_opt_in=False),
                Clause.of("amity.access-to-my-data", within_days=7, format="json"),
                Clause.of("amity.notify-policy-change", days_notice=30),
                Clause.of("amity.breach-notice", hours=24),
            ],
        ),
    )
}


def roster_entry(name: str) -> RosterEntry:
    """The roster entry called ``name``; UsageError listing the known names if there is none."""
    found = ROSTER.get(name)
    if found is None:
        raise UsageError(f"no roster agreement {name!r:.40}; the roster has {', '.join(ROSTER)}")
    return found


def roster_name(document: TermsDocument) -> str | None:
    """The roster name of ``document`` if it is exactly a roster document (same terms id)."""
    return next((e.name for e in ROSTER.values() if e.document.terms_id == document.terms_id), None)


@functools.lru_cache(maxsize=256)
def _decode_terms(data: bytes) -> TermsDocument:
    return TermsDocument._decode(data)
