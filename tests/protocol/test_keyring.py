"""The link-key chain: keys rotate by epoch, and an epoch left behind cannot be made again.

See spec/identity.md §6; the chain's exact bytes are the `link-chain` vector in identity.json.
"""

from __future__ import annotations

import pytest

from amity.protocol.errors import UsageError
from amity.protocol.keyring import (
    LINK_EPOCH_MS,
    Keyring,
    LinkChain,
    derive_link_private,
)
from amity.protocol.linkcert import LinkKey

SEED = bytes(range(32))
SECRET = bytes(range(100, 132))
ORIGIN = 693
DAY_MS = 24 * 3600 * 1000


def at(epoch: int, days: int = 0) -> int:
    return epoch * LINK_EPOCH_MS + days * DAY_MS


def test_a_chained_keyring_presents_the_chains_key_not_the_seeds() -> None:
    keyring = Keyring(SEED, LinkChain.start(SECRET, ORIGIN))
    key, cert = keyring.current(at(ORIGIN, 3))
    assert key.private == derive_link_private(SECRET, ORIGIN)
    assert key.private != derive_link_private(SEED, ORIGIN)
    assert cert.link_public == key.public
    assert (
        keyring.current(at(ORIGIN + 1))[0].public
        == LinkChain.start(SECRET, ORIGIN).link_key(ORIGIN + 1).public
    )


def test_advancing_forgets_every_key_whose_mail_window_is_over() -> None:
    keyring = Keyring(SEED, LinkChain.start(SECRET, ORIGIN))
    first = keyring.current(at(ORIGIN))[0].public

    assert keyring.advance(at(ORIGIN + 2, 29)) is None  # still in the window: mail opens
    assert keyring.find_link_key(first, at(ORIGIN + 2, 29)) is not None
    moved = keyring.advance(at(ORIGIN + 3))

    assert moved is not None and moved.epoch == ORIGIN + 1 and moved.origin == ORIGIN
    assert moved.secret == LinkChain.start(SECRET, ORIGIN).at(ORIGIN + 1).secret
    assert keyring.find_link_key(first, at(ORIGIN + 3)) is None
    with pytest.raises(UsageError):
        moved.at(ORIGIN)  # the chain never steps back
    later = keyring.current(at(ORIGIN + 3))[0]
    assert keyring.find_link_key(later.public, at(ORIGIN + 3)) is later


def test_mail_to_a_key_published_before_the_chain_still_opens_for_two_epochs() -> None:
    old = LinkKey(derive_link_private(SEED, ORIGIN - 1))  # an older amity's card had this key
    keyring = Keyring(SEED, LinkChain.start(SECRET, ORIGIN))
    assert keyring.find_link_key(old.public, at(ORIGIN)) is not None
    assert keyring.find_link_key(old.public, at(ORIGIN + 1)) is not None
    assert keyring.find_link_key(old.public, at(ORIGIN + 2)) is None
    later = LinkKey(derive_link_private(SEED, ORIGIN + 1))
    assert keyring.find_link_key(later.public, at(ORIGIN + 1)) is None  # only up to the origin


def test_a_clock_that_went_back_presents_the_chains_epoch() -> None:
    keyring = Keyring(SEED, LinkChain.start(SECRET, ORIGIN))
    keyring.advance(at(ORIGIN + 5))
    key, cert = keyring.current(at(ORIGIN))
    assert key.public == keyring.current(at(ORIGIN + 3))[0].public
    assert cert.not_before_ms == at(ORIGIN + 3)


def test_without_a_chain_the_seed_schedule_is_used_and_nothing_advances() -> None:
    keyring = Keyring(SEED)
    assert keyring.chain is None and keyring.advance(at(ORIGIN + 9)) is None
    assert keyring.link_key(5).private == derive_link_private(SEED, 5)
    assert keyring.find_link_key(keyring.link_key(ORIGIN - 2).public, at(ORIGIN)) is not None


@pytest.mark.parametrize(
    "make",
    [
        lambda: LinkChain.decode(b"\x00" * 47),
        lambda: LinkChain(5, 4, SECRET),
        lambda: LinkChain(0, 0, b"short"),
        lambda: LinkChain.start(SECRET, -1),
        lambda: LinkChain.start(SECRET, True),
        lambda: derive_link_private(SECRET, 1 << 64),
    ],
)
def test_bad_chains_are_usage_errors(make: object) -> None:
    with pytest.raises(UsageError):
        make()  # type: ignore[operator]
