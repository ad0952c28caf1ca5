"""Test vectors for spec/identity.md: peer ids, did:key, fingerprints, signatures, link certs.

The did:key vectors for seeds 0..4 are the W3C CCG did:key method's own Ed25519 test vectors
(see NOTES); the rest are made here from fixed seeds and times, so every run gives the same file.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.encoding import Value, encode
from amity.protocol.identity import SigningIdentity, base58_encode
from amity.protocol.keyring import LinkChain
from amity.protocol.linkcert import LINKCERT_DOMAIN, LinkCert, LinkKey
from amity.protocol.signed import sign_structure

W3C_SOURCE = (
    "https://github.com/w3c-ccg/did-method-key/blob/"
    "801b0a91ce5af882c389ca399fa1fd1a75229c09/test-vectors/ed25519-x25519.json"
)

NOTES = (
    "Each vector has an 'op' saying what to do with it. "
    "'identity': make the Ed25519 key from identity_seed_hex (an RFC 8032 seed); its public key "
    "is peer_id_hex, shown as did and fingerprint. "
    "'parse_did': read did as a did:key; it names peer_id_hex, or fails with error. "
    "'peer_id': take peer_id_hex as a peer id; it is shown as did and fingerprint, or is refused "
    "with error. "
    "'sign': Ed25519 signature by identity_seed_hex over domain_hex + message_hex (concatenated) "
    "is signature_hex. "
    "'linkcert_issue': identity_seed_hex certifies the X25519 key made from link_seed_hex "
    "(link_public_hex) from not_before_ms to not_after_ms; the certificate is exactly cert_hex, "
    "whose parts are signed_bytes_hex and signature_hex. "
    "'linkcert_decode': decode and verify cert_hex, then, if now_ms is given, check that it is "
    "valid at now_ms; either it yields issuer_peer_id_hex, link_public_hex, not_before_ms and "
    "not_after_ms, or it fails with error. "
    "'link_chain': the link-key chain whose secret at epoch origin is chain_secret_hex has, "
    "at each epoch of steps, the secret chain_secret_hex and the link key whose private and "
    "public halves are link_seed_hex and link_public_hex; chain_hex is the 48 bytes a node "
    "stores for it (spec/identity.md §6). "
    "Vectors named w3c-* are the Ed25519 test vectors of the W3C CCG did:key method "
    f"({W3C_SOURCE}): seed, did and publicKeyBase58 (kept as w3c_public_key_base58) are copied "
    "from there, the fingerprint is amity's own; "
    "w3c-x25519-did-is-not-a-peer-id uses the X25519 did:key of seed 0 from the same file."
)

# -- fixed inputs --------------------------------------------------------------------------------

#: (seed, did, publicKeyBase58) as published in the W3C CCG did:key test vectors (see NOTES).
W3C_ED25519 = [
    (
        "00" * 32,
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
    ),
    (
        "00" * 31 + "01",
        "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
    ),
    (
        "00" * 31 + "02",
        "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
    ),
    (
        "00" * 31 + "03",
        "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
    ),
    (
        "00" * 31 + "04",
        "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
        "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
    ),
]
#: The X25519 (key agreement) did:key of W3C seed 0: multicodec 0xec01, not an identity.
W3C_X25519_DID = "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"

ALICE_SEED = "a11ce0000000000000000000000000000000000000000000000000000000a11c"
BOB_SEED = "b0b0000000000000000000000000000000000000000000000000000000000b0b"
ALICE_LINK_SEED = "a11ce1111111111111111111111111111111111111111111111111111111a11c"
NOT_BEFORE_MS = 1767225600000  # 2026-01-01T00:00:00.000Z
NOT_AFTER_MS = NOT_BEFORE_MS + 30 * 24 * 3600 * 1000  # thirty days later

#: Encodings of Ed25519 points of small order (all eight torsion points) and of other points a
#: peer id must not be: each is refused with identity.bad_key.
BAD_PEER_KEYS = [
    ("identity-point", "0100000000000000000000000000000000000000000000000000000000000000"),
    ("order-2-point", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ("order-4-point", "0000000000000000000000000000000000000000000000000000000000000000"),
    ("order-4-point-negated", "0000000000000000000000000000000000000000000000000000000000000080"),
    ("order-8-point-a", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    ("order-8-point-b", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    ("order-8-point-c", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    ("order-8-point-d", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    ("non-canonical-y", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ("off-curve", "0200000000000000000000000000000000000000000000000000000000000000"),
    # W3C seed 0's public key plus the order-2 point: on the curve, outside the prime-order group.
    ("mixed-order", "b295d84331495bd29d5c572fd590f28c9acdea88e21dbc59c53fb75e74a625d6"),
]

#: X25519 public keys a link certificate must not carry (spec/identity.md §5.2).
BAD_LINK_KEYS = [
    ("zero", "00" * 32),
    ("one", "01" + "00" * 31),
    ("order-8-a", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    ("order-8-b", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    ("p-minus-1", "ec" + "ff" * 30 + "7f"),
    ("p", "ed" + "ff" * 30 + "7f"),
    ("top-bit-set", "09" + "00" * 30 + "80"),
]


def _identity(seed_hex: str) -> SigningIdentity:
    return SigningIdentity(bytes.fromhex(seed_hex))


def _identity_vector(name: str, description: str, seed_hex: str) -> dict[str, Any]:
    peer = _identity(seed_hex).peer_id
    return {
        "name": name,
        "description": description,
        "op": "identity",
        "identity_seed_hex": seed_hex,
        "peer_id_hex": peer.key.hex(),
        "did": peer.did,
        "fingerprint": peer.fingerprint,
    }


def _identities() -> list[dict[str, Any]]:
    vectors = []
    for index, (seed, did, key_b58) in enumerate(W3C_ED25519):
        vector = _identity_vector(
            f"w3c-ed25519-seed-{index}",
            f"W3C did:key Ed25519 test vector, seed {index}",
            seed,
        )
        assert vector["did"] == did, (did, vector["did"])
        assert base58_encode(bytes.fromhex(vector["peer_id_hex"])) == key_b58
        vector["w3c_public_key_base58"] = key_b58
        vectors.append(vector)
    vectors.append(
        _identity_vector("alice", "a fixed identity used across the vectors", ALICE_SEED)
    )
    vectors.append(_identity_vector("bob", "a second fixed identity", BOB_SEED))
    vectors.append(_identity_vector("seed-all-ff", "the seed of 32 bytes 0xff", "ff" * 32))
    return vectors


def _parse_dids() -> list[dict[str, Any]]:
    alice = _identity(ALICE_SEED).peer_id
    good = alice.did
    raw = b"\xed\x01" + alice.key

    def bad(
        name: str, description: str, did: str, error: str = "identity.bad_did"
    ) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "op": "parse_did",
            "did": did,
            "error": error,
        }

    vectors: list[dict[str, Any]] = [
        {
            "name": "did-alice",
            "description": "a did:key names the Ed25519 public key it holds",
            "op": "parse_did",
            "did": good,
            "peer_id_hex": alice.key.hex(),
        },
        bad("did-empty-key", "nothing after the prefix", "did:key:"),
        bad("did-empty-multibase", "the multibase prefix z and nothing else", "did:key:z"),
        bad("did-other-method", "another DID method", "did:web:example.com"),
        bad("did-base16-multibase", "multibase f (hex) instead of z", "did:key:f" + raw.hex()),
        bad("did-bad-base58-char", "'0' is not in the base58btc alphabet", good[:-1] + "0"),
        bad("did-bad-base58-l", "'l' is not in the base58btc alphabet", good[:-1] + "l"),
        bad("did-x25519", "a did:key of an X25519 key (multicodec 0xec01)", W3C_X25519_DID),
        bad("did-too-short", "a did:key too short for an Ed25519 key", "did:key:zTjsVPtY"),
        bad(
            "did-key-31-bytes",
            "multicodec 0xed01 and 31 bytes of key",
            "did:key:z" + base58_encode(raw[:-1]),
        ),
        bad(
            "did-key-33-bytes",
            "multicodec 0xed01 and 33 bytes",
            "did:key:z" + base58_encode(raw + b"\x00"),
        ),
        bad(
            "did-leading-zero-byte",
            "a leading '1' adds a zero byte before the multicodec",
            "did:key:z1" + good[len("did:key:z") :],
        ),
        bad("did-url-fragment", "a DID URL with a fragment is not a DID", good + "#" + good[8:]),
        bad("did-upper-case-prefix", "the scheme and method are lower case", "DID:KEY:" + good[8:]),
        bad("did-leading-space", "no whitespace around the DID", " " + good),
        bad("did-trailing-newline", "no whitespace around the DID", good + "\n"),
        bad("did-overlong", "longer than any key amity reads", "did:key:z" + "2" * 200),
    ]
    for label, key_hex in BAD_PEER_KEYS[:2]:
        did = "did:key:z" + base58_encode(b"\xed\x01" + bytes.fromhex(key_hex))
        vectors.append(
            bad(
                f"did-{label}",
                f"a well-formed did:key whose key is the {label.replace('-', ' ')}",
                did,
                "identity.bad_key",
            )
        )
    return vectors


def _peer_ids() -> list[dict[str, Any]]:
    vectors = []
    for label, key_hex in BAD_PEER_KEYS:
        vectors.append(
            {
                "name": f"peer-id-{label}",
                "description": f"refused as a peer id: {label.replace('-', ' ')}",
                "op": "peer_id",
                "peer_id_hex": key_hex,
                "error": "identity.bad_key",
            }
        )
    for size in (31, 33):
        vectors.append(
            {
                "name": f"peer-id-{size}-bytes",
                "description": f"a peer id is 32 bytes, not {size}",
                "op": "peer_id",
                "peer_id_hex": _identity(ALICE_SEED)
                .peer_id.key.hex()[: size * 2]
                .ljust(size * 2, "0"),
                "error": "identity.bad_key",
            }
        )
    return vectors


def _signatures() -> list[dict[str, Any]]:
    alice = _identity(ALICE_SEED)
    message = bytes.fromhex("9301a161c0")
    vectors = []
    for name, domain in (
        ("sign-linkcert-domain", LINKCERT_DOMAIN),
        ("sign-envelope-domain", b"amity/env/v1\x00"),
    ):
        vectors.append(
            {
                "name": name,
                "description": f"Ed25519 over {domain!r} + message: the domain changes the signature",
                "op": "sign",
                "identity_seed_hex": ALICE_SEED,
                "domain_hex": domain.hex(),
                "message_hex": message.hex(),
                "signature_hex": alice.sign(domain, message).hex(),
            }
        )
    return vectors


def _cert_fields(
    version: Value = 1,
    issuer: bytes | None = None,
    link: bytes | None = None,
    not_before_ms: Value = NOT_BEFORE_MS,
    not_after_ms: Value = NOT_AFTER_MS,
) -> list[Value]:
    alice = _identity(ALICE_SEED)
    return [
        version,
        alice.peer_id.key if issuer is None else issuer,
        LinkKey(bytes.fromhex(ALICE_LINK_SEED)).public if link is None else link,
        not_before_ms,
        not_after_ms,
    ]


def _signed(fields: list[Value], domain: bytes = LINKCERT_DOMAIN, seed: str = ALICE_SEED) -> bytes:
    return sign_structure(fields, domain, _identity(seed))


def _linkcerts() -> list[dict[str, Any]]:
    alice = _identity(ALICE_SEED)
    link = LinkKey(bytes.fromhex(ALICE_LINK_SEED))
    cert = LinkCert.issue(alice, link.public, NOT_BEFORE_MS, NOT_AFTER_MS)
    signed_bytes = encode(_cert_fields())
    signature = alice.sign(LINKCERT_DOMAIN, signed_bytes)
    assert cert.encoded == encode([signed_bytes, signature])
    good = cert.encoded

    def decoded(name: str, description: str, now_ms: int | None) -> dict[str, Any]:
        vector: dict[str, Any] = {
            "name": name,
            "description": description,
            "op": "linkcert_decode",
            "cert_hex": good.hex(),
        }
        if now_ms is not None:
            vector["now_ms"] = now_ms
        vector.update(
            issuer_peer_id_hex=alice.peer_id.key.hex(),
            link_public_hex=link.public.hex(),
            not_before_ms=NOT_BEFORE_MS,
            not_after_ms=NOT_AFTER_MS,
        )
        return vector

    def bad(
        name: str, description: str, data: bytes, error: str, now_ms: int | None = None
    ) -> dict[str, Any]:
        vector: dict[str, Any] = {
            "name": name,
            "description": description,
            "op": "linkcert_decode",
            "cert_hex": data.hex(),
        }
        if now_ms is not None:
            vector["now_ms"] = now_ms
        vector["error"] = error
        return vector

    flipped_sig = bytearray(good)
    flipped_sig[-1] ^= 0x01
    flipped_field = bytearray(good)
    offset = good.index(link.public)
    flipped_field[offset] ^= 0x01
    bob = _identity(BOB_SEED)
    sig16 = b"\x92" + encode(signed_bytes) + b"\xc5\x00\x40" + signature
    return [
        {
            "name": "linkcert-alice",
            "description": "Alice's identity certifies her link key for thirty days",
            "op": "linkcert_issue",
            "identity_seed_hex": ALICE_SEED,
            "link_seed_hex": ALICE_LINK_SEED,
            "link_public_hex": link.public.hex(),
            "not_before_ms": NOT_BEFORE_MS,
            "not_after_ms": NOT_AFTER_MS,
            "signed_bytes_hex": signed_bytes.hex(),
            "signature_hex": signature.hex(),
            "cert_hex": good.hex(),
        },
        decoded("linkcert-decode", "decoding without a time checks all but the period", None),
        decoded(
            "linkcert-valid-at-not-before", "valid from not_before_ms inclusive", NOT_BEFORE_MS
        ),
        decoded("linkcert-valid-last-ms", "valid until just before not_after_ms", NOT_AFTER_MS - 1),
        bad(
            "linkcert-not-yet-valid",
            "one millisecond before not_before_ms",
            good,
            "cert.not_yet_valid",
            NOT_BEFORE_MS - 1,
        ),
        bad(
            "linkcert-expired",
            "at not_after_ms exactly: the period is half-open",
            good,
            "cert.expired",
            NOT_AFTER_MS,
        ),
        bad(
            "linkcert-bad-signature",
            "last signature bit flipped",
            bytes(flipped_sig),
            "cert.bad_signature",
        ),
        bad(
            "linkcert-tampered-link-key",
            "one bit of the certified link key flipped; the signature no longer covers it",
            bytes(flipped_field),
            "cert.bad_signature",
        ),
        bad(
            "linkcert-signed-by-other",
            "names Alice as issuer but is signed by Bob",
            _signed(_cert_fields(), seed=BOB_SEED),
            "cert.bad_signature",
        ),
        bad(
            "linkcert-wrong-domain",
            "Alice's signature over the same bytes, but under the envelope domain",
            _signed(_cert_fields(), domain=b"amity/env/v1\x00"),
            "cert.bad_signature",
        ),
        bad(
            "linkcert-issuer-small-order",
            "the issuer is the identity point (a signature could never mean anything)",
            encode(
                [
                    encode(_cert_fields(issuer=bytes.fromhex(BAD_PEER_KEYS[0][1]))),
                    bytes(64),
                ]
            ),
            "identity.bad_key",
        ),
        bad(
            "linkcert-version-2",
            "version 2, validly signed: this node speaks 1",
            _signed(_cert_fields(version=2)),
            "version.unsupported",
        ),
        bad(
            "linkcert-version-2-six-fields",
            "a version 2 certificate with another arity: the version is read first",
            _signed([*_cert_fields(version=2), b""]),
            "version.unsupported",
        ),
        bad(
            "linkcert-version-0",
            "version 0",
            _signed(_cert_fields(version=0)),
            "version.unsupported",
        ),
        bad(
            "linkcert-version-true",
            "version true: a bool is not the int 1",
            _signed(_cert_fields(version=True)),
            "version.unsupported",
        ),
        bad(
            "linkcert-version-str",
            "version '1': a str is not the int 1",
            _signed(_cert_fields(version="1")),
            "version.unsupported",
        ),
        bad(
            "linkcert-empty-fields",
            "signed bytes that are an empty array (no version at all)",
            _signed([]),
            "version.unsupported",
        ),
        bad(
            "linkcert-four-fields",
            "version 1 with a field missing",
            _signed(_cert_fields()[:4]),
            "encoding.schema",
        ),
        bad(
            "linkcert-issuer-31-bytes",
            "an issuer key of 31 bytes",
            _signed(_cert_fields(issuer=alice.peer_id.key[:31])),
            "encoding.schema",
        ),
        bad(
            "linkcert-link-33-bytes",
            "a link key of 33 bytes",
            _signed(_cert_fields(link=link.public + b"\x00")),
            "encoding.schema",
        ),
        bad(
            "linkcert-negative-time",
            "not_before_ms below zero",
            _signed(_cert_fields(not_before_ms=-1)),
            "encoding.schema",
        ),
        bad(
            "linkcert-time-as-bin",
            "not_after_ms given as bin",
            _signed(_cert_fields(not_after_ms=b"\x00")),
            "encoding.schema",
        ),
        bad(
            "linkcert-empty-period",
            "not_before_ms == not_after_ms: never valid, so never issued",
            _signed(_cert_fields(not_after_ms=NOT_BEFORE_MS)),
            "encoding.schema",
        ),
        bad(
            "linkcert-reversed-period",
            "not_before_ms after not_after_ms",
            _signed(_cert_fields(not_before_ms=NOT_AFTER_MS, not_after_ms=NOT_BEFORE_MS)),
            "encoding.schema",
        ),
        *(
            bad(
                f"linkcert-link-key-{label}",
                f"a validly signed certificate for an unusable X25519 key: {label}",
                _signed(_cert_fields(link=bytes.fromhex(key_hex))),
                "identity.bad_key",
            )
            for label, key_hex in BAD_LINK_KEYS
        ),
        bad("linkcert-truncated", "the last byte missing", good[:-1], "encoding.malformed"),
        bad("linkcert-trailing-byte", "one byte too many", good + b"\x00", "encoding.malformed"),
        bad(
            "linkcert-signature-as-bin16",
            "the signature's length written as bin16: not canonical",
            sig16,
            "encoding.non_canonical",
        ),
        bad(
            "linkcert-signed-bytes-non-canonical",
            "validly signed inner bytes that are not canonical (version 1 as uint8)",
            encode(
                [
                    b"\x95\xcc\x01" + encode(_cert_fields())[2:],
                    alice.sign(LINKCERT_DOMAIN, b"\x95\xcc\x01" + encode(_cert_fields())[2:]),
                ]
            ),
            "encoding.non_canonical",
        ),
        bad(
            "linkcert-signature-63-bytes",
            "a signature one byte short",
            encode([signed_bytes, signature[:63]]),
            "encoding.schema",
        ),
        bad(
            "linkcert-not-signed",
            "the fields without the [signed_bytes, signature] wrapper",
            signed_bytes,
            "encoding.schema",
        ),
        bad(
            "linkcert-over-limit",
            "longer than MAX_LINKCERT_BYTES (256)",
            encode([signed_bytes + bytes(200), signature]),
            "encoding.too_large",
        ),
        _bob_cert(bob, link),
    ]


def _bob_cert(bob: SigningIdentity, link: LinkKey) -> dict[str, Any]:
    cert = LinkCert.issue(bob, link.public, NOT_BEFORE_MS, NOT_AFTER_MS)
    return {
        "name": "linkcert-bob-any-key",
        "description": "a certificate says only that its issuer vouches for the key; it does not "
        "prove the issuer holds the private half (spec/identity.md §5.3)",
        "op": "linkcert_decode",
        "cert_hex": cert.encoded.hex(),
        "issuer_peer_id_hex": bob.peer_id.key.hex(),
        "link_public_hex": link.public.hex(),
        "not_before_ms": NOT_BEFORE_MS,
        "not_after_ms": NOT_AFTER_MS,
    }


def _link_chain() -> list[dict[str, Any]]:
    """A chain begun at epoch 693 (December 2026) from a fixed secret, and its next two epochs."""
    start = LinkChain.start(bytes(range(0x40, 0x60)), 693)
    steps = []
    for epoch in (693, 694, 695):
        chain = start.at(epoch)
        key = chain.link_key(epoch)
        steps.append(
            {
                "epoch": epoch,
                "chain_secret_hex": chain.secret.hex(),
                "chain_hex": chain.encode().hex(),
                "link_seed_hex": key.private.hex(),
                "link_public_hex": key.public.hex(),
            }
        )
    return [
        {
            "name": "link-chain",
            "description": "a link-key chain steps forward one epoch at a time; each epoch's "
            "link key comes from that epoch's chain secret",
            "op": "link_chain",
            "origin": 693,
            "chain_secret_hex": start.secret.hex(),
            "steps": steps,
        }
    ]


def build() -> dict[str, Any]:
    vectors = (
        _identities() + _parse_dids() + _peer_ids() + _signatures() + _linkcerts() + _link_chain()
    )
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "Identity: peer ids, did:key, fingerprints, signatures and link certificates",
        "spec": "spec/identity.md",
        "notes": NOTES,
        "vectors": vectors,
    }
