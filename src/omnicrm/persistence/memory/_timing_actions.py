"""The memory timing repositories of action decisions, outcomes and merge records.

Each is a journaled dict (:class:`~omnicrm.persistence.memory._tables.Table`) of the
:class:`~omnicrm.persistence.memory.timing.TimingTables`; re-exported by
:mod:`omnicrm.persistence.memory.timing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from omnicrm.persistence.memory._tables import Journal
from omnicrm.timing.records import ActionStatus, DueAction, Outcome, OutcomeKind
from omnicrm.validation import check_id

if TYPE_CHECKING:
    from omnicrm.persistence.memory.timing import TimingTables

__all__ = ["MemoryActionRepository", "MemoryMergeRepository", "MemoryOutcomeRepository"]


class MemoryActionRepository:
    """:class:`~omnicrm.timing.ports.ActionRepository` with a per-customer send index."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, action: DueAction) -> bool:
        """Store the action; ``False`` if its id exists."""
        t = self._t
        if action.action_id in t.actions:
            return False
        t.actions.put(self._journal, action.action_id, action)
        if action.status == ActionStatus.DUE and action.channel is not None:
            earlier = t.sends.get(action.customer_id) or ()
            t.sends.put(
                self._journal, action.customer_id, (*earlier, (action.due_at, action.channel))
            )
        return True

    def get(self, action_id: str) -> DueAction | None:
        """Return the action or ``None``."""
        return self._t.actions.get(check_id("action_id", action_id))

    def sends(self, customer_id: str, since: datetime) -> Sequence[tuple[datetime, str]]:
        """Return the customer's due sends after ``since``."""
        return tuple(s for s in self._t.sends.get(customer_id) or () if s[0] > since)

    def all(self) -> Sequence[DueAction]:
        """Return every action by ``(due_at, action_id)``."""
        return tuple(sorted(self._t.actions.values(), key=lambda a: (a.due_at, a.action_id)))

    def for_customer(self, customer_id: str) -> Sequence[DueAction]:
        """Return the customer's actions by ``(due_at, action_id)`` (a scan of the table)."""
        found = (a for a in self._t.actions.values() if a.customer_id == customer_id)
        return tuple(sorted(found, key=lambda a: (a.due_at, a.action_id)))

    def remove(self, action_id: str) -> bool:
        """Delete the action and its send; ``False`` if unknown."""
        t = self._t
        action = t.actions.get(action_id)
        if action is None:
            return False
        t.actions.delete(self._journal, action_id)
        if action.status == ActionStatus.DUE and action.channel is not None:
            sends = list(t.sends.get(action.customer_id) or ())
            sends.remove((action.due_at, action.channel))
            if sends:
                t.sends.put(self._journal, action.customer_id, tuple(sends))
            else:
                t.sends.delete(self._journal, action.customer_id)
        return True


class MemoryOutcomeRepository:
    """:class:`~omnicrm.timing.ports.OutcomeRepository` over a journaled dict."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, outcome: Outcome) -> bool:
        """Store the outcome; ``False`` if that kind was already reported."""
        key = (outcome.action_id, outcome.kind)
        if key in self._t.outcomes:
            return False
        self._t.outcomes.put(self._journal, key, outcome)
        return True

    def all(self) -> Sequence[Outcome]:
        """Return every outcome in order."""
        return tuple(sorted(self._t.outcomes.values(), key=lambda o: (o.at, o.action_id, o.kind)))

    def remove(self, action_id: str) -> int:
        """Delete every outcome of ``action_id``; return how many."""
        removed = 0
        for kind in OutcomeKind.ALL:
            if (action_id, kind) in self._t.outcomes:
                self._t.outcomes.delete(self._journal, (action_id, kind))
                removed += 1
        return removed


class MemoryMergeRepository:
    """:class:`~omnicrm.timing.ports.MergeRepository` over a journaled dict."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, survivor: str, absorbed: str, data: str) -> bool:
        """Store the record; ``False`` if the pair has one."""
        if (survivor, absorbed) in self._t.merges:
            return False
        self._t.merges.put(self._journal, (survivor, absorbed), data)
        return True

    def get(self, survivor: str, absorbed: str) -> str | None:
        """Return the record of the pair, or ``None``."""
        return self._t.merges.get((survivor, absorbed))

    def remove(self, survivor: str, absorbed: str) -> bool:
        """Delete the record of the pair; ``False`` if none."""
        if (survivor, absorbed) not in self._t.merges:
            return False
        self._t.merges.delete(self._journal, (survivor, absorbed))
        return True

    def remove_customer(self, customer_id: str) -> int:
        """Delete every record naming ``customer_id``; return how many."""
        keys = [k for k, _ in self._t.merges.items() if customer_id in k]
        for key in keys:
            self._t.merges.delete(self._journal, key)
        return len(keys)
