"""What the owner asks of her reputation service, checked once: a rebuttal of an attestation.

See spec/reputation.md §3 and §7.3.
"""

from __future__ import annotations

from collections.abc import Callable

from amity.protocol.attestation import Attestation, Rebuttal
from amity.protocol.core.reputation.effects import Answer, KeepRebuttal, ReputationEffect
from amity.protocol.errors import NodeError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.reputationmessages import MSG_REBUT, encode_rebut

__all__ = ["rebut"]


def rebut(
    identity: SigningIdentity,
    attestation: Attestation,
    origin: PeerId | None,
    text: str,
    *,
    connected: Callable[[PeerId], bool],
    now_ms: int,
) -> tuple[Rebuttal, list[PeerId], list[ReputationEffect]]:
    """Answer an attestation about the owner, held from ``origin``.

    The rebuttal is kept beside it and sent to its attester and to the peer it came from, those
    of them connected now, in key order. Returns the rebuttal, who it goes to, and the effects.
    """
    if attestation.subject != identity.peer_id:
        raise NodeError("only the attestation's subject can rebut it, and that is not you")
    rebuttal = Rebuttal.issue(identity, attestation, text=text, issued_ms=now_ms)
    targets = {attestation.attester} if origin is None else {attestation.attester, origin}
    reachable = sorted((p for p in targets if connected(p)), key=lambda p: p.key)
    body = encode_rebut(attestation.encoded, rebuttal.encoded)
    kept = KeepRebuttal(attestation.attestation_id, rebuttal, identity.peer_id)
    return rebuttal, reachable, [kept, *(Answer(peer, MSG_REBUT, body) for peer in reachable)]
