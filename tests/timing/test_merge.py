"""Merge, unmerge and erasure at the engine's surface: arguments, atomicity, directory."""

from datetime import timedelta

import pytest

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.contracts._timing_fixtures import T0, make_engine, make_event
from omnicrm.testing.contracts.timing_merge import timing_snapshot
from omnicrm.timing import CustomerContext, Engine, StaticDirectory
from omnicrm.timing._merging import keeps_absorbed
from omnicrm.timing.records import Enrollment


def _engine_with_two() -> tuple[MemoryStore, Engine]:
    store = MemoryStore()
    engine = make_engine(store)
    engine.handle(make_event("e1", "viewed", "c1", T0))
    engine.handle(make_event("e2", "viewed", "c2", T0 + timedelta(hours=1)))
    return store, engine


@pytest.mark.parametrize(
    ("survivor", "absorbed", "error"),
    [
        ("c1", "c1", ValidationError),
        ("", "c2", ValidationError),
        ("c1", 7, InvalidTypeError),
    ],
)
def test_bad_pairs_are_refused_before_anything_is_written(
    survivor: object, absorbed: object, error: type[Exception]
) -> None:
    store, engine = _engine_with_two()
    before = timing_snapshot(store)
    with pytest.raises(error):
        engine.merge_customers(survivor, absorbed)  # type: ignore[arg-type]
    with pytest.raises(error):
        engine.unmerge_customers(survivor, absorbed)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        engine.merge_customers("c1", "c2", key="")
    assert timing_snapshot(store) == before


def test_forget_refuses_a_bad_id_and_drops_the_directory_context() -> None:
    directory = StaticDirectory([CustomerContext(customer_id="c9", time_zone="Asia/Tokyo")])
    engine = Engine(MemoryStore(), make_engine(MemoryStore()).journeys, directory=directory)
    with pytest.raises(ValidationError):
        engine.forget_customer("")
    assert engine.forget_customer("c9") == 0
    assert directory.context("c9").time_zone == "UTC"


def test_merge_of_a_customer_with_nothing_is_recorded_and_undone() -> None:
    store, engine = _engine_with_two()
    before = timing_snapshot(store)
    assert engine.merge_customers("c2", "c3") is True
    assert timing_snapshot(store) == before
    assert engine.unmerge_customers("c2", "c3") is True
    assert engine.unmerge_customers("c2", "c3") is False


def _row(active: bool, hours: int) -> Enrollment:
    return Enrollment(
        customer_id="c", journey_id="j", run=1, step_id="s", active=active,
        entered_at=T0 + timedelta(hours=hours),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("survivor", "absorbed", "expected"),
    [
        (_row(True, 5), _row(False, 1), False),  # active beats ended
        (_row(False, 1), _row(True, 5), True),
        (_row(True, 5), _row(True, 1), True),  # both active: the earlier entered
        (_row(True, 1), _row(True, 1), False),  # a tie keeps the survivor's
        (_row(False, 1), _row(False, 5), True),  # both ended: the later entered
        (_row(False, 5), _row(False, 1), False),
    ],
)
def test_conflict_rule(survivor: Enrollment, absorbed: Enrollment, expected: bool) -> None:
    assert keeps_absorbed(survivor, absorbed) is expected


def test_unmerge_refuses_when_the_absorbed_id_has_new_state() -> None:
    from omnicrm.timing import UnmergeConflictError

    store, engine = _engine_with_two()
    engine.merge_customers("c1", "c2")
    engine.handle(make_event("e9", "signed_up", "c2", T0 + timedelta(hours=2)))
    before = timing_snapshot(store)
    with pytest.raises(UnmergeConflictError):
        engine.unmerge_customers("c1", "c2")
    assert timing_snapshot(store) == before
    engine.merge_customers("c1", "c2")  # a new pair record is not made: already merged
    engine.forget_customer("c2")
    assert engine.unmerge_customers("c1", "c2") is False  # the record went with c2
