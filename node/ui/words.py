"""Plain words for what the dashboard shows: audit kinds, states, purposes, times.

Codes (``grant.revoked``, ``relationship-ended``) stay for the details; the page says in words
what happened. Each table falls back to the code itself, so a new code still shows.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

__all__ = [
    "change_words",
    "clause_words",
    "verdict_words",
    "held_words",
    "state_words",
    "purpose_words",
    "when",
    "when_iso",
    "until",
]

#: What an audit entry of each kind says happened (spec/grants.md §9, §14).
_CHANGES: Final = {
    "terms.offer": "terms were offered",
    "agreement": "an agreement was signed by both of you",
    "terms.closed": "a negotiation closed without agreement",
    "grant.issued": "you shared data",
    "grant.delivered": "shared data was delivered",
    "grant.received": "data was shared with you",
    "grant.read": "shared data was read",
    "grant.refused": "a read without a live grant was refused",
    "grant.revoked": "a grant was revoked",
    "grant.deleted": "shared data was deleted",
    "grant.requested": "data was asked for",
    "grant.declined": "a request for data was declined",
    "receipt.received": "a signed receipt came back",
    "holdings.asked": "you asked what they hold about you",
    "holdings.answered": "a signed statement of what is held was given",
    "grant.updated": "shared data was replaced by your newer value",
    "attestation.made": "your node judged how a grant was kept",
    "delegate.acted": "an agent acted for you",
    "delegate.verified": "an agent's act for its principal was checked",
    "delegate.refused": "an agent's act was refused",
}

_STATES: Final = {
    # relationships
    "invited": "invited, not connected yet",
    "connecting": "connecting",
    "connected": "connected",
    "ended": "ended",
    # grants she issued (amity.node.grants.data.issued_json)
    "active": "shared now",
    "revoked": "revoked, deletion not confirmed yet",
    "expired": "expired, deletion not confirmed yet",
    "deleted": "deleted, with a signed receipt",
    # grants held for someone
    "held": "held",
    # invitations
    "open": "open",
    "withdrawn": "withdrawn",
}


#: What her own record says of a grant a holdings statement lists, when it should not be held.
_HELD_FLAGS: Final = {
    "revoked": "you revoked this grant, so they should have deleted it",
    "expired": "this grant has expired, so they should have deleted it",
    "deleted": "their node sent you a signed receipt saying it was deleted",
    "unknown": "you have no record of giving them this",
}


#: What each clause of the vocabulary promises, as the thing an attestation judges.
_CLAUSES: Final = {
    "amity.access-to-my-data": "showing a customer the data held about them",
    "amity.breach-notice": "telling of a breach",
    "amity.delete-on-end": "deleting data when it should end",
    "amity.max-retention": "keeping data no longer than agreed",
    "amity.no-profiling": "not profiling",
    "amity.no-third-party-sharing": "not passing data on",
    "amity.no-tracking": "not tracking",
    "amity.notify-policy-change": "giving notice before a policy change",
    "amity.purpose-limitation": "using data only for the agreed purpose",
}
_VERDICTS: Final = {
    "honoured": "kept their word on",
    "breached": "broke their word on",
    "disputed": "are in dispute over",
}


def clause_words(clause_id: str) -> str:
    return _CLAUSES.get(clause_id, clause_id)


def verdict_words(verdict: str, *, you: bool = False) -> str:
    """What a verdict says of its subject: "kept their word on" (``you``: "kept your word on")."""
    words = _VERDICTS.get(verdict, verdict)
    return words.replace("their", "your").replace("are in", "were in") if you else words


def held_words(our_record: str) -> str:
    return _HELD_FLAGS.get(our_record, our_record)


def change_words(kind: str) -> str:
    return _CHANGES.get(kind, kind)


def state_words(state: str) -> str:
    return _STATES.get(state, state)


def purpose_words(purpose: str) -> str:
    """``order-fulfilment`` → ``order fulfilment``."""
    return purpose.replace("-", " ")


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def when(ms: int | None) -> str:
    """A moment for people: ``7 Dec 2026, 18:20 UTC``."""
    if ms is None:
        return "never"
    return _utc(ms).strftime("%-d %b %Y, %H:%M UTC")


def when_iso(text: str) -> str:
    """:func:`when` for a time the API gives as ISO 8601 (``2026-12-07T18:20:00.000Z``)."""
    return when(int(dt.datetime.fromisoformat(text).timestamp() * 1000))


def until(ms: int, now_ms: int) -> str:
    """How far away a moment is: ``in 3 days``, ``in 2 hours``, ``5 minutes ago``."""
    delta_s = (ms - now_ms) / 1000
    ahead = delta_s >= 0
    size = abs(delta_s)
    for unit, seconds in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if size >= seconds:
            count = int(size // seconds)
            amount = f"{count} {unit}{'' if count == 1 else 's'}"
            break
    else:
        amount = "less than a minute"
    return f"in {amount}" if ahead else f"{amount} ago"
