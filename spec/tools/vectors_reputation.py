"""Test vectors for spec/reputation.md: attestations, rebuttals and personalised trust.

Keys come from fixed seeds and times are fixed, so the output is identical on every run. The
embedded agreements are made with amity (their bytes are pinned by spec/vectors/terms.json);
attestations and rebuttals are packed here with msgpack itself and signed with PyNaCl directly.
Expected trust scores are the exact fixed point of spec/reputation.md §4.3, solved here with
fractions by Gaussian elimination, not by amity's iteration.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

import msgpack
import nacl.signing

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import MAX_REBUTTAL_BYTES
from amity.protocol.credibility import PRIOR, SHARPNESS
from amity.protocol.errors import (
    AgreementSignatureError,
    AttestationClauseError,
    AttestationExpiredError,
    AttestationSignatureError,
    RebuttalMismatchError,
    StrangerError,
    TooLargeError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.terms import Clause, TermsDocument

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
NAMES = [
    *["person", "vendor", "mallory", "alice", "bob", "carol", "dave", "v1", "v2", "s1", "s2"],
    "v3",
]
SEEDS = {name: bytes([0x11 * (i + 1) % 256 ^ 0x5A]) * 32 for i, name in enumerate(NAMES)}
KEYS = {name: nacl.signing.SigningKey(seed) for name, seed in SEEDS.items()}
PEER = {name: bytes(key.verify_key) for name, key in KEYS.items()}
NID = bytes(range(0x10, 0x20))
CLAUSE = "amity.delete-on-end"
EXPIRES = T0 + 400 * DAY

NOTES = (
    "Identities: `identities` gives Ed25519 seeds by name. Every agreement uses the terms document "
    "`terms_hex` (one clause, amity.delete-on-end days=30), negotiation id 101112..1f and "
    "agreed_ms T0 = 1767225600000, with the first named party as person. Attestation: "
    "signed_bytes = enc([1, attester, subject, agreement, clause_id, verdict, [evidence...], "
    "issued_ms, expires_ms, note]); the attester signs 'amity/attest/v1\\0' || signed_bytes; the "
    "attestation is enc([signed_bytes, sig]); its id is SHA-256('amity/attestation-id/v1\\0' || "
    "signed_bytes). Rebuttal: signed_bytes = enc([1, subject, attestation_id, issued_ms, text]) "
    "signed under 'amity/rebut/v1\\0'. operation 'attestation': decoding attestation_hex (at "
    "now_ms when given) gives the listed fields, or fails with `error`. 'rebuttal': decoding "
    "rebuttal_hex against the attestation of vector `answers` gives the fields, or fails with "
    "`error`. 'trust': `attestations` lists [attester, subject, verdict]; entry k is an "
    "attestation under the attester-as-person agreement with the subject, clause "
    "amity.delete-on-end, no evidence, issued_ms T0 + k, expires_ms T0 + 400 days, empty note. "
    "compute_trust(owner, ..., vouched=vouched) with the given damping, max_iterations and "
    "epsilon must give `pretrusted`, every attester's credibility in `credibility` (§4.4) and "
    "every score in `scores` to within 1e-9 (peers not listed score 0), and for every subject of "
    "an attestation the standing in `standings` ([honoured, breached], §4.6) to within 1e-9 "
    "(peers not listed have no standing: [0, 0])."
)


def pack(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


TERMS = TermsDocument.create([Clause.of(CLAUSE, days=30)], "Delete on end")


def agreement(person: str, vendor: str) -> bytes:
    made = Agreement.create(
        TERMS, SigningIdentity(SEEDS[person]), SigningIdentity(SEEDS[vendor]), NID, T0
    )
    return made.encoded


def attest(
    signer: str,
    attester: str,
    subject: str,
    agreement_bytes: bytes,
    *,
    clause: str = CLAUSE,
    verdict: str = "honoured",
    evidence: list[bytes] | None = None,
    issued_ms: int = T0 + 10 * DAY,
    expires_ms: int = EXPIRES,
    note: str = "",
) -> tuple[bytes, bytes, bytes]:
    signed = pack(
        [
            1,
            PEER[attester],
            PEER[subject],
            agreement_bytes,
            clause,
            verdict,
            evidence or [],
            issued_ms,
            expires_ms,
            note,
        ]
    )
    sig = KEYS[signer].sign(b"amity/attest/v1\x00" + signed).signature
    return pack([signed, sig]), signed, sig


def attestation_id(signed: bytes) -> bytes:
    return hashlib.sha256(b"amity/attestation-id/v1\x00" + signed).digest()


def _attestation_vectors() -> list[dict[str, Any]]:
    evidence = [hashlib.sha256(b"deletion receipt 1").digest()]
    good_agreement = agreement("person", "vendor")
    good, signed, sig = attest(
        "person",
        "person",
        "vendor",
        good_agreement,
        evidence=evidence,
        note="Deleted on time; receipt attached.",
    )
    forged = msgpack.unpackb(good_agreement)
    forged[2] = (
        KEYS["mallory"].sign(b"amity/agreement/v1\x00" + forged[0]).signature
    )  # the vendor never signed
    forged_bytes, _, _ = attest("person", "person", "vendor", pack(forged), verdict="breached")
    stranger, _, _ = attest("mallory", "mallory", "vendor", good_agreement, verdict="breached")
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    other_clause, _, _ = attest(
        "person", "person", "vendor", good_agreement, clause="amity.no-sale"
    )

    def bad(name: str, description: str, data: bytes, error: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "operation": "attestation",
            "attestation_hex": data.hex(),
            **extra,
            "error": error,
        }

    return [
        {
            "name": "attestation-valid",
            "description": "The person attests that the vendor honoured delete-on-end.",
            "operation": "attestation",
            "attester": "person",
            "subject": "vendor",
            "agreement_hex": good_agreement.hex(),
            "clause_id": CLAUSE,
            "verdict": "honoured",
            "evidence_hex": [h.hex() for h in evidence],
            "issued_ms": T0 + 10 * DAY,
            "expires_ms": EXPIRES,
            "note": "Deleted on time; receipt attached.",
            "now_ms": T0 + 11 * DAY,
            "signed_bytes_hex": signed.hex(),
            "signature_hex": sig.hex(),
            "attestation_id_hex": attestation_id(signed).hex(),
            "attestation_hex": good.hex(),
        },
        bad(
            "attestation-stranger",
            "Mallory attests about the vendor under an agreement she is no party to.",
            stranger,
            StrangerError.code,
        ),
        bad(
            "attestation-forged-agreement",
            "The embedded agreement carries Mallory's signature in the vendor's place.",
            forged_bytes,
            AgreementSignatureError.code,
        ),
        bad(
            "attestation-expired",
            "The valid attestation read at exactly its expires_ms.",
            good,
            AttestationExpiredError.code,
            now_ms=EXPIRES,
        ),
        bad(
            "attestation-signature-flipped",
            "One bit of the attester's signature flipped.",
            bytes(flipped),
            AttestationSignatureError.code,
        ),
        bad(
            "attestation-unknown-clause",
            "A clause the agreement's terms do not contain.",
            other_clause,
            AttestationClauseError.code,
        ),
    ]


def _long_rebuttal(
    name: str, description: str, cited: bytes, size: int, *, whole: bool = False
) -> dict[str, Any]:
    """A validly signed rebuttal whose text is ``size`` bytes, or whose encoding is (``whole``)."""

    def make(text_bytes: int) -> bytes:
        signed = pack([1, PEER["vendor"], cited, T0 + 12 * DAY, "x" * text_bytes])
        sig = KEYS["vendor"].sign(b"amity/rebut/v1\x00" + signed).signature
        return pack([signed, sig])

    text_bytes = size
    if whole:
        text_bytes = size - (len(make(size)) - size)
    data = make(text_bytes)
    assert len(data) == size or not whole, len(data)
    return {
        "name": name,
        "description": description,
        "operation": "rebuttal",
        "answers": "attestation-valid",
        "rebuttal_hex": data.hex(),
        "error": TooLargeError.code,
    }


def _rebuttal_vectors() -> list[dict[str, Any]]:
    good = _attestation_vectors()[0]
    cited = bytes.fromhex(good["attestation_id_hex"])
    text = "The receipt was sent; see our audit entry."
    signed = pack([1, PEER["vendor"], cited, T0 + 12 * DAY, text])
    sig = KEYS["vendor"].sign(b"amity/rebut/v1\x00" + signed).signature
    other = pack([1, PEER["vendor"], bytes(32), T0 + 12 * DAY, text])
    other_sig = KEYS["vendor"].sign(b"amity/rebut/v1\x00" + other).signature
    return [
        {
            "name": "rebuttal-valid",
            "description": "The vendor answers the person's attestation.",
            "operation": "rebuttal",
            "answers": "attestation-valid",
            "rebutter": "vendor",
            "attestation_id_hex": cited.hex(),
            "issued_ms": T0 + 12 * DAY,
            "text": text,
            "signed_bytes_hex": signed.hex(),
            "signature_hex": sig.hex(),
            "rebuttal_hex": pack([signed, sig]).hex(),
        },
        _long_rebuttal(
            "rebuttal-text-too-long",
            "A rebuttal whose text is 1001 UTF-8 bytes (limit 1000).",
            cited,
            1001,
        ),
        _long_rebuttal(
            "rebuttal-too-large",
            f"A rebuttal of {MAX_REBUTTAL_BYTES + 1} bytes in all (limit {MAX_REBUTTAL_BYTES}): "
            "refused before it is decoded.",
            cited,
            MAX_REBUTTAL_BYTES + 1,
            whole=True,
        ),
        {
            "name": "rebuttal-other-attestation",
            "description": "A rebuttal citing another attestation id, read against this one.",
            "operation": "rebuttal",
            "answers": "attestation-valid",
            "rebuttal_hex": pack([other, other_sig]).hex(),
            "error": RebuttalMismatchError.code,
        },
    ]


# -- trust: the exact fixed point ------------------------------------------------------------------


def _counts(attestations: list[list[str]]) -> dict[tuple[str, str], list[int]]:
    counts: dict[tuple[str, str], list[int]] = {}
    for attester, subject, verdict in attestations:
        row = counts.setdefault((attester, subject), [0, 0])
        row[0] += verdict == "honoured"
        row[1] += verdict == "breached"
    return counts


def _net(row: list[int] | None) -> int:
    return 0 if row is None else row[0] - row[1]


def exact_credibility(
    owner: str, attestations: list[list[str]], vouched: list[str]
) -> dict[str, Fraction]:
    """r_i of spec/reputation.md §4.4, exactly: agreement with the owner's own verdicts."""
    counts = _counts(attestations)
    mine = {s: Fraction(h - b, h + b) for (a, s), (h, b) in counts.items() if a == owner and h + b}
    agreed: dict[str, list[Fraction]] = {}
    for (attester, subject), (h, b) in counts.items():
        if attester != owner and h + b and subject in mine:
            agreed.setdefault(attester, []).append(
                1 - abs(mine[subject] - Fraction(h - b, h + b)) / 2
            )
    names = {owner, *vouched, *(n for a in attestations for n in a[:2])}
    credible = {}
    for name in names:
        said = agreed.get(name, [])
        ratio = (sum(said, Fraction(0)) + PRIOR * (name in vouched)) / (len(said) + PRIOR)
        credible[name] = Fraction(1) if name == owner else ratio**SHARPNESS
    return credible


def exact_trust(
    owner: str, attestations: list[list[str]], damping: Fraction, vouched: list[str]
) -> tuple[list[str], dict[str, Fraction]]:
    """Solve t = damping * p + (1 - damping) * C^T t exactly (spec/reputation.md §4)."""
    counts = _counts(attestations)
    direct = {s for a, s, _ in attestations if a == owner} | set(vouched)
    pre = sorted(
        (d for d in direct if d != owner and _net(counts.get((owner, d))) >= 0),
        key=lambda n: PEER[n],
    )
    pre = pre or [owner]
    names = sorted(
        {owner, *pre, *vouched, *(n for a in attestations for n in a[:2])}, key=lambda n: PEER[n]
    )
    index = {n: i for i, n in enumerate(names)}
    size = len(names)
    credible = exact_credibility(owner, attestations, vouched)
    p = [Fraction(1, len(pre)) if n in pre else Fraction(0) for n in names]
    c = [[Fraction(0)] * size for _ in names]
    for i, name in enumerate(names):
        nets = {s: h - b for (a, s), (h, b) in counts.items() if a == name and h - b > 0}
        total = sum(nets.values())
        r = credible[name] if total else Fraction(0)
        # r_i of the row follows the attester's word, the rest goes back to P (§4.3, §4.4).
        c[i] = [(1 - r) * share for share in p]
        for s, net in nets.items():
            c[i][index[s]] += r * Fraction(net, total)
    # (I - (1 - d) C^T) t = d p
    m = [
        [(1 if r == k else 0) - (1 - damping) * c[k][r] for k in range(size)] + [damping * p[r]]
        for r in range(size)
    ]
    for col in range(size):
        pivot = next(r for r in range(col, size) if m[r][col] != 0)
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(size):
            if r != col and m[r][col] != 0:
                factor = m[r][col] / m[col][col]
                m[r] = [x - factor * y for x, y in zip(m[r], m[col], strict=True)]
    return pre, {n: m[i][size] / m[i][i] for i, n in enumerate(names)}


def exact_standings(
    owner: str,
    attestations: list[list[str]],
    damping: Fraction,
    pre: list[str],
    scores: dict[str, Fraction],
    vouched: list[str],
) -> dict[str, tuple[Fraction, Fraction]]:
    """H_j and B_j of spec/reputation.md §4.6, from the exact scores."""
    counts = _counts(attestations)
    credible = exact_credibility(owner, attestations, vouched)
    least = damping / len(pre)  # what a pre-trusted peer holds at the very least
    standings: dict[str, tuple[Fraction, Fraction]] = {}
    for (attester, subject), (h, b) in counts.items():
        weight = (
            Fraction(1)
            if attester == owner
            else credible[attester] * min(Fraction(1), scores[attester] / least)
        )
        honoured, breached = standings.get(subject, (Fraction(0), Fraction(0)))
        if h + b:
            honoured += weight * Fraction(h, h + b)
            breached += weight * Fraction(b, h + b)
        standings[subject] = (honoured, breached)
    return standings


def _trust_vector(
    name: str,
    description: str,
    owner: str,
    attestations: list[list[str]],
    vouched: tuple[str, ...] = (),
) -> dict[str, Any]:
    damping = Fraction(15, 100)
    pre, scores = exact_trust(owner, attestations, damping, list(vouched))
    assert sum(scores.values()) == 1
    standings = exact_standings(owner, attestations, damping, pre, scores, list(vouched))
    credible = exact_credibility(owner, attestations, list(vouched))
    return {
        "name": name,
        "description": description,
        "operation": "trust",
        "owner": owner,
        "vouched": list(vouched),
        "attestations": attestations,
        "damping": 0.15,
        "max_iterations": 400,
        "epsilon": 1e-13,
        "pretrusted": pre,
        "credibility": {n: float(r) for n, r in sorted(credible.items())},
        "scores": {n: float(s) for n, s in sorted(scores.items())},
        "standings": {n: [float(h), float(b)] for n, (h, b) in sorted(standings.items())},
    }


def _trust_vectors() -> list[dict[str, Any]]:
    chain = [
        ["alice", "bob", "honoured"],
        ["alice", "carol", "honoured"],
        ["bob", "v1", "honoured"],
        ["bob", "v1", "honoured"],
        ["bob", "v2", "honoured"],
        ["carol", "v2", "breached"],
        ["carol", "v1", "honoured"],
        ["v1", "bob", "honoured"],
    ]
    sybils = [
        *chain,
        ["s1", "s2", "honoured"],
        ["s2", "s1", "honoured"],
        ["s2", "v2", "honoured"],
        ["s1", "v2", "honoured"],
    ]
    breach = [
        ["alice", "v1", "breached"],
        ["alice", "bob", "honoured"],
        ["bob", "v1", "honoured"],
        ["bob", "v2", "honoured"],
        ["dave", "v2", "honoured"],
    ]
    weights = [
        ["alice", "bob", "honoured"],
        ["alice", "v1", "honoured"],
        ["alice", "v3", "breached"],
        ["bob", "v1", "honoured"],
        ["bob", "v2", "honoured"],
        ["v1", "bob", "honoured"],
        ["v1", "bob", "honoured"],
        ["v1", "bob", "honoured"],
        ["v1", "carol", "honoured"],
        ["carol", "v1", "honoured"],
        ["carol", "v2", "honoured"],
        ["carol", "v2", "breached"],
        ["carol", "v2", "breached"],
        ["carol", "v2", "breached"],
        ["dave", "v2", "breached"],
    ]
    spy = [
        ["alice", "v1", "breached"],
        ["alice", "v2", "honoured"],
        ["bob", "v1", "breached"],
        ["bob", "v2", "honoured"],
        ["bob", "v3", "breached"],
        ["carol", "v1", "honoured"],
        ["carol", "v2", "honoured"],
        ["carol", "v3", "honoured"],
        ["v2", "dave", "honoured"],
        ["dave", "v3", "honoured"],
    ]
    return [
        _trust_vector(
            "trust-credibility",
            "Alice vouches for Bob and Carol. Bob agrees with her on v1 and v2 (credibility 1); "
            "Carol, a spy, praises v1, which breached Alice, so her credibility is "
            "((0 + 1 + 1) / (2 + 1))^3 = 8/27 and v3 stands negative on Bob's word. v2 kept "
            "its agreement with Alice, so it is pre-trusted, but it has never agreed with her "
            "about anything: its praise of Dave passes nothing on, and Dave's of v3 weighs 0.",
            "alice",
            spy,
            ("bob", "carol"),
        ),
        _trust_vector(
            "trust-chain",
            "Alice holds agreements with Bob and Carol and vouches for both; they attest vendors; "
            "a cycle v1 -> bob. Neither has judged anything Alice judged, so both keep their "
            "prior credibility 1; v1's praise of Bob agrees with Alice's, which earns v1 "
            "credibility ((1 + 0) / (1 + 1))^3 = 1/8.",
            "alice",
            chain,
            ("bob", "carol"),
        ),
        _trust_vector(
            "trust-sybil-clique",
            "The chain plus a clique s1, s2 with agreements only among themselves and with v2: "
            "they score 0 and v2 gains nothing; the other scores are those of trust-chain.",
            "alice",
            sybils,
            ("bob", "carol"),
        ),
        _trust_vector(
            "trust-owner-breach",
            "Alice attests v1 breached: v1 is not pre-trusted. She vouches for Bob, who says v1 "
            "honoured: his credibility falls to ((0 + 1) / (1 + 1))^3 = 1/8. Dave, whom nobody "
            "trusted, cannot lift v2.",
            "alice",
            breach,
            ("bob",),
        ),
        _trust_vector(
            "trust-standing-weights",
            "Standing weights: Carol, reached only through v1's quarter share (v1 earned "
            "credibility 1/8 by agreeing with Alice on Bob), and herself credible 1/8 (she agrees "
            "with Alice on v1), counts for little; her 1 honoured and 3 breached of v2 count as "
            "1/4 and 3/4 of her weight; Dave weighs 0; v3, of which only Alice says anything "
            "(breached), stands at -1 on evidence 1.",
            "alice",
            weights,
            ("bob",),
        ),
    ]


def build() -> dict[str, Any]:
    return {
        "title": "Reputation: attestations, rebuttals and personalised trust",
        "spec": "spec/reputation.md",
        "notes": NOTES,
        "identities": {name: {"seed_hex": SEEDS[name].hex()} for name in NAMES},
        "terms_hex": TERMS.encoded.hex(),
        "vectors": [*_attestation_vectors(), *_rebuttal_vectors(), *_trust_vectors()],
    }
