"""Who the customers are in ``omnicrm journey simulate``: a zone, consents, a profile."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from omnicrm.cli._jobs import JobError
from omnicrm.cli.batch import Row, require, run_batch
from omnicrm.timing import Action, CustomerContext, Journey

__all__ = ["SimulationDirectory", "channels_of", "context_of", "load_customers"]

_CONTEXT_FIELDS = ("customer_id", "time_zone", "segment", "consents", "reachable", "preferred")
_SEPARATORS = re.compile(r"[\s,;|]+")


def channels_of(journeys: Iterable[Journey]) -> frozenset[str]:
    """Return every channel the journeys' actions and stages name."""
    found: set[str] = set()
    for journey in journeys:
        for stage in journey.stages:
            found.update(stage.channels)
        for step in journey.steps:
            if isinstance(step, Action):
                found.update(step.channels)
    return frozenset(found)


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    names = tuple(n for n in _SEPARATORS.split(str(value)) if n)
    return () if names == ("none",) else names


def context_of(row: Row, *, time_zone: str, channels: frozenset[str]) -> CustomerContext:
    """Build a customer from a row of the ``--customers`` file.

    ``consents``, ``reachable`` and ``preferred`` are channel names separated by spaces,
    commas or semicolons (``none`` for no consent); without ``consents`` the customer
    consents to ``channels``. Other columns (``profile.age`` or plain ``age``) are the
    profile, as text.
    """
    profile = dict(row["profile"]) if isinstance(row.get("profile"), dict) else {}
    for key, value in row.items():
        if key not in (*_CONTEXT_FIELDS, "profile"):
            profile[key.removeprefix("profile.")] = value
    return CustomerContext(
        customer_id=str(require(row, "customer_id")).strip(),
        time_zone=str(row.get("time_zone") or time_zone),
        profile={str(k): str(v) for k, v in profile.items()},
        segment=None if row.get("segment") is None else str(row["segment"]),
        consents=_names(row["consents"]) if "consents" in row else channels,
        reachable=_names(row["reachable"]) if "reachable" in row else None,
        preferred=_names(row.get("preferred", "")),
    )


class SimulationDirectory:
    """The customers of a simulation; anyone else lives in one zone, consenting to ``channels``.

    The default makes the replay show what the journeys would do.
    """

    def __init__(
        self,
        time_zone: str,
        channels: frozenset[str],
        customers: Iterable[CustomerContext] = (),
    ) -> None:
        self._zone = time_zone
        self._channels = channels
        self._contexts = {c.customer_id: c for c in customers}

    def context(self, customer_id: str) -> CustomerContext:
        """Return the customer (a simulated one, created once, if not in the file)."""
        found = self._contexts.get(customer_id)
        if found is None:
            found = CustomerContext(
                customer_id=customer_id, time_zone=self._zone, consents=self._channels
            )
            self._contexts[customer_id] = found
        return found


def load_customers(
    path: Path, *, time_zone: str, channels: frozenset[str], encoding: str
) -> list[CustomerContext]:
    """Read the ``--customers`` file; a bad row stops the job naming its file, line and field."""
    found: list[CustomerContext] = []

    def add(row: Row) -> None:
        found.append(context_of(row, time_zone=time_zone, channels=channels))

    report = run_batch(path, add, max_errors=1, encoding=encoding)
    if report.errors:
        raise JobError("--customers", str(path), f"bad row: {report.errors[0]}")
    return found
