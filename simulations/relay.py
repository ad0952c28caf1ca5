"""Relays in the simulated world: the daemon's ``use_relay``, ``_deposit``, ``_on_relay_frame``
and ``_on_mail``, rule for rule, on the virtual clock.

- A node *uses* a relay by accepting its invitation (an ordinary relationship), then lists it in
  the ``relays`` of its card and holds a link to it (the dialler's ``keep_link``).
- A sender that cannot reach a peer (no endpoint on its card, or the dial failed) seals each
  outbox envelope not yet deposited to the link key on the peer's card and deposits it at the
  first of the peer's relays that takes them all, in pages of ``DEPOSIT_PAGE``, waiting up to
  15 s for a page's DEPOSITED answers before the next; then it keeps dialling. The envelopes
  stay in its outbox until the peer ACKs them directly. Each deposit carries the deposit ticket
  the peer's latest hello gave us, while it holds.
- A relay (a node with a :class:`~amity.simulations.mailbox.SimMailbox`) answers DEPOSIT from
  any authenticated link and hands mail over whenever the recipient has a link, in pages, with
  at most ``HAND_OVER_WINDOW`` MAIL frames unacknowledged on the link.
- The recipient opens MAIL with its link key, takes the envelope as if its signer had sent it
  (but no stranger's ``rel.hello``), answers MAIL_ACK once it is stored, duplicate or refused, and
  dials the signer once so that its outbox resends and our ACKs clear it.

See spec/relay.md and spec/sealed.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from amity.protocol.card import Card, NodeKind, Relay
from amity.protocol.core import commands
from amity.protocol.core.deposits import (
    page_outcome,
    relays_to_try,
    ticket_to_show,
    undeposited,
)
from amity.protocol.core.effects import DepositAnswered, DepositAsked, MailAcked
from amity.protocol.errors import StateError
from amity.protocol.frames import (
    encode_deposit,
    encode_deposited,
    encode_mail,
)
from amity.protocol.identity import PeerId
from amity.protocol.mailbox import MailboxPolicy
from amity.protocol.relationship import RelationshipState
from amity.protocol.sealed import seal
from amity.simulations.link import SimLink
from amity.simulations.mailbox import SimMailbox
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = [
    "DEPOSIT_WAIT_MS",
    "Deposits",
    "make_relay",
    "use_relay",
    "deposit",
    "on_relay_frame",
    "relay_link_up",
    "relay_link_down",
    "settled",
]

#: As the daemon's ``_CONNECT_WAIT_S``: how long a sender waits for a relay's DEPOSITED answers.
DEPOSIT_WAIT_MS: Final = 15_000


class _Round:
    """One deposit at one relay: the DEPOSITED answers awaited, and what to do when all are in."""

    __slots__ = ("answers", "codes", "finish", "timer")

    def __init__(self) -> None:
        #: deposit id -> outbox seq of the envelope it carries.
        self.answers: dict[int, int] = {}
        self.codes: dict[int, str] = {}
        self.timer: Timer | None = None
        #: ``finish(timed_out)``: count what the relay holds, then go on.
        self.finish: Callable[[bool], None] | None = None


class Deposits:
    """A sender's deposits: envelopes already left at a relay, and rounds waiting for answers.

    Made on a node's first deposit (most nodes of a run never deposit anything).
    """

    __slots__ = ("answers", "deposited", "last_id", "links", "sent", "tickets")

    def __init__(self) -> None:
        #: (peer, seq) of envelopes a relay holds for us; forgotten once the peer ACKs them.
        self.deposited: set[tuple[PeerId, int]] = set()
        self.last_id = 0
        #: (relay, deposit id) -> the round that waits for its DEPOSITED answer.
        self.answers: dict[tuple[PeerId, int], _Round] = {}
        #: Rounds that wait for a link to a relay (being dialled), by that relay.
        self.links: dict[PeerId, list[Callable[[SimLink | None], None]]] = {}
        #: DEPOSIT frames sent over the run.
        self.sent = 0
        #: peer -> (not_after_ms, ticket): the deposit ticket its latest hello gave us.
        self.tickets: dict[PeerId, tuple[int, bytes]] = {}


# -- using a relay -----------------------------------------------------------------------------


def make_relay(node: SimNode, policy: MailboxPolicy | None = None) -> SimMailbox:
    """Make ``node`` (of kind relay, with an endpoint) serve as a relay: ``amity run --relay``."""
    if node.kind is not NodeKind.RELAY or not node.endpoints:
        raise StateError("a relay is a node of kind relay with an endpoint its users can dial")

    def serves(peer: PeerId) -> bool:  # only its own CONNECTED peers
        rel = node.relationship(peer)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    node.mailbox = SimMailbox(
        node.engine, serves=serves, clock_ms=node.now_ms, policy=policy or MailboxPolicy()
    )
    return node.mailbox


def use_relay(node: SimNode, invitation: Card, on_done: Callable[[bool, str], None]) -> None:
    """Meet a relay by its invitation; once CONNECTED, list it on our card and hold a link to it."""
    commands.check_relay(invitation)

    def connected(ok: bool, why: str) -> None:
        if ok and all(r.peer_id != invitation.peer_id for r in node.relays):
            relay_id = node.shared.peer(invitation.peer_id)
            # Our card changes (SimNode.card compares relays): our connected peers hear of it.
            node.relays = (*node.relays, Relay(relay_id, invitation.endpoints[0]))
            node.announce_card()
            node.dialer.ensure(relay_id)
        on_done(ok, why)

    node.connect(invitation, connected)


# -- depositing (the sender) -------------------------------------------------------------------


def deposit(node: SimNode, peer: PeerId, card: Card, done: Callable[[], None]) -> None:
    """Leave ``peer``'s undeposited outbox envelopes at one of its relays; ``done()`` after."""
    if not relays_to_try(card, node.now_ms()):
        done()
        return
    state = node.deposits
    if state is None:
        state = node.deposits = Deposits()
    if not _undeposited(node, state, peer):
        done()
        return
    _try_relay(node, state, peer, card, 0, done)


def _undeposited(node: SimNode, state: Deposits, peer: PeerId) -> list[tuple[int, bytes]]:
    """The next page (DEPOSIT_PAGE) of ``peer``'s unacknowledged envelopes no relay holds."""
    return undeposited(node.outbox.unacked(peer), state.deposited, peer)


def _try_relay(
    node: SimNode,
    state: Deposits,
    peer: PeerId,
    card: Card,
    index: int,
    done: Callable[[], None],
) -> None:
    if index >= len(card.relays):
        done()
        return
    relay = card.relays[index]
    relay_id = node.shared.peer(relay.peer_id)
    next_relay = functools.partial(_try_relay, node, state, peer, card, index + 1, done)

    def linked(link: SimLink | None) -> None:
        if link is None:  # the relay is unreachable: try the next one
            next_relay()
            return
        items = _undeposited(node, state, peer)
        if not items:
            done()
            return
        _send_round(node, state, peer, card, items, link, relay_id, next_relay, done)

    links = node.links.get(relay_id)
    if links:
        linked(links[-1])
        return
    state.links.setdefault(relay_id, []).append(linked)

    def failed(why: str) -> None:
        waiting = state.links.get(relay_id)
        if waiting and linked in waiting:
            waiting.remove(linked)
            if not waiting:
                del state.links[relay_id]
            linked(None)

    node.dialer.dial(relay_id, (relay.endpoint,), failed)


def _send_round(
    node: SimNode,
    state: Deposits,
    peer: PeerId,
    card: Card,
    items: list[tuple[int, bytes]],
    link: SimLink,
    relay_id: PeerId,
    next_relay: Callable[[], None],
    done: Callable[[], None],
) -> None:
    round_ = _Round()
    ticket = ticket_to_show(state.tickets.get(peer), node.now_ms())
    for seq, envelope in items:
        state.last_id += 1
        round_.answers[state.last_id] = seq
        state.answers[(relay_id, state.last_id)] = round_
        sealed = seal(
            envelope,
            recipient=peer,
            link_public=card.link_cert.link_public,
            ephemeral_private=node.random.take(32),
        )
        link.send(encode_deposit(state.last_id, sealed, ticket))
        state.sent += 1

    def finish(timed_out: bool) -> None:
        for deposit_id in round_.answers:
            state.answers.pop((relay_id, deposit_id), None)
        if timed_out:  # as the daemon: without every answer, nothing counts as held here
            next_relay()
            return
        node.engine.cancel(round_.timer)
        codes = {round_.answers[i]: code for i, code in round_.codes.items()}
        outcome = page_outcome(codes, len(items))
        if ticket is not None and outcome.ticket_refused:
            state.tickets.pop(peer, None)  # as strangers until the peer's next hello
        state.deposited.update((peer, seq) for seq in outcome.held)
        node.env.observer.record(node, "relay.deposited", peer, str(len(outcome.held)))
        if not outcome.whole:  # this relay took part of the page: the rest go elsewhere
            next_relay()
            return
        more = _undeposited(node, state, peer)
        if more and not link.closed:  # the next page, once this one is answered
            _send_round(node, state, peer, card, more, link, relay_id, next_relay, done)
        elif more:
            next_relay()
        else:
            done()

    round_.finish = finish
    round_.timer = node.engine.call_later(DEPOSIT_WAIT_MS, finish, True)


def _answered(node: SimNode, relay: PeerId, deposit_id: int, code: str) -> None:
    state = node.deposits
    round_ = None if state is None else state.answers.pop((relay, deposit_id), None)
    if round_ is None:
        return
    round_.codes[deposit_id] = code
    if len(round_.codes) == len(round_.answers) and round_.finish is not None:
        round_.finish(False)


def settled(node: SimNode, peer: PeerId, seqs: tuple[int, ...] | list[int]) -> None:
    """The peer ACKed or REFUSEd these directly: done with their deposits (the daemon forgets)."""
    state = node.deposits
    if state is not None and state.deposited:
        state.deposited.difference_update((peer, seq) for seq in seqs)


# -- links and frames (both ends) --------------------------------------------------------------


def relay_link_up(node: SimNode, link: SimLink) -> None:
    """A link is up: a relay hands over what it holds; a waiting deposit round goes on."""
    peer = link.proven_peer
    if node.mailbox is not None:
        _hand_over(node.mailbox, link)
    state = node.deposits
    if state is not None:
        waiting = state.links.pop(peer, None)
        for linked in waiting or ():
            linked(link)


def relay_link_down(node: SimNode, link: SimLink) -> None:
    """A link is gone: a relay forgets its hand-over window."""
    if node.mailbox is not None:
        node.mailbox.link_down(link)


def _hand_over(mailbox: SimMailbox, link: SimLink) -> None:
    """Send what is held for the link's peer, oldest first, while the window has room."""
    if link.closed:
        return
    window = mailbox.window(link)
    while not link.closed and window.room:
        items = mailbox.mail_for(link.proven_peer, after_id=window.after_id, limit=window.page())
        if not items:
            return
        for item in items:
            window.sent(item.mail_id)
            link.send(encode_mail(item.mail_id, item.sealed))


def on_relay_frame(
    node: SimNode, link: SimLink, effect: DepositAsked | DepositAnswered | MailAcked
) -> None:
    """A DEPOSIT, DEPOSITED or MAIL_ACK frame on ``link``, as the core read it (the daemon's
    ``_on_deposit`` and ``_carry_out``); MAIL is the core's own (amity.protocol.core.receive)."""
    if isinstance(effect, DepositAsked):
        request = effect.deposit
        mailbox = node.mailbox
        if mailbox is None:
            link.send(encode_deposited(request.deposit_id, "relay.not_a_relay"))
            return
        code, recipient = mailbox.deposit(link.proven_peer, request)
        if code != "ok":
            node.env.observer.record(node, "relay.refused", link.proven_peer, code)
        link.send(encode_deposited(request.deposit_id, code))
        targets = node.links.get(recipient) if recipient is not None else None
        if targets:
            _hand_over(mailbox, targets[-1])
    elif isinstance(effect, DepositAnswered):
        _answered(node, link.proven_peer, effect.deposit_id, effect.code)
    elif node.mailbox is not None:
        node.mailbox.ack(link.proven_peer, effect.mail_ids, link)
        _hand_over(node.mailbox, link)  # room in the window: the next items go out
