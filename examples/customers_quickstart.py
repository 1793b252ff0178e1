"""Register customers from three channels on SQLite and find them by identifier."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from omnicrm import Channel
from omnicrm.customers import CustomerService, IdentifierKey, Profile
from omnicrm.persistence import open_store
from omnicrm.testing import FixedClock, SequentialIds

with tempfile.TemporaryDirectory() as tmp:
    store = open_store(f"sqlite:///{Path(tmp) / 'crm.db'}")
    clock = FixedClock(datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
    customers = CustomerService(store, clock, SequentialIds())

    pos = customers.register(
        Profile(
            family_name="佐藤", given_name="健太", identifiers={IdentifierKey.phone("0312345678")}
        ),
        channel=Channel.STORE,
        idempotency_key="pos-receipt-0001",
    )
    ec = customers.register(
        Profile(email="kenta@example.jp", identifiers={IdentifierKey.email("kenta@example.jp")}),
        channel=Channel.EC,
        idempotency_key="ec-signup-77",
    )
    print(f"store sign-up -> {pos.customer.id} ({pos.customer.profile.display_name})")
    print(f"EC sign-up    -> {ec.customer.id}")

    retry = customers.register(
        Profile(
            family_name="佐藤", given_name="健太", identifiers={IdentifierKey.phone("0312345678")}
        ),
        channel=Channel.STORE,
        idempotency_key="pos-receipt-0001",
    )
    print(f"POS retried the same sign-up: replayed={retry.replayed}, id={retry.customer.id}")

    for found in customers.find(IdentifierKey.phone("0312345678")):
        print(f"phone 03-1234-5678 belongs to {found.id}, version {found.version}")
    store.close()
