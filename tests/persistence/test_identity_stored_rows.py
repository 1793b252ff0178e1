"""Rows read back by a store: records built without re-validation equal validated ones."""

import json
from datetime import UTC, date, datetime

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import OmniCRMError
from omnicrm.identity.codec import (
    profile_from_dict,
    profile_to_dict,
    record_from_json,
    record_to_json,
)
from omnicrm.identity.model import IdentityProfile, StoredRecord
from omnicrm.identity.records import (
    CustomerRecord,
    SourceRef,
    stored_record,
    stored_source,
    stored_value,
)
from omnicrm.testing import strategies_identity  # noqa: F401  (registers the strategies)


@settings(max_examples=60, deadline=None)
@given(st.from_type(CustomerRecord), st.booleans())
def test_a_stored_row_reads_back_equal_to_the_validated_record(
    record: CustomerRecord, extras: bool
) -> None:
    if extras:
        record = attrs.evolve(
            record,
            email_verified=True,
            observed_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
            attributes={"tier": "gold", "shop": "渋谷"},
            member_card_no="M-0001",
        )
    text = record_to_json(record)
    fast = record_from_json(text, stored=True)
    checked = record_from_json(text)
    assert fast == checked == record
    assert hash(fast) == hash(record)
    assert attrs.asdict(fast) == attrs.asdict(record)
    assert record_to_json(fast) == text


def test_a_stored_record_sets_every_field_and_refuses_unknown_ones() -> None:
    source = SourceRef("ec", "7")
    record = stored_record(source, {"family_name": "山田", "birth_date": date(1985, 4, 1)})
    assert record == CustomerRecord(source=source, family_name="山田", birth_date=date(1985, 4, 1))
    assert record.attributes == {}
    assert record.email is None
    assert record.email_verified is False
    with pytest.raises(TypeError):
        stored_record(source, {"nickname": "x"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.email = "a@b.jp"  # type: ignore[misc]


def test_source_refs_share_one_channel_per_name() -> None:
    assert SourceRef.parse("ec:1").channel is SourceRef.parse("ec:2").channel


@settings(max_examples=60, deadline=None)
@given(st.from_type(SourceRef))
def test_a_stored_source_equals_the_parsed_one(source: SourceRef) -> None:
    stored_source.cache_clear()
    read = stored_source(str(source))
    assert read == SourceRef.parse(str(source)) == source
    assert hash(read) == hash(source)
    assert str(read) == str(source)
    assert not read < source
    assert not source < read


def test_a_stored_source_still_refuses_text_that_is_no_source() -> None:
    with pytest.raises(OmniCRMError):
        stored_source("no-colon")
    with pytest.raises(OmniCRMError):
        stored_source("Bad Channel:1")


@settings(max_examples=40, deadline=None)
@given(st.frozensets(st.from_type(SourceRef), max_size=5), st.integers(0, 9), st.booleans())
def test_a_stored_profile_reads_back_equal_to_the_validated_one(
    members: frozenset[SourceRef], version: int, erased: bool
) -> None:
    at = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    profile = IdentityProfile(
        customer_id="ec:1",
        members=members,
        created_at=at,
        updated_at=at,
        version=version,
        erased=erased,
        merged_into="store:2" if erased else None,
    )
    data = json.loads(json.dumps(profile_to_dict(profile)))
    fast = profile_from_dict(data, stored=True)
    assert fast == profile_from_dict(data) == profile
    assert hash(fast) == hash(profile)


def test_a_stored_value_is_built_checked_when_its_slots_hold_more_than_its_fields() -> None:
    @attrs.frozen(cache_hash=True)
    class Cached:
        name: str

    value = stored_value(Cached, {"name": "x"})
    assert value == Cached("x")
    assert hash(value) == hash(Cached("x"))
    row = stored_value(
        StoredRecord, {"source": SourceRef("ec", "1"), "customer_id": "ec:1", "record": None}
    )
    assert row == StoredRecord(source=SourceRef("ec", "1"), customer_id="ec:1")
