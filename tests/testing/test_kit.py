import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnicrm.channel import Channel
from omnicrm.customers import Customer, IdentifierKey, Profile
from omnicrm.errors import NaiveDatetimeError, ValidationError
from omnicrm.events import DomainEvent
from omnicrm.money import Money
from omnicrm.testing import FixedClock, RecordingEventBus, SequentialIds, SteppingClock
from omnicrm.testing.strategies import (
    japanese_addresses,
    japanese_names,
    kana_variants,
    phone_numbers,
    postal_codes,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)

pytest_plugins = ["pytester"]


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(timedelta(hours=2)) == T0 + timedelta(hours=2)
    with pytest.raises(ValidationError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(NaiveDatetimeError):
        clock.set(datetime(2026, 1, 1))


def test_stepping_clock_gives_ordered_instants() -> None:
    clock = SteppingClock(T0, timedelta(seconds=5))
    assert [clock.now() for _ in range(3)] == [T0 + timedelta(seconds=s) for s in (0, 5, 10)]
    with pytest.raises(ValidationError):
        SteppingClock(T0, timedelta(0))


def test_sequential_ids_and_event_bus() -> None:
    ids = SequentialIds()
    assert [ids.new_id("a"), ids.new_id("b")] == ["a_000001", "b_000002"]
    bus = RecordingEventBus()
    bus.publish([DomainEvent(event_id="e", occurred_at=T0)])
    assert len(bus.of_type(DomainEvent)) == 1
    bus.clear()
    assert bus.events == []


@given(st.from_type(Money), st.from_type(Channel), st.from_type(IdentifierKey))
def test_values_are_registered_for_from_type(m: Money, c: Channel, k: IdentifierKey) -> None:
    assert m.amount >= 0
    assert c.name
    assert k.value


@given(st.from_type(Customer), st.from_type(Profile))
def test_profiles_and_customers_are_valid(customer: Customer, profile: Profile) -> None:
    assert customer.updated_at >= customer.created_at
    assert profile.family_name


@given(japanese_names())
def test_kana_is_one_reading_in_several_scripts(names: tuple[str, str, str, str]) -> None:
    family_kana = names[2]
    katakana = unicodedata.normalize("NFKC", family_kana)
    assert all("ァ" <= ch <= "ヶ" or "ぁ" <= ch <= "ゖ" or ch == "ー" for ch in katakana)


@given(st.sampled_from(["たろう", "がっこう", "ぴょん"]).flatmap(kana_variants))
def test_kana_variants_normalise_back(text: str) -> None:
    folded = unicodedata.normalize("NFKC", text)
    hira = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in folded)
    assert hira in ("たろう", "がっこう", "ぴょん")


@given(phone_numbers(), postal_codes(), japanese_addresses())
def test_written_forms_keep_their_digits(
    phone: tuple[str, str], postal: tuple[str, str], address: str
) -> None:
    national, written = phone
    digits = "".join(c for c in unicodedata.normalize("NFKC", written) if c.isdigit())
    assert digits.removeprefix("81") == national.removeprefix("0") or digits == national
    code, text = postal
    assert "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit()) == code
    assert address


def test_plugin_fixtures_and_contract_subclassing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from omnicrm.persistence.memory import MemoryStore
        from omnicrm.testing.contracts import CustomerRepositoryContract

        class TestHostBackend(CustomerRepositoryContract):
            @pytest.fixture
            def store_factory(self):
                return MemoryStore

        def test_fixtures(omnicrm_clock, omnicrm_ids, omnicrm_event_bus,
                          omnicrm_memory_store, omnicrm_sqlite_store):
            assert omnicrm_clock.now().year == 2026
            assert omnicrm_ids.new_id("x") == "x_000001"
            assert omnicrm_event_bus.events == []
            for store in (omnicrm_memory_store, omnicrm_sqlite_store):
                with store.unit_of_work() as uow:
                    assert uow.customers.get_many(["a"]) == {}
        """
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    from omnicrm.testing.contracts import CustomerRepositoryContract

    contract_tests = [n for n in dir(CustomerRepositoryContract) if n.startswith("test_")]
    # every contract test runs (durable and processes skip on memory) plus test_fixtures
    result.assert_outcomes(passed=len(contract_tests) - 2 + 1, skipped=2)


def test_contract_base_is_not_collected_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "from omnicrm.testing.contracts import CustomerRepositoryContract  # noqa: F401\n"
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
