"""Argument checks shared by the adapters' paged queries."""

from __future__ import annotations

from datetime import datetime

from omnicrm.clock import to_utc
from omnicrm.validation import check_id, check_int

__all__ = ["check_page"]


def check_page(since: object, after_id: object, limit: object) -> tuple[datetime, int | None]:
    """Validate ``changed_since`` arguments; return ``since`` in UTC and the limit."""
    since_utc = to_utc("since", since)
    if after_id is not None:
        check_id("after_id", after_id)
    return since_utc, None if limit is None else check_int("limit", limit, minimum=1)
