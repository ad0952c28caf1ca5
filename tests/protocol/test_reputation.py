"""Attestations, rebuttals and personalised trust: the spec vectors and their properties."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Rebuttal, Verdict
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.terms import TermsDocument
from amity.protocol.trust import compute_trust
from tests.strategies import mutated, seeds
from tests.vectors import load_vector_file, unhex, vector_cases

FILE = load_vector_file("reputation")
IDS = {n: SigningIdentity(bytes.fromhex(i["seed_hex"])) for n, i in FILE["identities"].items()}
NAME_OF = {i.peer_id: n for n, i in IDS.items()}
TERMS = TermsDocument.decode(bytes.fromhex(FILE["terms_hex"]))
NID = bytes(range(0x10, 0x20))
T0 = 1_767_225_600_000
EXPIRES = T0 + 400 * 86_400_000
BY_NAME = {v["name"]: v for v in FILE["vectors"]}
_AGREEMENTS: dict[tuple[bytes, bytes], Agreement] = {}


def _agreement(person: SigningIdentity, vendor: SigningIdentity) -> Agreement:
    pair = (person.peer_id.key, vendor.peer_id.key)
    if pair not in _AGREEMENTS:
        _AGREEMENTS[pair] = Agreement.create(TERMS, person, vendor, NID, T0)
    return _AGREEMENTS[pair]


def _attest(
    attester: SigningIdentity, subject: SigningIdentity, verdict: str, k: int
) -> Attestation:
    return Attestation.issue(
        attester,
        _agreement(attester, subject),
        clause_id="amity.delete-on-end",
        verdict=Verdict(verdict),
        issued_ms=T0 + k,
        expires_ms=EXPIRES,
    )


def _cases(operation: str) -> dict[str, Any]:
    cases = vector_cases("reputation")
    keep = [i for i, v in enumerate(cases["argvalues"]) if v["operation"] == operation]
    return {
        "argvalues": [cases["argvalues"][i] for i in keep],
        "ids": [cases["ids"][i] for i in keep],
    }


@pytest.mark.parametrize("vector", **_cases("attestation"))
def test_attestation_vector(vector: dict[str, Any]) -> None:
    data = unhex(vector, "attestation_hex")
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            Attestation.decode(data, vector.get("now_ms"))
        assert info.value.code == vector["error"], info.value
        return
    decoded = Attestation.decode(data, vector["now_ms"])
    assert NAME_OF[decoded.attester] == vector["attester"]
    assert NAME_OF[decoded.subject] == vector["subject"]
    assert decoded.agreement.encoded.hex() == vector["agreement_hex"]
    assert (decoded.clause_id, decoded.verdict.value) == (vector["clause_id"], vector["verdict"])
    assert [h.hex() for h in decoded.evidence] == vector["evidence_hex"]
    assert (decoded.issued_ms, decoded.expires_ms) == (vector["issued_ms"], vector["expires_ms"])
    assert decoded.note == vector["note"]
    assert decoded.signed_bytes.hex() == vector["signed_bytes_hex"]
    assert decoded.signature.hex() == vector["signature_hex"]
    assert decoded.attestation_id.hex() == vector["attestation_id_hex"]
    made = Attestation.issue(
        IDS[vector["attester"]],
        Agreement.decode(unhex(vector, "agreement_hex")),
        clause_id=vector["clause_id"],
        verdict=Verdict(vector["verdict"]),
        evidence=[bytes.fromhex(h) for h in vector["evidence_hex"]],
        issued_ms=vector["issued_ms"],
        expires_ms=vector["expires_ms"],
        note=vector["note"],
    )
    assert made.encoded == data


@pytest.mark.parametrize("vector", **_cases("rebuttal"))
def test_rebuttal_vector(vector: dict[str, Any]) -> None:
    attestation = Attestation.decode(unhex(BY_NAME[vector["answers"]], "attestation_hex"))
    data = unhex(vector, "rebuttal_hex")
    if "error" in vector:
        with pytest.raises(AmityError) as info:
            Rebuttal.decode(data, attestation)
        assert info.value.code == vector["error"], info.value
        return
    decoded = Rebuttal.decode(data, attestation)
    assert NAME_OF[decoded.rebutter] == vector["rebutter"]
    assert decoded.attestation_id.hex() == vector["attestation_id_hex"]
    assert (decoded.issued_ms, decoded.text) == (vector["issued_ms"], vector["text"])
    made = Rebuttal.issue(
        IDS[vector["rebutter"]], attestation, text=vector["text"], issued_ms=vector["issued_ms"]
    )
    assert made.encoded == data


@pytest.mark.parametrize("vector", **_cases("trust"))
def test_trust_vector(vector: dict[str, Any]) -> None:
    attestations = [
        _attest(IDS[a], IDS[s], verdict, k)
        for k, (a, s, verdict) in enumerate(vector["attestations"])
    ]
    result = compute_trust(
        IDS[vector["owner"]].peer_id,
        attestations,
        damping=vector["damping"],
        max_iterations=vector["max_iterations"],
        epsilon=vector["epsilon"],
    )
    assert result.converged
    assert [NAME_OF[p] for p in result.pretrusted] == vector["pretrusted"]
    assert {NAME_OF[p] for p in result.scores} == set(vector["scores"])
    for name, expected in vector["scores"].items():
        assert result.score(IDS[name].peer_id) == pytest.approx(expected, abs=1e-9), name
    # The explanation accounts for each subject's score: inflows plus the damping share.
    for subject, inflows in result.explanations.items():
        teleport = 0.15 / len(result.pretrusted) if subject in result.pretrusted else 0.0
        inflow_total = sum(i.weight for i in inflows)
        assert inflow_total <= result.score(subject) + 1e-9
        assert all(i.attestation_ids for i in inflows)
        assert teleport <= result.score(subject) + 1e-9


# -- properties ------------------------------------------------------------------------------------

_REAL = ["alice", "bob", "carol", "dave", "v1", "v2"]
_VERDICTS = ["honoured", "honoured", "breached", "disputed"]
_edges = st.lists(
    st.tuples(st.sampled_from(_REAL), st.sampled_from(_REAL), st.sampled_from(_VERDICTS)).filter(
        lambda e: e[0] != e[1]
    ),
    max_size=10,
)
_SYBILS = [SigningIdentity(bytes([0xE0 + i]) * 32) for i in range(4)]


def _build(edges: list[tuple[str, str, str]]) -> list[Attestation]:
    return [_attest(IDS[a], IDS[s], v, k) for k, (a, s, v) in enumerate(edges)]


@settings(max_examples=40, deadline=None)
@given(_edges)
def test_scores_are_a_probability_distribution(edges: list[tuple[str, str, str]]) -> None:
    result = compute_trust(IDS["alice"].peer_id, _build(edges))
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)
    assert all(score >= 0.0 for score in result.scores.values())
    assert result.iterations <= 100


@settings(max_examples=25, deadline=None)
@given(
    _edges,
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from(_VERDICTS)).filter(
            lambda e: e[0] != e[1]
        ),
        max_size=8,
    ),
)
def test_identities_without_a_link_to_the_owner_change_no_score(
    edges: list[tuple[str, str, str]], sybil_edges: list[tuple[int, int, str]]
) -> None:
    owner = IDS["alice"].peer_id
    real = _build(edges)
    sybil = [
        _attest(_SYBILS[a], _SYBILS[s], v, 1000 + k) for k, (a, s, v) in enumerate(sybil_edges)
    ]
    before = compute_trust(owner, real)
    after = compute_trust(owner, [*sybil, *real])
    for peer, score in before.scores.items():
        assert after.scores[peer] == pytest.approx(score, abs=1e-12)
    for identity in _SYBILS:
        assert after.score(identity.peer_id) == 0.0
    assert before.iterations == after.iterations


def test_owner_without_attestations_trusts_only_itself() -> None:
    result = compute_trust(IDS["alice"].peer_id, [])
    assert result.scores == {IDS["alice"].peer_id: 1.0}
    assert result.converged


def _valid() -> bytes:
    return unhex(BY_NAME["attestation-valid"], "attestation_hex")


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=200), mutated(st.just(_valid()))))
def test_attestation_decode_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        Attestation.decode(data, T0)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=120), mutated(st.just(unhex(BY_NAME["rebuttal-valid"], "rebuttal_hex")))
    )
)
def test_rebuttal_decode_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        Rebuttal.decode(data, Attestation.decode(_valid()))


@settings(max_examples=10, deadline=None)
@given(seeds())
def test_a_stranger_cannot_issue(seed: bytes) -> None:
    stranger = SigningIdentity(seed)
    agreement = _agreement(IDS["person"], IDS["vendor"])
    if stranger.peer_id in (agreement.person, agreement.vendor):
        return
    with pytest.raises(AmityError):
        Attestation.issue(
            stranger,
            agreement,
            clause_id="amity.delete-on-end",
            verdict=Verdict.BREACHED,
            issued_ms=T0,
            expires_ms=EXPIRES,
        )


def test_peer_ids_in_results_are_peer_ids() -> None:
    result = compute_trust(IDS["alice"].peer_id, _build([("alice", "bob", "honoured")]))
    assert all(isinstance(p, PeerId) for p in result.scores)
