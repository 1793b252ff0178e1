from datetime import UTC, datetime

import pytest

from omnicrm.errors import IdempotencyConflictError, ValidationError
from omnicrm.idempotency import fingerprint, run_once
from omnicrm.persistence.memory import MemoryStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_run_once_records_replays_and_refuses_other_payloads() -> None:
    store = MemoryStore()
    calls: list[int] = []

    def once(payload: dict[str, int]) -> tuple[int, bool]:
        with store.unit_of_work() as uow:
            result = run_once(
                uow,
                scope="test.cmd",
                key="k1",
                payload=payload,
                now=NOW,
                command=lambda: calls.append(1) or len(calls),
                encode=str,
                decode=int,
            )
            uow.commit()
        return result

    assert once({"n": 1}) == (1, False)
    assert once({"n": 1}) == (1, True)
    assert calls == [1]
    with pytest.raises(IdempotencyConflictError):
        once({"n": 2})


def test_rolled_back_command_leaves_no_record() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        run_once(
            uow, scope="s", key="k", payload={}, now=NOW,
            command=lambda: 1, encode=str, decode=int,
        )  # fmt: skip
    with store.unit_of_work() as uow:
        assert uow.idempotency.get("s", "k") is None
        with pytest.raises(ValidationError):
            run_once(
                uow, scope="s", key="", payload={}, now=NOW,
                command=lambda: 1, encode=str, decode=int,
            )  # fmt: skip


def test_fingerprint_is_order_independent() -> None:
    assert fingerprint({"a": 1, "b": NOW}) == fingerprint({"b": NOW, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
