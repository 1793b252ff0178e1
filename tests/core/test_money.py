from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnicrm.errors import (
    CurrencyMismatchError,
    InvalidTypeError,
    OmniCRMError,
    UnknownCurrencyError,
    ValidationError,
)
from omnicrm.money import MINOR_UNITS, Money
from omnicrm.testing.strategies import money


def test_minor_units_table_has_the_usual_exceptions() -> None:
    assert (MINOR_UNITS["JPY"], MINOR_UNITS["USD"], MINOR_UNITS["KWD"]) == (0, 2, 3)


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        (-1, "JPY", ValidationError),
        (1.5, "JPY", InvalidTypeError),
        (True, "JPY", InvalidTypeError),
        ("100", "JPY", InvalidTypeError),
        (100, "XXX", UnknownCurrencyError),
        (100, "jpy", UnknownCurrencyError),
        (100, None, InvalidTypeError),
    ],
)
def test_bad_money_names_the_field(amount: object, currency: object, error: type) -> None:
    with pytest.raises(error) as caught:
        Money(amount, currency)  # type: ignore[arg-type]
    assert caught.value.field in ("amount", "currency")
    assert isinstance(caught.value, OmniCRMError)


def test_from_major_is_exact() -> None:
    assert Money.from_major("19.99", "USD") == Money(1999, "USD")
    assert Money.from_major(Decimal("1980"), "JPY") == Money(1980, "JPY")
    assert Money.from_major("1.500", "KWD") == Money(1500, "KWD")
    with pytest.raises(ValidationError, match="decimal places"):
        Money.from_major("19.999", "USD")
    with pytest.raises(ValidationError, match="decimal places"):
        Money.from_major("1.5", "JPY")
    with pytest.raises(InvalidTypeError):
        Money.from_major(19.99, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Money.from_major("NaN", "USD")
    with pytest.raises(ValidationError):
        Money.from_major("abc", "USD")


def test_arithmetic_keeps_currency_and_never_goes_negative() -> None:
    assert Money(100, "JPY") + Money(50, "JPY") == Money(150, "JPY")
    assert Money(100, "JPY") - Money(100, "JPY") == Money(0, "JPY")
    with pytest.raises(ValidationError):
        Money(100, "JPY") - Money(101, "JPY")
    with pytest.raises(CurrencyMismatchError):
        Money(100, "JPY") + Money(100, "USD")
    assert Money(1, "JPY") < Money(2, "JPY")


def test_str_is_for_people() -> None:
    assert str(Money(1980, "JPY")) == "1,980 JPY"
    assert str(Money(123456, "USD")) == "1,234.56 USD"


@given(money(), st.data())
def test_major_round_trip(value: Money, data: st.DataObject) -> None:
    assert Money.from_major(value.to_major(), value.currency) == value
    other = data.draw(money(value.currency))
    assert (value + other) - other == value
