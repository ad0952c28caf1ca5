"""Fuzz targets on the link: encoding, identities, cards, envelopes, sealed mail, frames, sessions.

Each ``targets.add(name, corpus, *also)(call)`` registers one target; see registry.py.
"""

from __future__ import annotations

import functools

from amity.protocol import (
    card,
    encoding,
    envelope,
    frames,
    identity,
    keyring,
    linkcert,
    mailbox,
    noise,
    notes,
    relmessages,
    sealed,
    session,
    signed,
    ticket,
)
from amity.protocol.encoding import encode
from amity.protocol.errors import AmityError
from amity.protocol.linkcert import LinkKey
from tests.fuzzing import context as ctx
from tests.fuzzing.context import hexes, inner, vectors
from tests.fuzzing.registry import Decoder, Targets

__all__ = ["link_targets"]


def _read_handshake(stage: int, message: bytes) -> object:
    return ctx.HandshakeStage.at(stage)[0].receive_handshake(message, ctx.NOW_MS)


def link_targets() -> list[Decoder]:
    targets = Targets()
    add = targets.add

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

    card_vector = vectors("card", name="vendor-card")[0]

    def read_card(d: bytes) -> object:
        found = card.Card.decode(d)
        found.policy_summary()
        found.check_valid(card_vector["now_ms"])
        return found

    add("card.Card.decode", cards, "card.Card.policy_summary")(read_card)
    card_owner = ctx.identity(card_vector["identity_seed_hex"])
    owned = hexes("card", "signed_bytes_hex", identity_seed_hex=card_vector["identity_seed_hex"])
    add("card.Card.decode[resigned]", owned)(
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

    admitted = vectors("relay", name="admit-ticketed-strangers-full")[0]
    ticket_owner = ctx.peer(admitted["recipient_peer_id_hex"])
    ticket_holder = ctx.peer(admitted["sender_peer_id_hex"])
    shown_ticket = bytes.fromhex(admitted["ticket_hex"])

    def admit(d: bytes) -> object:
        # The relay's view: it serves both recipients, its mailbox is empty, the ticket is fresh.
        return mailbox.admit_deposit(
            frames.decode_deposit(d),
            mailbox.MailboxPolicy(),
            sender=ticket_holder,
            now_ms=admitted["now_ms"],
            serves=lambda who: who in (recipient, ticket_owner),
            bytes_from_sender=lambda: 0,
            items_for=lambda who: 0,
            stranger_mail_for=lambda who: (0, 0),
        )

    add(
        "mailbox.admit_deposit",
        (
            frames.encode_deposit(7, sealed_mail)[1:],
            frames.encode_deposit(8, bytes.fromhex(admitted["sealed_hex"]), shown_ticket)[1:],
        ),
        "ticket.check_ticket",
    )(admit)
    tickets = hexes("relay", "ticket_hex")
    add("ticket.read_ticket", tickets)(ticket.read_ticket)
    add("ticket.check_ticket", tickets)(
        lambda d: ticket.check_ticket(
            d, recipient=ticket_owner, sender=ticket_holder, now_ms=admitted["now_ms"]
        )
    )
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
            functools.partial(_read_handshake, stage)
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

    dids = tuple(v["did"] for v in ctx.VECTORS["identity"] if "did" in v)
    uris = tuple(v["uri"] for v in ctx.VECTORS["card"] if "uri" in v)
    targets.text("identity.PeerId.from_did", dids)(identity.PeerId.from_did)
    targets.text("card.Card.from_uri", uris)(card.Card.from_uri)
    return targets.found
