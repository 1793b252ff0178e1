"""The columnar memory positions and their due index against a plain model.

Writes, ``due`` reads (until and limit anywhere across the time buckets), closes and
rolled-back units of work; after each step the repository answers like a dict of
records, and a rollback leaves every column and the index's live entries as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omnicrm.errors import DuplicateError
from omnicrm.frozenmap import FrozenMap
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.memory._timing_due import SPAN
from omnicrm.timing import Enrollment, FreshEntryRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(microseconds=SPAN // 3)  # three instants a bucket
CUSTOMERS = st.sampled_from(["c1", "c2", "c3", "c10"])
JOURNEYS = st.sampled_from(["j1", "j2", "j0"])
DUES = st.one_of(st.none(), st.integers(0, 40).map(lambda k: T0 + k * STEP))
# mostly early instants, so that later writes still land in buckets not opened yet
UNTIL = st.one_of(st.integers(-1, 8), st.integers(-1, 41))
ENDS = {("j1", "w"): "done", ("j0", "x"): "out"}


def _order(row: Enrollment) -> tuple[object, ...]:
    return (row.due_at, row.customer_id, row.journey_id)


class Positions(RuleBasedStateMachine):
    """A memory store beside a dict of the rows it should hold."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.model: dict[tuple[str, str], Enrollment] = {}

    def _due(self, until: datetime, limit: int) -> list[Enrollment]:
        rows = [r for r in self.model.values() if r.active and r.due_at and r.due_at <= until]
        return sorted(rows, key=_order)[:limit]

    @rule(customer=CUSTOMERS, journey=JOURNEYS, due=DUES, active=st.booleans(),
          step=st.sampled_from("wxy"), wait=st.sampled_from([None, "booked"]))  # fmt: skip
    def put(
        self, customer: str, journey: str, due: datetime | None, active: bool, step: str,
        wait: str | None,
    ) -> None:  # fmt: skip
        current = self.model.get((customer, journey))
        row = Enrollment(
            customer_id=customer, journey_id=journey, run=1 if current is None else current.run,
            step_id=step, active=active, entered_at=T0, due_at=due, wait_event=wait,
            facts={"k": customer} if due is None else {}, deferrals=int(active),
            holdout=journey == "j2", version=0 if current is None else current.version,
        )  # fmt: skip
        with self.store.unit_of_work() as uow:
            stored = uow.timing_enrollments.put(row)
            uow.commit()
        self.model[(customer, journey)] = stored

    @rule(rows=st.lists(st.tuples(CUSTOMERS, JOURNEYS, st.integers(0, 40)), max_size=4),
          step=st.sampled_from(["w", "x"]))  # fmt: skip
    def put_waiting(self, rows: list[tuple[str, str, int]], step: str) -> None:
        for customer, journey, k in rows:
            self.put(customer, journey, T0 + k * STEP, True, step, None)

    @rule(customer=CUSTOMERS, journeys=st.sets(JOURNEYS, min_size=1),
          k=st.integers(0, 40), held=st.booleans(), rollback=st.booleans())  # fmt: skip
    def enter_shape(
        self, customer: str, journeys: set[str], k: int, held: bool, rollback: bool
    ) -> None:
        # a customer's rows written as one block (a chain linked ahead of time)
        ids = tuple(sorted(journeys))
        shape = (ids, ("w",) * len(ids), tuple("booked" if j == "j1" else None for j in ids))
        due = T0 + k * STEP
        rows = {
            (customer, j): Enrollment(
                customer_id=customer, journey_id=j, run=1, step_id="w", active=True,
                entered_at=T0, due_at=due, wait_event=w, facts={}, holdout=held and j == "j2",
                version=1,
            )
            for j, w in zip(ids, shape[2], strict=True)
        }  # fmt: skip
        fresh = all(c != customer for c, _ in self.model)
        before = _tables(self.store)
        with self.store.unit_of_work() as uow:
            repo = cast(FreshEntryRepository, uow.timing_enrollments)
            try:
                repo.enter_shape(customer, T0, FrozenMap(), shape, (due,) * len(ids),
                                 tuple(r.holdout for r in rows.values()))  # fmt: skip
            except DuplicateError:
                assert not fresh
                assert any(key in self.model for key in rows)
                return
            if rollback:
                uow.rollback()
            else:
                uow.commit()
        if rollback:
            assert _tables(self.store) == before
        else:
            self.model.update(rows)

    @rule(customer=CUSTOMERS, journey=JOURNEYS)
    def remove(self, customer: str, journey: str) -> None:
        with self.store.unit_of_work() as uow:
            removed = uow.timing_enrollments.remove(customer, journey)
            uow.commit()
        assert removed == (self.model.pop((customer, journey), None) is not None)

    @rule(k=UNTIL, limit=st.integers(1, 5))
    def due(self, k: int, limit: int) -> None:
        until = T0 + k * STEP + timedelta(microseconds=k % 2)
        with self.store.unit_of_work() as uow:
            found = list(uow.timing_enrollments.due(until, limit))
            uow.commit()
        assert found == self._due(until, limit)

    @rule(k=UNTIL, limit=st.integers(1, 5))
    def close_due(self, k: int, limit: int) -> None:
        until = T0 + k * STEP
        expected = self._due(until, limit)
        with self.store.unit_of_work() as uow:
            closed, rest = uow.timing_enrollments.close_due(until, limit, ENDS)
            uow.commit()
        ended = [r for r in expected if (r.journey_id, r.step_id) in ENDS]
        assert closed == len(ended)
        assert list(rest) == [r for r in expected if r not in ended]
        for row in ended:
            self.model[(row.customer_id, row.journey_id)] = row.moved(
                step_id=ENDS[(row.journey_id, row.step_id)], active=False, due_at=None,
                wait_event=None, facts=row.facts, deferrals=0,
            ).with_version(row.version + 1)  # fmt: skip

    @rule(k=UNTIL, customer=CUSTOMERS, journey=JOURNEYS)
    def rolled_back(self, k: int, customer: str, journey: str) -> None:
        before = _tables(self.store)
        with self.store.unit_of_work() as uow:
            repo = uow.timing_enrollments
            due = repo.due(T0 + k * STEP, 3)
            if due:  # moved on: its entry is stale, and dropped by the next read
                later = T0 + 50 * STEP
                repo.put(due[0].moved(step_id="y", active=True, due_at=later, wait_event=None,
                                      facts=due[0].facts, deferrals=0))  # fmt: skip
            repo.close_many([(p, "gone") for p in due[1:2]])
            repo.close_due(T0 + k * STEP, 2, ENDS)
            repo.remove(customer, journey)
            repo.insert(Enrollment(customer_id=customer, journey_id=journey, run=9,
                                   step_id="w", active=True, entered_at=T0, due_at=T0))  # fmt: skip
        assert _tables(self.store) == before

    @precondition(lambda self: self.model)
    @invariant()
    def same_rows(self) -> None:
        with self.store.unit_of_work(read_only=True) as uow:
            repo = uow.timing_enrollments
            for (customer, journey), row in self.model.items():
                assert repo.get(customer, journey) == row
                assert row in repo.for_customer(customer)
            assert repo.count_active() == sum(r.active for r in self.model.values())
            for customer in ("c1", "c2", "c3", "c10"):
                rows = [r for k, r in sorted(self.model.items()) if k[0] == customer]
                assert list(repo.for_customer(customer)) == rows


def _tables(store: MemoryStore) -> tuple[object, ...]:
    t = store._timing
    p = t.positions
    columns = (p.customer, p.journey, p.run, p.step, p.flags, p.entered, p.due, p.waiting,
               p.facts, p.deferrals, p.version, p.next)  # fmt: skip
    return (tuple(map(list, columns)), dict(p.slot_of), p.active, tuple(t.names.names),
            t.due.live())  # fmt: skip


TestPositions = Positions.TestCase
TestPositions.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
