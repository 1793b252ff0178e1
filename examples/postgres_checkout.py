"""Two checkout servers spending one member's points on PostgreSQL at the same time.

Run it: ``OMNICRM_POSTGRES_URL=postgresql://user@host/db python examples/postgres_checkout.py``
(``eval "$(.ci/postgres.sh)"`` starts a throw-away server). It works in a schema of
its own and drops it at the end. Without a server it says so and stops.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from datetime import UTC, datetime

from omnicrm.channel import Channel
from omnicrm.errors import RuleViolationError
from omnicrm.loyalty import LoyaltyService, Program
from omnicrm.testing import FixedClock, SequentialIds

NOON = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
PROGRAM = Program(id="group-points", companies={"fashion-ec"})


def checkout_server(url: str, schema: str, name: str, out: multiprocessing.Queue[str]) -> None:
    """One application process: its own store, the same database."""
    from omnicrm.persistence.postgres import PostgresStore, retrying

    store = PostgresStore(url, schema=schema)
    points = LoyaltyService(store, FixedClock(NOON), [PROGRAM], SequentialIds())
    for n in range(3):
        order = f"{name}-order-{n}"
        try:
            receipt = retrying(  # a busy database is retried; the key makes it apply once
                lambda order=order: points.spend(
                    "hanako",
                    "group-points",
                    400,
                    company="fashion-ec",
                    channel=Channel.EC,
                    order_id=order,
                    idempotency_key=f"{order}-points",
                )
            )
            out.put(f"{order}: spent {receipt.points} points")
        except RuleViolationError as refused:
            out.put(f"{order}: refused ({refused.reason})")
    store.close()


def main() -> None:
    url = os.environ.get("OMNICRM_POSTGRES_URL")
    try:
        import psycopg
    except ImportError:
        print("psycopg is not installed: pip install 'omnicrm[postgres]'")
        return
    if not url:
        print('No PostgreSQL server: set OMNICRM_POSTGRES_URL (eval "$(.ci/postgres.sh)").')
        return
    from omnicrm.persistence.postgres import PostgresStore

    schema = f"example_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(url, schema=schema)
    try:
        points = LoyaltyService(store, FixedClock(NOON), [PROGRAM], SequentialIds())
        points.enroll("hanako", "group-points", idempotency_key="enroll-hanako")
        points.adjust(
            "hanako",
            "group-points",
            2000,
            company="fashion-ec",
            reason="welcome",
            idempotency_key="welcome-hanako",
        )
        print("Hanako has 2000 points; two checkout servers each try three 400-point spends.")
        ctx = multiprocessing.get_context("fork")
        out: multiprocessing.Queue[str] = ctx.Queue()
        servers = [
            ctx.Process(target=checkout_server, args=(url, schema, name, out))
            for name in ("api-1", "api-2")
        ]
        for server in servers:
            server.start()
        lines = sorted(out.get(timeout=120) for _ in range(6))
        for server in servers:
            server.join(timeout=60)
        for line in lines:
            print(" ", line)
        balance = points.balance("hanako", "group-points")
        print(f"Balance afterwards: {balance.available} points (never below zero).")
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


if __name__ == "__main__":
    main()
