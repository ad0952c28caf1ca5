"""Every decoder and verifier of amity.protocol that takes untrusted bytes or text, in one table.

Each :class:`Decoder` names the public callable it covers (``module.name``, with an optional
``[variant]``), a function of one fuzz input, and a corpus of valid or nearly valid inputs to
mutate. Variants reach deeper checks: ``[resigned]`` signs whatever the fuzzer made of the signed
part, ``[sealed]`` boxes it, ``[payload]`` carries it through a valid Noise handshake. The rule
they are all held to (spec/errors.md): whatever the input, a decoder returns or raises an
AmityError, nothing else. tests/protocol/test_fuzz_decoders.py runs them and checks that no public
decoder is missing from here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amity.protocol import (
    agreement,
    attestation,
    audit,
    card,
    claims,
    delivery,
    encoding,
    envelope,
    frames,
    grants,
    identity,
    keyring,
    linkcert,
    mailbox,
    negotiation,
    noise,
    notes,
    policy,
    receipts,
    relmessages,
    reputationmessages,
    sealed,
    session,
    sharing,
    signed,
    succession,
    terms,
    termsmessages,
    vault,
)
from amity.protocol.encoding import decode, encode
from amity.protocol.errors import AmityError
from amity.protocol.linkcert import LinkKey
from tests.fuzzing import context as ctx
from tests.fuzzing.context import hexes, inner, vectors

__all__ = ["Decoder", "decoders"]


@dataclass(frozen=True, slots=True)
class Decoder:
    """One fuzz target: ``call(input)`` must return or raise an AmityError."""

    name: str
    call: Callable[[Any], object]
    corpus: tuple[Any, ...]
    #: The input is text (str); otherwise bytes.
    text: bool = False
    #: Other public names that ``call`` runs on what it decoded (a verifier after its decoder).
    also: tuple[str, ...] = ()
    #: Share of the inputs, relative to 1 (a handshake per input costs 20 times a decode).
    weight: float = 1.0

    @property
    def covers(self) -> str:
        """The public name this target exercises: ``module.function`` or ``module.Class.method``."""
        return self.name.split("[", 1)[0]


def _bytes_targets() -> list[Decoder]:
    out: list[Decoder] = []

    def add(
        name: str, corpus: tuple[bytes, ...], *also: str, weight: float = 1.0
    ) -> Callable[[Callable[[bytes], object]], None]:
        def register(call: Callable[[bytes], object]) -> None:
            out.append(Decoder(name, call, corpus, also=also, weight=weight))

        return register

    # -- encoding, identity, signatures --------------------------------------------------------
    encodings = hexes("encoding", "input_hex") + hexes("encoding", "encoded_hex")
    add("encoding.decode", encodings)(encoding.decode)
    add("encoding.decode_array", encodings)(lambda d: encoding.decode_array(d, 3, "fuzz"))
    add("identity.PeerId", hexes("identity", "peer_id_hex"))(identity.PeerId)
    sign = vectors("identity", op="sign")
    sign_corpus = tuple(bytes.fromhex(v["signature_hex"] + v["message_hex"]) for v in sign)
    alice = ctx.identity(sign[0]["identity_seed_hex"]).peer_id
    domain = bytes.fromhex(sign[0]["domain_hex"])
    add("identity.verify_signature", sign_corpus)(
        lambda d: identity.verify_signature(alice, domain, d[64:], d[:64])
    )
    certs = hexes("identity", "cert_hex")
    add("linkcert.LinkCert.decode", certs)(linkcert.LinkCert.decode)
    cert_issuer = ctx.identity(vectors("identity", op="linkcert_issue")[0]["identity_seed_hex"])
    add("linkcert.LinkCert.decode[resigned]", tuple(inner(c) for c in certs[:3]))(
        lambda d: linkcert.LinkCert.decode(ctx.resign(d, linkcert.LINKCERT_DOMAIN, cert_issuer))
    )
    add("linkcert.is_usable_link_key", (bytes(32), bytes.fromhex("e0" + "00" * 31)))(
        linkcert.is_usable_link_key
    )
    ring = keyring.Keyring(bytes(32))
    add("keyring.Keyring.find_link_key", (ring.current(ctx.NOW_MS)[0].public,))(
        lambda d: ring.find_link_key(d, ctx.NOW_MS)
    )
    signed_things = certs + hexes("card", "card_hex") + hexes("grants", "grant_hex")
    add("signed.split_signed", signed_things)(lambda d: signed.split_signed(d, "fuzz", arity=5))
    add("signed.split_signed_any_arity", signed_things, "signed.SignedParts.verify")(
        lambda d: signed.split_signed_any_arity(d, "fuzz").verify(alice, domain)
    )

    # -- cards, envelopes, sealed mail ---------------------------------------------------------
    cards = hexes("card", "card_hex")

    def read_card(d: bytes) -> object:
        found = card.Card.decode(d)
        found.check_valid(ctx.NOW_MS)
        return found.policy_summary()

    add("card.Card.decode", cards)(read_card)
    card_vector = vectors("card", name="vendor-card")[0]
    card_owner = ctx.identity(card_vector["identity_seed_hex"])
    add("card.Card.decode[resigned]", (bytes.fromhex(card_vector["signed_bytes_hex"]),))(
        lambda d: read_card(ctx.resign(d, card.CARD_DOMAIN, card_owner))
    )
    envelopes = hexes("envelope", "envelope_hex")
    to_bob = ctx.peer(vectors("envelope", error=None)[0]["recipient_peer_id_hex"])
    add("envelope.open_envelope", envelopes)(lambda d: envelope.open_envelope(d, recipient=to_bob))
    good_envelope = vectors("envelope", error=None)[0]
    sender = ctx.identity(good_envelope["sender_seed_hex"])
    add("envelope.open_envelope[resigned]", hexes("envelope", "signed_bytes_hex"))(
        lambda d: envelope.open_envelope(
            ctx.resign(d, envelope.ENVELOPE_DOMAIN, sender), recipient=to_bob
        )
    )
    seal_vector = vectors("sealed", name="typical")[0]
    recipient = ctx.peer(seal_vector["recipient_peer_id_hex"])
    link = LinkKey(bytes.fromhex(seal_vector["link_seed_hex"]))
    seals = hexes("sealed", "sealed_hex")
    add("sealed.peek_sealed", seals)(sealed.peek_sealed)
    add("sealed.open_sealed", seals)(
        lambda d: sealed.open_sealed(d, recipient=recipient, link_key=link)
    )
    ephemeral = bytes.fromhex(seal_vector["ephemeral_seed_hex"])
    add("sealed.open_sealed[sealed]", hexes("sealed", "envelope_hex") + envelopes[:4])(
        lambda d: sealed.open_sealed(
            sealed.seal(
                d, recipient=recipient, link_public=link.public, ephemeral_private=ephemeral
            ),
            recipient=recipient,
            link_key=link,
        )
    )

    # -- link frames and the relay -------------------------------------------------------------
    sealed_mail = seals[0]
    add("frames.split_frame", (frames.encode_ack([1]), frames.encode_envelope_frame(envelopes[0])))(
        frames.split_frame
    )
    add("frames.decode_deposit", (frames.encode_deposit(7, sealed_mail)[1:],))(
        frames.decode_deposit
    )

    def admit(d: bytes) -> object:
        return mailbox.admit_deposit(
            frames.decode_deposit(d),
            mailbox.MailboxPolicy(),
            serves=lambda who: who == recipient,
            bytes_from_sender=lambda: 0,
            items_for=lambda who: 0,
        )

    add("mailbox.admit_deposit", (frames.encode_deposit(7, sealed_mail)[1:],))(admit)
    add("frames.decode_deposited", (frames.encode_deposited(7, "relay.full")[1:],))(
        frames.decode_deposited
    )
    add("frames.decode_mail", (frames.encode_mail(3, sealed_mail)[1:],))(frames.decode_mail)
    add("frames.decode_mail_ack", (frames.encode_mail_ack([1, 2, 2**40])[1:],))(
        frames.decode_mail_ack
    )
    add("frames.decode_ack", (frames.encode_ack([1, 5, 9])[1:],))(frames.decode_ack)
    add("frames.decode_refuse", (frames.encode_refuse(4, "envelope.bad_signature", "no")[1:],))(
        frames.decode_refuse
    )

    # -- sessions (Noise XX) -------------------------------------------------------------------
    m1, m2, m3 = ctx.HandshakeStage.messages()
    for stage, message in enumerate((m1, m2, m3)):
        add(f"session.Session.receive_handshake[message-{stage + 1}]", (message,), weight=0.2)(
            lambda d, s=stage: ctx.HandshakeStage.at(s)[0].receive_handshake(d, ctx.NOW_MS)
        )
    add("session.Session.receive_handshake[payload]", ctx.HANDSHAKE_PAYLOADS, weight=0.3)(
        ctx.answerer_after
    )
    add("session.check_handshake_payload", ctx.HANDSHAKE_PAYLOADS)(
        lambda d: session.check_handshake_payload(
            d, proven_static=ctx.PROVEN_STATIC, now_ms=ctx.NOW_MS, expected_peer=ctx.ALICE_PEER
        )
    )

    def receive_frames(d: bytes) -> object:
        send, receiver = ctx.established_receiver()
        # An input that is an array of bins is a run of fragments, one frame each.
        try:
            parts = ctx.list_of_bytes(d)
        except AmityError:
            parts = None
        results = [receiver.decrypt(send.encrypt_with_ad(b"", p)) for p in parts or [d]]
        return results

    more = b"\x01" + bytes(session.FRAME_PAYLOAD_BYTES)
    add(
        "session.Session.decrypt",
        (b"\x00hello", b"\x00", encode([more, b"\x00tail"])),
        weight=0.3,
    )(receive_frames)
    cipher_key = bytes(range(32))
    good_frame = noise.CipherState(cipher_key).encrypt_with_ad(b"ad", b"hello")
    add("noise.CipherState.decrypt_with_ad", (good_frame,))(
        lambda d: noise.CipherState(cipher_key).decrypt_with_ad(b"ad", d)
    )
    add("noise.HandshakeState.read_message", (m1,))(
        lambda d: noise.HandshakeState(
            initiator=False,
            prologue=session.PROLOGUE,
            static_private=bytes([0x72]) * 32,
            ephemeral_private=bytes([0x82]) * 32,
        ).read_message(d)
    )

    # -- relationship messages -----------------------------------------------------------------
    add("notes.decode_note", (notes.encode_note("hello, shop"), notes.encode_note("")))(
        notes.decode_note
    )
    add("relmessages.decode_hello", hexes("relationship", "body_hex", operation="hello-body"))(
        relmessages.decode_hello
    )
    add("relmessages.decode_end", hexes("relationship", "body_hex", operation="end-body"))(
        relmessages.decode_end
    )

    # -- terms, policies, agreements -----------------------------------------------------------
    documents = hexes("terms", "terms_hex")
    add("terms.TermsDocument.decode", documents)(terms.TermsDocument.decode)
    bodies = vectors("terms", operation="body")

    def read_terms_body(d: bytes) -> object:
        # The fuzz input is enc([message type, body]), so that both can change.
        value = decode(d)
        if not (isinstance(value, list) and len(value) == 2):
            return None
        kind, body = value
        if not (isinstance(kind, str) and isinstance(body, bytes)):
            return None
        return negotiation.received(termsmessages.decode_terms_body(kind, body))

    add(
        "termsmessages.decode_terms_body",
        tuple(encode([v["type"], bytes.fromhex(v["body_hex"])]) for v in bodies),
        "negotiation.received",
    )(read_terms_body)
    add("policy.decode_policy_summary", hexes("terms", "summary_hex"))(policy.decode_policy_summary)
    agreements = hexes("terms", "agreement_hex")
    add("agreement.Agreement.decode", agreements)(agreement.Agreement.decode)
    people = ctx.seeds_of("terms")
    person, vendor = ctx.identity(people["person"]), ctx.identity(people["vendor"])

    def resigned_agreement(d: bytes) -> object:
        return agreement.Agreement.decode(
            encode(
                [
                    d,
                    person.sign(agreement.AGREEMENT_DOMAIN, d),
                    vendor.sign(agreement.AGREEMENT_DOMAIN, d),
                ]
            )
        )

    add("agreement.Agreement.decode[resigned]", tuple(inner(a) for a in agreements[:1]))(
        resigned_agreement
    )
    agreement_signed = inner(agreements[0])
    add(
        "agreement.verify_agreement_signature",
        (person.sign(agreement.AGREEMENT_DOMAIN, agreement_signed) + agreement_signed,),
    )(lambda d: agreement.verify_agreement_signature(person.peer_id, d[64:], d[:64]))

    # -- grants, deliveries, claims, receipts, the vault, the audit log ------------------------
    grant_vector = vectors("grants", name="grant-typical")[0]
    grantor = ctx.identity(grant_vector["grantor_seed_hex"])
    grantee = ctx.peer(grant_vector["grantee_peer_id_hex"])
    grant_list = hexes("grants", "grant_hex")
    add("grants.Grant.decode", grant_list)(grants.Grant.decode)
    add("grants.open_grant", grant_list)(
        lambda d: grants.open_grant(d, grantor=grantor.peer_id, grantee=grantee, now_ms=ctx.NOW_MS)
    )
    add("grants.open_grant[resigned]", tuple(inner(g) for g in grant_list[:2]))(
        lambda d: grants.open_grant(
            ctx.resign(d, grants.GRANT_DOMAIN, grantor),
            grantor=grantor.peer_id,
            grantee=grantee,
            now_ms=ctx.NOW_MS,
        )
    )
    add("grants.read_signed", grant_list)(
        lambda d: grants.read_signed(d, "fuzz", arity=11, max_bytes=4096)
    )
    add("grants.read_body", hexes("grants", "body_hex", kind="request"))(
        lambda d: grants.read_body(d, "fuzz", arity=5, max_bytes=4096)
    )
    revocations = hexes("grants", "revocation_hex")
    add("grants.Revocation.decode", revocations)(grants.Revocation.decode)
    add("grants.Revocation.decode[resigned]", tuple(inner(r) for r in revocations[:1]))(
        lambda d: grants.Revocation.decode(ctx.resign(d, grants.REVOCATION_DOMAIN, grantor))
    )
    add("grants.decode_request", hexes("grants", "body_hex", kind="request"))(grants.decode_request)
    claim_list = hexes("grants", "claim_hex")
    add("claims.DerivedClaim.decode", claim_list)(claims.DerivedClaim.decode)
    add("claims.DerivedClaim.decode[resigned]", tuple(inner(c) for c in claim_list[:2]))(
        lambda d: claims.DerivedClaim.decode(ctx.resign(d, claims.CLAIM_DOMAIN, grantor))
    )
    delivery_vector = vectors("grants", name="delivery-typical")[0]
    delivery_link = LinkKey(bytes.fromhex(delivery_vector["link_seed_hex"]))

    def open_delivery(d: bytes) -> object:
        return delivery.open_delivery(
            d,
            grantor=grantor.peer_id,
            grantee=grantee,
            link_key=delivery_link,
            now_ms=ctx.NOW_MS,
        )

    deliveries = hexes("grants", "body_hex", kind="delivery")
    add("delivery.open_delivery", deliveries)(open_delivery)
    add("delivery.delivery_link_key", deliveries)(delivery.delivery_link_key)
    delivered = encode(
        [
            1,
            grant_list[0],
            [["email", "email", "alice@example.org"]],
            list(claim_list[:1]),
        ]
    )
    add("delivery.open_delivery[sealed]", (delivered,))(
        lambda d: open_delivery(
            encode([1, delivery_link.public, ctx.box_to(d, delivery_link.public)])
        )
    )
    receipt_list = hexes("receipts", "receipt_hex")
    receipt_vector = vectors("receipts", kind="receipt", error=None)[0]
    issuer = ctx.identity(receipt_vector["issuer_seed_hex"])
    subject = ctx.peer(receipt_vector["subject_peer_id_hex"])
    add("receipts.decode_receipt", receipt_list)(receipts.decode_receipt)
    add("receipts.open_receipt", receipt_list)(
        lambda d: receipts.open_receipt(d, issuer=issuer.peer_id, subject=subject)
    )
    add("receipts.open_receipt[resigned]", tuple(inner(r) for r in receipt_list[:4]))(
        lambda d: receipts.open_receipt(
            ctx.resign(d, receipts.RECEIPT_DOMAIN, issuer),
            issuer=issuer.peer_id,
            subject=subject,
        )
    )
    add("receipts.decode_holdings_query", hexes("receipts", "body_hex", kind="holdings-query"))(
        receipts.decode_holdings_query
    )
    add("vault.decode_field", hexes("grants", "field_hex", kind="field"))(vault.decode_field)
    seal_vector = vectors("grants", name="vault-seal-email")[0]
    vault_key = bytes.fromhex(seal_vector["key_hex"])
    add("vault.open_field", hexes("grants", "sealed_hex", kind="vault-seal"))(
        lambda d: vault.open_field(vault_key, d, name="email")
    )
    entries = tuple(vectors("audit", name="audit-chain-five")[0]["entries_hex"])
    entry_bytes = tuple(bytes.fromhex(e) for e in entries)
    add("audit.decode_entry", entry_bytes)(audit.decode_entry)

    def verify_chain(d: bytes) -> object:
        chain = ctx.list_of_bytes(d)
        return None if chain is None else audit.verify_chain(chain)

    add("audit.verify_chain", (encode(list(entry_bytes)),))(verify_chain)

    # -- reputation ----------------------------------------------------------------------------
    attestations = hexes("reputation", "attestation_hex")
    attestation_vector = vectors("reputation", name="attestation-valid")[0]
    now_rep = attestation_vector["now_ms"]
    add("attestation.Attestation.decode", attestations)(
        lambda d: attestation.Attestation.decode(d, now_rep)
    )
    reputation_people = ctx.seeds_of("reputation")
    attester = ctx.identity(reputation_people[attestation_vector["attester"]])
    add(
        "attestation.Attestation.decode[resigned]",
        (bytes.fromhex(attestation_vector["signed_bytes_hex"]),),
    )(
        lambda d: attestation.Attestation.decode(
            ctx.resign(d, attestation.ATTESTATION_DOMAIN, attester), now_rep
        )
    )
    rebuttal_vector = vectors("reputation", name="rebuttal-valid")[0]
    answered = attestation.Attestation.decode(bytes.fromhex(attestation_vector["attestation_hex"]))
    add("attestation.Rebuttal.decode", hexes("reputation", "rebuttal_hex"))(
        lambda d: attestation.Rebuttal.decode(d, answered)
    )
    rebutter = ctx.identity(reputation_people[rebuttal_vector["rebutter"]])
    add(
        "attestation.Rebuttal.decode[resigned]",
        (bytes.fromhex(rebuttal_vector["signed_bytes_hex"]),),
    )(
        lambda d: attestation.Rebuttal.decode(
            ctx.resign(d, attestation.REBUTTAL_DOMAIN, rebutter), answered
        )
    )
    shares = hexes("reputation_messages", "body_hex", operation="share")
    share_now = vectors("reputation_messages", operation="share")[0]["now_ms"]
    owner = ctx.identity(ctx.seeds_of("reputation_messages")["bob"]).peer_id

    def read_share(d: bytes) -> object:
        share = reputationmessages.decode_share(d)
        for item in share.items:
            reputationmessages.read_item(item, share_now)
        return sharing.accept_share(
            share, owner=owner, now_ms=share_now, held_from_sender=0, max_from_sender=1000
        )

    add(
        "reputationmessages.decode_share",
        shares,
        "reputationmessages.read_item",
        "sharing.accept_share",
    )(read_share)
    add(
        "reputationmessages.decode_query",
        hexes("reputation_messages", "body_hex", operation="query"),
    )(reputationmessages.decode_query)
    add(
        "reputationmessages.decode_rebut",
        hexes("reputation_messages", "body_hex", operation="rebut"),
    )(lambda d: reputationmessages.decode_rebut(d, share_now))

    # -- identity succession -------------------------------------------------------------------
    add(
        "succession.RotationStatement.decode",
        hexes("succession", "statement_hex", operation="rotation"),
    )(succession.RotationStatement.decode)
    add(
        "succession.RevocationStatement.decode",
        hexes("succession", "statement_hex", operation="revocation"),
    )(succession.RevocationStatement.decode)
    revocation_vector = vectors("succession", operation="revocation", error=None)[0]
    revoker = ctx.identity(revocation_vector["seed_hex"])
    add(
        "succession.RevocationStatement.decode[resigned]",
        (inner(bytes.fromhex(revocation_vector["statement_hex"])),),
    )(
        lambda d: succession.RevocationStatement.decode(
            ctx.resign(d, succession.REVOCATION_DOMAIN, revoker)
        )
    )
    chains = [v for v in vectors("succession", operation="resolve_chain") if v["statements_hex"]]
    chain_start = ctx.peer(chains[0]["start_key_hex"])
    chain_at = chains[0]["at_ms"]

    def resolve(d: bytes) -> object:
        value = decode(d)
        if not (isinstance(value, list) and len(value) == 2):
            return None
        statements, revoked = (ctx.list_of_bytes(encode(part)) for part in value)
        if statements is None or revoked is None:
            return None
        return succession.resolve_chain(chain_start, statements, revoked, at_ms=chain_at)

    add(
        "succession.resolve_chain",
        tuple(
            encode(
                [
                    [bytes.fromhex(s) for s in v["statements_hex"]],
                    [bytes.fromhex(r) for r in v["revocations_hex"]],
                ]
            )
            for v in chains
            if v["start_key_hex"] == chains[0]["start_key_hex"]
        ),
    )(resolve)
    return out


def _text_targets() -> list[Decoder]:
    dids = tuple(v["did"] for v in ctx.VECTORS["identity"] if "did" in v)
    uris = tuple(v["uri"] for v in ctx.VECTORS["card"] if "uri" in v)
    tomls = tuple(
        dict.fromkeys(v["policy_toml"] for v in ctx.VECTORS["terms"] if "policy_toml" in v)
    )
    return [
        Decoder("identity.PeerId.from_did", identity.PeerId.from_did, dids, text=True),
        Decoder("card.Card.from_uri", card.Card.from_uri, uris, text=True),
        Decoder("policy.parse_policy", policy.parse_policy, tomls, text=True),
    ]


@functools.cache
def decoders() -> tuple[Decoder, ...]:
    """The registry, built once (it loads the vectors and runs a few handshakes)."""
    found = (*_bytes_targets(), *_text_targets())
    names = [d.name for d in found]
    assert len(names) == len(set(names)), "two fuzz targets share a name"
    return found
