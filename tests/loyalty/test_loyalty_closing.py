"""Closing a member (leaving, or erasure): holds released, every point forfeited by entries."""

from __future__ import annotations

import pytest
from _loyalty_support import Kit

from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.loyalty import PointsExpired


def test_close_forfeits_available_pending_and_held_points_and_books_balance(kit: Kit) -> None:
    kit.enroll("m1", "pending")
    kit.enroll("m1", "plain")
    kit.buy(10000, member="m1", program="pending")  # 100 provisional
    kit.buy(20000, member="m1", program="plain")  # 200 available
    kit.service.hold("m1", "plain", 50, company="acme", channel=Channel.EC, idempotency_key="h")
    receipts = kit.service.close_member("m1", reason="erased", idempotency_key="close")
    assert {(r.program_id, r.points) for r in receipts} == {("pending", 100), ("plain", 200)}
    for program in ("pending", "plain"):
        balance = kit.service.balance("m1", program)
        assert (balance.available, balance.pending, balance.held) == (0, 0, 0)
        for books in kit.service.books(program):
            assert sum(dict(books.accounts).values()) == 0
            assert books.liability == 0
    events = [e for r in receipts for e in r.events]
    assert sum(e.points for e in events if isinstance(e, PointsExpired)) == 300
    again = kit.service.close_member("m1", reason="erased", idempotency_key="close")
    assert all(r.replayed for r in again)


def test_close_of_a_member_with_no_account_does_nothing(kit: Kit) -> None:
    assert kit.service.close_member("nobody", reason="erased", idempotency_key="c") == []


@pytest.mark.parametrize(
    ("field", "kwargs", "error"),
    [
        ("member_id", {"member_id": ""}, ValidationError),
        ("member_id", {"member_id": 7}, InvalidTypeError),
        ("reason", {"reason": ""}, ValidationError),
        ("idempotency_key", {"idempotency_key": None}, InvalidTypeError),
    ],
)
def test_close_rejects_bad_input_and_writes_nothing(
    kit: Kit, field: str, kwargs: dict[str, object], error: type[Exception]
) -> None:
    kit.enroll()
    kit.buy(10000)
    args: dict[str, object] = {"member_id": "m1", "reason": "erased", "idempotency_key": "c"}
    args.update(kwargs)
    with pytest.raises(error) as raised:
        kit.service.close_member(args.pop("member_id"), **args)  # type: ignore[arg-type]
    assert raised.value.field == field  # type: ignore[attr-defined]
    assert kit.available() == 100
