"""The purchase log and watch list behave alike on memory and SQLite."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnicrm.errors import DuplicateError
from omnicrm.omni import OmniUnitOfWork, PurchaseRecord, Watch
from omnicrm.persistence import open_store
from omnicrm.unit_of_work import Store

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def row(order: str, customer: str, minutes: int = 0) -> PurchaseRecord:
    return PurchaseRecord(
        order_id=order,
        customer_id=customer,
        channel="ec",
        amount=1_000,
        at=T0 + timedelta(minutes=minutes),
    )


def uow(store: Store) -> OmniUnitOfWork:
    return store.unit_of_work()  # type: ignore[return-value]


def test_purchases_move_restore_and_erase(store: Store) -> None:
    with uow(store) as u:
        u.omni_purchases.add(row("o2", "a", 5))
        u.omni_purchases.add(row("o1", "a"))
        u.omni_purchases.add(row("o3", "b"))
        with pytest.raises(DuplicateError):
            u.omni_purchases.add(row("o1", "b"))
        assert u.omni_purchases.move("a", "b") == 2
        u.commit()
    with uow(store) as u:
        rows = u.omni_purchases.all()
        assert [(r.order_id, r.customer_id, r.merged_from) for r in rows] == [
            ("o1", "b", "a"),
            ("o3", "b", None),
            ("o2", "b", "a"),
        ]
        assert u.omni_purchases.restore("b", "a") == 2
        assert u.omni_purchases.erase("b") == 1
        u.commit()
    with uow(store) as u:
        assert [r.customer_id for r in u.omni_purchases.all()] == ["a", "a"]


def test_watches(store: Store) -> None:
    with uow(store) as u:
        u.omni_watches.put(Watch(customer_id="b", sku="belt", since=T0))
        u.omni_watches.put(Watch(customer_id="a", sku="belt", since=T0))
        u.omni_watches.put(Watch(customer_id="a", sku="shirt", since=T0))
        u.commit()
    with uow(store) as u:
        assert [w.customer_id for w in u.omni_watches.watchers("belt")] == ["a", "b"]
        u.omni_watches.remove("b", "belt")
        assert u.omni_watches.erase("a") == 2
        u.commit()
    with uow(store) as u:
        assert u.omni_watches.watchers("belt") == []


def test_a_rolled_back_unit_of_work_leaves_no_purchase(store: Store) -> None:
    with uow(store) as u:
        u.omni_purchases.add(row("o1", "a"))
    with uow(store) as u:
        assert u.omni_purchases.all() == []


def test_purchases_survive_reopening_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = open_store(url)
    with uow(first) as u:
        u.omni_purchases.add(row("o1", "a"))
        u.commit()
    first.close()
    again = open_store(url)
    with uow(again) as u:
        assert u.omni_purchases.all() == [row("o1", "a")]
    again.close()
