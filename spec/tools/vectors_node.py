"""Test vectors for spec/node.md: one script of inputs to a node, with the answer to each.

A vendor node (its seed below) issues one invitation, then takes, in order, the inputs of
``steps``: frames on a live link from a peer (``from``: the peer the link's handshake proved),
and a link coming up. Its answer to each is the list of effects of spec/node.md §1, written as
plain values (peers by role, codes, sequence numbers, relationship states). The clock stands at
``now_ms`` throughout. Frames are given whole (hex), so an implementation in another language
feeds them as they are and compares its answers.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.card import Card, NodeKind
from amity.protocol.core import commands, effects
from amity.protocol.core.links import on_link_up
from amity.protocol.core.memory import MemoryHost
from amity.protocol.core.receive import on_frame
from amity.protocol.envelope import sign_envelope
from amity.protocol.frames import encode_ack, encode_envelope_frame, encode_mail, encode_refuse
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relationship import CancelTimer, Notify, Persist, SendMessage, SetTimer
from amity.protocol.relmessages import (
    MSG_END,
    MSG_HELLO,
    EndBody,
    HelloBody,
    encode_end,
    encode_hello,
)
from amity.protocol.sealed import seal

NODE_SEED = bytes.fromhex("5e0d000000000000000000000000000000000000000000000000000000005e0d")
PERSON_SEED = bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c")
STRANGER_SEED = bytes.fromhex("ca201000000000000000000000000000000000000000000000000000000ca201")
RELAY_SEED = bytes.fromhex("2e1a00000000000000000000000000000000000000000000000000000000002e")
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SECRET = bytes.fromhex("5ec2e7000000000000000000000000aa")
EPHEMERAL = bytes.fromhex("e9e9e90000000000000000000000000000000000000000000000000000e9e9e9")


def _nonce(n: int) -> bytes:
    return n.to_bytes(16, "big")


class _Script:
    """Builds the inputs and records the node's answers."""

    def __init__(self) -> None:
        self.node = MemoryHost(NODE_SEED, name="Corner Shop", kind=NodeKind.VENDOR, now_ms=T0)
        self.person = Keyring(PERSON_SEED)
        self.stranger = Keyring(STRANGER_SEED)
        self.relay = Keyring(RELAY_SEED)
        self.roles = {
            self.node.peer_id: "node",
            self.person.identity.peer_id: "person",
            self.stranger.identity.peer_id: "stranger",
            self.relay.identity.peer_id: "relay",
        }
        self.steps: list[dict[str, Any]] = []
        self.nonces = 0

    def envelope(self, signer: Keyring, type_: str, seq: int, body: bytes) -> bytes:
        self.nonces += 1
        return sign_envelope(
            signer.identity,
            type=type_,
            recipient=self.node.peer_id,
            seq=seq,
            ts_ms=T0,
            nonce=_nonce(self.nonces),
            body=body,
        )

    def card_of(self, keyring: Keyring, name: str) -> Card:
        _, cert = keyring.current(T0)
        return Card.issue(
            keyring.identity,
            link_cert=cert,
            kind=NodeKind.PERSON,
            name=name,
            issued_ms=T0,
            not_after_ms=T0 + 86_400_000,
        )

    def sealed(self, envelope: bytes) -> bytes:
        _, cert = self.node.keyring.current(T0)
        return seal(
            envelope,
            recipient=self.node.peer_id,
            link_public=cert.link_public,
            ephemeral_private=EPHEMERAL,
        )

    def frame(self, role: str, frame: bytes, what: str) -> None:
        peer = self._peer(role)
        answer = on_frame(self.node, peer, frame, T0)
        self.node.apply(answer)
        self.steps.append(
            {
                "input": "frame",
                "from": role,
                "what": what,
                "frame_hex": frame.hex(),
                "expect": [self.describe(e) for e in answer],
            }
        )

    def link_up(self, role: str, what: str) -> None:
        answer = on_link_up(self.node, self._peer(role), T0)
        self.node.apply(answer)
        self.steps.append(
            {
                "input": "link_up",
                "from": role,
                "what": what,
                "expect": [self.describe(e) for e in answer],
            }
        )

    def _peer(self, role: str) -> PeerId:
        return next(peer for peer, name in self.roles.items() if name == role)

    def describe(self, effect: effects.Effect) -> dict[str, Any]:
        """An effect as plain values (spec/node.md §1), peers by role."""
        role = self.roles.get
        match effect:
            case effects.Accepted():
                env = effect.envelope
                return {
                    "effect": "store",
                    "type": env.type,
                    "seq": env.seq,
                    "from": role(env.sender),
                    "direct": effect.direct,
                    "state": effect.relationship.state.value,
                    "steps": [self.step(e) for e in effect.effects],
                }
            case effects.Transition():
                return {
                    "effect": "transition",
                    "state": effect.relationship.state.value,
                    "steps": [self.step(e) for e in effect.effects],
                }
            case effects.Confirm():
                return {"effect": "confirm", "seq": effect.seq, "mail_id": effect.mail_id}
            case effects.Refuse():
                return {
                    "effect": "refuse",
                    "seq": effect.seq,
                    "mail_id": effect.mail_id,
                    "code": effect.error.code,
                }
            case effects.Rejected():
                peer = None if effect.peer is None else role(effect.peer)
                return {"effect": "rejected", "peer": peer, "code": effect.error.code}
            case effects.Duplicate():
                return {"effect": "duplicate", "seq": effect.envelope.seq}
            case effects.Settled():
                return {"effect": "settled", "peer": role(effect.peer), "seqs": list(effect.seqs)}
            case effects.RefusedByPeer():
                return {
                    "effect": "refused_by_peer",
                    "peer": role(effect.peer),
                    "seq": effect.seq,
                    "code": effect.code,
                }
            case effects.DialOnce():
                return {"effect": "dial_once", "peer": role(effect.peer)}
            case effects.Flush():
                return {"effect": "resend_outbox", "peer": role(effect.peer)}
            case effects.Publish():
                return {"effect": "tell_owner", "event": effect.event, "seq": effect.seq}
        raise AssertionError(f"no description for {effect!r}")

    def step(self, effect: object) -> str:
        """A relationship machine's effect in one line (relationship.md §6)."""
        match effect:
            case Persist():
                return f"persist {effect.relationship.state.value}"
            case SendMessage():
                return f"send {effect.type} to {self.roles.get(effect.to)}"
            case Notify():
                return f"notify {effect.kind}"
            case SetTimer():
                return f"set_timer {effect.token} at {effect.at_ms - T0} ms"
            case CancelTimer():
                return f"cancel_timer {effect.token}"
        raise AssertionError(f"no description for {effect!r}")


def _script() -> _Script:
    s = _Script()
    invitation = s.node.card(invite_secret=SECRET)
    s.node.apply(commands.invite(invitation, T0))
    note = encode_note
    hello = encode_hello(HelloBody(s.card_of(s.person, "Alice"), SECRET))
    s.link_up("person", "a stranger's link comes up: nothing to step, nothing to resend")
    s.frame(
        "person",
        encode_envelope_frame(s.envelope(s.person, MSG_NOTE, 1, note("hi"))),
        "a note before any relationship: refused",
    )
    hello_frame = encode_envelope_frame(s.envelope(s.person, MSG_HELLO, 2, hello))
    s.frame("person", hello_frame, "her hello with the invitation's secret: she is a peer now")
    s.frame("person", hello_frame, "the same hello again (our ACK was lost): confirmed again")
    s.frame(
        "person",
        encode_envelope_frame(s.envelope(s.person, MSG_NOTE, 3, note("hello, shop"))),
        "a note in the relationship: stored, confirmed, the owner told",
    )
    s.frame(
        "person",
        encode_envelope_frame(s.envelope(s.person, "shop.order", 4, b"\x91\x01")),
        "a type this node does not handle: refused, so she stops resending",
    )
    s.frame(
        "person",
        encode_envelope_frame(s.envelope(s.stranger, MSG_NOTE, 1, note("not mine"))),
        "an envelope someone else signed, on her link: rejected, nobody to tell",
    )
    s.frame("person", encode_ack([1, 2]), "she ACKs our envelopes 1 and 2")
    s.frame(
        "person",
        encode_refuse(3, "envelope.wrong_type", "no"),
        "she refuses our envelope 3: settled, the owner told",
    )
    s.frame("person", b"", "an empty frame: rejected, the link stays up")
    s.frame("person", b"\x09\x90", "an unknown frame kind: rejected")
    s.frame("relay", encode_mail(7, b"\x01garbage"), "unreadable relayed mail: MAIL_ACKed at once")
    relayed = s.sealed(s.envelope(s.person, MSG_NOTE, 5, note("sent while you were away")))
    s.frame(
        "relay",
        encode_mail(8, relayed),
        "her note, held by a relay: stored, MAIL_ACKed, and one dial to her",
    )
    stranger_hello = encode_hello(HelloBody(s.card_of(s.stranger, "Carol"), SECRET))
    s.frame(
        "relay",
        encode_mail(9, s.sealed(s.envelope(s.stranger, MSG_HELLO, 1, stranger_hello))),
        "a stranger's hello through a relay: an invitation is redeemed only over a live session",
    )
    end = encode_end(EndBody("moving on", T0))
    s.frame(
        "person",
        encode_envelope_frame(s.envelope(s.person, MSG_END, 6, end)),
        "she ends the relationship",
    )
    s.frame(
        "person",
        encode_envelope_frame(s.envelope(s.person, MSG_NOTE, 7, note("one more thing"))),
        "a note after the end: refused",
    )
    s.link_up("person", "her link comes up again: the relationship is over, only the resend")
    return s


def build() -> dict[str, Any]:
    s = _script()
    return {
        "title": "amity node core vectors: the answer to each input, in order",
        "spec": "node.md",
        "notes": [
            "One script. The node (node_seed_hex, a vendor named 'Corner Shop') first issues an"
            " invitation with invite_secret_hex at now_ms (its card: endpoints and relays empty,"
            " 30 days); then each step is one input, fed in order, with the clock at now_ms.",
            "input 'frame': frame_hex arrived on a live link whose handshake proved the peer"
            " 'from'. input 'link_up': a link to 'from' just came up.",
            "expect: the node's answer, spec/node.md §1, in order. 'store' lists the relationship"
            " machine's effects (relationship.md §6) in one line each; 'state' is the"
            " relationship's state after it. Peers are named by role; the seeds give their keys.",
        ],
        "vectors": [
            {
                "name": "node-script",
                "description": "A vendor's answers to seventeen inputs from a person, a"
                " stranger and a relay, from the first hello to after the end.",
                "node_seed_hex": NODE_SEED.hex(),
                "node_kind": "vendor",
                "node_name": "Corner Shop",
                "now_ms": T0,
                "invite_secret_hex": SECRET.hex(),
                "peer_seeds_hex": {
                    "person": PERSON_SEED.hex(),
                    "stranger": STRANGER_SEED.hex(),
                    "relay": RELAY_SEED.hex(),
                },
                "steps": s.steps,
            }
        ],
    }
