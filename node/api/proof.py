"""The local API proves it holds the token before a client sends it (no aiohttp: the CLI uses it).

After a kill -9, ``api.address`` and ``api.sock`` stay behind in the home, and anything may bind
that port or path later. So a client first sends a fresh random nonce (``GET /api/proof``) and
the API answers ``HMAC-SHA256(token, LABEL || nonce || channel)``, where ``channel`` names the
listening address of that very connection (``tcp:127.0.0.1:8080``, ``unix:/path/api.sock``).
The client checks the proof against the address it is connected to, and only then sends the
token, on the same connection. An impostor cannot make the proof (it lacks the token), and
cannot borrow one from the real node either: the real node's proof names the real node's
address, not the impostor's.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from typing import Final

__all__ = ["NONCE_BYTES", "PROOF_PATH", "channel_of", "new_nonce", "proof", "proof_matches"]

PROOF_PATH: Final = "/api/proof"
NONCE_BYTES: Final = 32
_LABEL: Final = b"amity/api-proof/v1\0"


def channel_of(address: object) -> str:
    """The channel string of a socket address (``getsockname`` on the server side of a
    connection, ``getpeername`` on the client side: the same value for one connection)."""
    if isinstance(address, bytes):
        address = os.fsdecode(address)
    if isinstance(address, str):
        return f"unix:{address}"
    if isinstance(address, tuple) and len(address) >= 2:
        host = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped:
            host = host.ipv4_mapped  # a dual-stack listener sees ::ffff:127.0.0.1, the client not
        return f"tcp:{host.compressed}:{int(address[1])}"
    raise ValueError(f"not a socket address: {address!r}")


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def proof(token: str, nonce: bytes, channel: str) -> str:
    """The hex HMAC a node answers to ``nonce`` on ``channel``."""
    message = _LABEL + nonce + channel.encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def proof_matches(answer: object, token: str, nonce: bytes, channel: str) -> bool:
    """Whether ``answer`` (anything a server sent) is the right proof; compared in constant time."""
    if not isinstance(answer, str):
        return False
    return hmac.compare_digest(answer.encode(), proof(token, nonce, channel).encode())
