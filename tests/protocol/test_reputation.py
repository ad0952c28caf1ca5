"""Attestations, rebuttals and personalised trust: the spec vectors and their properties."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import (
    Attestation,
    Rebuttal,
    Verdict,
)
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.terms import TermsDocument
from amity.protocol.trust import Standing, TrustResult, compute_trust
from amity.protocol.trustindex import TrustState
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
    attester: SigningIdentity,
    subject: SigningIdentity,
    verdict: str,
    k: int,
    expires_ms: int = EXPIRES,
) -> Attestation:
    return Attestation.issue(
        attester,
        _agreement(attester, subject),
        clause_id="amity.delete-on-end",
        verdict=Verdict(verdict),
        issued_ms=T0 + k,
        expires_ms=expires_ms,
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
    assert made == decoded


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
    vouched = [IDS[name].peer_id for name in vector["vouched"]]
    result = compute_trust(
        IDS[vector["owner"]].peer_id,
        attestations,
        vouched=vouched,
        damping=vector["damping"],
        max_iterations=vector["max_iterations"],
        epsilon=vector["epsilon"],
    )
    assert result.converged
    assert [NAME_OF[p] for p in result.pretrusted] == vector["pretrusted"]
    assert {NAME_OF[p] for p in result.scores} == set(vector["scores"])
    for subject, inflows in result.explanations.items():
        for inflow in inflows:
            expected = vector["credibility"][NAME_OF[inflow.attester]]
            assert inflow.credibility == pytest.approx(expected, abs=1e-9), subject
    for name, expected in vector["scores"].items():
        assert result.score(IDS[name].peer_id) == pytest.approx(expected, abs=1e-9), name
    # The explanation accounts for each subject's score: inflows plus the damping share.
    for subject, inflows in result.explanations.items():
        teleport = 0.15 / len(result.pretrusted) if subject in result.pretrusted else 0.0
        inflow_total = sum(i.weight for i in inflows)
        assert inflow_total <= result.score(subject) + 1e-9
        assert all(i.attestation_ids for i in inflows)
        assert teleport <= result.score(subject) + 1e-9
    _check_standings(result, vector)
    # The same attestations fed one by one into a TrustState give the same answers.
    state = TrustState(
        IDS[vector["owner"]].peer_id,
        vouched=vouched,
        damping=vector["damping"],
        max_iterations=vector["max_iterations"],
        epsilon=vector["epsilon"],
    )
    for item in attestations:
        assert state.add(item)
        state.result()
    _check_standings(state.result(), vector)


def _check_standings(result: TrustResult, vector: dict[str, Any]) -> None:
    assert {NAME_OF[p] for p in result.standings} == set(vector["standings"])
    for name, (honoured, breached) in vector["standings"].items():
        standing = result.standing(IDS[name].peer_id)
        assert standing.honoured == pytest.approx(honoured, abs=1e-9), name
        assert standing.breached == pytest.approx(breached, abs=1e-9), name
    for name, expected in vector["scores"].items():
        assert result.score(IDS[name].peer_id) == pytest.approx(expected, abs=1e-9), name
    # Each standing is the attesters' weights times their verdict fractions (§4.6).
    for subject, inflows in result.explanations.items():
        rated = [i for i in inflows if i.honoured + i.breached]
        standing = result.standing(subject)
        assert standing.honoured == pytest.approx(
            sum(i.weight_as_attester * i.honoured / (i.honoured + i.breached) for i in rated)
        )
        assert standing.breached == pytest.approx(
            sum(i.weight_as_attester * i.breached / (i.honoured + i.breached) for i in rated)
        )
        for inflow in inflows:
            expected = (
                1.0
                if inflow.attester == result.owner
                else inflow.credibility
                * min(1.0, inflow.attester_score / (0.15 / len(result.pretrusted)))
            )
            assert inflow.weight_as_attester == pytest.approx(expected, abs=1e-9)


def test_standing_of_an_unknown_peer_has_no_evidence() -> None:
    result = compute_trust(IDS["alice"].peer_id, [_attest(IDS["alice"], IDS["bob"], "breached", 0)])
    unknown = result.standing(IDS["v1"].peer_id)
    assert unknown == Standing(0.0, 0.0)
    assert (unknown.evidence, unknown.value) == (0.0, None)
    bob = result.standing(IDS["bob"].peer_id)
    assert (bob.honoured, bob.breached, bob.evidence, bob.value) == (0.0, 1.0, 1.0, -1.0)
    assert result.pretrusted == (IDS["alice"].peer_id,)


# -- properties ------------------------------------------------------------------------------------

_REAL = ["alice", "bob", "carol", "dave", "v1", "v2"]
_VERDICTS = ["honoured", "honoured", "breached", "disputed"]
_edges = st.lists(
    st.tuples(st.sampled_from(_REAL), st.sampled_from(_REAL), st.sampled_from(_VERDICTS)).filter(
        lambda e: e[0] != e[1]
    ),
    max_size=10,
)
_SYBILS = [SigningIdentity(bytes([0xE0 + i]) * 32) for i in range(6)]


def _build(edges: list[tuple[str, str, str]]) -> list[Attestation]:
    return [_attest(IDS[a], IDS[s], v, k) for k, (a, s, v) in enumerate(edges)]


@settings(max_examples=40, deadline=None)
@given(_edges)
def test_scores_are_a_probability_distribution(edges: list[tuple[str, str, str]]) -> None:
    result = compute_trust(IDS["alice"].peer_id, _build(edges))
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)
    assert all(score >= 0.0 for score in result.scores.values())
    assert result.iterations <= 100


@settings(max_examples=40, deadline=None)
@given(_edges)
def test_standing_values_lie_in_minus_one_to_one(edges: list[tuple[str, str, str]]) -> None:
    result = compute_trust(IDS["alice"].peer_id, _build(edges))
    for standing in result.standings.values():
        assert standing.honoured >= 0.0
        assert standing.breached >= 0.0
        value = standing.value
        assert (value is None) == (standing.evidence == 0.0)
        assert value is None or -1.0 <= value <= 1.0


@settings(max_examples=25, deadline=None)
@given(_edges, st.sampled_from([0.15, 0.3, 0.6]))
def test_the_iteration_keeps_within_its_error_bound(
    edges: list[tuple[str, str, str]], damping: float
) -> None:
    owner, attestations = IDS["alice"].peer_id, _build(edges)
    exact = compute_trust(owner, attestations, damping=damping, max_iterations=5000, epsilon=1e-14)
    assert exact.converged
    for steps in (1, 2, 3, 5, 10, 30):
        early = compute_trust(
            owner, attestations, damping=damping, max_iterations=steps, epsilon=1e-300
        )
        assert early.iterations == steps or early.converged
        error = sum(abs(early.score(peer) - score) for peer, score in exact.scores.items())
        assert error <= 2 * (1 - damping) ** steps + 1e-12


@settings(max_examples=25, deadline=None)
@given(
    _edges,
    st.lists(st.sampled_from(_REAL[1:]), max_size=3),
    st.sampled_from(_REAL[1:]),
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from(_VERDICTS)).filter(
            lambda e: e[0] != e[1]
        ),
        max_size=10,
    ),
)
def test_identities_without_a_link_to_the_owner_change_nothing(
    edges: list[tuple[str, str, str]],
    friends: list[str],
    target: str,
    sybil_edges: list[tuple[int, int, str]],
) -> None:
    # A Sybil clique with real agreements among themselves and with the target, vouching for
    # each other and for the target: no score, no standing and no credibility moves, not even by
    # a rounding, whoever the owner vouches for.
    owner = IDS["alice"].peer_id
    real = _build(edges)
    sybil = [
        _attest(_SYBILS[a], _SYBILS[s], v, 1000 + k) for k, (a, s, v) in enumerate(sybil_edges)
    ]
    sybil += [
        _attest(identity, IDS[target], "honoured", 2000 + k) for k, identity in enumerate(_SYBILS)
    ]
    vouched = [IDS[name].peer_id for name in friends]
    before = compute_trust(owner, real, vouched=vouched)
    after = compute_trust(owner, [*sybil, *real], vouched=vouched)
    for peer, score in before.scores.items():
        assert after.scores[peer] == score
    for peer, standing in before.standings.items():
        assert after.standings[peer] == standing
    for peer, inflows in before.explanations.items():
        theirs = {i.attester: i.credibility for i in after.explanations[peer]}
        assert all(theirs[i.attester] == i.credibility for i in inflows)
    if IDS[target].peer_id not in before.standings:
        assert after.standing(IDS[target].peer_id).evidence == 0.0
    for identity in _SYBILS:
        assert after.score(identity.peer_id) == 0.0
        assert after.standing(identity.peer_id).evidence == 0.0
    assert before.iterations == after.iterations


@pytest.fixture(scope="module")
def strangers() -> list[Attestation]:
    """10 000 attestations among 40 identities that have no agreement with anyone Alice knows."""
    people = [SigningIdentity(bytes([0x01, i]) * 16) for i in range(20)]
    shops = [SigningIdentity(bytes([0x02, i]) * 16) for i in range(20)]
    agreements = [
        (person, shop, Agreement.create(TERMS, person, shop, NID, T0))
        for p, person in enumerate(people)
        for s, shop in enumerate(shops)
        if (p + s) % 5 == 0
    ]
    made = []
    for k in range(10_000):
        person, shop, agreement = agreements[k % len(agreements)]
        attester = person if k % 3 else shop
        verdict = Verdict.BREACHED if k % 7 == 0 else Verdict.HONOURED
        made.append(
            Attestation.issue(
                attester,
                agreement,
                clause_id="amity.delete-on-end",
                verdict=verdict,
                issued_ms=T0 + k,
                expires_ms=EXPIRES,
            )
        )
    for sample in (made[0], made[-1]):
        assert Attestation.decode(sample.encoded) == sample
    return made


def test_ten_thousand_strangers_get_no_score_and_no_standing(
    strangers: list[Attestation],
) -> None:
    owner = IDS["alice"].peer_id
    real = _build([("alice", "bob", "honoured"), ("bob", "v1", "honoured")])
    before = compute_trust(owner, real)
    after = compute_trust(owner, [*strangers, *real])
    assert len(after.scores) == len(before.scores) + 40
    assert len(after.standings) == len(before.standings) + 40
    for peer in {a.attester for a in strangers} | {a.subject for a in strangers}:
        assert after.scores[peer] == 0.0
        assert after.standings[peer] == Standing(0.0, 0.0)
    assert {p: after.scores[p] for p in before.scores} == dict(before.scores)
    assert {p: after.standings[p] for p in before.standings} == dict(before.standings)
    state = TrustState(owner)
    for item in [*strangers, *real]:
        state.add(item)
    assert state.result().scores == after.scores


_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(_REAL),
            st.sampled_from(_REAL),
            st.sampled_from(_VERDICTS),
            st.integers(1, 30),
        ).filter(lambda o: o[1] != o[2]),
        st.tuples(st.just("remove"), st.integers(0, 40)),
        st.tuples(st.just("direct"), st.none() | st.lists(st.sampled_from(_REAL), max_size=3)),
        st.tuples(st.just("vouched"), st.none() | st.lists(st.sampled_from(_REAL), max_size=3)),
        st.tuples(st.just("expire"), st.integers(0, 30)),
    ),
    max_size=25,
)


def _same(state: TrustResult, cold: TrustResult) -> None:
    assert state.pretrusted == cold.pretrusted
    assert list(state.scores) == list(cold.scores)
    for peer, score in cold.scores.items():
        assert state.scores[peer] == pytest.approx(score, abs=1e-9)
    assert list(state.standings) == list(cold.standings)
    for peer, standing in cold.standings.items():
        assert state.standings[peer].honoured == pytest.approx(standing.honoured, abs=1e-9)
        assert state.standings[peer].breached == pytest.approx(standing.breached, abs=1e-9)
    assert list(state.explanations) == list(cold.explanations)
    for peer, inflows in cold.explanations.items():
        ours = state.explanations[peer]
        assert [(i.attester, i.attestation_ids) for i in ours] == [
            (i.attester, i.attestation_ids) for i in inflows
        ]
        assert [(i.honoured, i.breached, i.disputed) for i in ours] == [
            (i.honoured, i.breached, i.disputed) for i in inflows
        ]
        assert [i.credibility for i in ours] == [i.credibility for i in inflows]


@settings(max_examples=40, deadline=None)
@given(_operations, st.sampled_from([1, 1024]))
def test_trust_state_agrees_with_compute_trust(
    operations: list[tuple[Any, ...]], compact_after: int
) -> None:
    # With compact_after = 1 the state rebuilds its arrays after most removals.
    _replay(operations, compact_after)


def _replay(operations: list[tuple[Any, ...]], compact_after: int) -> None:
    owner = IDS["alice"].peer_id
    settings_ = {"max_iterations": 2000, "epsilon": 1e-13}
    state = TrustState(owner, compact_after=compact_after, **settings_)
    live: dict[bytes, Attestation] = {}
    direct: Iterable[PeerId] | None = None
    vouched: Iterable[PeerId] | None = None
    for k, operation in enumerate(operations):
        now_ms = None
        if operation[0] == "add":
            _, attester, subject, verdict, lifetime = operation
            item = _attest(IDS[attester], IDS[subject], verdict, k, T0 + 100 + lifetime)
            assert state.add(item)
            assert not state.add(item)
            live[item.attestation_id] = item
        elif operation[0] == "remove" and live:
            gone = list(live)[operation[1] % len(live)]
            assert state.remove(gone)
            assert not state.remove(gone)
            del live[gone]
        elif operation[0] == "direct":
            direct = None if operation[1] is None else [IDS[n].peer_id for n in operation[1]]
            state.set_direct(direct)
        elif operation[0] == "vouched":
            vouched = None if operation[1] is None else [IDS[n].peer_id for n in operation[1]]
            state.set_vouched(vouched)
        elif operation[0] == "expire":
            now_ms = T0 + 100 + operation[1]
            live = {i: a for i, a in live.items() if a.expires_ms > now_ms}
        cold = compute_trust(owner, live.values(), direct=direct, vouched=vouched, **settings_)
        _same(state.result(now_ms), cold)
        assert len(state) == len(live)


def test_trust_state_compacts_after_removals_and_keeps_agreeing() -> None:
    owner = IDS["alice"].peer_id
    chain = [
        _attest(IDS[a], IDS[s], v, k)
        for k, (a, s, v) in enumerate(BY_NAME["trust-chain"]["attestations"])
    ]
    extra = _attest(IDS["carol"], IDS["v1"], "breached", 99)
    state = TrustState(owner, max_iterations=2000, epsilon=1e-13, compact_after=0)
    for item in chain:
        state.add(item)
    state.result()
    for item in chain[2:7]:
        state.remove(item.attestation_id)
    assert state.compactions >= 1
    kept = [*chain[:2], *chain[7:]]
    _same(state.result(), compute_trust(owner, kept, max_iterations=2000, epsilon=1e-13))
    state.add(extra)
    cold = compute_trust(owner, [*kept, extra], max_iterations=2000, epsilon=1e-13)
    _same(state.result(), cold)


def test_trust_state_refuses_what_it_cannot_count() -> None:
    state = TrustState(IDS["alice"].peer_id)
    with pytest.raises(AmityError):
        state.add(_valid())  # type: ignore[arg-type]
    with pytest.raises(AmityError):
        state.remove("an id")  # type: ignore[arg-type]
    with pytest.raises(AmityError):
        state.set_direct(["bob"])  # type: ignore[list-item]
    with pytest.raises(AmityError):
        TrustState(IDS["alice"].peer_id, damping=0)
    assert not state.remove(bytes(32))
    assert state.result().scores == {IDS["alice"].peer_id: 1.0}


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


@settings(max_examples=40, deadline=None)
@given(
    st.booleans(),
    st.sampled_from(list(Verdict)),
    st.lists(st.binary(min_size=32, max_size=32), max_size=16),
    st.integers(0, 10**12),
    st.integers(1, 10**12),
    st.text(max_size=70),
)
def test_issue_makes_what_decode_reads(
    by_person: bool, verdict: Verdict, evidence: list[bytes], issued: int, span: int, note: str
) -> None:
    """issue() does not verify what it signs: decode(), which does, must read back the same."""
    attester = IDS["person"] if by_person else IDS["vendor"]
    made = Attestation.issue(
        attester,
        _agreement(IDS["person"], IDS["vendor"]),
        clause_id="amity.delete-on-end",
        verdict=verdict,
        evidence=evidence,
        issued_ms=T0 + issued,
        expires_ms=T0 + issued + span,
        note=note,
    )
    assert Attestation.decode(made.encoded) == made


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
