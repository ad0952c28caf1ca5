"""Terms documents and the vocabulary: the spec vectors, the roster, round trips, fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.encoding import encode
from amity.protocol.errors import AmityError, RemoteError, UsageError
from amity.protocol.terms import (
    PURPOSES,
    ROSTER,
    VOCABULARIES,
    Clause,
    ClauseSpec,
    ParamKind,
    TermsDocument,
    clause_spec,
    purpose_iri,
    render_text,
    roster_entry,
    roster_name,
)
from tests.strategies import arbitrary_bytes, mutated, values
from tests.vectors import load_vector_file, unhex

TERMS_FILE = load_vector_file("terms")


def cases(*operations: str) -> dict[str, Any]:
    """parametrize arguments for the vectors of spec/vectors/terms.json with these operations."""
    chosen = [v for v in TERMS_FILE["vectors"] if v["operation"] in operations]
    assert chosen, operations
    return {"argvalues": chosen, "ids": [v["name"] for v in chosen]}


def wire_clause(pair: list[Any]) -> Clause:
    clause_id, params = pair
    return Clause(clause_id, tuple(tuple(p) if isinstance(p, list) else p for p in params))


# -- strategies (used by test_policy and test_negotiation too) -------------------------------------


def clauses(spec: ClauseSpec) -> st.SearchStrategy[Clause]:
    """Valid clauses of one vocabulary entry, parameters anywhere in their ranges."""
    params: list[st.SearchStrategy[Any]] = []
    for param in spec.params:
        if param.kind is ParamKind.INT:
            params.append(st.integers(param.lo, param.hi))
        elif param.kind is ParamKind.BOOL:
            params.append(st.booleans())
        elif param.kind is ParamKind.ENUM:
            params.append(st.sampled_from(param.choices))
        else:
            members = st.sets(st.sampled_from(param.choices), min_size=1, max_size=5)
            params.append(members.map(lambda s: tuple(sorted(s))))
    return st.tuples(*params).map(lambda ps: Clause(spec.clause_id, ps))


def terms_documents() -> st.SearchStrategy[TermsDocument]:
    """Any v1 document: 1..9 distinct clauses, a title, text rendered or free."""
    specs = st.lists(
        st.sampled_from(list(VOCABULARIES[1].values())),
        min_size=1,
        max_size=9,
        unique_by=lambda s: s.clause_id,
    )
    titles = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
    return st.builds(
        TermsDocument.create,
        specs.flatmap(lambda ss: st.tuples(*(clauses(s) for s in ss))),
        titles,
    )


# -- vectors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **cases("terms", "roster"))
def test_terms_vector(vector: dict[str, Any]) -> None:
    data = unhex(vector, "terms_hex")
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            TermsDocument.decode(data)
        assert info.value.code == vector["error"], info.value
        return
    made = TermsDocument(
        tuple(wire_clause(c) for c in vector["clauses"]), vector["title"], vector["human_text"]
    )
    assert made.encoded == data
    assert made.terms_id.hex() == vector["terms_id_hex"]
    assert TermsDocument.decode(data) == made
    if vector["operation"] == "roster":
        entry = roster_entry(vector["roster"])
        assert entry.document == made
        assert roster_name(made) == vector["roster"]


def test_documents_section_matches_vectors() -> None:
    for name, hex_ in TERMS_FILE["documents"].items():
        TermsDocument.decode(bytes.fromhex(hex_))  # every named document is valid
        assert name


def test_vocabulary_listing_matches_the_module() -> None:
    listed = {entry["clause_id"]: entry for entry in TERMS_FILE["vocabulary"]}
    assert set(listed) == set(VOCABULARIES[1])
    for clause_id, spec in VOCABULARIES[1].items():
        entry = listed[clause_id]
        assert entry["template"] == spec.template
        assert [p["name"] for p in entry["params"]] == [p.name for p in spec.params]


def test_roster_is_complete_and_p2b1_is_nostalking() -> None:
    assert set(ROSTER) == {"P2B1", "AMITY-SHOP", "AMITY-STRICT"}
    p2b1 = ROSTER["P2B1"].document
    assert p2b1.clause_ids == (
        "amity.no-third-party-sharing",
        "amity.no-tracking",
        "amity.purpose-limitation",
    )
    assert p2b1.clause("amity.purpose-limitation") == Clause(
        "amity.purpose-limitation", (("service-provision",),)
    )
    with pytest.raises(UsageError, match="P2B1"):
        roster_entry("P2B9")
    assert roster_name(TermsDocument.create([Clause.of("amity.no-tracking")])) is None


def test_purposes_map_to_dpv() -> None:
    assert purpose_iri("service-provision") == "https://w3id.org/dpv#ServiceProvision"
    assert purpose_iri("delivery") == "https://w3id.org/dpv#DeliveryOfGoods"
    assert purpose_iri("warranty-and-recalls") is None
    purposes = clause_spec("amity.purpose-limitation").params[0]
    assert purposes.choices == tuple(sorted(PURPOSES))


# -- local construction ----------------------------------------------------------------------------


def test_clause_of_checks_names_and_ranges() -> None:
    assert Clause.of("amity.delete-on-end", days=30).params == (30,)
    assert Clause.of("amity.purpose-limitation", purposes=("payment", "delivery")).params == (
        ("delivery", "payment"),
    )
    for bad in (
        lambda: Clause.of("amity.delete-on-end", days=366),
        lambda: Clause.of("amity.delete-on-end"),
        lambda: Clause.of("amity.delete-on-end", days=3, weeks=1),
        lambda: Clause.of("amity.no-spam"),
        lambda: Clause.of("amity.no-profiling", ads_opt_in=1),
    ):
        with pytest.raises(UsageError):
            bad()


def test_document_constructor_refuses_what_decode_refuses() -> None:
    nt, dl = Clause.of("amity.no-tracking"), Clause.of("amity.delete-on-end", days=1)
    with pytest.raises(UsageError):
        TermsDocument((nt, dl))  # not in order
    with pytest.raises(UsageError):
        TermsDocument((dl, dl))
    with pytest.raises(UsageError):
        TermsDocument(())
    with pytest.raises(UsageError):
        TermsDocument((nt,), title="two\nlines")
    with pytest.raises(UsageError):
        TermsDocument((Clause("amity.delete-on-end", (400,)),))
    assert TermsDocument.create([nt, dl]).clause_ids == ("amity.delete-on-end", "amity.no-tracking")


def test_render_text() -> None:
    text = render_text([Clause.of("amity.breach-notice", hours=72)])
    assert text == "- If data about me is breached, you tell me within 72 hours."


# -- properties ------------------------------------------------------------------------------------


@given(terms_documents())
def test_document_round_trip(document: TermsDocument) -> None:
    decoded = TermsDocument.decode(document.encoded)
    assert decoded == document
    assert decoded.terms_id == document.terms_id


@given(arbitrary_bytes(256))
def test_decode_arbitrary_bytes_raises_only_remote_errors(data: bytes) -> None:
    with contextlib.suppress(RemoteError):
        TermsDocument.decode(data)


@given(st.lists(values(max_depth=3), max_size=6))
def test_decode_well_formed_values(fields: list[Any]) -> None:
    with contextlib.suppress(RemoteError):
        TermsDocument.decode(encode(fields))


@given(mutated(terms_documents().map(lambda d: d.encoded)))
def test_decode_mutated_documents(data: bytes) -> None:
    try:
        document = TermsDocument.decode(data)
    except RemoteError:
        return
    assert document.encoded == data  # whatever decodes is canonical
