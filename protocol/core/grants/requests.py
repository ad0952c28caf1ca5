"""Grant requests: a vendor asks for fields for a purpose; the person's rule or the person answers.

A request carries no data and creates no obligation (spec/grants.md §4.4). The person's node
keeps each one as pending until its owner approves all or some of the fields (a grant for at
most the duration asked) or declines (nothing is sent); with her rule on, a request the vault and
the agreement can satisfy is granted at once, within the rule.
"""

from __future__ import annotations

from typing import Final

from amity.protocol.core.grants.effects import (
    Audit,
    DecideRequest,
    Effect,
    KeepRequest,
    RequestCame,
    RequestWaits,
    Send,
)
from amity.protocol.core.grants.grantor import Random, connected, issue, split_names
from amity.protocol.core.grants.host import GrantsHost
from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.grants import (
    MSG_REQUEST,
    GrantRequest,
    check_names,
    decode_request,
    encode_request,
)
from amity.protocol.identity import PeerId

__all__ = ["PENDING", "ask", "on_request", "answerable", "approval", "decline"]

PENDING: Final = "pending"


def ask(
    host: GrantsHost,
    peer: PeerId,
    names: list[str],
    *,
    purpose: str,
    context: str,
    duration_ms: int,
) -> list[Effect]:
    """Ask ``peer`` for ``names`` for ``purpose`` (a vendor's request)."""
    connected(host, peer, "ask")
    body = encode_request(GrantRequest(check_names(names), purpose, context, duration_ms))
    detail = f"we asked for {', '.join(sorted(names))} for {purpose}"
    return [
        KeepRequest(peer, True, body, "sent"),
        Audit("grant.requested", peer, b"", detail),
        Send(peer, MSG_REQUEST, body),
    ]


def on_request(host: GrantsHost, envelope: Envelope, now_ms: int, random: Random) -> list[Effect]:
    """``grant.request``: keep it as pending, or grant it at once under her rule."""
    request = decode_request(envelope.body)
    sender = envelope.sender
    rule = host.rule
    allowed = rule.allows(request.fields, request.purpose)
    issued: list[Effect] = []
    granted: list[str] = []
    gid = None
    if allowed:
        try:
            grant, issued = issue(
                host,
                sender,
                allowed,
                purpose=request.purpose,
                context=request.context,
                duration_ms=min(request.duration_ms, rule.max_ms),
                now_ms=now_ms,
                random=random,
            )
            gid, granted = grant.grant_id, list(grant.fields)
        except AmityError as exc:  # the vault or the agreement cannot satisfy it: ask her
            issued = [RequestWaits(sender, exc.message)]
    state = PENDING if gid is None else "approved"
    detail = f"asked for {', '.join(request.fields)} for {request.purpose}: " + (
        f"approved {', '.join(granted)} by her rule" if gid else "waits for the owner"
    )
    return [
        KeepRequest(sender, False, envelope.body, state, gid),
        Audit("grant.requested", sender, b"", detail),
        *issued,
        RequestCame(sender, state),
    ]


def answerable(request_id: int, *, outgoing: bool, state: str, body: bytes) -> GrantRequest:
    """The request the owner answers: one she received that still waits for her."""
    if outgoing or state != PENDING:
        what = "one you sent" if outgoing else f"already {state}"
        raise NodeError(f"request #{request_id} is {what}; only pending ones are answered")
    return decode_request(body)


def approval(request_id: int, request: GrantRequest, specs: list[str] | None) -> list[str]:
    """What she approves: every field asked, or ``specs``, a subset of them."""
    chosen = specs or list(request.fields)
    names, _ = split_names(chosen)
    extra = sorted(set(names) - set(request.fields))
    if extra:
        raise NodeError(
            f"request #{request_id} asked for {', '.join(request.fields)}, not "
            f"{', '.join(extra)}; approve those or fewer"
        )
    return chosen


def decline(request_id: int, peer: PeerId, request: GrantRequest) -> list[Effect]:
    """She declines: nothing is sent (a request creates no obligation), the decision is kept."""
    detail = f"declined: {', '.join(request.fields)} for {request.purpose}"
    return [
        DecideRequest(request_id, "declined", None),
        Audit("grant.declined", peer, b"", detail),
    ]
