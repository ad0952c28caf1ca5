"""What both tellings of the core cross-check story share (tests/simulations/test_core_crosscheck.py):
its constants, and how a node's core trace becomes per-peer streams with each peer named by its role."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from amity.protocol.identity import PeerId

EMAIL = "alice@example.org"
GRANT_S = 5  # long enough for the vendor to read it on a loaded machine
GRACE_S = 1
#: Attestations she signs by hand before sharing: with her 2 automatic ones, 72 > 64 per share.
BUNDLE = 70
NOTE = "while you were away"
START_MS = 1_767_225_600_000
DAY_MS = 86_400_000
#: The daemon's default attestation lifetime (reputation policy ``attestation_days``).
ATTESTATION_DAYS = 365
ROLES = ("person", "vendor", "breacher", "friend", "relay")


#: One node's answers to one peer's inputs: the envelopes, links and mail stream, and the
#: answers to our own frames (ACK and REFUSE, DEPOSITED, MAIL_ACK), each kind in order.
Streams = dict[tuple[str, str], tuple[list[Any], list[Any]]]
#: Answers to our frames, by the kind of frame they answer: envelopes (ACK, REFUSE), deposits
#: (DEPOSITED), mail (MAIL_ACK). Each kind keeps its order; between kinds, timing decides.
_ANSWERS = {"Settled": 0, "RefusedByPeer": 0, "DepositAnswered": 1, "MailAcked": 2}


def streams(traces: dict[str, list[Any]], dids: dict[str, str]) -> Streams:
    """Each node's described trace, split per (node, peer of the input) and by kind of input."""
    out: Streams = defaultdict(lambda: ([], []))
    for node, entries in traces.items():
        for entry in entries:
            peer, effects = _roles(entry, dids)
            main, answers = out[(node, str(peer))]
            if effects and all(effect[0] in _ANSWERS for effect in effects):
                for effect in effects:
                    if effect[0] in ("Settled", "MailAcked"):  # one per seq, however batched
                        answers.extend([effect[0], effect[1], seq] for seq in effect[2])
                    else:
                        answers.append(effect)
            else:
                main.append(effects)
    for _, answers in out.values():
        answers.sort(key=lambda effect: _ANSWERS[effect[0]])  # stable: each kind keeps its order
    return dict(out)


def _roles(value: Any, dids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return dids.get(value, value)
    if isinstance(value, list):
        return [_roles(item, dids) for item in value]
    if isinstance(value, dict):
        return {key: _roles(item, dids) for key, item in value.items()}
    return value


# -- the daemons ---------------------------------------------------------------------------------


def in_roles(text: str, roles: dict[str, str]) -> str:
    """``text`` with each peer's did, and its short form, replaced by its role."""
    for did, role in roles.items():
        text = text.replace(did, f"<{role}>").replace(PeerId.from_did(did).short, f"<{role}>")
    return text
