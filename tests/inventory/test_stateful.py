"""The service's invariants under any sequence of commands and clock moves.

After every step: quantities equal the replay of the movement log, available-to-promise
is never negative, held and committed equal what active and confirmed holds account
for, and ``expire_holds`` leaves no lapsed hold behind (its stock is back).
"""

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.contracts import InventoryStoreComparison


def test_inventory_invariants_hold_under_any_sequence() -> None:
    run_state_machine_as_test(
        lambda: InventoryStoreComparison(MemoryStore()),
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
