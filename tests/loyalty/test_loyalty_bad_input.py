from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from _loyalty_support import Kit

from omnicrm.channel import Channel
from omnicrm.errors import (
    DuplicateError,
    InvalidTypeError,
    NaiveDatetimeError,
    NotFoundError,
    OmniCRMError,
    RuleViolationError,
    ValidationError,
)
from omnicrm.loyalty import (
    Confirmation,
    EarnRule,
    ExceedsHoldError,
    HoldNotActiveError,
    InsufficientPointsError,
    Program,
    Purchase,
    PurchaseLine,
)

EC = Channel.EC


def _snapshot(kit: Kit) -> Any:
    return (
        kit.service.statement("m1", "plain"),
        kit.service.balance("m1", "plain"),
    )


@pytest.fixture
def ready(kit: Kit) -> Kit:
    kit.enroll()
    kit.buy(10000)
    kit.hold_id = kit.service.hold(  # type: ignore[attr-defined]
        "m1", "plain", 10, company="acme", channel=EC, idempotency_key="h"
    ).hold_id
    released = kit.service.hold("m1", "plain", 5, company="acme", channel=EC, idempotency_key="h2")
    kit.service.release("plain", released.hold_id or "", idempotency_key="rel")
    kit.released = released.hold_id  # type: ignore[attr-defined]
    return kit


CASES: list[tuple[str, Callable[[Kit], object], type[OmniCRMError], str]] = [
    ("zero points", lambda k: k.spend(0), ValidationError, "points"),
    ("negative points", lambda k: k.spend(-5), ValidationError, "points"),
    ("float points", lambda k: k.spend(1.5), InvalidTypeError, "points"),
    ("bool points", lambda k: k.spend(True), InvalidTypeError, "points"),
    ("unknown member", lambda k: k.spend(1, member="ghost"), NotFoundError, ""),
    ("unknown program", lambda k: k.spend(1, program="nope"), NotFoundError, ""),
    ("unknown company", lambda k: k.spend(1, company="zeta"), NotFoundError, ""),
    ("more than balance", lambda k: k.spend(91), InsufficientPointsError, "points"),
    ("channel not a Channel", lambda k: k.spend(1, channel="ec"), InvalidTypeError, "channel"),
    (
        "hold more than balance",
        lambda k: k.service.hold(
            "m1", "plain", 91, company="acme", channel=EC, idempotency_key="x"
        ),
        InsufficientPointsError,
        "points",
    ),
    (
        "capture more than held",
        lambda k: k.service.capture("plain", k.hold_id, 11, idempotency_key="x"),
        ExceedsHoldError,
        "points",
    ),
    (
        "capture a released hold",
        lambda k: k.service.capture("plain", k.released, 1, idempotency_key="x"),
        HoldNotActiveError,
        "hold_id",
    ),
    (
        "release a released hold",
        lambda k: k.service.release("plain", k.released, idempotency_key="x"),
        HoldNotActiveError,
        "hold_id",
    ),
    (
        "unknown hold",
        lambda k: k.service.release("plain", "hld_nope", idempotency_key="x"),
        NotFoundError,
        "",
    ),
    (
        "naive as_of",
        lambda k: k.service.balance("m1", "plain", as_of=datetime(2026, 1, 1)),
        NaiveDatetimeError,
        "as_of",
    ),
    (
        "naive expire",
        lambda k: k.service.expire(datetime(2026, 1, 1)),
        NaiveDatetimeError,
        "now",
    ),
    (
        "return more than bought",
        lambda k: k.service.return_purchase("m1", "plain", "o2", 10001, idempotency_key="x"),
        RuleViolationError,
        "returned_amount",
    ),
    (
        "return unknown order",
        lambda k: k.service.return_purchase("m1", "plain", "zz", 1, idempotency_key="x"),
        NotFoundError,
        "",
    ),
    (
        "return zero",
        lambda k: k.service.return_purchase("m1", "plain", "o2", 0, idempotency_key="x"),
        ValidationError,
        "returned_amount",
    ),
    (
        "earn twice on one order",
        lambda k: k.buy(500, order="o2"),
        DuplicateError,
        "",
    ),
    (
        "adjust zero",
        lambda k: k.service.adjust(
            "m1", "plain", 0, company="acme", reason="r", idempotency_key="x"
        ),
        RuleViolationError,
        "points",
    ),
    (
        "adjust down more than balance",
        lambda k: k.service.adjust(
            "m1", "plain", -91, company="acme", reason="r", idempotency_key="x"
        ),
        InsufficientPointsError,
        "points",
    ),
    (
        "enroll twice",
        lambda k: k.service.enroll("m1", "plain", idempotency_key="x"),
        DuplicateError,
        "",
    ),
    (
        "empty key",
        lambda k: k.service.spend("m1", "plain", 1, company="acme", channel=EC, idempotency_key=""),
        ValidationError,
        "idempotency_key",
    ),
    (
        "within not a timedelta",
        lambda k: k.service.expiring_soon("m1", "plain", 7),
        InvalidTypeError,
        "within",
    ),
]


@pytest.mark.parametrize(("name", "call", "error", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_precisely_and_writes_nothing(
    ready: Kit, name: str, call: Callable[[Kit], object], error: type[OmniCRMError], field: str
) -> None:
    before = _snapshot(ready)
    with pytest.raises(error) as caught:
        call(ready)
    if field:
        assert getattr(caught.value, "field", None) == field, caught.value
    assert str(caught.value)
    assert _snapshot(ready) == before


def test_refused_command_leaves_its_key_free(ready: Kit) -> None:
    with pytest.raises(InsufficientPointsError):
        ready.service.spend("m1", "plain", 500, company="acme", channel=EC, idempotency_key="k")
    ok = ready.service.spend("m1", "plain", 5, company="acme", channel=EC, idempotency_key="k")
    assert not ok.replayed


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: PurchaseLine("p", 0), ValidationError),
        (lambda: PurchaseLine("p", 10.0), InvalidTypeError),
        (lambda: Purchase(order_id="o", company="c", channel=EC, lines=()), ValidationError),
        (
            lambda: Purchase(
                order_id="o",
                company="c",
                channel=EC,
                lines=(PurchaseLine("p", 100),),
                points_used=101,
            ),
            ValidationError,
        ),
        (lambda: Program(id="p", companies=()), ValidationError),
        (lambda: Program(id="p", companies={"a"}, expiry_mode="weekly"), ValidationError),
        (lambda: Program(id="p", companies={"a"}, hold_timeout=timedelta(0)), ValidationError),
        (lambda: Program(id="p", companies={"a"}, time_zone="Mars/Olympus"), ValidationError),
        (lambda: EarnRule(name="r", percent=50), ValidationError),
        (lambda: EarnRule(name="r", percent=150.0), InvalidTypeError),
        (
            lambda: EarnRule(name="r", percent=200, starts_at=datetime(2026, 1, 1)),
            NaiveDatetimeError,
        ),
        (lambda: Confirmation(days=-1), ValidationError),
    ],
)
def test_bad_configuration_and_values_are_refused(build: Callable[[], object], error: type) -> None:
    with pytest.raises(error):
        build()
