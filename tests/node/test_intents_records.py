"""Her castings as the store keeps them: the intent's secret keys sealed at rest, bound to the
intent and to the node's key; every record round-trips."""

from __future__ import annotations

import pytest

from amity.node.intents import records as rec
from amity.node.store import StoreError
from amity.protocol.vault import vault_key
from tests.protocol.intents_world import World, rules, seed
from tests.protocol.test_core_intents import _cast


def test_a_casting_round_trips_with_its_keys_sealed() -> None:
    world = World.make({}, {"hub": rules()})
    casting = _cast(world)
    key = rec.keys_key(vault_key(seed("person")))
    text = rec.casting_text(casting, key)
    assert casting.key_seed.hex() not in text and casting.link_private.hex() not in text
    assert rec.casting_from(text, key) == casting

    other = rec.keys_key(vault_key(seed("someone else")))
    with pytest.raises(StoreError):
        rec.casting_from(text, other)
