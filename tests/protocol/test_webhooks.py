"""CRM webhooks against spec/vectors/webhooks.json, and the properties of signing and the retry
schedule (spec/webhooks.md)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.errors import AmityError, UsageError
from amity.protocol.webhooks import (
    EVENTS,
    check_events,
    check_url,
    decode_event,
    event_body,
    format_secret,
    parse_secret,
    retry_delay_ms,
    signature_headers,
    signed_content,
    verify,
)
from tests.vectors import vector_cases


def _run(vector: dict[str, Any]) -> None:
    op = vector["operation"]
    if op == "secret":
        assert parse_secret(vector["secret"]).hex() == vector["key_hex"]
    elif op == "deliver":
        key = parse_secret(vector["secret"])
        body = event_body(vector["event"], vector["at_ms"], vector["data"])
        assert body == vector["body_text"].encode("utf-8")
        msg_id, stamp = vector["message_id"], vector["timestamp_s"]
        assert signed_content(msg_id, stamp, body) == vector["signed_text"].encode("utf-8")
        assert signature_headers(key, msg_id, stamp, body) == vector["headers"]
    elif op == "verify":
        verify(parse_secret(vector["secret"]), vector["message_id"], vector["timestamp"],
               vector["signature"], vector["body_text"].encode("utf-8"), vector["now_s"])  # fmt: skip
    elif op == "body":
        decode_event(vector["body_text"].encode("utf-8"))
    else:
        assert op == "retry"
        args = (vector["attempts"], vector["draw"], vector["base_ms"], vector["cap_ms"])
        assert retry_delay_ms(*args) == vector["delay_ms"]


@pytest.mark.parametrize("vector", **vector_cases("webhooks", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    _run(vector)


@pytest.mark.parametrize("vector", **vector_cases("webhooks", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as raised:
        _run(vector)
    assert raised.value.code == vector["error"]


@given(key=st.binary(min_size=24, max_size=64), body=st.binary(max_size=200),
       stamp=st.integers(0, 10**12 - 1), flip=st.integers(0, 10**6))  # fmt: skip
def test_a_signature_holds_for_its_body_only(
    key: bytes, body: bytes, stamp: int, flip: int
) -> None:
    assert parse_secret(format_secret(key)) == key
    h = signature_headers(key, "msg_x", stamp, body)
    verify(key, h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"], body, stamp)
    changed = body + b"!" if not body else bytes([body[0] ^ (1 + flip % 255)]) + body[1:]
    with pytest.raises(AmityError):
        verify(key, "msg_x", str(stamp), h["webhook-signature"], changed, stamp)


@given(attempts=st.integers(1, 200), draw=st.floats(0, 1, exclude_max=True),
       base=st.integers(1, 10**6), extra=st.integers(0, 10**8))  # fmt: skip
def test_the_retry_delay_is_between_half_and_all_of_the_capped_doubling(
    attempts: int, draw: float, base: int, extra: int
) -> None:
    cap = base + extra
    full = min(cap, base * 2 ** (attempts - 1))
    assert full // 2 <= retry_delay_ms(attempts, draw, base, cap) <= full


def test_event_names_and_urls_are_checked_in_words() -> None:
    assert check_events(["grant.given", "relationship.opened"]) == (
        "relationship.opened",
        "grant.given",
    )
    with pytest.raises(UsageError, match=r"known: relationship\.opened"):
        check_events(["grant.gven"])
    assert check_url("https://crm.example.com/amity?x=1") == "https://crm.example.com/amity?x=1"
    for bad in ("ftp://crm.example.com/", "https:///path", "crm.example.com", "http://a b/"):
        with pytest.raises(UsageError, match="http:// or https://"):
            check_url(bad)
    assert len(EVENTS) == len(set(EVENTS)) == 11
