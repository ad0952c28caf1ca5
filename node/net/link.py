"""A live link: the amity session (Noise XX) run over one transport connection.

The handshake is the protocol core's :class:`~amity.protocol.session.Session`; this module only
moves its bytes with timeouts and keeps frame order when several tasks send at once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Final

from amity.node.net.transport import Connection
from amity.protocol.card import Card
from amity.protocol.errors import AmityError, SessionIdentityError
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.session import Session

__all__ = ["HANDSHAKE_TIMEOUT_S", "Link", "open_link"]

HANDSHAKE_TIMEOUT_S: Final = 10.0


class Link:
    """An established session with a proven peer; send and receive whole messages."""

    __slots__ = (
        "_send_lock",
        "closed",
        "connection",
        "inbound",
        "not_after_ms",
        "peer",
        "peer_card",
        "session",
    )

    def __init__(self, session: Session, connection: Connection, *, inbound: bool) -> None:
        if session.peer is None:
            raise ValueError("a link needs an established session")
        self.session = session
        self.connection = connection
        self.peer: PeerId = session.peer
        self.inbound = inbound
        self.peer_card: Card | None = None
        #: The session may not outlive either link certificate (spec/session.md §6).
        peer_cert = session.peer_cert
        self.not_after_ms: int | None = None if peer_cert is None else peer_cert.not_after_ms
        self._send_lock = asyncio.Lock()
        #: Set once the node stopped reading this link (it is gone).
        self.closed = asyncio.Event()

    async def send(self, message: bytes) -> None:
        """Encrypt and send one message; frames of one message are never interleaved."""
        async with self._send_lock:
            for frame in self.session.encrypt(message):
                await self.connection.send(frame)

    async def receive(self) -> bytes:
        """The next whole message (raises TransportClosed at the end, AmityError on tampering)."""
        while True:
            message = self.session.decrypt(await self.connection.receive())
            if message is not None:
                return message

    async def close(self) -> None:
        await self.connection.close()


async def open_link(
    connection: Connection,
    keyring: Keyring,
    clock_ms: Callable[[], int],
    *,
    initiator: bool,
    card: Card | None,
    expected_peer: PeerId | None = None,
    timeout_s: float = HANDSHAKE_TIMEOUT_S,
    extra: bytes | None = None,
) -> Link:
    """Run the handshake on ``connection`` (within ``timeout_s``) and return the link.

    Our card rides in the handshake payload so the peer learns our name and endpoints; the
    peer's card, if it sent a valid one for the proven identity, is kept on the link. A
    pseudonymous link (spec/intents.md §7.5) sends no card: her node none at all, a hub its
    ``extra`` (its rules) instead; the payload the peer sent stays in ``link.session.peer_extra``.
    """
    link_key, link_cert = keyring.current(clock_ms())
    session = Session(
        initiator=initiator,
        link_key=link_key,
        link_cert=link_cert,
        ephemeral_private=os.urandom(32),
        expected_peer=expected_peer,
        extra=extra if extra is not None else card.encoded if card is not None else b"",
    )
    async with asyncio.timeout(timeout_s):
        if initiator:
            await connection.send(session.start())
            message3 = session.receive_handshake(await connection.receive(), clock_ms())
            if message3 is not None:
                await connection.send(message3)
        else:
            message2 = session.receive_handshake(await connection.receive(), clock_ms())
            if message2 is not None:
                await connection.send(message2)
            session.receive_handshake(await connection.receive(), clock_ms())
    link = Link(session, connection, inbound=not initiator)
    if link.not_after_ms is None or link_cert.not_after_ms < link.not_after_ms:
        link.not_after_ms = link_cert.not_after_ms
    if session.peer_extra:
        try:
            peer_card = Card.decode(session.peer_extra)
        except AmityError:
            peer_card = None  # the handshake proved the key; a bad card only loses the name
        if peer_card is not None and peer_card.peer_id != link.peer:
            raise SessionIdentityError("the peer presented someone else's card in the handshake")
        link.peer_card = peer_card
    return link
