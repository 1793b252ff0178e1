"""PostgreSQL test stores: each on a fresh schema, dropped after the test.

The server is named by ``OMNICRM_POSTGRES_URL`` (``.ci/postgres.sh`` starts one and
prints it). Without it, or with the server unreachable, PostgreSQL tests skip; with
``CI`` set they fail instead, so a CI run never passes without testing PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from omnicrm.unit_of_work import Store

URL_VARIABLE = "OMNICRM_POSTGRES_URL"


def _unavailable(reason: str) -> None:
    message = f'PostgreSQL tests need a server: {reason}. Start one with eval "$(.ci/postgres.sh)"'
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this fails instead of skipping)")
    pytest.skip(message)


def server_url() -> str:
    """The test server's URL; skips (fails under CI) when there is none."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'omnicrm[postgres]')")
    url = os.environ.get(URL_VARIABLE)
    if not url:
        _unavailable(f"{URL_VARIABLE} is not set")
        raise AssertionError("unreachable")
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _unavailable(f"{url} is unreachable ({str(exc).strip()})")
    return url


@pytest.fixture
def pg_url() -> str:
    """The test server's URL."""
    return server_url()


@pytest.fixture
def pg_schemas(pg_url: str) -> Iterator[Callable[[], str]]:
    """Hands out fresh schema names; drops them (and everything in them) afterwards."""
    made: list[str] = []
    prefix = f"t_{uuid.uuid4().hex[:10]}_"
    counter = itertools.count()

    def new() -> str:
        made.append(f"{prefix}{next(counter)}")
        return made[-1]

    yield new
    import psycopg

    if made:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


class _SchemaPool:
    """Migrated schemas reused across tests: emptied (rows deleted, sequences reset)
    before each reuse, which is far cheaper than creating every table again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.free: list[str] = []
        self.made: list[str] = []
        self.prefix = f"p_{uuid.uuid4().hex[:10]}_"
        self.admin: Any = None

    def take(self) -> tuple[str, bool]:
        if self.free:
            return self.free.pop(), True
        self.made.append(f"{self.prefix}{len(self.made)}")
        return self.made[-1], False

    def empty(self, schema: str) -> None:
        import psycopg

        if self.admin is None or self.admin.closed:
            self.admin = psycopg.connect(self.url, autocommit=True)
        tables = self.admin.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename <> 'omnicrm_schema'",
            (schema,),
        ).fetchall()
        sequences = self.admin.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = %s", (schema,)
        ).fetchall()
        script = [f'DELETE FROM "{schema}"."{t}"' for (t,) in tables]
        script += [f'SELECT setval(\'"{schema}"."{q}"\', 1, false)' for (q,) in sequences]
        self.admin.execute("; ".join(script).encode())  # one round trip

    def drop_all(self) -> None:
        import psycopg

        if self.admin is not None:
            self.admin.close()
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode())


@pytest.fixture(scope="session")
def _pg_pool() -> Iterator[_SchemaPool | None]:
    pool: _SchemaPool | None = None
    url = os.environ.get(URL_VARIABLE)
    if url:
        pool = _SchemaPool(url)
    yield pool
    if pool is not None and pool.made:
        pool.drop_all()


@pytest.fixture
def pg_factory(pg_url: str, _pg_pool: _SchemaPool) -> Iterator[Callable[[], Store]]:
    """A factory of new, empty PostgreSQL stores, each on its own schema (closed after)."""
    from omnicrm.persistence.postgres import PostgresStore

    stores: list[PostgresStore] = []
    open_on: dict[str, int] = {}  # open stores per schema: a schema is reused at 0

    class TrackedStore(PostgresStore):
        def __init__(self, schema: str) -> None:
            super().__init__(pg_url, schema=schema)
            open_on[schema] = open_on.get(schema, 0) + 1
            self._open = True
            stores.append(self)

        def reopen(self) -> PostgresStore:
            return TrackedStore(str(self.schema))

        def close(self) -> None:
            super().close()
            if self._open:
                self._open = False
                open_on[str(self.schema)] -= 1
                if open_on[str(self.schema)] == 0:
                    _pg_pool.free.append(str(self.schema))

    def build() -> PostgresStore:
        schema, reused = _pg_pool.take()
        if reused:
            _pg_pool.empty(schema)
        return TrackedStore(schema)

    yield build
    for store in stores:
        store.close()
