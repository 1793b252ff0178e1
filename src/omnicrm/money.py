"""Money as integer minor units plus an ISO 4217 currency code; never a float.

``Money(1980, "JPY")`` is ¥1,980 (the yen has no minor unit); ``Money(1999, "USD")``
is $19.99. Amounts are never negative: a refund is its own command carrying a
positive amount. Decimals are accepted only at the edge, by :meth:`Money.from_major`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from omnicrm.errors import (
    CurrencyMismatchError,
    InvalidTypeError,
    UnknownCurrencyError,
    ValidationError,
)
from omnicrm.validation import check_int, field_validator

__all__ = ["MINOR_UNITS", "Money", "check_currency"]

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UZS VED VES "
    "WST XCD YER ZAR ZMW ZWG ZWL"
)

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}
"""ISO 4217 currency code -> number of minor-unit digits (JPY 0, USD 2, KWD 3, ...)."""

_MAX_AMOUNT = 10**18  # fits a signed 64-bit SQL integer with room for sums


def check_currency(field: str, value: object) -> str:
    """Return ``value`` if it is a known ISO 4217 code in upper case ("JPY")."""
    if not isinstance(value, str):
        raise InvalidTypeError(field, value, f"must be a str, not {type(value).__name__}")
    if value not in MINOR_UNITS:
        raise UnknownCurrencyError(field, value, "is not an ISO 4217 currency code")
    return value


def _check_amount(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0, maximum=_MAX_AMOUNT)


@attrs.frozen(order=False)
class Money:
    """A non-negative amount of one currency, in integer minor units.

    Attributes:
        amount: the amount in minor units (yen for JPY, cents for USD).
        currency: the ISO 4217 code.

    """

    amount: int = attrs.field(validator=_check_amount)
    currency: str = attrs.field(validator=field_validator(check_currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``."""
        return cls(0, currency)

    @classmethod
    def from_major(cls, value: Decimal | str | int, currency: str) -> Money:
        """Build from a major-unit amount ("19.99" USD -> 1999); refuses lost precision."""
        digits = MINOR_UNITS[check_currency("currency", currency)]
        if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
            raise InvalidTypeError("amount", value, "must be a Decimal, str or int (never a float)")
        try:
            major = Decimal(value)
        except InvalidOperation as exc:
            raise ValidationError("amount", value, "is not a decimal number") from exc
        if not major.is_finite():
            raise ValidationError("amount", value, "must be finite")
        minor = major.scaleb(digits)
        if minor != minor.to_integral_value():
            raise ValidationError(
                "amount", value, f"has more than {digits} decimal places for {currency}"
            )
        return cls(int(minor), currency)

    def to_major(self) -> Decimal:
        """Return the amount in major units as an exact ``Decimal``."""
        return Decimal(self.amount).scaleb(-MINOR_UNITS[self.currency])

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise InvalidTypeError("other", other, "must be Money")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                "currency", other.currency, f"cannot combine with {self.currency}"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        if other.amount > self.amount:
            raise ValidationError(
                "amount", self.amount - other.amount, "money cannot become negative"
            )
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        digits = MINOR_UNITS[self.currency]
        return f"{self.to_major():,.{digits}f} {self.currency}"
