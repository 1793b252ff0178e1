"""Clustering: connected components of merge links, with cannot-link guards.

Links are applied strongest first. Two components join only if no guard holds between
them as wholes — two different dates of birth, disjoint verified e-mails, a recorded
"different people" decision — so one weak link cannot chain two people together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from omnicrm.identity.compare import DIFFERENT, compare_birth_date
from omnicrm.identity.prepared import PreparedRecord

__all__ = ["GuardedClusters"]


class GuardedClusters:
    """A union-find over record indexes that refuses guarded unions.

    Args:
        records: the prepared records, by index.
        different: pairs of indexes recorded as different people.
        birth_dates: whether two different dates of birth forbid a union (``False`` in a
            batch that shows no households).

    """

    def __init__(
        self,
        records: Sequence[PreparedRecord],
        different: Iterable[tuple[int, int]] = (),
        *,
        birth_dates: bool = True,
    ) -> None:
        self._parent = list(range(len(records)))
        self._births: dict[int, set[date]] = {}
        self._emails: dict[int, set[str]] = {}
        self._forbid: dict[int, set[int]] = {}
        for index, record in enumerate(records):
            if birth_dates and record.birth_date is not None:
                self._births[index] = {record.birth_date}
            if record.email_verified:
                self._emails[index] = {record.email}
        for i, j in different:
            self._forbid.setdefault(i, set()).add(j)
            self._forbid.setdefault(j, set()).add(i)

    def find(self, index: int) -> int:
        """The root of ``index``'s component."""
        parent = self._parent
        root = index
        while parent[root] != root:
            root = parent[root]
        while parent[index] != root:
            parent[index], index = root, parent[index]
        return root

    def guard(self, i: int, j: int) -> str | None:
        """The guard forbidding the components of ``i`` and ``j`` to join, if any."""
        a, b = self.find(i), self.find(j)
        if a == b:
            return None
        births_a, births_b = self._births.get(a, set()), self._births.get(b, set())
        for x in births_a:
            for y in births_b:
                if compare_birth_date(x, y) == DIFFERENT:
                    return "different_birth_dates"
        emails_a, emails_b = self._emails.get(a), self._emails.get(b)
        if emails_a and emails_b and not emails_a & emails_b:
            return "different_verified_emails"
        for other in self._forbid.get(a, ()):
            if self.find(other) == b:
                return "different_people_decision"
        return None

    def union(self, i: int, j: int) -> str | None:
        """Join the two components unless guarded; return the guard that refused, if any."""
        reason = self.guard(i, j)
        if reason is not None:
            return reason
        a, b = self.find(i), self.find(j)
        if a == b:
            return None
        if a > b:
            a, b = b, a
        self._parent[b] = a
        births = self._births.pop(b, None)
        if births:
            self._births.setdefault(a, set()).update(births)
        emails = self._emails.pop(b, None)
        if emails:
            self._emails.setdefault(a, set()).update(emails)
        forbid_b = self._forbid.pop(b, None)
        if forbid_b:
            self._forbid.setdefault(a, set()).update(forbid_b)
        return None

    def components(self) -> list[list[int]]:
        """Every component as a sorted list of indexes, ordered by first index."""
        groups: dict[int, list[int]] = {}
        for index in range(len(self._parent)):
            groups.setdefault(self.find(index), []).append(index)
        return sorted(groups.values(), key=lambda g: g[0])
