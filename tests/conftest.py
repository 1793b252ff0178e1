"""Project-wide test settings: hypothesis without per-example deadlines (a noisy shared machine)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("omnicrm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci",
    parent=settings.get_profile("omnicrm"),
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "omnicrm")

# PostgreSQL stores for the tests that run on a server (skipped without one, failed under CI)
from postgres_fixtures import _pg_pool, pg_factory, pg_schemas, pg_url  # noqa: E402, F401
