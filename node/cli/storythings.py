"""The story's things chapter: the bike she bought gets a key and a card of its own, and when
her child outgrows it she sells it to Bob, both signing the sale (spec/things.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amity.node.cli.storykit import Api, until

__all__ = ["things_chapter"]


async def things_chapter(alice: Api, bob: Api, bikes: Api, step: Callable[..., None]) -> None:
    """She records the bike under the agreement she bought it with, then sells it to Bob."""
    bikes_did = (await bikes.call("GET", "/api/status"))["did"]
    bob_did = (await bob.call("GET", "/api/status"))["did"]
    bought = await alice.call("GET", f"/api/agreements?peer={bikes_did}")
    bike = await alice.call(
        "POST",
        "/api/things",
        {
            "maker": "Bike Shop",
            "model": "Junior 16",
            "serial": "JR16-0042",
            "agreement": bought["agreements"][0]["agreement_id"],
            "manuals": ["https://example.org/junior-16.pdf"],
        },
    )
    read = await bikes.call("POST", "/api/things/read", {"uri": bike["uri"]})
    step(
        "the bike gets a key and a card of its own; its QR link names no owner",
        thing=bike["id"][:8],
        shop_reads=f"{read['maker']} {read['model']}, serial {read['serial']}",
    )
    await alice.call("POST", f"/api/things/{bike['id']}/offer", {"peer": bob_did})

    async def offered() -> Any:
        found = await bob.call("GET", "/api/things")
        return [t for t in found["things"] if t["state"] == "incoming"]

    await until(offered, "the bike offered to Bob")
    taken = await bob.call("POST", f"/api/things/{bike['id']}/accept")

    async def sold() -> Any:
        found = await alice.call("GET", f"/api/things/{bike['id']}")
        return found if found["state"] == "sold" else None

    hers = await until(sold, "the sale at Alice's node")
    step(
        "she sells it to Bob: the key, card and history go, her data does not; both sign",
        bob_holds=taken["state"],
        alice_holds=hers["state"],
        signed_by="Alice and Bob" if hers["sales"] == taken["sales"] else "not both",
    )
