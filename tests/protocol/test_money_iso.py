"""money.CURRENCIES is ISO 4217 as published: every active code that has a minor unit, with
its exponent, and nothing else (checked against the iso4217 package, pinned in pyproject)."""

from __future__ import annotations

from iso4217 import Currency

from amity.protocol.money import CURRENCIES


def test_the_table_is_iso_4217() -> None:
    published = {c.code: c.exponent for c in Currency if c.exponent is not None}
    assert dict(CURRENCIES) == published
