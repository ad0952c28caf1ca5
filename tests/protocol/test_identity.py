"""Peer ids, did:key, fingerprints, signatures and link certificates against spec/identity.md."""

from __future__ import annotations

import ast
import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from amity.protocol.encoding import encode
from amity.protocol.errors import (
    AmityError,
    BadDidError,
    BadKeyError,
    BadSignatureError,
    CertificateSignatureError,
    RemoteError,
    UsageError,
)
from amity.protocol.identity import (
    PeerId,
    SigningIdentity,
    base58_decode,
    base58_encode,
    verify_signature,
)
from amity.protocol.keyring import LinkChain
from amity.protocol.linkcert import (
    LINKCERT_DOMAIN,
    LinkCert,
    LinkKey,
    is_usable_link_key,
)
from tests.strategies import (
    each_byte_tampered,
    link_keys,
    mutated,
    seeds,
    signing_identities,
    timestamps_ms,
)
from tests.vectors import load_vector_file, unhex, vector_cases

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "identity.md"
FINGERPRINT = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}")


def _alice_cert() -> LinkCert:
    """The certificate of the ``linkcert-alice`` vector, made afresh."""
    (vector,) = [
        v for v in load_vector_file("identity")["vectors"] if v["name"] == "linkcert-alice"
    ]
    alice = SigningIdentity(unhex(vector, "identity_seed_hex"))
    link = LinkKey(unhex(vector, "link_seed_hex"))
    return LinkCert.issue(alice, link.public, vector["not_before_ms"], vector["not_after_ms"])


# -- vectors --------------------------------------------------------------------------------------


def run_vector(vector: dict[str, Any]) -> None:
    """Do what the vector's ``op`` says and check its expected outputs (or error)."""
    op = vector["op"]
    if op == "identity":
        identity = SigningIdentity(unhex(vector, "identity_seed_hex"))
        peer = identity.peer_id
        assert peer.key == unhex(vector, "peer_id_hex")
        assert peer.did == vector["did"]
        assert peer.fingerprint == vector["fingerprint"]
        assert PeerId.from_did(vector["did"]) == peer
        if "w3c_public_key_base58" in vector:
            assert base58_encode(peer.key) == vector["w3c_public_key_base58"]
    elif op == "parse_did":
        assert PeerId.from_did(vector["did"]).key == unhex(vector, "peer_id_hex")
    elif op == "peer_id":
        peer = PeerId(unhex(vector, "peer_id_hex"))
        assert peer.did == vector["did"]
    elif op == "sign":
        identity = SigningIdentity(unhex(vector, "identity_seed_hex"))
        domain, message = unhex(vector, "domain_hex"), unhex(vector, "message_hex")
        signature = identity.sign(domain, message)
        assert signature == unhex(vector, "signature_hex")
        verify_signature(identity.peer_id, domain, message, signature)
    elif op == "linkcert_issue":
        identity = SigningIdentity(unhex(vector, "identity_seed_hex"))
        link = LinkKey(unhex(vector, "link_seed_hex"))
        assert link.public == unhex(vector, "link_public_hex")
        cert = LinkCert.issue(
            identity, link.public, vector["not_before_ms"], vector["not_after_ms"]
        )
        assert cert.encoded == unhex(vector, "cert_hex")
        assert cert.encoded == encode(
            [unhex(vector, "signed_bytes_hex"), unhex(vector, "signature_hex")]
        )
        assert LinkCert.decode(cert.encoded) == cert
    elif op == "linkcert_decode":
        cert = LinkCert.decode(unhex(vector, "cert_hex"))
        if "now_ms" in vector:
            cert.check_valid(vector["now_ms"])
        assert cert.issuer.key == unhex(vector, "issuer_peer_id_hex")
        assert cert.link_public == unhex(vector, "link_public_hex")
        assert cert.not_before_ms == vector["not_before_ms"]
        assert cert.not_after_ms == vector["not_after_ms"]
        assert cert.encoded == unhex(vector, "cert_hex")
    elif op == "link_chain":
        start = LinkChain.start(unhex(vector, "chain_secret_hex"), vector["origin"])
        for step in vector["steps"]:
            chain = start.at(step["epoch"])
            assert chain.secret == unhex(step, "chain_secret_hex")
            assert chain.encode() == unhex(step, "chain_hex")
            assert LinkChain.decode(chain.encode()) == chain
            key = chain.link_key(step["epoch"])
            assert key.private == unhex(step, "link_seed_hex")
            assert key.public == unhex(step, "link_public_hex")
    else:
        raise AssertionError(f"unknown op {op!r} in identity.json")


@pytest.mark.parametrize("vector", **vector_cases("identity", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    run_vector(vector)


@pytest.mark.parametrize("vector", **vector_cases("identity", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        run_vector(vector)
    assert excinfo.value.code == vector["error"], excinfo.value
    assert isinstance(excinfo.value, RemoteError)


# -- peer ids and did:key -------------------------------------------------------------------------


@settings(max_examples=100)
@given(signing_identities())
def test_did_round_trip(identity: SigningIdentity) -> None:
    peer = identity.peer_id
    assert peer.did.startswith("did:key:z6Mk")
    assert len(peer.did) == 56
    assert PeerId.from_did(peer.did) == peer
    assert str(peer) == peer.did
    assert repr(peer) == f"PeerId({peer.did})"


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_from_did_refuses_garbage_with_identity_errors(text: str) -> None:
    for candidate in (text, "did:key:z" + text, "did:key:z6Mk" + text):
        try:
            peer = PeerId.from_did(candidate)
        except (BadDidError, BadKeyError):
            continue
        assert peer.did == candidate  # an accepted did:key is the one form of its key


@settings(max_examples=300)
@given(st.binary(min_size=32, max_size=32))
def test_peer_id_accepts_only_valid_points(key: bytes) -> None:
    try:
        peer = PeerId(key)
    except BadKeyError:
        return
    assert PeerId.from_did(peer.did) == peer


def test_peer_id_refuses_non_bytes() -> None:
    with pytest.raises(BadKeyError):
        PeerId(bytearray(32))  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.binary(max_size=40), st.integers(0, 4))
def test_base58_round_trip(data: bytes, zeros: int) -> None:
    data = b"\x00" * zeros + data
    text = base58_encode(data)
    assert base58_decode(text) == data
    assert text.startswith("1" * zeros)


def test_base58_refuses_characters_outside_the_alphabet() -> None:
    for char in "0OIl+/ ":
        with pytest.raises(ValueError):
            base58_decode("2" + char)


@settings(max_examples=100)
@given(signing_identities())
def test_fingerprint_follows_the_spec(identity: SigningIdentity) -> None:
    key = identity.peer_id.key
    digest = hashlib.sha256(b"amity/fpr/v1\x00" + key).digest()[:10]
    text = base64.b32encode(digest).decode()
    expected = "-".join(text[i : i + 4] for i in range(0, 16, 4))
    assert identity.peer_id.fingerprint == expected
    assert FINGERPRINT.fullmatch(expected)
    assert identity.peer_id.short == expected[:9]


# -- signing and domains --------------------------------------------------------------------------


@settings(max_examples=50)
@given(signing_identities(), st.binary(max_size=64), st.binary(max_size=64))
def test_signatures_are_domain_separated(
    identity: SigningIdentity, message: bytes, other: bytes
) -> None:
    signature = identity.sign(b"amity/test-a/v1\x00", message)
    verify_signature(identity.peer_id, b"amity/test-a/v1\x00", message, signature)
    with pytest.raises(BadSignatureError):
        verify_signature(identity.peer_id, b"amity/test-b/v1\x00", message, signature)
    assume(other != message)
    with pytest.raises(BadSignatureError):
        verify_signature(identity.peer_id, b"amity/test-a/v1\x00", other, signature)


def test_sign_requires_a_nul_terminated_domain() -> None:
    identity = SigningIdentity(bytes(32))
    with pytest.raises(UsageError):
        identity.sign(b"amity/test/v1", b"message")


def test_verify_signature_names_its_error() -> None:
    identity = SigningIdentity(bytes(32))
    signature = identity.sign(b"d\x00", b"m")
    with pytest.raises(CertificateSignatureError):
        verify_signature(
            identity.peer_id, b"d\x00", b"x", signature, error=CertificateSignatureError
        )
    with pytest.raises(BadSignatureError):
        verify_signature(identity.peer_id, b"d\x00", b"m", signature[:63])


def test_signature_with_non_canonical_s_is_refused() -> None:
    # S + L is the same scalar mod L; a non-malleable verifier refuses it (identity.md §4.3).
    order = 2**252 + 27742317777372353535851937790883648493
    identity = SigningIdentity(bytes(32))
    signature = identity.sign(b"d\x00", b"m")
    s = int.from_bytes(signature[32:], "little") + order  # still < 2**256
    forged = signature[:32] + s.to_bytes(32, "little")
    with pytest.raises(BadSignatureError):
        verify_signature(identity.peer_id, b"d\x00", b"m", forged)


@pytest.mark.parametrize("seed", [bytes(31), bytes(33), "00" * 32])
def test_identity_seed_is_32_bytes(seed: Any) -> None:
    with pytest.raises(UsageError):
        SigningIdentity(seed)


def test_identity_repr_never_shows_the_seed() -> None:
    seed = bytes(range(32))
    identity = SigningIdentity(seed)
    assert identity.seed == seed
    assert seed.hex() not in repr(identity)
    assert identity.peer_id.did in repr(identity)


def _domain_constants() -> dict[str, bytes]:
    """Every ``*_DOMAIN`` bytes constant defined in protocol/ or node/, read from the source."""
    found = {}
    pattern = re.compile(r'^(_?[A-Z_]*DOMAIN)\s*(?::\s*Final\s*)?=\s*(b"[^"]*")', re.M)
    for package in ("protocol", "node"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for name, literal in pattern.findall(path.read_text(encoding="utf-8")):
                found[f"{path.stem}.{name}"] = ast.literal_eval(literal)
    return found


def test_domains_are_nul_terminated_unique_and_in_the_spec() -> None:
    domains = _domain_constants()
    assert "linkcert.LINKCERT_DOMAIN" in domains
    assert "holdings._HELD_CLAIM_DOMAIN" in domains
    spec = SPEC.read_text(encoding="utf-8")
    values = list(domains.values())
    assert len(values) == len(set(values)), f"two constants share a domain: {domains}"
    for name, domain in domains.items():
        assert domain.endswith(b"\x00") and domain.count(b"\x00") == 1, name
        shown = domain[:-1].decode("ascii") + "\\0"
        assert f"`{shown}`" in spec, f"{name} = {domain!r} is not listed in spec/identity.md §4.2"
    # NUL termination makes the set prefix-free: no domain starts another.
    for a in values:
        for b in values:
            assert a == b or not b.startswith(a)


# -- link keys and certificates -------------------------------------------------------------------


@settings(max_examples=100)
@given(link_keys())
def test_every_generated_link_key_is_usable(link: LinkKey) -> None:
    assert is_usable_link_key(link.public)
    assert link.public.hex()[:16] in repr(link)


def test_link_key_needs_32_bytes() -> None:
    with pytest.raises(UsageError):
        LinkKey(bytes(31))


@settings(max_examples=50)
@given(
    signing_identities(),
    link_keys(),
    timestamps_ms(),
    st.integers(1, 2**40),
    st.integers(0, 2**41),
)
def test_linkcert_round_trip(
    identity: SigningIdentity, link: LinkKey, not_before_ms: int, period_ms: int, offset: int
) -> None:
    cert = LinkCert.issue(identity, link.public, not_before_ms, not_before_ms + period_ms)
    decoded = LinkCert.decode(cert.encoded)
    assert decoded == cert
    now_ms = not_before_ms + offset
    if offset < period_ms:
        decoded.check_valid(now_ms)
    else:
        with pytest.raises(AmityError, match="expired"):
            decoded.check_valid(now_ms)


def test_linkcert_issue_refuses_bad_arguments() -> None:
    identity = SigningIdentity(bytes(32))
    public = LinkKey(bytes(32)).public
    for link_public, not_before, not_after in [
        (public, 10, 10),
        (public, 10, 9),
        (public, -1, 9),
        (bytes(32), 0, 1),
        (public[:31], 0, 1),
        (b"\xff" * 32, 0, 1),
    ]:
        with pytest.raises(UsageError):
            LinkCert.issue(identity, link_public, not_before, not_after)


def test_linkcert_every_single_byte_change_is_refused() -> None:
    cert = _alice_cert().encoded
    accepted = []
    for index, mask, tampered in each_byte_tampered(cert):
        try:
            LinkCert.decode(tampered)
        except RemoteError:
            continue
        accepted.append((index, mask))
    assert not accepted, f"tampered certificates accepted (byte index, xor mask): {accepted}"


def test_linkcert_every_truncation_is_refused() -> None:
    cert = _alice_cert().encoded
    for cut in range(len(cert)):
        with pytest.raises(RemoteError):
            LinkCert.decode(cert[:cut])


@settings(max_examples=300)
@given(mutated(st.just(_alice_cert().encoded), max_mutations=4))
def test_linkcert_decode_raises_only_remote_errors(data: bytes) -> None:
    try:
        cert = LinkCert.decode(data)
    except RemoteError:
        return
    assert cert.encoded == data == _alice_cert().encoded


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_linkcert_decode_of_arbitrary_bytes(data: bytes) -> None:
    with pytest.raises(RemoteError):
        LinkCert.decode(data)


@settings(max_examples=30)
@given(seeds(), seeds())
def test_linkcert_of_one_issuer_does_not_verify_as_another(seed_a: bytes, seed_b: bytes) -> None:
    """A certificate naming B as issuer but signed by A is refused."""
    assume(seed_a != seed_b)
    a, b = SigningIdentity(seed_a), SigningIdentity(seed_b)
    cert = _alice_cert()
    signed = encode([1, b.peer_id.key, cert.link_public, cert.not_before_ms, cert.not_after_ms])
    forged = encode([signed, a.sign(LINKCERT_DOMAIN, signed)])
    with pytest.raises(CertificateSignatureError):
        LinkCert.decode(forged)
