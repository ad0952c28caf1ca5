"""JWS compact with EdDSA (protocol/jws.py): the RFC 8037 example, amity's own tokens, and
bad input refused with the project's own error."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.errors import AmityError, JwsError
from amity.protocol.identity import SigningIdentity
from amity.protocol.jws import canonical_json, sign_jws, verify_jws, verify_jws_with_key


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


#: RFC 8037 Appendix A.1 (the key) and A.4 (Ed25519 signing of "Example of Ed25519 signing").
RFC8037_D = _unb64("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
RFC8037_X = _unb64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
ALICE = SigningIdentity(bytes(range(32)))
MALLORY = SigningIdentity(bytes(range(1, 33)))


def test_the_rfc_8037_example_verifies() -> None:
    assert SigningIdentity(RFC8037_D).peer_id.key == RFC8037_X
    header, payload = verify_jws_with_key(RFC8037_JWS, RFC8037_X)
    assert header == {"alg": "EdDSA"} and payload == b"Example of Ed25519 signing"
    # Ed25519 is deterministic: signing the same input gives the RFC's signature.
    signing_input = RFC8037_JWS.rsplit(".", 1)[0].encode()
    signature = SigningIdentity(RFC8037_D).sign_jws(signing_input)
    assert base64.urlsafe_b64encode(signature).rstrip(b"=").decode() == RFC8037_JWS.split(".")[2]


def test_a_token_names_its_signer_and_verifies_alone() -> None:
    payload = canonical_json({"b": 1, "a": "é"})
    assert payload == '{"a":"é","b":1}'.encode()
    token = sign_jws(ALICE, payload, typ="JWT")
    signer, header, read = verify_jws(token)
    assert signer == ALICE.peer_id and read == payload
    assert header == {"alg": "EdDSA", "kid": ALICE.peer_id.did, "typ": "JWT"}


def test_every_changed_character_is_refused() -> None:
    token = sign_jws(ALICE, b'{"receipt":1}', typ="JWT")
    for i in range(0, len(token), 3):
        if token[i] == ".":
            continue
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        with pytest.raises(JwsError):
            verify_jws(changed)


def test_a_token_whose_kid_names_someone_else_is_refused() -> None:
    header = base64.urlsafe_b64encode(
        canonical_json({"alg": "EdDSA", "kid": ALICE.peer_id.did, "typ": "JWT"})
    ).rstrip(b"=")
    payload = base64.urlsafe_b64encode(b"{}").rstrip(b"=")
    signing_input = header + b"." + payload
    forged = signing_input + b"." + base64.urlsafe_b64encode(MALLORY.sign_jws(signing_input))
    with pytest.raises(JwsError, match="does not verify"):
        verify_jws(forged.rstrip(b"=").decode())


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJub25lIn0.e30.",  # alg none
        "eyJhbGciOiJIUzI1NiJ9.e30." + "A" * 86,  # HMAC
        "bm90IGpzb24.e30." + "A" * 86,  # header not JSON
        "W10.e30." + "A" * 86,  # header a list
        "eyJhbGciOiJFZERTQSJ9.e30." + "A" * 86,  # no kid
        "eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30." + "A" * 86,  # kid not a did:key
        "eyJhbGciOiJFZERTQSJ9.e30=.AAAA",  # padding
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(JwsError):
        verify_jws(token)


@settings(max_examples=300)
@given(st.text(max_size=400) | st.binary(max_size=200).map(lambda b: b.hex()))
def test_any_text_raises_only_amity_errors(text: str) -> None:
    with contextlib.suppress(AmityError):
        verify_jws(text)


@settings(max_examples=200)
@given(st.binary(max_size=300), st.integers(0, 400), st.integers(0, 255))
def test_any_flipped_byte_of_a_real_token_raises_only_amity_errors(
    payload: bytes, at: int, byte: int
) -> None:
    token = sign_jws(ALICE, payload, typ="JWT").encode()
    at %= len(token)
    changed = token[:at] + bytes([byte]) + token[at + 1 :]
    with contextlib.suppress(AmityError):
        verify_jws(changed.decode("latin-1"))
