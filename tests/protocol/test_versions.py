"""One rule for field 0 in every versioned structure (spec/encoding.md §5.4).

A missing version, ``true``, a str or another int is ``version.unsupported`` with the code as hint,
read before the arity: a later version with other fields is never reported as a schema error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from amity.protocol import frames
from amity.protocol.agreement import Agreement
from amity.protocol.audit import decode_entry
from amity.protocol.encoding import Value, encode
from amity.protocol.errors import AmityError
from amity.protocol.grants import Grant, Revocation, decode_request
from amity.protocol.notes import decode_note
from amity.protocol.policy import decode_policy_summary
from amity.protocol.receipts import decode_holdings_query
from amity.protocol.relmessages import decode_end, decode_hello
from amity.protocol.reputationmessages import decode_query, decode_rebut, decode_share
from amity.protocol.sealed import peek_sealed
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import decode_terms_body
from amity.protocol.vault import open_field

_VAULT_KEY = bytes(32)


def _signed(fields: Value) -> bytes:
    """A signed-structure shape around ``fields`` (the version is read before the signature)."""
    return encode([encode(fields), bytes(64)])


def _agreement(fields: Value) -> bytes:
    return encode([encode(fields), bytes(64), bytes(64)])


#: name -> (reader of the encoded fields, how to wrap them)
READERS: dict[str, tuple[Callable[[bytes], Any], Callable[[Value], bytes]]] = {
    "msg.note": (decode_note, encode),
    "rel.hello": (decode_hello, encode),
    "rel.end": (decode_end, encode),
    "terms document": (TermsDocument.decode, encode),
    "policy summary": (decode_policy_summary, encode),
    "terms.accept": (lambda d: decode_terms_body("terms.accept", d), encode),
    "terms.withdraw": (lambda d: decode_terms_body("terms.withdraw", d), encode),
    "agreement": (Agreement.decode, _agreement),
    "grant": (Grant.decode, _signed),
    "grant.revoke": (Revocation.decode, _signed),
    "grant.request": (decode_request, encode),
    "grant.holdings": (decode_holdings_query, encode),
    "audit entry": (decode_entry, encode),
    "sealed vault field": (lambda d: open_field(_VAULT_KEY, d, name="email"), encode),
    "sealed mail": (peek_sealed, encode),
    "reputation.share": (decode_share, encode),
    "reputation.query": (decode_query, encode),
    "reputation.rebut": (decode_rebut, encode),
    "link ack frame": (frames.decode_ack, encode),
    "relay mail frame": (frames.decode_mail, encode),
}
BAD_VERSIONS: dict[str, Value] = {
    "empty": [],
    "true": [True],
    "false": [False],
    "str": ["1"],
    "nil": [None],
    "two": [2],
    "two-with-fields": [2, b"a later layout", 7],
}


@pytest.mark.parametrize("fields", BAD_VERSIONS.values(), ids=BAD_VERSIONS.keys())
@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_bad_version_is_unsupported_everywhere(
    reader: tuple[Callable[[bytes], Any], Callable[[Value], bytes]], fields: Value
) -> None:
    read, wrap = reader
    with pytest.raises(AmityError) as excinfo:
        read(wrap(fields))
    assert excinfo.value.code == "version.unsupported", excinfo.value
    assert excinfo.value.hint == "version.unsupported"
