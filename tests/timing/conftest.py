from datetime import UTC, datetime

import pytest

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


@pytest.fixture
def t0() -> datetime:
    return T0
