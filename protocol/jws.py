"""JWS compact serialisation with EdDSA (Ed25519): how a consent receipt is signed on its own.

RFC 7515 (JWS) with the ``EdDSA`` algorithm of RFC 8037: ``BASE64URL(header) "." BASE64URL(payload)
"." BASE64URL(signature)``, unpadded base64url, the signature over the first two parts. The
header amity writes is ``{"alg":"EdDSA","kid":<did:key>,"typ":<typ>}`` (sorted keys, no spaces);
``kid`` names the signer, so a token verifies with nothing but itself. See spec/grants.md §10.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

import nacl.bindings
import nacl.exceptions

from amity.protocol.errors import AmityError, JwsError
from amity.protocol.identity import PeerId, SigningIdentity

__all__ = ["MAX_JWS_BYTES", "canonical_json", "sign_jws", "verify_jws", "verify_jws_with_key"]

#: The longest token read (a consent receipt is a few kB).
MAX_JWS_BYTES: Final = 256 * 1024
_SIGNATURE_BYTES: Final = 64


def canonical_json(value: Any) -> bytes:
    """The bytes amity signs for a JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    if not text or "=" in text or not text.isascii():
        raise JwsError(f"the JWS {what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JwsError(f"the JWS {what} is not base64url") from None
    if _b64(data) != text:  # one spelling only (no stray bits in the last character)
        raise JwsError(f"the JWS {what} is not in canonical base64url")
    return data


def sign_jws(identity: SigningIdentity, payload: bytes, *, typ: str) -> str:
    """``payload`` signed by ``identity`` as a compact JWS naming it in ``kid``."""
    header = canonical_json({"alg": "EdDSA", "kid": identity.peer_id.did, "typ": typ})
    signing_input = f"{_b64(header)}.{_b64(payload)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{_b64(identity.sign_jws(signing_input))}"


def _parts(token: str) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    if not isinstance(token, str):
        raise JwsError("a JWS is text")
    if len(token) > MAX_JWS_BYTES:
        raise JwsError(f"a JWS of {len(token)} characters is longer than {MAX_JWS_BYTES}")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JwsError("a compact JWS has three parts separated by dots")
    raw_header, payload, signature = (
        _unb64(part, what)
        for part, what in zip(parts, ("header", "payload", "signature"), strict=True)
    )
    try:
        header = json.loads(raw_header)
    except (UnicodeDecodeError, ValueError):
        raise JwsError("the JWS header is not JSON") from None
    if not isinstance(header, dict):
        raise JwsError("the JWS header is not a JSON object")
    if header.get("alg") != "EdDSA":
        raise JwsError(f"the JWS algorithm is {header.get('alg')!r}; amity reads EdDSA only")
    if "crit" in header:
        raise JwsError("the JWS names critical extensions amity does not know")
    if len(signature) != _SIGNATURE_BYTES:
        raise JwsError(f"an EdDSA signature is 64 bytes, not {len(signature)}")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return header, payload, signature, signing_input


def verify_jws_with_key(token: str, public_key: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and payload of ``token`` if ``public_key`` (32 bytes) signed it."""
    header, payload, signature, signing_input = _parts(token)
    try:
        nacl.bindings.crypto_sign_open(signature + signing_input, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError):  # nacl's ValueError is one too
        raise JwsError("the JWS signature does not verify") from None
    return header, payload


def verify_jws(token: str) -> tuple[PeerId, dict[str, Any], bytes]:
    """Who signed ``token`` (its ``kid``, a did:key), its header and its payload."""
    header, _, _, _ = _parts(token)
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise JwsError("the JWS names no signer (kid)")
    try:
        signer = PeerId.from_did(kid)
    except AmityError:
        raise JwsError(f"the JWS signer {kid[:60]!r} is not a did:key") from None
    header, payload = verify_jws_with_key(token, signer.key)
    return signer, header, payload
