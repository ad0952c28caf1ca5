"""The ``delegate.*`` message bodies (spec/delegation.md §7): plain canonical arrays. Sans-IO.

A chain travels whole (her capability first), each link as its signed bytes: whoever reads it
needs nothing else to check it. Reading a body decodes and verifies every capability and act in
it; what the chain may do is :mod:`amity.protocol.delegationchain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.delegation import MAX_CAPABILITY_BYTES, Capability, CapabilityRevocation
from amity.protocol.delegationchain import MAX_ACT_BYTES, MAX_CHAIN, Act
from amity.protocol.delivery import MAX_DELIVER_BODY_BYTES
from amity.protocol.encoding import Value, encode, expect_array, expect_bytes, expect_str
from amity.protocol.errors import SchemaError
from amity.protocol.grants import GRANT_ID_BYTES, read_body

__all__ = [
    "MSG_OFFER",
    "MSG_ACT",
    "MSG_ANSWER",
    "MSG_DELIVER",
    "MSG_REVOKE",
    "TYPES",
    "MAX_REASON_BYTES",
    "Answer",
    "DelegatedDelivery",
    "encode_offer",
    "decode_offer",
    "encode_act",
    "decode_act",
    "encode_answer",
    "decode_answer",
    "encode_delegated_delivery",
    "decode_delegated_delivery",
    "decode_body",
]

MSG_OFFER: Final = "delegate.offer"
MSG_ACT: Final = "delegate.act"
MSG_ANSWER: Final = "delegate.answer"
MSG_DELIVER: Final = "delegate.deliver"
MSG_REVOKE: Final = "delegate.revoke"
TYPES: Final = frozenset({MSG_OFFER, MSG_ACT, MSG_ANSWER, MSG_DELIVER, MSG_REVOKE})
MAX_REASON_BYTES: Final = 200
_MAX_CHAIN_BYTES: Final = MAX_CHAIN * (MAX_CAPABILITY_BYTES + 8) + 8
_MAX_OFFER_BYTES: Final = _MAX_CHAIN_BYTES + 16
_MAX_ACT_BODY_BYTES: Final = _MAX_CHAIN_BYTES + MAX_ACT_BYTES + 32
_MAX_ANSWER_BYTES: Final = 512
_MAX_DELIVER_BYTES: Final = _MAX_ACT_BODY_BYTES + MAX_DELIVER_BODY_BYTES + 32


def _chain(value: Value, what: str) -> tuple[Capability, ...]:
    items = expect_array(value, what, max_len=MAX_CHAIN)
    if not items:
        raise SchemaError(f"{what}: names no capability")
    return tuple(
        Capability.decode(expect_bytes(c, f"{what} link", max_size=MAX_CAPABILITY_BYTES))
        for c in items
    )


def _encode_chain(chain: Sequence[Capability]) -> list[Value]:
    return [c.encoded for c in chain]


def encode_offer(chain: Sequence[Capability]) -> bytes:
    """``delegate.offer``: the chain whose last link names the recipient as its agent."""
    return encode([1, _encode_chain(chain)])


def decode_offer(data: bytes) -> tuple[Capability, ...]:
    _, chain = read_body(data, "delegation offer", arity=2, max_bytes=_MAX_OFFER_BYTES)
    return _chain(chain, "delegation offer chain")


def encode_act(chain: Sequence[Capability], act: Act) -> bytes:
    """``delegate.act``: the agent asks her node to act, showing its whole chain."""
    return encode([1, _encode_chain(chain), act.encoded])


def decode_act(data: bytes) -> tuple[tuple[Capability, ...], Act]:
    _, chain, act = read_body(data, "delegated act", arity=3, max_bytes=_MAX_ACT_BODY_BYTES)
    links = _chain(chain, "delegated act chain")
    return links, Act.decode(expect_bytes(act, "delegated act", max_size=MAX_ACT_BYTES))


@dataclass(frozen=True, slots=True)
class Answer:
    """Her node's answer to an act: done (``code`` empty, the grant's id) or refused (a code)."""

    act_id: bytes
    code: str
    reason: str
    grant_id: bytes | None


def encode_answer(answer: Answer) -> bytes:
    return encode([1, answer.act_id, answer.code, answer.reason, answer.grant_id or b""])


def decode_answer(data: bytes) -> Answer:
    what = "delegation answer"
    _, act_id, code, reason, grant_id = read_body(data, what, arity=5, max_bytes=_MAX_ANSWER_BYTES)
    gid = expect_bytes(grant_id, f"{what} grant id", max_size=GRANT_ID_BYTES)
    if gid and len(gid) != GRANT_ID_BYTES:
        raise SchemaError(f"{what} grant id: empty or {GRANT_ID_BYTES} bytes")
    return Answer(
        expect_bytes(act_id, f"{what} act id", size=GRANT_ID_BYTES),
        expect_str(code, f"{what} code", max_bytes=64),
        expect_str(reason, f"{what} reason", max_bytes=MAX_REASON_BYTES),
        gid or None,
    )


@dataclass(frozen=True, slots=True)
class DelegatedDelivery:
    """``delegate.deliver``: a grant's sealed delivery (grants.md §5) with the chain and act
    it was made under, so the vendor checks both before it holds the data."""

    chain: tuple[Capability, ...]
    act: Act
    delivery: bytes


def encode_delegated_delivery(chain: Sequence[Capability], act: Act, delivery: bytes) -> bytes:
    return encode([1, _encode_chain(chain), act.encoded, delivery])


def decode_delegated_delivery(data: bytes) -> DelegatedDelivery:
    what = "delegated delivery"
    _, chain, act, delivery = read_body(data, what, arity=4, max_bytes=_MAX_DELIVER_BYTES)
    return DelegatedDelivery(
        _chain(chain, f"{what} chain"),
        Act.decode(expect_bytes(act, f"{what} act", max_size=MAX_ACT_BYTES)),
        expect_bytes(delivery, f"{what} body", max_size=MAX_DELIVER_BODY_BYTES),
    )


def decode_body(type_: str, data: bytes) -> object:
    """Any ``delegate.*`` body by its type (the fuzzer's single entry)."""
    readers = {
        MSG_OFFER: decode_offer,
        MSG_ACT: decode_act,
        MSG_ANSWER: decode_answer,
        MSG_DELIVER: decode_delegated_delivery,
        MSG_REVOKE: CapabilityRevocation.decode,
    }
    return readers[type_](data)
