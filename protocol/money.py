"""Money: an amount in the minor unit of an ISO 4217 currency. Sans-IO. See spec/intents.md §3.

Amounts are integers (no floats on the wire): 30000 EUR is 300.00 EUR, 300 JPY is 300 yen. The
table below is ISO 4217's active codes with their minor-unit exponent as published on
2026-01-01 (funds codes included; precious metals, SDR and testing codes left out: they have no
minor unit). tests/protocol/test_money_iso.py checks it against the iso4217 package built from
the official list: ANG (replaced by XCG) and BGN (Bulgaria joined the euro) are gone, VED and
XAD are in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import Value, expect_array, expect_int, expect_str
from amity.protocol.errors import IntentConstraintError, UsageError

__all__ = ["CURRENCIES", "MAX_AMOUNT_MINOR", "Money", "read_money"]

_ZERO: Final = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE: Final = "BHD IQD JOD KWD LYD OMR TND"
_FOUR: Final = "CLF UYW"
_TWO: Final = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VES "
    "VED WST XAD XCD XCG YER ZAR ZMW ZWG"
)
#: ISO 4217 code -> minor-unit exponent (2 for EUR: an amount counts cents).
CURRENCIES: Final[Mapping[str, int]] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}
#: 10^15 minor units: more than any price, and exact in a double for JSON readers.
MAX_AMOUNT_MINOR: Final = 10**15
_CODE: Final = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """``amount_minor`` minor units of ``currency`` (``Money(30000, "EUR")`` is 300.00 EUR)."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise UsageError("an amount is an int of minor units")
        if not 0 <= amount <= MAX_AMOUNT_MINOR:
            raise UsageError(f"an amount is 0..{MAX_AMOUNT_MINOR} minor units")
        if self.currency not in CURRENCIES:
            raise UsageError(f"{self.currency!r:.12} is not an ISO 4217 currency amity knows")

    @classmethod
    def parse(cls, text: str) -> Money:
        """``300EUR``, ``299.90 EUR`` or ``300 JPY`` as Money; UsageError naming the mistake."""
        if not isinstance(text, str):
            raise UsageError("an amount is given as text, like 300EUR")
        found = re.fullmatch(r"\s*([0-9]{1,16})(?:\.([0-9]{1,4}))?\s*([A-Za-z]{3})\s*", text)
        if found is None:
            raise UsageError(f"{text!r:.40} is not an amount and a currency, like 300EUR")
        whole, fraction, code = found.group(1), found.group(2) or "", found.group(3).upper()
        exponent = CURRENCIES.get(code)
        if exponent is None:
            raise UsageError(f"{code} is not an ISO 4217 currency amity knows")
        if len(fraction) > exponent:
            raise UsageError(f"{code} has {exponent} decimal places, {text!r:.40} has more")
        return cls(int(whole + fraction.ljust(exponent, "0")), code)

    def to_wire(self) -> Value:
        return [self.amount_minor, self.currency]

    def __str__(self) -> str:
        exponent = CURRENCIES[self.currency]
        if exponent == 0:
            return f"{self.amount_minor} {self.currency}"
        whole, part = divmod(self.amount_minor, 10**exponent)
        return f"{whole}.{part:0{exponent}d} {self.currency}"


def read_money(value: Value, what: str) -> Money:
    """``[amount_minor, currency]`` from the wire; ``intent.bad_constraint`` for an unknown code."""
    amount, code = expect_array(value, what, arity=2)
    minor = expect_int(amount, f"{what} amount", hi=MAX_AMOUNT_MINOR)
    currency = expect_str(code, f"{what} currency", max_bytes=3, pattern=_CODE)
    if currency not in CURRENCIES:
        raise IntentConstraintError(f"{what}: {currency} is not an ISO 4217 currency v1 knows")
    return Money(minor, currency)
