"""The node's link-key chain on disk: made once at random, stepped forward, the old one erased.

The chain (amity.protocol.keyring.LinkChain) is the only secret besides the identity seed. It is
kept in the store's meta table and replaced, never appended to: when the hourly sweep steps it
forward, the transaction that stores the new chain erases the old one (secure_delete, and the
WAL is emptied after the commit), so past link keys cannot be derived from the home again.
See spec/identity.md §6.2.
"""

from __future__ import annotations

import os
from typing import Final

from amity.node.store import Store
from amity.protocol.keyring import Keyring, LinkChain

__all__ = ["LINK_CHAIN_META", "load_link_chain", "store_link_chain"]

LINK_CHAIN_META: Final = "link_chain"


def load_link_chain(store: Store, now_ms: int) -> LinkChain:
    """The stored chain; a home without one gets a new chain, from fresh random bytes, now."""
    raw = store.get_meta(LINK_CHAIN_META)
    if raw is not None:
        return LinkChain.decode(raw)
    chain = LinkChain.start(os.urandom(32), Keyring.epoch_at(now_ms))
    with store.transaction():
        store_link_chain(store, chain)
    return chain


def store_link_chain(store: Store, chain: LinkChain) -> None:
    """Replace the stored chain (inside the caller's transaction); the old one is erased."""
    store.set_meta(LINK_CHAIN_META, chain.encode())
    store.erased()
