"""A node's keys: one identity seed, and X25519 link keys that rotate every epoch.

A node's link keys come from a forward-secure chain: the chain secret of epoch ``e + 1`` is a
one-way step (keyed BLAKE2b) from that of ``e``, and each epoch's link key is derived from its
chain secret. The node keeps only the secret of the oldest epoch whose key may still open mail
and steps it forward as time passes, so once a key's epoch is over nothing the node keeps can
make it again: not the chain, not the identity seed. A keyring built without a chain derives
link keys from the seed (the simulator, tools); that schedule is not forward-secure.
See spec/identity.md §6.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.errors import UsageError
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey

__all__ = [
    "LINK_EPOCH_MS",
    "LINK_KEY_DOMAIN",
    "LINK_CHAIN_DOMAIN",
    "LINK_CHAIN_BYTES",
    "MAIL_EPOCHS_BACK",
    "Keyring",
    "LinkChain",
    "derive_link_private",
]

#: Link keys rotate every 30 days; each certificate covers its epoch and the next one.
LINK_EPOCH_MS: Final = 30 * 24 * 3600 * 1000
LINK_KEY_DOMAIN: Final = b"amity/link/v1\x00"
LINK_CHAIN_DOMAIN: Final = b"amity/link-chain/v1\x00"
#: Epochs back from the current one whose link keys still open mail.
MAIL_EPOCHS_BACK: Final = 2
#: A stored chain: u64be(origin) || u64be(epoch) || secret.
LINK_CHAIN_BYTES: Final = 48
_MAX_EPOCH: Final = (1 << 64) - 1


def _check_epoch(epoch: int) -> None:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= _MAX_EPOCH:
        raise UsageError("a link epoch is an int in 0..2**64-1")


def derive_link_private(secret: bytes, epoch: int) -> bytes:
    """The X25519 private key for ``epoch``: BLAKE2b-256(key=secret, domain || u64be(epoch)).

    ``secret`` is the epoch's chain secret (§6.1), or the identity seed for a keyring without a
    chain (§6.3).
    """
    if not isinstance(secret, bytes) or len(secret) != 32:
        raise UsageError("derive_link_private needs a 32-byte secret")
    _check_epoch(epoch)
    message = LINK_KEY_DOMAIN + epoch.to_bytes(8, "big")
    return hashlib.blake2b(message, key=secret, digest_size=32).digest()


@dataclass(frozen=True, slots=True)
class LinkChain:
    """The chain secret of ``epoch``; the chain began at ``origin`` (its first secret was random).

    See spec/identity.md §6.1.
    """

    origin: int
    epoch: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_epoch(self.origin)
        _check_epoch(self.epoch)
        if self.epoch < self.origin:
            raise UsageError("a link chain cannot be at an epoch before its origin")
        if not isinstance(self.secret, bytes) or len(self.secret) != 32:
            raise UsageError("a link chain secret is 32 bytes")

    @classmethod
    def start(cls, secret: bytes, epoch: int) -> LinkChain:
        """A new chain from 32 fresh random bytes, beginning at ``epoch``."""
        return cls(epoch, epoch, secret)

    def at(self, epoch: int) -> LinkChain:
        """The chain stepped forward to ``epoch`` (never back: that is the point)."""
        _check_epoch(epoch)
        if epoch < self.epoch:
            raise UsageError(f"the link chain is at epoch {self.epoch}; {epoch} is gone")
        secret = self.secret
        for _ in range(epoch - self.epoch):
            secret = hashlib.blake2b(LINK_CHAIN_DOMAIN, key=secret, digest_size=32).digest()
        return LinkChain(self.origin, epoch, secret)

    def link_key(self, epoch: int) -> LinkKey:
        """The link key of ``epoch`` (at or after this chain's epoch)."""
        return LinkKey(derive_link_private(self.at(epoch).secret, epoch))

    def encode(self) -> bytes:
        """The 48 bytes a node stores: u64be(origin) || u64be(epoch) || secret."""
        return self.origin.to_bytes(8, "big") + self.epoch.to_bytes(8, "big") + self.secret

    @classmethod
    def decode(cls, data: bytes) -> LinkChain:
        if not isinstance(data, bytes) or len(data) != LINK_CHAIN_BYTES:
            raise UsageError(f"a stored link chain is {LINK_CHAIN_BYTES} bytes")
        return cls(int.from_bytes(data[:8], "big"), int.from_bytes(data[8:16], "big"), data[16:])


class Keyring:
    """The identity and its per-epoch link keys and certificates (all derived, all pure).

    With a :class:`LinkChain` (a node), link keys come from the chain and :meth:`advance` forgets
    the epochs whose mail window is over; without one, from the seed (§6.3). Derived keys and the
    newest certificate are cached.
    """

    __slots__ = ("_cert", "_chain", "_keys", "identity")

    def __init__(self, seed: bytes, chain: LinkChain | None = None) -> None:
        self.identity = SigningIdentity(seed)
        self._chain = chain
        self._keys: dict[int, LinkKey] = {}
        self._cert: tuple[int, LinkCert] | None = None

    @staticmethod
    def epoch_at(now_ms: int) -> int:
        return max(now_ms, 0) // LINK_EPOCH_MS

    @property
    def chain(self) -> LinkChain | None:
        return self._chain

    def advance(self, now_ms: int) -> LinkChain | None:
        """Step the chain to the oldest epoch whose key still opens mail at ``now_ms``.

        Returns the new chain when it moved: the caller stores it in place of the old one and
        erases the old one from its disk (spec/identity.md §6.2). None if nothing changed.
        """
        chain = self._chain
        if chain is None:
            return None
        oldest = self.epoch_at(now_ms) - MAIL_EPOCHS_BACK
        if oldest <= chain.epoch:
            return None
        self._chain = chain.at(oldest)
        self._keys = {e: k for e, k in self._keys.items() if e >= oldest}
        return self._chain

    def link_key(self, epoch: int) -> LinkKey:
        """The link key of ``epoch``; with a chain, an epoch before the chain's is UsageError."""
        key = self._keys.get(epoch)
        if key is not None:
            return key
        chain = self._chain
        if chain is None:
            key = LinkKey(derive_link_private(self.identity.seed, epoch))
        else:
            key = chain.link_key(epoch)
        if len(self._keys) >= 8:
            self._keys.pop(min(self._keys))
        self._keys[epoch] = key
        return key

    def _present_epoch(self, now_ms: int) -> int:
        """The epoch whose key we present: now's, or the chain's if the clock went back."""
        epoch = self.epoch_at(now_ms)
        return epoch if self._chain is None else max(epoch, self._chain.epoch)

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
        epoch = self._present_epoch(now_ms)
        return self.link_key(epoch), self.link_cert(epoch)

    def find_link_key(self, public: bytes, now_ms: int) -> LinkKey | None:
        """Our link key with this public half, if it belongs to a recent epoch (to open mail).

        With a chain, an epoch up to its origin also tries the seed's key: mail sealed to a key
        the node published before it had a chain (spec/identity.md §6.2).
        """
        epoch = self._present_epoch(now_ms)
        chain = self._chain
        for candidate in range(epoch, max(epoch - MAIL_EPOCHS_BACK, 0) - 1, -1):
            keys = []
            if chain is None or candidate >= chain.epoch:
                keys.append(self.link_key(candidate))
            if chain is not None and candidate <= chain.origin:
                keys.append(LinkKey(derive_link_private(self.identity.seed, candidate)))
            for key in keys:
                if key.public == public:
                    return key
        return None
