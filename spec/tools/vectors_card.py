"""Test vectors for spec/card.md: peer cards, invitations and the ``amity:`` URI.

Every key is made from a fixed 32-byte seed and every time is fixed, so the output is identical on
every run (Ed25519 signatures are deterministic). Negative vectors that need a card the public API
refuses to issue (version 2, an unknown kind, a bad endpoint, a certificate of another key) are
signed here field by field, so their signatures are valid and only the named defect remains.
Policy summaries are written out value by value (not made by ``policy_summary``), so a vector checks
the summary code as well as the card.
"""

from __future__ import annotations

import base64
from typing import Any

from amity.protocol.card import (
    CARD_DOMAIN,
    MAX_ENDPOINTS,
    MAX_NAME_BYTES,
    MAX_POLICY_BYTES,
    MAX_RELAYS,
    MAX_URI_CHARS,
    Card,
    NodeKind,
    Relay,
)
from amity.protocol.encoding import Value, encode
from amity.protocol.errors import (
    CardExpiredError,
    CardSignatureError,
    CardUriError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    MalformedError,
    SchemaError,
    SessionIdentityError,
    TooLargeError,
    UnknownClauseError,
    UnknownVocabularyError,
    UnsupportedVersionError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LINKCERT_DOMAIN, LinkCert, LinkKey
from amity.protocol.signed import sign_structure

#: Base time: 2023-11-14T22:13:20Z.
T0 = 1_700_000_000_000
DAY_MS = 86_400_000
CERT_NOT_AFTER = T0 + 30 * DAY_MS
CARD_NOT_AFTER = T0 + 7 * DAY_MS
#: A moment at which every positive vector's card and certificate are valid.
NOW = T0 + DAY_MS

IDENTITY_SEEDS = [bytes([0xC0 + n]) * 32 for n in range(3)]
LINK_PRIVATES = [bytes([0xD0 + n]) * 32 for n in range(3)]
IDS = [SigningIdentity(seed) for seed in IDENTITY_SEEDS]
LINKS = [LinkKey(private) for private in LINK_PRIVATES]
CERTS = [
    LinkCert.issue(IDS[n], LINKS[n].public, T0, CERT_NOT_AFTER) for n in range(len(IDENTITY_SEEDS))
]
INVITE_SECRET = bytes(range(0x10, 0x20))
ENDPOINTS = ["wss://shop.example/amity/v1", "ws://192.0.2.7:7700/amity/v1"]
RELAY_ENDPOINT = "wss://relay.example/amity/v1"

#: A small vendor policy (spec/terms.md §5.2) and its published summary (§5.3), value by value.
POLICY_TOML = """\
version = 1
vocabulary = 1
default = "ask-human"

[clause."amity.no-tracking"]
action = "accept"

[clause."amity.delete-on-end"]
action = "within"
days = { min = 30 }
counter = { days = 30 }
"""
_DELETE_RULE: list[Value] = ["amity.delete-on-end", "within", [[30, 365]], [30], "counter", ""]
_TRACKING_RULE: list[Value] = ["amity.no-tracking", "accept", [], [], "counter", ""]
POLICY_SUMMARY = encode([1, 1, "ask-human", [_DELETE_RULE, _TRACKING_RULE]])


def _reject_all_summary(size: int) -> bytes:
    """A valid summary of exactly ``size`` bytes: reject rules whose reasons pad it out."""
    clauses = ["amity.access-to-my-data", "amity.breach-notice", "amity.delete-on-end"]
    clauses += ["amity.max-retention", "amity.no-profiling", "amity.no-third-party-sharing"]
    clauses += ["amity.no-tracking", "amity.notify-policy-change", "amity.purpose-limitation"]
    lengths = [0] * len(clauses)

    def summary() -> bytes:
        rules: list[Value] = [
            [clause, "reject", [], [], "counter", "x" * n]
            for clause, n in zip(clauses, lengths, strict=True)
        ]
        return encode([1, 1, "reject", rules])

    for index in range(len(clauses)):
        while len(summary()) < size and lengths[index] < 200:
            lengths[index] += 1
    data = summary()
    assert len(data) == size, len(data)
    return data


def _fields(
    n: int = 0,
    *,
    version: Value = 1,
    cert: bytes | None = None,
    kind: str = "person",
    name: str = "Alice",
    endpoints: list[Value] | None = None,
    relays: list[Value] | None = None,
    issued_ms: int = T0,
    not_after_ms: int = CARD_NOT_AFTER,
    secret: bytes | None = None,
    policy: Value = None,
) -> list[Value]:
    """The eleven signed fields of a card of identity ``n``, any of them overridden."""
    return [
        version,
        IDS[n].peer_id.key,
        CERTS[n].encoded if cert is None else cert,
        kind,
        name,
        [ENDPOINTS[1]] if endpoints is None else endpoints,
        [] if relays is None else relays,
        issued_ms,
        not_after_ms,
        secret,
        policy,
    ]


def _raw(fields: list[Value], n: int = 0) -> bytes:
    """Sign ``fields`` as identity ``n`` would, whatever they hold."""
    return sign_structure(fields, CARD_DOMAIN, IDS[n])


def _uri(data: bytes) -> str:
    return "amity:" + base64.b32encode(data).decode("ascii").rstrip("=")


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _issue_vector(
    name: str,
    description: str,
    n: int,
    *,
    kind: NodeKind,
    card_name: str,
    endpoints: list[str],
    relays: list[int],
    secret: bytes | None,
    policy_toml: str | None = None,
) -> dict[str, Any]:
    policy = None if policy_toml is None else POLICY_SUMMARY
    card = Card.issue(
        IDS[n],
        link_cert=CERTS[n],
        kind=kind,
        name=card_name,
        endpoints=endpoints,
        relays=[Relay(IDS[r].peer_id, RELAY_ENDPOINT) for r in relays],
        issued_ms=T0,
        not_after_ms=CARD_NOT_AFTER,
        invite_secret=secret,
        policy=policy,
    )
    signed_bytes = encode(
        [
            1,
            IDS[n].peer_id.key,
            CERTS[n].encoded,
            kind.value,
            card_name,
            list(endpoints),
            [[IDS[r].peer_id.key, RELAY_ENDPOINT] for r in relays],
            T0,
            CARD_NOT_AFTER,
            secret,
            policy,
        ]
    )
    return {
        "name": name,
        "description": description,
        "operation": "issue",
        "identity_seed_hex": IDENTITY_SEEDS[n].hex(),
        "link_seed_hex": LINK_PRIVATES[n].hex(),
        "link_public_hex": LINKS[n].public.hex(),
        "cert_not_before_ms": T0,
        "cert_not_after_ms": CERT_NOT_AFTER,
        "link_cert_hex": CERTS[n].encoded.hex(),
        "kind": kind.value,
        "card_name": card_name,
        "endpoints": endpoints,
        "relays": [
            {"id_hex": IDS[r].peer_id.key.hex(), "endpoint": RELAY_ENDPOINT} for r in relays
        ],
        "issued_ms": T0,
        "not_after_ms": CARD_NOT_AFTER,
        "invite_secret_hex": None if secret is None else secret.hex(),
        "policy_toml": policy_toml,
        "policy_hex": None if policy is None else policy.hex(),
        "now_ms": NOW,
        "peer_id_hex": IDS[n].peer_id.key.hex(),
        "did": IDS[n].peer_id.did,
        "fingerprint": IDS[n].peer_id.fingerprint,
        "signed_bytes_hex": signed_bytes.hex(),
        "card_hex": card.encoded.hex(),
        "uri": card.to_uri(),
    }


def _error(
    name: str, description: str, error: str, *, data: bytes | None = None, **inputs: Any
) -> dict[str, Any]:
    vector: dict[str, Any] = {"name": name, "description": description}
    if "uri" in inputs:
        vector["operation"] = "from_uri"
    elif "now_ms" in inputs:
        vector["operation"] = "check_valid"
    else:
        vector["operation"] = "decode"
    if data is not None:
        vector["card_hex"] = data.hex()
    vector.update(inputs)
    vector["error"] = error
    return vector


def _newer_policy(name: str, description: str, policy: bytes, error: str) -> dict[str, Any]:
    """A valid card whose policy summary is newer than this node: the card stands (§4 step 10)."""
    return {
        "name": name,
        "description": description,
        "operation": "decode",
        "card_hex": _raw(_fields(policy=policy)).hex(),
        "policy_error": error,
    }


def _newer_policies() -> list[dict[str, Any]]:
    return [
        _newer_policy(
            "policy-unknown-vocabulary",
            "A policy summary in vocabulary 9, which this node does not know: the card is valid, "
            "reading its policy fails with this code.",
            encode([1, 9, "reject", []]),
            UnknownVocabularyError.code,
        ),
        _newer_policy(
            "policy-summary-version-2",
            "A policy summary of format version 2: the card is valid, reading its policy fails.",
            encode([2, 1, "reject", []]),
            UnsupportedVersionError.code,
        ),
    ]


def _largest_card() -> bytes:
    """The largest card the field limits allow (spec/card.md §1): 5675 bytes."""
    fields = _fields(
        1,
        kind="vendor",
        name="é" * (MAX_NAME_BYTES // 2),
        endpoints=["ws://" + "a" * 250 + f"{i}" for i in range(MAX_ENDPOINTS)],
        relays=[[IDS[2].peer_id.key, "ws://" + "r" * 251]] * MAX_RELAYS,
        issued_ms=2**64 - 2,
        not_after_ms=2**64 - 1,
        secret=INVITE_SECRET,
        policy=_reject_all_summary(MAX_POLICY_BYTES),
    )
    data = _raw(fields, 1)
    assert len(data) == 5675, len(data)
    return data


def _largest_uri_vector() -> dict[str, Any]:
    """§7.2 step 2: the limit is MAX_URI_CHARS (10240) characters after whitespace is removed."""
    data = _largest_card()
    uri = _uri(data)
    spread = " ".join(uri)  # one space after every character: twice the limit before removal
    assert 8192 < len(uri) <= MAX_URI_CHARS < len(spread)
    return {
        "name": "uri-largest-card",
        "description": (
            f"The URI of the largest possible card ({len(data)} bytes, {len(uri)} characters: "
            "more than 8192) with a space after every character: whitespace is removed before "
            f"the {MAX_URI_CHARS}-character limit applies, so it parses."
        ),
        "operation": "from_uri",
        "uri": spread,
        "card_hex": data.hex(),
    }


def _positive() -> list[dict[str, Any]]:
    vendor = _issue_vector(
        "vendor-card",
        "A vendor's card: two endpoints, one relay, no invitation secret.",
        1,
        kind=NodeKind.VENDOR,
        card_name="Corner Bookshop",
        endpoints=ENDPOINTS,
        relays=[2],
        secret=None,
    )
    uri = vendor["uri"]
    wrapped = "\n".join(uri[i : i + 60] for i in range(0, len(uri), 60))
    return [
        _issue_vector(
            "person-card-minimal",
            "The smallest card: a person with no name, no endpoints and no relays.",
            0,
            kind=NodeKind.PERSON,
            card_name="",
            endpoints=[],
            relays=[],
            secret=None,
        ),
        vendor,
        _issue_vector(
            "vendor-invitation",
            "An invitation: the vendor's card with a 16-byte one-time secret.",
            1,
            kind=NodeKind.VENDOR,
            card_name="Corner Bookshop",
            endpoints=ENDPOINTS[:1],
            relays=[],
            secret=INVITE_SECRET,
        ),
        _issue_vector(
            "vendor-card-with-policy",
            "A vendor's card that publishes its policy: the summary of policy_toml, as bin.",
            1,
            kind=NodeKind.VENDOR,
            card_name="Corner Bookshop",
            endpoints=ENDPOINTS[:1],
            relays=[2],
            secret=None,
            policy_toml=POLICY_TOML,
        ),
        _issue_vector(
            "relay-card-unicode-name",
            "A relay whose name uses non-ASCII letters (UTF-8, counted in bytes).",
            2,
            kind=NodeKind.RELAY,
            card_name="Relais Zürich Süd ☕",
            endpoints=[RELAY_ENDPOINT],
            relays=[],
            secret=None,
        ),
        {
            "name": "uri-lower-case-and-wrapped",
            "description": (
                "The vendor-card URI in lower case, broken into 60-character lines with a "
                "leading space and CRLF line ends: it parses to the same card bytes."
            ),
            "operation": "from_uri",
            "uri": " " + wrapped.lower().replace("\n", "\r\n") + "\n",
            "card_hex": vendor["card_hex"],
        },
        _largest_uri_vector(),
        {
            "name": "uri-padded",
            "description": "The vendor-card URI with base32 '=' padding: accepted, same card.",
            "operation": "from_uri",
            "uri": uri + "=" * (-(len(uri) - len("amity:")) % 8),
            "card_hex": vendor["card_hex"],
        },
    ]


def _negative() -> list[dict[str, Any]]:
    good = Card.decode(_raw(_fields())).encoded
    other_cert = CERTS[1].encoded
    not_yet_cert = LinkCert.issue(IDS[0], LINKS[0].public, T0 + DAY_MS, CERT_NOT_AFTER)
    short_cert = LinkCert.issue(IDS[0], LINKS[0].public, T0, T0 + DAY_MS)
    # The link-certificate domain instead of the card domain: the same key, the wrong structure.
    signed_bytes = encode(_fields())
    wrong_domain = encode([signed_bytes, IDS[0].sign(LINKCERT_DOMAIN, signed_bytes)])
    return [
        _error(
            "bad-signature",
            "One bit of the card signature (its last byte) is flipped.",
            CardSignatureError.code,
            data=_flip(good, len(good) - 1),
        ),
        _error(
            "signed-under-another-domain",
            "The card fields signed by the right key under amity/linkcert/v1 instead of "
            "amity/card/v1.",
            CardSignatureError.code,
            data=wrong_domain,
        ),
        _error(
            "signed-by-another-key",
            "The fields name identity 0 but identity 1 signed them.",
            CardSignatureError.code,
            data=_raw(_fields(0), 1),
        ),
        _error(
            "cert-issued-by-another-key",
            "A validly signed card of identity 0 that carries identity 1's link certificate.",
            SessionIdentityError.code,
            data=_raw(_fields(cert=other_cert)),
        ),
        _error(
            "unknown-kind",
            "Kind 'robot' is not person, vendor or relay.",
            SchemaError.code,
            data=_raw(_fields(kind="robot")),
        ),
        _error(
            "kind-wrong-case",
            "Kind 'Person': kinds are compared exactly.",
            SchemaError.code,
            data=_raw(_fields(kind="Person")),
        ),
        _error(
            "endpoint-without-scheme",
            "Endpoint '192.0.2.7:7700' has no scheme.",
            SchemaError.code,
            data=_raw(_fields(endpoints=["192.0.2.7:7700"])),
        ),
        _error(
            "endpoint-with-space",
            "Endpoint 'ws://a b/' contains a space.",
            SchemaError.code,
            data=_raw(_fields(endpoints=["ws://a b/"])),
        ),
        _error(
            "endpoint-too-long",
            "An endpoint of 257 bytes (limit 256).",
            TooLargeError.code,
            data=_raw(_fields(endpoints=["ws://" + "a" * 252])),
        ),
        _error(
            "too-many-endpoints",
            "Nine endpoints (limit 8).",
            TooLargeError.code,
            data=_raw(_fields(endpoints=[f"ws://192.0.2.{i}:7700/" for i in range(9)])),
        ),
        _error(
            "too-many-relays",
            "Five relays (limit 4).",
            TooLargeError.code,
            data=_raw(_fields(relays=[[IDS[2].peer_id.key, RELAY_ENDPOINT]] * 5)),
        ),
        _error(
            "relay-id-wrong-size",
            "A relay id of 31 bytes.",
            SchemaError.code,
            data=_raw(_fields(relays=[[IDS[2].peer_id.key[:31], RELAY_ENDPOINT]])),
        ),
        _error(
            "name-with-control-char",
            "The name 'Alice\\x07' holds a BEL control character.",
            SchemaError.code,
            data=_raw(_fields(name="Alice\x07")),
        ),
        _error(
            "name-with-c1-control-char",
            "The name holds U+009B (CSI), which some terminals read as an escape sequence.",
            SchemaError.code,
            data=_raw(_fields(name="Alice\x9b2J")),
        ),
        _error(
            "name-too-long",
            "A name of 65 UTF-8 bytes (limit 64).",
            TooLargeError.code,
            data=_raw(_fields(name="a" * 65)),
        ),
        _error(
            "invite-secret-wrong-size",
            "An invitation secret of 15 bytes (it is 16 or nil).",
            SchemaError.code,
            data=_raw(_fields(secret=bytes(15))),
        ),
        _error(
            "never-valid",
            "issued_ms equals not_after_ms: the card is valid at no moment.",
            SchemaError.code,
            data=_raw(_fields(issued_ms=T0, not_after_ms=T0)),
        ),
        _error(
            "version-2",
            "Version 2 with the version 1 fields, validly signed.",
            UnsupportedVersionError.code,
            data=_raw(_fields(version=2)),
        ),
        _error(
            "version-2-other-shape",
            "Version 2 with twelve fields: the version is read before the arity.",
            UnsupportedVersionError.code,
            data=_raw([*_fields(version=2), b"future"]),
        ),
        _error(
            "version-true",
            "The version field is msgpack true, not the integer 1.",
            UnsupportedVersionError.code,
            data=_raw(_fields(version=True)),
        ),
        _error(
            "twelve-fields",
            "Version 1 with a twelfth field.",
            SchemaError.code,
            data=_raw([*_fields(), None]),
        ),
        _error(
            "ten-fields",
            "Version 1 without its last field (the policy, even when nil, is always there).",
            SchemaError.code,
            data=_raw(_fields()[:10]),
        ),
        _error(
            "policy-not-bin",
            "The policy is a str holding the summary's hex, not a bin.",
            SchemaError.code,
            data=_raw(_fields(policy=POLICY_SUMMARY.hex())),
        ),
        _error(
            "policy-too-large",
            f"A valid policy summary of {MAX_POLICY_BYTES + 1} bytes (limit {MAX_POLICY_BYTES}).",
            TooLargeError.code,
            data=_raw(_fields(policy=_reject_all_summary(MAX_POLICY_BYTES + 1))),
        ),
        _error(
            "policy-truncated",
            "The policy summary without its last byte: not one msgpack value.",
            MalformedError.code,
            data=_raw(_fields(policy=POLICY_SUMMARY[:-1])),
        ),
        _error(
            "policy-rules-unsorted",
            "A policy summary whose rules are not in ascending clause order (not canonical).",
            SchemaError.code,
            data=_raw(_fields(policy=encode([1, 1, "ask-human", [_TRACKING_RULE, _DELETE_RULE]]))),
        ),
        _error(
            "policy-unknown-clause",
            "A policy summary with a rule for a clause vocabulary 1 does not define.",
            UnknownClauseError.code,
            data=_raw(
                _fields(
                    policy=encode(
                        [
                            1,
                            1,
                            "reject",
                            [["amity.no-such-clause", "accept", [], [], "counter", ""]],
                        ]
                    )
                )
            ),
        ),
        _error(
            "expired",
            "A valid card checked at its not_after_ms (the end is exclusive).",
            CardExpiredError.code,
            data=good,
            now_ms=CARD_NOT_AFTER,
        ),
        _error(
            "link-cert-expired",
            "The card is still valid but its link certificate expired a moment ago.",
            CertificateExpiredError.code,
            data=_raw(_fields(cert=short_cert.encoded)),
            now_ms=T0 + DAY_MS,
        ),
        _error(
            "link-cert-not-yet-valid",
            "The card is valid from T0 but its link certificate only from T0 + 1 day.",
            CertificateNotYetValidError.code,
            data=_raw(_fields(cert=not_yet_cert.encoded)),
            now_ms=T0,
        ),
        _error(
            "uri-wrong-scheme",
            "A valid card's base32 behind 'amiti:' instead of 'amity:'.",
            CardUriError.code,
            uri="amiti:" + _uri(good).removeprefix("amity:"),
        ),
        _error(
            "uri-not-base32",
            "A valid card's URI with one character replaced by '1' (not in the base32 alphabet).",
            CardUriError.code,
            uri=_uri(good)[:20] + "1" + _uri(good)[21:],
        ),
        _error(
            "uri-truncated",
            "A valid card's URI without its last 8 characters (5 bytes): the card is cut short.",
            CardUriError.code,
            uri=_uri(good)[:-8],
        ),
        _error(
            "uri-too-long",
            f"{MAX_URI_CHARS + 1} characters after whitespace is removed (limit {MAX_URI_CHARS}): "
            "refused before base32 decoding.",
            CardUriError.code,
            uri="amity:" + "A" * (MAX_URI_CHARS + 1 - len("amity:")),
        ),
        _error(
            "uri-empty",
            "The scheme alone.",
            CardUriError.code,
            uri="amity:",
        ),
        _error(
            "uri-policy-unknown-clause",
            "A URI holding a validly signed card whose policy names an unknown clause: not a "
            "damaged URI, so the policy's own code.",
            UnknownClauseError.code,
            uri=_uri(
                _raw(
                    _fields(
                        policy=encode(
                            [
                                1,
                                1,
                                "reject",
                                [["amity.no-such-clause", "accept", [], [], "counter", ""]],
                            ]
                        )
                    )
                )
            ),
        ),
        _error(
            "uri-bad-signature",
            "A URI that decodes to a card with a flipped signature bit: the card's own code.",
            CardSignatureError.code,
            uri=_uri(_flip(good, len(good) - 1)),
        ),
    ]


def build() -> dict[str, Any]:
    return {
        "title": "amity peer cards, invitations and amity: URIs",
        "spec": "spec/card.md",
        "notes": (
            "Identities are Ed25519 keys from identity_seed_hex; link keys are X25519 keys from "
            "link_seed_hex, certified from cert_not_before_ms to cert_not_after_ms "
            "(spec/identity.md). operation 'issue': Card.issue with the inputs given must give "
            "card_hex (= [signed_bytes, sig]) and uri, and decoding card_hex must give back the "
            "fields and pass check_valid(now_ms); policy_hex (or null) is the policy field, and "
            "the policy summary of policy_toml (spec/terms.md §5.3). operation 'from_uri': "
            "parsing uri must give card_hex, or fail with error. operation 'decode': decoding "
            "card_hex must fail with error. operation 'check_valid': card_hex decodes, and "
            "check_valid(now_ms) fails with error. Negative cards are signed with a valid "
            "signature unless the defect is the signature. Times are ms since the Unix epoch; "
            "T0 = 1700000000000."
        ),
        "vectors": _positive() + _newer_policies() + _negative(),
    }
