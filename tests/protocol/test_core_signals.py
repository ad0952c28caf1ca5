"""Change once, everywhere, in the node core (spec/signals.md §2): which grants a changed field
reaches, what the grantee's service does with an update, and the receipt's way back; with the
in-memory host of test_core_grants, which stands for either driver.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from amity.protocol.core.grants import service
from amity.protocol.core.grants.effects import (
    Audit,
    DeleteValues,
    KeepReceipt,
    ReceiptCame,
    Replaced,
    SaveHolding,
    SaveUpdate,
    Send,
)
from amity.protocol.core.grants.updates import IssuedRecord, update_field
from amity.protocol.errors import GrantPartyError
from amity.protocol.keyring import Keyring
from amity.protocol.receipts import MSG_RECEIPT
from amity.protocol.relationship import RelationshipState
from amity.protocol.update import MSG_UPDATE
from amity.protocol.vault import Field, FieldType
from tests.protocol.test_core_grants import (
    DAY_MS,
    T0,
    MemoryHost,
    _connected,
    _envelope,
    _grant,
    _parties,
    _random,
)

NEW = Field("email", FieldType.EMAIL, "alice@new.example.org")


def test_an_update_replaces_the_values_and_its_receipt_comes_back() -> None:
    person, shop, _ = _parties()
    grant, _, delivery = _grant(person, shop)
    shop.apply(service.receive(shop, delivery, T0 + 1, _random))
    person.fields["email"] = NEW

    outcomes, effects = update_field(
        person, [IssuedRecord(grant, False, False, 0)], NEW, now_ms=T0 + 2, random=_random
    )

    assert [(o.version, o.why) for o in outcomes] == [(1, "")]
    assert [type(e) for e in effects] == [SaveUpdate, Audit, Send]
    assert effects[0] == SaveUpdate(grant.grant_id, 1) and effects[2].type == MSG_UPDATE
    sent = effects[2]
    taken = service.receive(shop, _envelope(person, shop, MSG_UPDATE, sent.body), T0 + 3, _random)
    assert [type(e) for e in taken] == [Audit, DeleteValues, SaveHolding, Replaced, Send]
    assert taken[0].kind == "grant.updated"
    shop.apply(taken)
    held = shop.holdings[grant.grant_id]
    assert (held.version, held.fields) == (1, (NEW,))
    receipt = taken[-1]
    back = service.receive(person, _envelope(shop, person, MSG_RECEIPT, receipt.body), T0, _random)
    assert [type(e) for e in back] == [KeepReceipt, Audit, ReceiptCame]
    assert (back[2].kind, back[2].version) == ("update", 1)
    # Another node sends an update of her grant: it holds nothing from that node.
    forged = _envelope(MemoryHost(Keyring(b"m" * 32)), shop, MSG_UPDATE, sent.body)
    with pytest.raises(GrantPartyError):
        service.receive(shop, forged, T0 + 4, _random)
    # Her update under an agreement that ended with an earlier relationship is refused too.
    record = shop.agreements[grant.agreement_id]
    shop.agreements[grant.agreement_id] = replace(record, ended_ms=T0 + 4)
    with pytest.raises(GrantPartyError):
        service.receive(shop, _envelope(person, shop, MSG_UPDATE, sent.body), T0 + 5, _random)


def test_a_change_reaches_live_grants_only_each_with_its_reason() -> None:
    person, shop, _ = _parties()
    grant, _, _ = _grant(person, shop)
    person.fields["email"] = NEW
    records = [  # the same grant as the node might record it at three moments
        IssuedRecord(grant, revoked=True, deleted=False, version=0),
        IssuedRecord(grant, revoked=False, deleted=True, version=0),
        IssuedRecord(grant, revoked=False, deleted=False, version=4),
    ]

    outcomes, effects = update_field(person, records, NEW, now_ms=T0 + 1, random=_random)

    assert [(o.version, o.why) for o in outcomes] == [
        (None, "revoked"),
        (None, "deleted by the grantee (its deletion receipt came back)"),
        (5, ""),
    ]
    assert sum(isinstance(e, Send) for e in effects) == 1
    late, _ = update_field(person, records[2:], NEW, now_ms=T0 + DAY_MS, random=_random)
    assert late[0].version is None and late[0].why.startswith("expired at")
    peer = shop.keyring.identity.peer_id
    person.peers[peer] = _connected(person.peers[peer].peer_card, state=RelationshipState.ENDED)
    ended, effects = update_field(person, records[2:], NEW, now_ms=T0 + 1, random=_random)
    assert [(o.version, o.why) for o in ended] == [(None, "the relationship is ended")]
    assert effects == []
    record = person.agreements[grant.agreement_id]
    person.agreements[grant.agreement_id] = replace(record, ended_ms=T0)
    gone, _ = update_field(person, records[2:], NEW, now_ms=T0 + 1, random=_random)
    assert gone[0].why == "its agreement ended with the relationship it was signed in"
    # A field the grant does not name reaches nobody, not even as "not updated".
    phone = Field("phone", FieldType.PHONE, "+4930123456")
    assert update_field(person, records, phone, now_ms=T0 + 1, random=_random) == ([], [])
