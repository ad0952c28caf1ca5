"""Test vectors for spec/relay.md: deposit tickets (§6.1, §6.2) and the admission rule (§6.3).

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

import msgpack

from amity.protocol.card import CARD_DOMAIN
from amity.protocol.encoding import encode
from amity.protocol.errors import AmityError
from amity.protocol.frames import Deposit
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.mailbox import MailboxPolicy, admit_deposit
from amity.protocol.sealed import seal
from amity.protocol.signed import sign_structure
from amity.protocol.ticket import TICKET_DOMAIN, check_ticket, issue_ticket

ALICE_SEED = bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c")
BOB_SEED = bytes.fromhex("b0b0000000000000000000000000000000000000000000000000000000000b0b")
CAROL_SEED = bytes.fromhex("ca201000000000000000000000000000000000000000000000000000000ca201")
#: Alice is the recipient (she uses a relay), Bob her peer (holds her ticket), Carol a stranger.
ALICE = SigningIdentity(ALICE_SEED)
BOB = SigningIdentity(BOB_SEED)
CAROL = SigningIdentity(CAROL_SEED)
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NOT_AFTER = T0 + 30 * 24 * 3600 * 1000
LINK_PUBLIC = bytes(range(1, 33))
EPHEMERAL = bytes.fromhex("e9e9e90000000000000000000000000000000000000000000000000000e9e9e9")
#: The vectors' policy: small numbers, so each limit is reached by a few items.
POLICY = MailboxPolicy(
    max_bytes_per_sender=4000,
    max_items_per_recipient=10,
    stranger_items_per_recipient=3,
    stranger_bytes_per_recipient=1500,
)


def _ticket_vectors() -> list[dict[str, Any]]:
    good = issue_ticket(ALICE, sender=BOB.peer_id, not_after_ms=NOT_AFTER)
    signed_bytes = encode([1, ALICE.peer_id.key, BOB.peer_id.key, NOT_AFTER])
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    vectors: list[dict[str, Any]] = [
        {
            "name": "ticket-issue",
            "description": "Alice lets Bob deposit mail for her until NOT_AFTER.",
            "operation": "issue",
            "recipient_seed_hex": ALICE_SEED.hex(),
            "sender_peer_id_hex": BOB.peer_id.key.hex(),
            "not_after_ms": NOT_AFTER,
            "signed_bytes_hex": signed_bytes.hex(),
            "ticket_hex": good.hex(),
        },
        _check(
            "ticket-valid",
            "Shown by Bob for mail to Alice, a millisecond before the end.",
            good,
            ALICE,
            BOB,
            NOT_AFTER - 1,
        ),
    ]
    bad: list[tuple[str, str, bytes, SigningIdentity, SigningIdentity, int]] = [
        (
            "ticket-wrong-sender",
            "Carol shows Bob's ticket (her session proves Carol).",
            good,
            ALICE,
            CAROL,
            T0,
        ),
        (
            "ticket-wrong-recipient",
            "Bob shows Alice's ticket with mail for Carol.",
            good,
            CAROL,
            BOB,
            T0,
        ),
        (
            "ticket-expired",
            "At not_after_ms the ticket no longer holds (the end is exclusive).",
            good,
            ALICE,
            BOB,
            NOT_AFTER,
        ),
        ("ticket-flipped-bit", "One bit of the signature flipped.", bytes(flipped), ALICE, BOB, T0),
        (
            "ticket-self-signed",
            "Bob signs a ticket naming Alice as recipient: not her signature.",
            sign_structure([1, ALICE.peer_id.key, BOB.peer_id.key, NOT_AFTER], TICKET_DOMAIN, BOB),
            ALICE,
            BOB,
            T0,
        ),
        (
            "ticket-card-domain",
            "Alice's signature, but under the card domain.",
            sign_structure([1, ALICE.peer_id.key, BOB.peer_id.key, NOT_AFTER], CARD_DOMAIN, ALICE),
            ALICE,
            BOB,
            T0,
        ),
        (
            "ticket-version-2",
            "Version 2 (with five fields) is refused as unsupported.",
            sign_structure(
                [2, ALICE.peer_id.key, BOB.peer_id.key, NOT_AFTER, 0], TICKET_DOMAIN, ALICE
            ),
            ALICE,
            BOB,
            T0,
        ),
        (
            "ticket-five-fields",
            "Version 1 has exactly four fields.",
            sign_structure(
                [1, ALICE.peer_id.key, BOB.peer_id.key, NOT_AFTER, 0], TICKET_DOMAIN, ALICE
            ),
            ALICE,
            BOB,
            T0,
        ),
        (
            "ticket-sender-31-bytes",
            "The sender is a bin32.",
            sign_structure(
                [1, ALICE.peer_id.key, BOB.peer_id.key[:31], NOT_AFTER], TICKET_DOMAIN, ALICE
            ),
            ALICE,
            BOB,
            T0,
        ),
        (
            "ticket-too-large",
            "193 bytes: over MAX_TICKET_BYTES (192), refused before it is parsed.",
            bytes(msgpack.packb([b"\x00" * 124, b"\x00" * 64], use_bin_type=True)),
            ALICE,
            BOB,
            T0,
        ),
    ]
    vectors += [_check(*case) for case in bad]
    return vectors


def _check(
    name: str,
    description: str,
    ticket: bytes,
    recipient: SigningIdentity,
    sender: SigningIdentity,
    now_ms: int,
) -> dict[str, Any]:
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "operation": "check",
        "ticket_hex": ticket.hex(),
        "recipient_peer_id_hex": recipient.peer_id.key.hex(),
        "sender_peer_id_hex": sender.peer_id.key.hex(),
        "now_ms": now_ms,
    }
    try:
        check_ticket(ticket, recipient=recipient.peer_id, sender=sender.peer_id, now_ms=now_ms)
    except AmityError as exc:
        vector["error"] = exc.code
    return vector


def _sealed(size_hint: int, to: PeerId = ALICE.peer_id) -> bytes:
    # The relay reads only the header: the box need not hold a real envelope for these vectors.
    return seal(
        b"\x00" * size_hint, recipient=to, link_public=LINK_PUBLIC, ephemeral_private=EPHEMERAL
    )


def _admit_vectors() -> list[dict[str, Any]]:
    ticket = issue_ticket(ALICE, sender=BOB.peer_id, not_after_ms=NOT_AFTER)
    stale = issue_ticket(ALICE, sender=BOB.peer_id, not_after_ms=T0)
    small = _sealed(100)
    cases: list[dict[str, Any]] = [
        _admit(
            "admit-stranger",
            "A stranger's first deposit: in the strangers' budget.",
            small,
            None,
            CAROL,
        ),
        _admit(
            "admit-stranger-items-full",
            "Strangers already hold 3 items for Alice.",
            small,
            None,
            CAROL,
            strangers=(3, 3 * len(small)),
        ),
        _admit(
            "admit-stranger-bytes-full",
            "This one would take strangers over 1500 bytes.",
            small,
            None,
            CAROL,
            strangers=(2, 1500 - len(small) + 1),
        ),
        _admit(
            "admit-ticketed-strangers-full",
            "Bob's ticket: the strangers' budget being full does not concern him.",
            small,
            ticket,
            BOB,
            items=3,
            strangers=(3, 1500),
        ),
        _admit(
            "admit-ticketed-mailbox-full",
            "Alice's mailbox holds 10 items: full for all.",
            small,
            ticket,
            BOB,
            items=10,
        ),
        _admit(
            "admit-sender-quota",
            "Bob already has 4000 bytes held here.",
            small,
            ticket,
            BOB,
            sender_bytes=4000 - len(small) + 1,
        ),
        _admit(
            "admit-unknown-recipient",
            "The relay does not serve Carol.",
            _sealed(100, CAROL.peer_id),
            None,
            BOB,
        ),
        _admit(
            "admit-expired-ticket",
            "An expired ticket is refused, not taken as a stranger's deposit.",
            small,
            stale,
            BOB,
        ),
        _admit(
            "admit-stolen-ticket",
            "Carol shows Bob's ticket: refused before any quota.",
            small,
            ticket,
            CAROL,
            sender_bytes=10**9,
        ),
        _admit(
            "admit-bad-header",
            "Mail whose header does not read is refused first.",
            b"\x91\x02",
            ticket,
            BOB,
        ),
    ]
    return cases


def _admit(
    name: str,
    description: str,
    sealed: bytes,
    ticket: bytes | None,
    sender: SigningIdentity,
    *,
    items: int = 0,
    strangers: tuple[int, int] = (0, 0),
    sender_bytes: int = 0,
) -> dict[str, Any]:
    admission = admit_deposit(
        Deposit(1, sealed, ticket),
        POLICY,
        sender=sender.peer_id,
        now_ms=T0,
        serves=lambda peer: peer == ALICE.peer_id,
        bytes_from_sender=lambda: sender_bytes,
        items_for=lambda peer: items,
        stranger_mail_for=lambda peer: strangers,
    )
    return {
        "name": name,
        "description": description,
        "operation": "admit",
        "policy": {
            "max_bytes_per_sender": POLICY.max_bytes_per_sender,
            "max_items_per_recipient": POLICY.max_items_per_recipient,
            "stranger_items_per_recipient": POLICY.stranger_items_per_recipient,
            "stranger_bytes_per_recipient": POLICY.stranger_bytes_per_recipient,
        },
        "recipient_peer_id_hex": ALICE.peer_id.key.hex(),
        "sealed_hex": sealed.hex(),
        "ticket_hex": ticket.hex() if ticket is not None else None,
        "sender_peer_id_hex": sender.peer_id.key.hex(),
        "now_ms": T0,
        "held_items_for_recipient": items,
        "held_stranger_items_for_recipient": strangers[0],
        "held_stranger_bytes_for_recipient": strangers[1],
        "held_bytes_from_sender": sender_bytes,
        "code": admission.code,
        "ticketed": admission.ticketed if admission.code == "ok" else None,
    }


def build() -> dict[str, Any]:
    return {
        "title": "Deposit tickets and the relay's admission rule",
        "spec": "spec/relay.md",
        "notes": (
            "Alice is served by the relay; Bob is her peer, Carol a stranger (seeds: alice "
            f"{ALICE_SEED.hex()}, bob {BOB_SEED.hex()}, carol {CAROL_SEED.hex()}). issue: "
            "issue_ticket(recipient seed, sender=, not_after_ms=) gives exactly ticket_hex. "
            "check: check_ticket(ticket, recipient=, sender=, now_ms=) passes or raises `error`. "
            "admit: admit_deposit under `policy`, the relay serving only recipient_peer_id_hex, "
            "with the held_* numbers as what the relay holds now; `code` is the DEPOSITED answer "
            "and `ticketed` (for ok) which budget the held item counts against."
        ),
        "vectors": _ticket_vectors() + _admit_vectors(),
    }
