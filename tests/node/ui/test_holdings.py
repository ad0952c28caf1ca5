"""Her "what do you hold about me?" answer as her page shows it: shown only when it checks out
as ``amity holdings`` checks it (signature, kind, signer, question), each line compared with
her own records. The round trip through two real daemons is in test_browser.py."""

from __future__ import annotations

import os

from amity.node.store import HoldingsQueryRow
from amity.node.ui.holdings import checked_answer
from amity.protocol.identity import SigningIdentity
from amity.protocol.receipts import HeldGrant, HoldingsStatement

_NOW_MS = 1_796_000_000_000
ALICE = SigningIdentity(os.urandom(32))
SHOP = SigningIdentity(os.urandom(32))
KEPT, REVOKED, FORGOTTEN = (bytes([n]) * 16 for n in (1, 2, 3))
OURS = {KEPT: "active", REVOKED: "revoked", FORGOTTEN: "active"}


def _asked(statement: bytes | None, query_id: bytes = b"q" * 16) -> HoldingsQueryRow:
    return HoldingsQueryRow(query_id, SHOP.peer_id.key, _NOW_MS, statement, _NOW_MS + 5)


def _statement(signer: SigningIdentity = SHOP, query_id: bytes = b"q" * 16) -> bytes:
    items = [HeldGrant(KEPT, ("email",), _NOW_MS + 1000), HeldGrant(REVOKED, ("name",), _NOW_MS)]
    return HoldingsStatement.issue(
        signer, grantor=ALICE.peer_id, query_id=query_id, at_ms=_NOW_MS + 5, items=items
    ).encoded


def test_a_good_answer_is_verified_and_each_line_compared_with_her_records() -> None:
    shown = checked_answer(_asked(_statement()), SHOP.peer_id, OURS)

    assert shown["verified"] is True
    assert shown["at_ms"] == _NOW_MS + 5
    lines = {bytes.fromhex(i["grant_id"]): (i["fields"], i["flag"]) for i in shown["items"]}
    assert lines == {KEPT: (["email"], False), REVOKED: (["name"], True)}
    assert shown["not_listed"] == [FORGOTTEN.hex()]


def test_no_answer_yet_is_said() -> None:
    shown = checked_answer(_asked(None), SHOP.peer_id, OURS)

    assert shown["answered"] is False


def test_an_answer_that_does_not_check_out_is_not_shown() -> None:
    damaged = bytearray(_statement())
    damaged[-1] ^= 1
    cases = {
        "signed by someone else": _asked(_statement(signer=ALICE)),
        "to another question": _asked(_statement(query_id=b"x" * 16)),
        "damaged": _asked(bytes(damaged)),
    }

    for what, query in cases.items():
        shown = checked_answer(query, SHOP.peer_id, OURS)
        assert shown["verified"] is False, what
        assert "items" not in shown, what
        assert shown["problem"], what
