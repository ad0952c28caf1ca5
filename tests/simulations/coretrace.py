"""The node core's answers, written down so that two drivers' runs can be compared.

Both drivers keep a ``core_trace`` (amity.node.daemon.Node, amity.simulations.node.SimNode):
every answer of the core (amity.protocol.core) they carried out, as ``(peer of the input,
[effects])``. :func:`describe` turns one such entry into plain JSON values: message types, seqs,
relationship states, codes, deposit and mail ids, seq lists are kept; peers become their did
(the test maps each did to a role name); everything that differs from run to run (keys, nonces,
times, signatures, grant ids, endpoints) is reduced to its kind, as
tests/simulations/test_crosscheck.py's :func:`shape` does for message bodies. A real daemon writes
these lines to a file (tests/simulations/traced_amity.py); the simulator's trace is described in
the test's own process.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.core.effects import (
    Accepted,
    Confirm,
    DepositAnswered,
    DepositAsked,
    DialOnce,
    Duplicate,
    Effect,
    Flush,
    KeepTicket,
    MailAcked,
    Publish,
    Refuse,
    RefusedByPeer,
    Rejected,
    Settled,
    TicketIgnored,
    Transition,
)
from amity.protocol.encoding import decode
from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.relationship import (
    CancelTimer,
    Notify,
    Persist,
    Relationship,
    SendMessage,
    SetTimer,
)
from amity.protocol.relationship import Effect as RelationshipEffect
from tests.simulations.test_crosscheck import shape

__all__ = ["describe"]

Described = Any


def describe(peer: PeerId | None, effects: list[Effect]) -> Described:
    """One trace entry as JSON values: ``[peer did or None, [effect, ...]]``."""
    return [_peer(peer), [_effect(effect) for effect in effects]]


def _peer(peer: PeerId | None) -> str | None:
    return None if peer is None else peer.did


def _effect(effect: Effect) -> Described:
    name = type(effect).__name__
    if isinstance(effect, Transition):
        return [name, _relationship(effect.relationship), _rel_effects(effect.effects)]
    if isinstance(effect, Accepted):
        # ``keep_body`` is left out: it is the host's answer to "does your inbox keep this
        # type's body", and the simulator keeps no inbox at all (SimNode.keeps_body).
        return [
            name,
            _envelope(effect.envelope),
            _relationship(effect.relationship),
            _rel_effects(effect.effects),
            _answer(effect.answer),
            effect.direct,
        ]
    if isinstance(effect, Confirm):
        return [name, effect.seq, effect.mail_id]
    if isinstance(effect, Refuse):
        return [name, effect.seq, effect.error.code, effect.mail_id]
    if isinstance(effect, Rejected):
        return [name, _peer(effect.peer), effect.error.code]
    if isinstance(effect, Duplicate):
        return [name, _envelope(effect.envelope)]
    if isinstance(effect, KeepTicket):
        return [name, _peer(effect.peer), shape(effect.ticket), "int"]
    if isinstance(effect, TicketIgnored):
        return [name, _peer(effect.peer), effect.error.code]
    if isinstance(effect, Settled):
        return [name, _peer(effect.peer), list(effect.seqs)]
    if isinstance(effect, RefusedByPeer):
        return [name, _peer(effect.peer), effect.seq, effect.code]
    if isinstance(effect, DialOnce | Flush):
        return [name, _peer(effect.peer)]
    if isinstance(effect, Publish):
        return [name, effect.event, _peer(effect.peer), effect.seq, effect.type]
    if isinstance(effect, DepositAsked):
        deposit = effect.deposit
        return [name, _peer(effect.peer), deposit.deposit_id, deposit.ticket is not None]
    if isinstance(effect, DepositAnswered):
        return [name, _peer(effect.peer), effect.deposit_id, effect.code]
    if isinstance(effect, MailAcked):
        return [name, _peer(effect.peer), list(effect.mail_ids)]
    return [name, "<not described>"]


def _envelope(envelope: Envelope) -> Described:
    return [
        envelope.type,
        _peer(envelope.sender),
        _peer(envelope.recipient),
        envelope.seq,
        shape(decode(envelope.body)),
    ]


def _relationship(rel: Relationship) -> Described:
    return {
        "role": rel.role.value,
        "state": rel.state.value,
        "peer": _peer(rel.peer),
        "handshake_done": rel.handshake_done,
        "peer_card": rel.peer_card is not None,
        "timer": rel.timer_token,
        "timer_at": None if rel.timer_at_ms is None else "int",
        "timers_armed": rel.timers_armed,
        "ended": [rel.ended_reason, rel.ended_by],
    }


def _rel_effects(effects: list[RelationshipEffect]) -> Described:
    out: list[Described] = []
    for effect in effects:
        name = type(effect).__name__
        if isinstance(effect, Persist):
            out.append([name, _relationship(effect.relationship)])
        elif isinstance(effect, SendMessage):
            out.append([name, _peer(effect.to), effect.type, shape(decode(effect.body))])
        elif isinstance(effect, SetTimer):
            out.append([name, effect.token, "int"])
        elif isinstance(effect, CancelTimer):
            out.append([name, effect.token])
        elif isinstance(effect, Notify):
            out.append([name, effect.kind, effect.detail])
        else:
            out.append([name, "<not described>"])
    return out


def _answer(answer: object) -> Described:
    """A service's answer: what it sends with the commit (its writes and after-actions are
    the driver's own business: SQLite rows in one, memory in the other)."""
    if answer is None:
        return None
    sends = getattr(answer, "sends", None)
    if sends is None:
        return type(answer).__name__
    return {"sends": [[_peer(s.to), s.type, shape(decode(s.body))] for s in sends]}
