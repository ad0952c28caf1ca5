"""A simulated live link: an amity session run over one simulated connection.

The counterpart of node/net/link.py: the handshake is the core's :class:`~amity.protocol.session.Session`
(or the declared stand-in), carried message by message over a
:class:`~amity.simulations.world.network.Connection`, with the same 10 s handshake limit. Once it is
established, whole link messages (spec/link.md §1) go through ``session.encrypt`` / ``decrypt``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from amity.protocol.card import Card
from amity.protocol.errors import AmityError, SessionIdentityError
from amity.protocol.identity import PeerId
from amity.protocol.session import SessionState
from amity.simulations.context import SharedValues
from amity.simulations.crypto import SessionLike
from amity.simulations.world.engine import Engine, Timer
from amity.simulations.world.network import Connection

__all__ = ["HANDSHAKE_TIMEOUT_MS", "LinkOwner", "SimLink"]

#: As node/net/link.py: the handshake must complete within 10 s.
HANDSHAKE_TIMEOUT_MS: Final = 10_000


class LinkOwner(Protocol):
    """The node at this end of the link."""

    address: int

    @property
    def shared(self) -> SharedValues: ...

    def now_ms(self) -> int: ...

    def link_up(self, link: SimLink) -> None: ...

    def link_down(self, link: SimLink) -> None: ...

    def link_message(self, link: SimLink, message: bytes) -> None: ...

    def link_traffic(self, link: SimLink, size: int) -> None: ...


class SimLink:
    """One session with a peer over one connection; ``peer`` is known once it is established."""

    __slots__ = (
        "_engine",
        "_owner",
        "_timeout",
        "acks_due",
        "closed",
        "connection",
        "established",
        "inbound",
        "on_fail",
        "peer",
        "peer_card",
        "remote",
        "sent_upto",
        "session",
    )

    def __init__(
        self,
        owner: LinkOwner,
        engine: Engine,
        connection: Connection,
        session: SessionLike,
        *,
        inbound: bool,
        on_fail: Callable[[str], None] | None = None,
    ) -> None:
        self._owner = owner
        self._engine = engine
        self.connection = connection
        self.session = session
        self.inbound = inbound
        #: Called if the handshake fails (the dialler retries).
        self.on_fail = on_fail
        self.remote = connection.other(owner.address)
        self.established = False
        self.closed = False
        self.peer: PeerId | None = None
        self.peer_card: Card | None = None
        #: Highest outbox seq already sent on this link (a new link starts from zero).
        self.sent_upto = 0
        #: Seqs received on this link whose ACK goes out with the next ACK frame.
        self.acks_due: list[int] | None = None
        self._timeout: Timer | None = None

    def begin(self) -> None:
        """Attach to the connection and, as the initiator, send handshake message 1."""
        self.connection.attach(self._owner.address, self)
        self._timeout = self._engine.call_later(HANDSHAKE_TIMEOUT_MS, self._timed_out)
        if not self.inbound:
            self._send_raw(self.session.start())

    @property
    def proven_peer(self) -> PeerId:
        if self.peer is None:
            raise AssertionError("the link is not established yet")
        return self.peer

    def send(self, message: bytes) -> None:
        """Send one link message (spec/link.md §1) as session frames, in order."""
        if self.closed:
            return
        for frame in self.session.encrypt(message):
            self._send_raw(frame)

    def _send_raw(self, data: bytes) -> None:
        self._owner.link_traffic(self, len(data))
        self.connection.send(self._owner.address, data)

    def close(self) -> None:
        """Close our end; the owner forgets the link at once, the peer hears of it later."""
        if self.closed:
            return
        self.connection.close(self._owner.address)
        self._ended("closed")

    # -- the connection's callbacks ----------------------------------------------------------------

    def on_data(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.established:
            self._handshake(data)
            return
        try:
            message = self.session.decrypt(data)
        except AmityError:  # a tampered frame ends the session (spec/session.md §6)
            self.close()
            return
        if message is not None:
            self._owner.link_message(self, message)

    def on_closed(self, reason: str) -> None:
        self._ended(reason)

    # -- internals ---------------------------------------------------------------------------------

    def _handshake(self, data: bytes) -> None:
        try:
            reply = self.session.receive_handshake(data, self._owner.now_ms())
            if reply is not None:
                self._send_raw(reply)
            session = self.session
            if session.state is not SessionState.ESTABLISHED:
                return
            assert session.peer is not None  # established: the handshake proved it
            # What the handshake proved, as the run's shared copies (equal values): a live
            # link keeps no copy of its own of the peer's id and card.
            shared = self._owner.shared
            self.peer = session.peer = shared.peer(session.peer)
            if session.peer_cert is not None:
                session.peer_cert = shared.link_cert(session.peer_cert)
            if session.peer_extra:
                card = _card_or_none(shared, session.peer_extra)
                if card is not None:
                    if card.peer_id != self.peer:
                        raise SessionIdentityError("the peer presented someone else's card")
                    session.peer_extra = card.encoded
                self.peer_card = card
        except AmityError as exc:
            self.connection.close(self._owner.address)
            self._ended(f"handshake failed: {exc.code}")
            return
        self.established = True
        self._engine.cancel(self._timeout)
        self._timeout = self.on_fail = None  # only a handshake in progress needs them
        self._owner.link_up(self)

    def _timed_out(self) -> None:
        if not self.established and not self.closed:
            self.connection.close(self._owner.address)
            self._ended("handshake timed out")

    def _ended(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._engine.cancel(self._timeout)
        self._timeout = None
        # The connection and this link hold each other: once ended, the link ignores what the
        # connection calls, so let it call nothing instead, and the two go as soon as both ends
        # have let go (a cycle waits for a full collection: a large run closes a great many).
        self.connection.attach(self._owner.address, _DETACHED)
        if self.established:
            self._owner.link_down(self)
        elif self.on_fail is not None:
            self.on_fail(reason)


class _Detached:
    """What a connection calls at an end whose link has ended: nothing, as that link did."""

    __slots__ = ()

    def on_data(self, data: bytes) -> None:
        return None

    def on_closed(self, reason: str) -> None:
        return None


_DETACHED: Final = _Detached()


def _card_or_none(shared: SharedValues, data: bytes) -> Card | None:
    try:
        return shared.decode_card(data)
    except AmityError:  # the handshake proved the key; a bad card only loses the name
        return None
