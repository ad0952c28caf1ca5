"""A node's keys: one identity seed, and X25519 link keys derived from it per epoch.

Link keys rotate every epoch without storing a second secret: the key for epoch ``e`` is
BLAKE2b-256 keyed with the identity seed over a domain and ``e``. A leaked link key reveals
neither the seed nor any other epoch's key; the seed re-derives older link keys, so sealed mail
that waited at a relay across a rotation still opens. See spec/identity.md §6.
"""

from __future__ import annotations

import hashlib
from typing import Final

from amity.protocol.errors import UsageError
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey

__all__ = ["LINK_EPOCH_MS", "LINK_KEY_DOMAIN", "Keyring", "derive_link_private"]

#: Link keys rotate every 30 days; each certificate covers its epoch and the next one.
LINK_EPOCH_MS: Final = 30 * 24 * 3600 * 1000
LINK_KEY_DOMAIN: Final = b"amity/link/v1\x00"
#: Epochs back from the current one whose link keys still open mail.
_MAIL_EPOCHS_BACK: Final = 2


def derive_link_private(seed: bytes, epoch: int) -> bytes:
    """The X25519 private key for ``epoch``: BLAKE2b-256(key=seed, domain || u64be(epoch))."""
    if len(seed) != 32 or not 0 <= epoch < 1 << 64:
        raise UsageError("derive_link_private needs a 32-byte seed and an epoch in 0..2**64-1")
    message = LINK_KEY_DOMAIN + epoch.to_bytes(8, "big")
    return hashlib.blake2b(message, key=seed, digest_size=32).digest()


class Keyring:
    """The identity and its per-epoch link keys and certificates (all derived, all pure).

    Only the last epoch's key and certificate are kept: a node presents the current ones for a
    month at a time, and an older one (to open mail sealed before a rotation) is derived again.
    """

    __slots__ = ("_cert", "_key", "identity")

    def __init__(self, seed: bytes) -> None:
        self.identity = SigningIdentity(seed)
        self._key: tuple[int, LinkKey] | None = None
        self._cert: tuple[int, LinkCert] | None = None

    @staticmethod
    def epoch_at(now_ms: int) -> int:
        return max(now_ms, 0) // LINK_EPOCH_MS

    def link_key(self, epoch: int) -> LinkKey:
        if self._key is not None and self._key[0] == epoch:
            return self._key[1]
        key = LinkKey(derive_link_private(self.identity.seed, epoch))
        if self._key is None or epoch > self._key[0]:
            self._key = (epoch, key)
        return key

    def link_cert(self, epoch: int) -> LinkCert:
        """The certificate for ``epoch``'s link key, valid from its start for two epochs."""
        if self._cert is not None and self._cert[0] == epoch:
            return self._cert[1]
        start = epoch * LINK_EPOCH_MS
        cert = LinkCert.issue(
            self.identity, self.link_key(epoch).public, start, start + 2 * LINK_EPOCH_MS
        )
        if self._cert is None or epoch > self._cert[0]:
            self._cert = (epoch, cert)
        return cert

    def current(self, now_ms: int) -> tuple[LinkKey, LinkCert]:
        """The link key and certificate to present at ``now_ms``."""
        epoch = self.epoch_at(now_ms)
        return self.link_key(epoch), self.link_cert(epoch)

    def find_link_key(self, public: bytes, now_ms: int) -> LinkKey | None:
        """Our link key with this public half, if it belongs to a recent epoch (to open mail)."""
        epoch = self.epoch_at(now_ms)
        for candidate in range(epoch, max(epoch - _MAIL_EPOCHS_BACK, 0) - 1, -1):
            key = self.link_key(candidate)
            if key.public == public:
                return key
        return None
